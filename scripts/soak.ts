// `npm run soak [-- --trials N --kill-max S --max-minutes M --seed X]`: many runs on one machine, killed
// at random moments, must leave nothing behind and no lab dirty (docs/instances.md).
//
// A scratch project holds copies of the example labs (soak-nat: home-nat, soak-dual: dual-path with FRR)
// and their English features. Both labs are kept up with `tsunagari up`. Each trial starts two
// `tsunagari test` runs at once — one leases the kept labs, the other brings up copies of its own — and
// SIGKILLs each at a random moment (bring-up, scenarios or teardown; a run may also finish first), then
// runs `tsunagari cleanup`. After every trial:
//   leaked          labelled resources, ledgers or journals of copies (soak-nat_N, soak-dual_N) still there
//   faults left     a kept lab differs from how it came up: links, nft tables, our qdiscs, responder
//                   overrides (or its journal still has entries)
//   configs changed a kept FRR router's running configuration differs from how it came up
// It prints one line, `soak: 50 trials, 0 leaked, 0 faults left, 0 configs changed`, and exits 1 on any.
// Bounded: N trials (default 50), each run killed within --kill-max seconds (default 40) and never
// allowed past 10 minutes, and the whole soak stops starting trials after --max-minutes (default 120).
import { spawn } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { Context } from '../src/lab/context.js';
import { openLab } from '../src/lab/running.js';
import { discoverLab } from '../src/lab/discover.js';
import { Ledger } from '../src/lab/ledger.js';
import { Journal } from '../src/lab/journal.js';
import { labOfInstance } from '../src/topology/naming.js';
import { responderState } from '../src/lab/dnsfaults.js';
import { run } from '../src/util/exec.js';

const ROOT = resolve(import.meta.dirname, '..');
const BIN = join(ROOT, 'bin/tsunagari.js');
const LABS = { 'soak-nat': 'home-nat', 'soak-dual': 'dual-path' } as const;
type SoakLab = keyof typeof LABS;

const { values } = parseArgs({ options: {
  trials: { type: 'string', default: '50' }, 'kill-max': { type: 'string', default: '40' },
  'max-minutes': { type: 'string', default: '120' }, seed: { type: 'string' }, verbose: { type: 'boolean' },
} });
const trials = Number(values.trials);
const killMax = Number(values['kill-max']);
const maxMinutes = Number(values['max-minutes']);
if (!Number.isInteger(trials) || trials < 1 || trials > 10_000) throw new Error(`--trials ${values.trials}: a whole number 1..10000`);
if (!(killMax > 0 && killMax <= 600)) throw new Error(`--kill-max ${values['kill-max']}: seconds, 0..600`);
if (!(maxMinutes > 0 && maxMinutes <= 24 * 60)) throw new Error(`--max-minutes ${values['max-minutes']}: 0..1440`);

// A small seeded generator, so a failing soak can be repeated (--seed).
let seed = values.seed !== undefined ? Number(values.seed) : Math.floor(Math.random() * 2 ** 31);
const rand = (): number => { seed = (seed * 1103515245 + 12345) % 2 ** 31; return seed / 2 ** 31; };
const log = (s: string): void => { process.stderr.write(`soak: ${s}\n`); };
log(`seed ${values.seed ?? seed}`);

const ctx = new Context();
const cli = (args: string[], cwd: string, timeoutMs = 600_000) => run(process.execPath, [BIN, ...args], { cwd, timeoutMs });

/** The scratch project: the example labs renamed, their fixtures, and their English features. */
function project(): string {
  const dir = mkdtempSync(join(tmpdir(), 'tsunagari-soak-'));
  mkdirSync(join(dir, 'topologies'));
  mkdirSync(join(dir, 'features'));
  cpSync(join(ROOT, 'fixtures'), join(dir, 'fixtures'), { recursive: true });
  for (const [soak, lab] of Object.entries(LABS)) {
    writeFileSync(join(dir, 'topologies', `${soak}.yaml`), readFileSync(join(ROOT, 'topologies', `${lab}.yaml`), 'utf8').replace(new RegExp(`^name: ${lab}$`, 'm'), `name: ${soak}`));
  }
  for (const f of ['home-nat', 'dns', 'dual-path']) {
    let text = readFileSync(join(ROOT, 'features/en', `${f}.feature`), 'utf8');
    for (const [soak, lab] of Object.entries(LABS)) text = text.replaceAll(`@lab:${lab}`, `@lab:${soak}`).replaceAll(`"${lab}"`, `"${soak}"`);
    writeFileSync(join(dir, 'features', `${f}.feature`), text);
  }
  return dir;
}

