// Many runs on one machine (docs/instances.md): two `tsunagari test` processes on the same features at
// once each bring up copies of their own — both pass, neither sees the other's faults, nothing is left;
// a lab `tsunagari up` keeps is leased to one run at a time, and what a SIGKILLed run changed in it is
// undone by the next run or by `tsunagari cleanup`, never silently reused.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { run } from '../../src/util/exec.js';
import { Context } from '../../src/lab/context.js';
import { journalPath } from '../../src/lab/journal.js';
import { instanceLeftovers } from './helpers.js';

const BIN = resolve('bin/tsunagari.js');
const ctx = new Context();
const KEPT = 'kept-two';

after(async () => {
  await run(process.execPath, [BIN, 'down', KEPT], { timeoutMs: 120_000 });
  assert.deepEqual(await instanceLeftovers(ctx, KEPT), []);
});

const cli = (args: string[], cwd = process.cwd(), timeoutMs = 300_000) => run(process.execPath, [BIN, ...args], { cwd, timeoutMs });

test('two runs of the same features at once: both pass on copies of their own, nothing is left', async () => {
  const reports = mkdtempSync(join(tmpdir(), 'tsunagari-par-'));
  const features = ['features/en/home-nat.feature', 'features/ja/two-sites.feature'];
  const [a, b] = await Promise.all(['a', 'b'].map((x) => cli(['test', '--no-setup', '--fresh', '--format', 'summary', '--reports', join(reports, x), ...features])));
  for (const r of [a!, b!]) assert.equal(r.code, 0, r.stdout + r.stderr);
  const copies = (r: { stderr: string }): string[] => [...r.stderr.matchAll(/bringing up \S+ as (\S+)/g)].map((m) => m[1] as string).sort();
  const ca = copies(a!);
  const cb = copies(b!);
  assert.equal(ca.length, 2, a!.stderr);
  assert.equal(cb.length, 2, b!.stderr);
  assert.deepEqual(ca.filter((x) => cb.includes(x)), [], `each run has copies of its own: ${ca} / ${cb}`);
  for (const lab of ['home-nat', 'two-sites']) assert.deepEqual(await instanceLeftovers(ctx, lab).then((l) => l.filter((x) => [...ca, ...cb].some((c) => x.startsWith(`${c}:`)))), []);
});

/** A project whose lab `kept-two` is the example two-sites lab under another name. */
function keptProject(): string {
  const dir = mkdtempSync(join(tmpdir(), 'tsunagari-kept-'));
  mkdirSync(join(dir, 'topologies'));
  mkdirSync(join(dir, 'features'));
  writeFileSync(join(dir, 'topologies', `${KEPT}.yaml`), readFileSync('topologies/two-sites.yaml', 'utf8').replace(/^name: two-sites$/m, `name: ${KEPT}`));
  writeFileSync(join(dir, 'features', 'cut.feature'), `@lab:${KEPT}
Feature: cut
  Scenario: the overlay goes down and stays down a while
    When the link overlay goes down
    Then client cannot reach server
    When h1 runs "sleep 20"
`.replace('h1 runs', 'client runs'));
  writeFileSync(join(dir, 'features', 'ok.feature'), `@lab:${KEPT}
Feature: ok
  Scenario: both sites reach each other
    Then client can reach server
`);
  return dir;
}

