// Owns `tsunagari test [paths]`: runs Cucumber on the user's project (cwd) with tsunagari's step
// library plus the project's own support code, writing HTML, JUnit, JSON and message reports to
// reports/. Lives beside the steps because it is Cucumber-facing; src/ never imports Cucumber.
import { existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { join, relative, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { UserError } from '../src/util/errors.js';
import { addEvidenceToJunit } from './junit-evidence.js';
import { nearestPhrase } from './suggest.js';
import { describeHolder, tryLease } from '../src/util/lease.js';

export interface TestOptions {
  paths: string[];             // features or folders; default features/
  cwd: string;
  format?: string;             // terminal formatter: pretty (default), progress, summary
  reports?: string;            // folder, default reports/
  tags?: string;
  name?: string[];
  parallel?: number;           // Cucumber workers; each brings up lab copies of its own (src/lab/instance.ts)
}

const STEPS = join(dirname(fileURLToPath(import.meta.url)), 'index.ts');
/** Registers the TypeScript loader: first in the import list, so parallel workers (new processes) load .ts too. */
const TSX = join(dirname(STEPS), 'tsx.js');

/** The project's own support code: steps/ and features/**\/*.{ts,js} (never node_modules). */
function projectSupport(cwd: string): string[] {
  const out: string[] = [];
  const walk = (dir: string): void => {
    let names: string[] = [];
    try { names = readdirSync(dir); } catch { return; }
    for (const n of names) {
      if (n === 'node_modules' || n.startsWith('.')) continue;
      const p = join(dir, n);
      if (statSync(p).isDirectory()) walk(p);
      else if (/\.(ts|js|mjs)$/.test(n) && !/\.d\.ts$/.test(n) && !/\.test\.ts$/.test(n)) out.push(p);
    }
  };
  walk(join(cwd, 'steps'));
  walk(join(cwd, 'features'));
  // This repository's own steps are tsunagari's library, imported once as STEPS.
  return out.filter((p) => !resolve(p).startsWith(dirname(STEPS) + '/') && resolve(p) !== resolve(join(cwd, 'steps', 'tsx.js')));
}

export async function runTests(o: TestOptions): Promise<boolean> {
  const paths = o.paths.length ? o.paths : ['features'];
  for (const p of paths) {
    if (!existsSync(resolve(o.cwd, p.replace(/:\d+$/, '')))) {
      throw new UserError(`cannot find ${p} (in ${o.cwd})`, 'give .feature files or folders, e.g. `tsunagari test features/ja`');
    }
  }
  const reports = o.reports ?? 'reports';
  mkdirSync(resolve(o.cwd, reports), { recursive: true });
  // Two runs writing one reports folder would garble each other's files: one folder, one run.
  const folder = await tryLease('lock', resolve(o.cwd, reports), `tsunagari test writing ${reports}/`);
  if (!folder) {
    throw new UserError(`cannot write reports to ${reports}/ (another run is writing there: ${describeHolder('lock', resolve(o.cwd, reports))})`,
      'give this run a folder of its own: `tsunagari test --reports reports-2 …`');
  }
  try {
    return await runCucumberInto(o, paths, reports);
  } finally {
    await folder.release();
  }
}

async function runCucumberInto(o: TestOptions, paths: string[], reports: string): Promise<boolean> {
  const { loadConfiguration, runCucumber } = await import('@cucumber/cucumber/api');
  const { runConfiguration } = await loadConfiguration({
    file: false,
    provided: {
      paths,
      import: [TSX, STEPS, ...projectSupport(o.cwd).map((p) => relative(o.cwd, p))],
      format: [
        o.format ?? 'pretty',
        `html:${reports}/cucumber.html`,
        `junit:${reports}/junit.xml`,
        `json:${reports}/cucumber.json`,
        `message:${reports}/messages.ndjson`,
      ],
      formatOptions: { junit: { suiteName: 'tsunagari' } },
      ...(o.tags ? { tags: o.tags } : {}),
      ...(o.name?.length ? { name: o.name } : {}),
      ...(o.parallel ? { parallel: o.parallel } : {}),
    },
  }, { cwd: o.cwd });
  // Count the scenarios the run selected: a filter that selects none is a mistake, not a pass.
  let selected = 0;
  const undefinedSteps = new UndefinedSteps();
  const { success } = await runCucumber(runConfiguration, { cwd: o.cwd }, (m) => { if (m.testCase) selected++; undefinedSteps.see(m); });
  addEvidenceToJunit(resolve(o.cwd, reports));
  // Cucumber offers JavaScript snippets for a step nothing matched; a network engineer wants the phrase.
  for (const line of undefinedSteps.report()) process.stderr.write(`${line}\n`);
  if (success && selected === 0) {
    const filters = [o.tags ? `--tags ${JSON.stringify(o.tags)}` : '', ...(o.name ?? []).map((n) => `--name ${JSON.stringify(n)}`)].filter(Boolean);
    throw new UserError(`no scenario was selected in ${paths.join(' ')}${filters.length ? ` by ${filters.join(' ')}` : ''}: nothing was tested`,
      filters.length ? 'check the tag expression or name (tags keep their @ and are case-sensitive)' : 'give .feature files that contain scenarios');
  }
  return success;
}

/** Steps no definition matched, with where they are and the nearest phrase of the vocabulary. */
class UndefinedSteps {
  private steps = new Map<string, { uri: string; line: number; keyword: string }>();   // gherkin step id → where
  private pickleSteps = new Map<string, { uri: string; text: string; astId: string }>();
  private testSteps = new Map<string, string>();                                          // test step id → pickle step id
  private found = new Map<string, string>();                                              // "uri:line" → message

  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  see(m: any): void {
    if (m.gherkinDocument) {
      const uri = m.gherkinDocument.uri as string;
      const walk = (children: Array<Record<string, any>> = []): void => {
        for (const c of children) {
          const sc = c.scenario ?? c.background;
          for (const st of sc?.steps ?? []) this.steps.set(st.id, { uri, line: st.location.line, keyword: String(st.keyword).trim() });
          if (c.rule) walk(c.rule.children);
        }
      };
      walk(m.gherkinDocument.feature?.children);
    } else if (m.pickle) {
      for (const st of m.pickle.steps) this.pickleSteps.set(st.id, { uri: m.pickle.uri, text: st.text, astId: st.astNodeIds[0] });
    } else if (m.testCase) {
      for (const t of m.testCase.testSteps) if (t.pickleStepId) this.testSteps.set(t.id, t.pickleStepId);
    } else if (m.testStepFinished?.testStepResult?.status === 'UNDEFINED') {
      const ps = this.pickleSteps.get(this.testSteps.get(m.testStepFinished.testStepId) ?? '');
      if (!ps) return;
      const at = this.steps.get(ps.astId);
      const where = `${ps.uri}${at ? `:${at.line}` : ''}`;
      if (this.found.has(where)) return;
      const s = nearestPhrase(ps.text);
      const ja = s?.lang === 'ja';
      this.found.set(where, `undefined step at ${where}: ${at?.keyword ?? ''} ${ps.text}`.replace(/: {2}/, ': ') + (s
        ? `\n  ${ja ? '近いフレーズ' : 'nearest phrase'}: ${s.phrase}   (${ja ? '例' : 'e.g.'} ${s.example})`
        : `\n  no phrase of the vocabulary is close; the whole vocabulary is in tsunagari's docs/steps.md`));
    }
  }

  report(): string[] {
    return [...this.found.values()];
  }
}