/** How a kept lab is: per node its links (name, state), nft tables, our qdiscs; responder overrides; FRR configs. */
async function fingerprint(lab: SoakLab): Promise<{ state: string; configs: string }> {
  const running = openLab(ctx, lab);
  const state: string[] = [];
  const configs: string[] = [];
  for (const n of running.lab.nodes) {
    const sh = await running.exec(n.name, ['sh', '-c', 'ip -br link | awk \'{print $1, $2}\'; nft list tables 2>/dev/null; tc qdisc show | grep -c "qdisc .* 7473:" || true'], { timeoutMs: 30_000 });
    state.push(`${n.name}: ${sh.stdout.trim()}`);
    if (n.kind === 'responder') state.push(`${n.name} overrides: ${JSON.stringify((await responderState(running, n.name)).overrides)}`);
    if (n.kind === 'frr') configs.push(`${n.name}:\n${(await running.exec(n.name, ['vtysh', '-c', 'show running-config'], { timeoutMs: 30_000 })).stdout.replace(/^(Building configuration|Current configuration).*$/gm, '').trim()}`);
  }
  const hostIfs = running.lab.links.flatMap((l) => (l.type === 'switch' ? [l.hostIf] : l.type === 'vxlan' ? [l.a, l.b].flatMap((s) => (s.kind === 'switch' ? [s.hostIf] : [])) : []));
  for (const h of hostIfs) state.push(`${h}: ${(await run('ip', ['-br', 'link', 'show', h])).stdout.trim().split(/\s+/)[1] ?? 'gone'}`);
  let journal: number;
  try { journal = new Journal(lab).entries().length; } catch { journal = -1; }
  state.push(`journal: ${journal}`);
  return { state: state.join('\n'), configs: configs.join('\n') };
}

/** Leftovers of copies (not the kept labs): labelled resources, ledgers, journals. */
async function leftovers(): Promise<string[]> {
  const found = await discoverLab(ctx, undefined);
  const copy = (l: string): boolean => l in LABS ? false : (labOfInstance(l) in LABS);
  const out: string[] = [];
  for (const x of [...found.containers, ...found.namespaces, ...found.bridges, ...found.ports, ...found.hostIfs]) if (copy(x.lab)) out.push(`${x.lab}: ${x.name}`);
  for (const l of Ledger.all()) if (copy(l.data.lab)) out.push(`${l.data.lab}: ledger`);
  for (const s of found.skipped) out.push(`not checked: ${s}`);
  return out;
}

/** A run of the project's features, SIGKILLed after `killAt` s (unless it ends first). */
function killedRun(dir: string, name: string, killAt: number): Promise<string> {
  return new Promise((res) => {
    const child = spawn(process.execPath, [BIN, 'test', '--no-setup', '--format', 'progress', '--reports', `reports-${name}`, 'features'], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { out += d.toString(); });
    const kill = setTimeout(() => child.kill('SIGKILL'), killAt * 1000);
    const hard = setTimeout(() => child.kill('SIGKILL'), 600_000);
    child.on('exit', (code, sig) => { clearTimeout(kill); clearTimeout(hard); res(`${name}: ${sig ? `killed at ${killAt.toFixed(1)} s` : `ended (exit ${code})`}${values.verbose ? `\n${out}` : ''}`); });
  });
}

const dir = project();
const t0 = Date.now();
let done = 0;
let leaked = 0;
let faults = 0;
let configs = 0;
try {
  for (const lab of Object.keys(LABS)) {
    const r = await cli(['up', `topologies/${lab}.yaml`], dir);
    if (r.code !== 0) throw new Error(`cannot keep ${lab} up:\n${r.stdout}${r.stderr}`);
  }
  const base = Object.fromEntries(await Promise.all(Object.keys(LABS).map(async (l) => [l, await fingerprint(l as SoakLab)]))) as Record<SoakLab, { state: string; configs: string }>;
  for (let i = 1; i <= trials; i++) {
    if (Date.now() - t0 > maxMinutes * 60_000) { log(`stopping after ${done} trials: --max-minutes ${maxMinutes} reached`); break; }
    const runs = await Promise.all(['a', 'b'].map((x) => killedRun(dir, `${i}${x}`, 0.2 + rand() * killMax)));
    const clean = await cli(['cleanup'], dir);
    const left = await leftovers();
    const issues: string[] = [];
    if (left.length) { leaked += left.length; issues.push(`leaked: ${left.join(', ')}`); }
    for (const lab of Object.keys(LABS) as SoakLab[]) {
      const now = await fingerprint(lab);
      if (now.state !== base[lab].state) { faults++; issues.push(`${lab} not as it came up:\n${diff(base[lab].state, now.state)}`); }
      if (now.configs !== base[lab].configs) { configs++; issues.push(`${lab} configuration changed:\n${diff(base[lab].configs, now.configs)}`); }
    }
    done++;
    log(`trial ${i}: ${runs.join('; ')}${clean.code !== 0 ? `; cleanup exit ${clean.code}: ${clean.stderr.trim()}` : ''}${issues.length ? `\n  ${issues.join('\n  ')}` : ''}`);
    if (clean.code !== 0 && !issues.length) { faults++; }
  }
} finally {
  for (const lab of Object.keys(LABS)) await cli(['down', lab], dir).catch(() => undefined);
  const final = await leftovers();
  for (const lab of Object.keys(LABS)) if ((await discoverLab(ctx, lab)).count || Ledger.read(lab)) final.push(`${lab}: still there after down`);
  leaked += final.length;
  if (final.length) log(`after the soak: ${final.join(', ')}`);
  rmSync(dir, { recursive: true, force: true });
}

function diff(a: string, b: string): string {
  const A = a.split('\n');
  const B = b.split('\n');
  return [...A.filter((l) => !B.includes(l)).map((l) => `    - ${l}`), ...B.filter((l) => !A.includes(l)).map((l) => `    + ${l}`)].join('\n');
}

process.stdout.write(`soak: ${done} trials, ${leaked} leaked, ${faults} faults left, ${configs} configs changed\n`);
process.exitCode = leaked || faults || configs || done === 0 ? 1 : 0;