/** Starts `tsunagari test features/cut.feature` and SIGKILLs it once its change is in the journal. */
async function killMidScenario(dir: string): Promise<string> {
  const child = spawn(process.execPath, [BIN, 'test', '--no-setup', '--format', 'progress', 'features/cut.feature'], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
  child.stderr.on('data', (d: Buffer) => { out += d.toString(); });
  const exited = new Promise<void>((r) => child.on('exit', () => r()));
  const deadline = Date.now() + 60_000;
  while (!existsSync(journalPath(KEPT)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  assert.ok(existsSync(journalPath(KEPT)), `the run journalled its change: ${out}`);
  await new Promise((r) => setTimeout(r, 500));   // the change itself is being applied / applied
  child.kill('SIGKILL');
  await exited;
  return out;
}

async function overlayState(): Promise<string> {
  const s = JSON.parse((await cli(['status', KEPT, '--json'])).stdout) as Array<{ topology: { links: Array<{ name: string; a: { hostIf?: string } }> } }>;
  const port = s[0]!.topology.links.find((l) => l.name === 'overlay')!.a.hostIf!;
  return (await run('ip', ['-br', 'link', 'show', port])).stdout.split(/\s+/)[1] ?? '';
}

test('a kept lab: leased to one run; a SIGKILLed run\'s change is undone by the next run, then by cleanup; never reused dirty', async () => {
  const dir = keptProject();
  const up = await cli(['up', `topologies/${KEPT}.yaml`], dir);
  assert.equal(up.code, 0, up.stdout + up.stderr);

  // 1. killed in the middle of a scenario: the overlay is left down, and the journal says so
  await killMidScenario(dir);
  assert.equal(await overlayState(), 'DOWN', 'the killed run left its change in place');
  const check = await cli(['cleanup', '--check']);
  assert.notEqual(check.code, 0);
  assert.match(check.stderr, new RegExp(`left behind in kept lab ${KEPT}: 1 change\\(s\\) of a run that died`));

  // 2. the next run reuses the lab: the change is undone first (said in the log), then its scenario passes
  const next = await cli(['test', '--no-setup', '--format', 'summary', 'features/ok.feature'], dir);
  assert.equal(next.code, 0, next.stdout + next.stderr);
  assert.match(next.stderr, new RegExp(`lab ${KEPT}: link overlay down \\(run \\S+, \\S+\\): undone`));
  assert.match(next.stderr, new RegExp(`lab ${KEPT}: reusing the lab \`tsunagari up\` keeps`));
  assert.notEqual(await overlayState(), 'DOWN');

  // 3. killed again; this time `tsunagari cleanup` puts it back and leaves the kept lab up
  await killMidScenario(dir);
  const clean = await cli(['cleanup']);
  assert.equal(clean.code, 0, clean.stdout + clean.stderr);
  assert.match(clean.stdout, new RegExp(`lab ${KEPT}: link overlay down .*: undone`));
  assert.match(clean.stdout, new RegExp(`lab ${KEPT}: kept`));
  assert.notEqual(await overlayState(), 'DOWN');
  assert.equal(existsSync(journalPath(KEPT)), false);

  // 4. while one run holds the kept lab, a second run brings up a copy of its own instead of sharing it
  const slow = spawn(process.execPath, [BIN, 'test', '--no-setup', '--format', 'progress', 'features/cut.feature'], { cwd: dir, stdio: 'ignore' });
  const deadline = Date.now() + 60_000;
  while (!existsSync(journalPath(KEPT)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  try {
    const clash = await cli(['test', '--no-setup', '--format', 'summary', 'features/ok.feature'], dir);
    assert.equal(clash.code, 1, 'one reports folder, one run');
    assert.match(clash.stderr, /cannot write reports to reports\/ \(another run is writing there: tsunagari test writing reports\/ \(pid \d+, since .*\)\); hint: give this run a folder of its own/);
    const second = await cli(['test', '--no-setup', '--format', 'summary', '--reports', 'reports-2', 'features/ok.feature'], dir);
    assert.equal(second.code, 0, second.stdout + second.stderr);
    assert.match(second.stderr, new RegExp(`the lab \`tsunagari up\` keeps is in use by run \\S+ \\(pid ${slow.pid}, since .*\\); this run brings up a copy of its own`));
    assert.match(second.stderr, new RegExp(`bringing up topologies/${KEPT}.yaml as ${KEPT}_\\d+`));
  } finally {
    slow.kill('SIGTERM');
    await new Promise((r) => slow.on('exit', r));
  }
  assert.deepEqual((await instanceLeftovers(ctx, KEPT)).filter((x) => !x.startsWith(`${KEPT}:`)), [], 'the copy is gone');
});
