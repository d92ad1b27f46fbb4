// Owns `tsunagari test [paths]`: runs Cucumber on the user's project (cwd) with tsunagari's step
// library plus the project's own support code, writing HTML, JUnit, JSON and message reports to
// reports/. Lives beside the steps because it is Cucumber-facing; src/ never imports Cucumber.
import { existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { join, relative, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { UserError } from '../src/util/errors.js';
import { addEvidenceToJunit } from './junit-evidence.js';
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
  const { success } = await runCucumber(runConfiguration, { cwd: o.cwd }, (m) => { if (m.testCase) selected++; });
  addEvidenceToJunit(resolve(o.cwd, reports));
  if (success && selected === 0) {
    const filters = [o.tags ? `--tags ${JSON.stringify(o.tags)}` : '', ...(o.name ?? []).map((n) => `--name ${JSON.stringify(n)}`)].filter(Boolean);
    throw new UserError(`no scenario was selected in ${paths.join(' ')}${filters.length ? ` by ${filters.join(' ')}` : ''}: nothing was tested`,
      filters.length ? 'check the tag expression or name (tags keep their @ and are case-sensitive)' : 'give .feature files that contain scenarios');
  }
  return success;
}
