// External devices (profile "lab", topologies/dual-path.lab.yaml) against the stand-in physical lab
// (test/support/standin-lab.ts): tsunagari creates only h1, h2, lan1 and lan2 and reaches r1/r2 over SSH;
// h1 reaches h2 through the stand-in's routers; faults (an unreachable device, a refused host key, a
// rejected config) fail with one clear error and change nothing; a scenario's changes on the devices (a
// cable down, a silent drop) are undone by finish(); a killed run's changes are found by `cleanup --check`
// and put back by `cleanup`; the stand-in is left exactly as it was found.
//
// Scenarios are driven through a LabPool and a Scenario directly (no Cucumber), as the steps do.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type Docker from 'dockerode';
import { LabPool } from '../../src/scenario/pool.js';
import { Scenario } from '../../src/scenario/session.js';
import { Context } from '../../src/lab/context.js';
import { discoverLab } from '../../src/lab/discover.js';
import { Ledger, alive } from '../../src/lab/ledger.js';
import { teardown } from '../../src/lab/down.js';
import { deviceRecordDir, pendingRollbacks } from '../../src/devices/snapshot.js';
import { CommandRejected, HostKeyRefused } from '../../src/devices/errors.js';
import { ensureDocker } from '../../src/setup/daemons.js';
import { UserError } from '../../src/util/errors.js';
import { run } from '../../src/util/exec.js';
import {
  containerName, standinDown, standinExec, standinState, standinUp,
  type RouterName, type RouterState, type StandinInfo,
} from '../support/standin-lab.js';
import { labLeftovers, until } from './helpers.js';
import { localDocker } from '../../src/util/docker-client.js';

const LAB = 'dual-path';
const BIN = resolve('bin/tsunagari.js');
const KILLED_RUN = resolve('test/support/lab-push-and-die.ts');
const ctx = new Context();
// progress on stderr: text on stdout can interleave with node --test's serialized frames
const log = (s: string): void => { process.stderr.write(`# ${s}\n`); };
const attached: string[] = [];
const attach = (d: string | Buffer, mediaType: string): void => { if (mediaType === 'text/plain') attached.push(String(d)); };
const tmpDirs: string[] = [];

let info: StandinInfo;
/** The stand-in as standinUp left it: every test must leave it like this. */
let initial: Record<RouterName, RouterState>;
let initialStarts: Record<RouterName, string>;

async function docker(): Promise<Docker> {
  return localDocker((await ensureDocker(() => {})).socketPath);
}

/** When each stand-in router's container started: a restarted or re-created router changes it. */
async function routerStarts(): Promise<Record<RouterName, string>> {
  const d = await docker();
  const out = {} as Record<RouterName, string>;
  for (const r of ['r1', 'r2'] as const) out[r] = (await d.getContainer(containerName(r)).inspect()).State.StartedAt;
  return out;
}

async function assertStandinAsFound(what: string): Promise<void> {
  assert.deepEqual(await standinState(), initial, `${what}: the stand-in routers' configs and links are as they were`);
  assert.deepEqual(await routerStarts(), initialStarts, `${what}: the stand-in routers were not restarted`);
}

/** `ip -br link show dev <iface>` on a stand-in router: its state column (UP, DOWN, LOWERLAYERDOWN …). */
async function linkState(r: RouterName, iface: string): Promise<string> {
  const x = await standinExec(r, ['ip', '-br', 'link', 'show', 'dev', iface]);
  assert.equal(x.code, 0, x.stderr);
  return x.stdout.trim().split(/\s+/)[1] ?? '';
}

async function cutTable(r: RouterName, iface: string): Promise<boolean> {
  return (await standinExec(r, ['nft', 'list', 'table', 'netdev', `tsunagari_cut_${iface}`])).code === 0;
}

function deviceRecords(): ReturnType<typeof pendingRollbacks> {
  return pendingRollbacks(LAB).filter((r) => r.access);
}

/** One clean user-facing error: a UserError, no stack frames, not wrapped in itself. */
function assertOneClearError(e: unknown): asserts e is UserError {
  assert.ok(e instanceof UserError, `a UserError, got ${(e as Error)?.name}: ${(e as Error)?.message}\n${(e as Error)?.stack}`);
  assert.doesNotMatch(e.message, /\n\s+at /, 'no stack trace content in the message');
  assert.equal(e.stack, e.message, 'a UserError carries no stack');
  assert.ok((e.message.match(/cannot open SSH session/g) ?? []).length <= 1, `not wrapped in itself: ${e.message}`);
}

async function cli(args: string[], timeoutMs = 60_000): Promise<{ code: number; stdout: string; stderr: string }> {
  return run(process.execPath, [BIN, ...args], { timeoutMs });
}

before(async () => {
  const d = Ledger.read(LAB)?.data;
  if (d && alive(Ledger.read(LAB)!) && d.pid !== process.pid) throw new Error(`lab ${LAB} is in use by run ${d.pid}: this test needs it to itself`);
  if (d) await teardown(ctx, LAB);
  info = await standinUp({ log });
  log(`stand-in up in ${info.upMs} ms`);
  // as `eval "$(node --import tsx scripts/standin-lab.ts env)"` would: the inventory names these
  process.env.TSUNAGARI_LAB_KEY = info.keyFile;
  process.env.TSUNAGARI_LAB_KNOWN_HOSTS = info.knownHostsFile;
  initial = await standinState();
  initialStarts = await routerStarts();
  assert.deepEqual(deviceRecords(), [], 'no device records before the tests');
});

after(async () => {
  // whatever a failed test left: the lab (teardown also restores recorded device changes), the stand-in
  if (Ledger.read(LAB) || (await discoverLab(ctx, LAB)).count) await teardown(ctx, LAB).catch((e: Error) => log(`teardown: ${e.message}`));
  for (const dir of tmpDirs) rmSync(dir, { recursive: true, force: true });
  await standinDown({ log });
});

test('profile lab: only h1, h2, lan1 and lan2 come up, h1 reaches h2 through the stand-in routers, teardown leaves the stand-in as it was', async () => {
  const pool = new LabPool({ projectDir: process.cwd(), profile: 'lab', log });
  const s = new Scenario(pool, attach);
  try {
    await s.useLab(LAB);
    const lab = s.requireLab();
    assert.deepEqual(lab.lab.nodes.map((n) => n.name).sort(), ['h1', 'h2']);
    assert.deepEqual(lab.lab.switches.map((x) => x.name).sort(), ['lan1', 'lan2']);
    assert.deepEqual((lab.lab.external ?? []).map((x) => x.name).sort(), ['r1', 'r2']);
    assert.deepEqual(Object.keys(lab.ledger.data.handles).sort(), ['h1', 'h2'], 'handles only for the local nodes');

    // nothing on this machine for r1/r2: no container, namespace, bridge or interface of theirs
    const found = await discoverLab(ctx, LAB);
    const names = [...found.containers.map((c) => c.name), ...found.namespaces.map((n) => n.name)];
    assert.ok(names.every((n) => !/\br[12]$/.test(n) && !/-r[12]\b/.test(n)), `no node for r1/r2: ${names.join(', ')}`);
    assert.equal(found.bridges.length, 2, `two bridges (lan1, lan2): ${found.bridges.map((b) => b.name).join(', ')}`);
    const all = (await (await docker()).listContainers({ all: true })).flatMap((c) => c.Names);
    assert.deepEqual(all.filter((n) => /tsunagari-dual-path-r[12]/.test(n)), []);
    const netns = (await run('ip', ['netns', 'list'])).stdout;
    assert.doesNotMatch(netns, /tsunagari-dual-path-r[12]/);

    // h1 → h2 through r1 and r2 of the stand-in (OSPF converged before standinUp returned)
    const t0 = Date.now();
    await until('h1 reaches h2', 15_000, async () => { await s.canReach('h1', s.target('h2')); return true; });
    log(`h1 reaches h2 after ${Date.now() - t0} ms`);
    await s.run('h1', 'ping -n -c 1 -W 2 10.2.0.10');
    assert.equal(s.output?.code, 0, s.output?.stdout);
    // two routed hops: h2's reply (TTL 64) arrives with 62
    assert.match(s.output!.stdout, /ttl=62/, s.output!.stdout);
    const mac = (await lab.exec('h1', ['cat', '/sys/class/net/eth1/address'])).stdout.trim();
    const neigh = await standinExec('r1', ['ip', 'neigh', 'show', '10.1.0.10']);
    assert.match(neigh.stdout, new RegExp(`10\\.1\\.0\\.10 dev eth1 lladdr ${mac}`), `r1 learned h1 over VXLAN 1001: ${neigh.stdout}`);
    await s.finish();
  } finally {
    const t1 = Date.now();
    assert.deepEqual(await pool.teardownAll(), []);
    log(`teardown in ${Date.now() - t1} ms`);
  }
  assert.deepEqual(await labLeftovers(ctx, [LAB]), [], 'nothing of the lab is left');
  assert.deepEqual(deviceRecords(), []);
  await assertStandinAsFound('after the lab went down');
});

test('an unreachable device: one clear UserError naming it, within ~10 s, nothing recorded', async () => {
  // a copy of topologies/ whose r1 is an unused address on the stand-in's management LAN
  const project = mkdtempSync(join(tmpdir(), 'tsunagari-extdev-'));
  tmpDirs.push(project);
  const topologies = join(project, 'topologies');
  mkdirSync(topologies);
  cpSync(resolve('fixtures/frr'), join(project, 'fixtures/frr'), { recursive: true });   // a copy: a symlink out of the project is refused
  writeFileSync(join(topologies, 'dual-path.yaml'), readFileSync('topologies/dual-path.yaml', 'utf8'));
  const inv = readFileSync('topologies/dual-path.lab.yaml', 'utf8');
  assert.match(inv, /host: 198\.18\.254\.11\n/);
  // r1's key pinned by fingerprint (the stand-in's known_hosts has no entry for .99)
  const fp = info.routers.r1.hostKeyFingerprint;
  assert.ok(fp);
  writeFileSync(join(topologies, 'dual-path.lab.yaml'), inv.replace('host: 198.18.254.11\n', 'host: 198.18.254.99\n')
    .replace('known_hosts: ${TSUNAGARI_LAB_KNOWN_HOSTS}\n', `host_key: ${fp}\n`));

  const pool = new LabPool({ projectDir: process.cwd(), topologiesDir: topologies, profile: 'lab', log });
  const s = new Scenario(pool, attach);
  try {
    await s.useLab(LAB);
    assert.deepEqual(s.requireLab().external('r1')?.access, { host: '198.18.254.99', port: 22, username: 'root', hostKeyFingerprints: [fp], privateKeyFile: '${TSUNAGARI_LAB_KEY}' });

    let t0 = Date.now();
    const e1 = await s.routers.pushLines('r1', 'interface eth1\n description unreachable').then(() => undefined, (e: unknown) => e);
    const ms1 = Date.now() - t0;
    assertOneClearError(e1);
    assert.match(e1.message, /device r1 \(198\.18\.254\.99\)/);
    assert.match(e1.message, /no TCP connection/);
    assert.ok(ms1 < 10_000, `failed within 10 s (took ${ms1} ms)`);
    log(`push to an unreachable r1: ${ms1} ms: ${e1.message}`);

    // a cable of the device: same error, and no record left of a change that was never made
    t0 = Date.now();
    const e2 = await s.linkDown(s.link('primary')).then(() => undefined, (e: unknown) => e);
    const ms2 = Date.now() - t0;
    assertOneClearError(e2);
    assert.match(e2.message, /device r1 \(198\.18\.254\.99\)/);
    assert.match(e2.message, /no TCP connection/);
    assert.ok(ms2 < 10_000, `failed within 10 s (took ${ms2} ms)`);
    assert.deepEqual(deviceRecords(), [], 'no record of a change that was never made');
    await s.finish();
  } finally {
    assert.deepEqual(await pool.teardownAll(), []);
  }
  assert.deepEqual(await labLeftovers(ctx, [LAB]), []);
  await assertStandinAsFound('after an unreachable device');
});

// Tests 3–5 share one lab, brought down at the end with `tsunagari down`.
const shared = new LabPool({ projectDir: process.cwd(), profile: 'lab', log });

test('a refused host key names the device and the mismatch, and changes nothing', async () => {
  const s = new Scenario(shared, attach);
  await s.useLab(LAB);
  const fp = info.routers.r1.hostKeyFingerprint;
  assert.ok(fp);
  process.env.TSUNAGARI_LAB_KNOWN_HOSTS = info.wrongKnownHostsFile;
  try {
    const e1 = await s.routers.pushLines('r1', 'interface eth1\n description refused').then(() => undefined, (e: unknown) => e);
    assert.ok(e1 instanceof HostKeyRefused, `HostKeyRefused, got ${(e1 as Error)?.name}: ${(e1 as Error)?.message}`);
    assertOneClearError(e1);
    assert.match(e1.message, /device r1 \(198\.18\.254\.11\)/);
    assert.match(e1.message, /host key mismatch/);
    assert.ok(e1.message.includes(`received ${fp}`), e1.message);
    assert.match(e1.message, /the connection was refused/);
    const e2 = await s.linkDown(s.link('primary')).then(() => undefined, (e: unknown) => e);
    assert.ok(e2 instanceof HostKeyRefused, `HostKeyRefused, got ${(e2 as Error)?.name}: ${(e2 as Error)?.message}`);
    assert.deepEqual(deviceRecords(), [], 'nothing recorded');
  } finally {
    process.env.TSUNAGARI_LAB_KNOWN_HOSTS = info.knownHostsFile;
  }
  await s.finish();
  await assertStandinAsFound('after a refused host key');
});

test('a config the device rejects fails with its own words; r1 is as before', async () => {
  const s = new Scenario(shared, attach);
  await s.useLab(LAB);
  const t0 = Date.now();
  const e = await s.routers.pushLines('r1', 'interface eth2\n ip ospf cost notanumber').then(() => undefined, (x: unknown) => x);
  assert.ok(e instanceof CommandRejected, `CommandRejected, got ${(e as Error)?.name}: ${(e as Error)?.message}`);
  assert.doesNotMatch(e.message, /\n\s+at /);
  assert.match(e.message, /device r1 \(198\.18\.254\.11\)/);
  assert.match(e.deviceMessage, /notanumber/, `vtysh's own words: ${e.deviceMessage}`);
  assert.ok(e.message.includes(e.deviceMessage.trim().slice(0, 60)), e.message);
  log(`rejected in ${Date.now() - t0} ms: ${e.message}`);
  assert.deepEqual(deviceRecords(), [], 'no record of a push that was refused');
  await s.finish();
  await assertStandinAsFound('after a rejected config');
});

test('a cable taken down and a silent drop on the devices are undone by finish()', async () => {
  const s = new Scenario(shared, attach);
  await s.useLab(LAB);
  const primary = s.link('primary');
  assert.equal(primary.type, 'external');
  assert.equal(await linkState('r1', 'eth2'), 'UP');

  await s.linkDown(primary);
  assert.equal(await linkState('r1', 'eth2'), 'DOWN', 'r1 shut eth2');
  assert.deepEqual(deviceRecords().map((r) => [r.node, r.action]), [['r1', { kind: 'interface-up', iface: 'eth2' }]], 'recorded');
  await s.finish();
  assert.equal(await linkState('r1', 'eth2'), 'UP', 'eth2 is up again');
  assert.deepEqual(deviceRecords(), []);

  const s2 = new Scenario(shared, attach);
  await s2.useLab(LAB);
  await s2.failover.silentDrop(s2.link('primary'));
  assert.ok(await cutTable('r1', 'eth2'), 'r1 drops on eth2');
  assert.ok(await cutTable('r2', 'eth2'), 'r2 drops on eth2');
  assert.deepEqual(deviceRecords().map((r) => r.node).sort(), ['r1', 'r2']);
  await s2.finish();
  assert.equal(await cutTable('r1', 'eth2'), false, 'r1: table gone');
  assert.equal(await cutTable('r2', 'eth2'), false, 'r2: table gone');
  assert.deepEqual(deviceRecords(), []);
  await assertStandinAsFound('after the scenarios on the devices');

  // This process's run holds the lab: another process's `tsunagari down` is refused, naming it.
  const down = await cli(['down', LAB]);
  assert.equal(down.code, 1, down.stdout + down.stderr);
  assert.match(down.stderr, new RegExp(`cannot take lab ${LAB} down \\(it is in use by run \\S+ \\(pid ${process.pid}, since`));
  assert.deepEqual(await shared.teardownAll(), []);
  assert.deepEqual(await labLeftovers(ctx, [LAB]), []);
  await assertStandinAsFound('after the run ended');
});

// NOTE: `tsunagari cleanup` removes EVERY tsunagari lab on this machine (and restores every lab's device
// records), not just this test's. That is acceptable here only because integration tests run one file at a
// time (`--test-concurrency=1`); do not copy this into a test that may run beside others.
test('a killed run: cleanup --check reports the device, cleanup restores r1 and removes the lab', async () => {
  const child = spawn(process.execPath, ['--import', 'tsx', KILLED_RUN, LAB, 'primary', 'r1', 'interface eth1\n description tsunagari-killed-run'],
    { stdio: ['ignore', 'pipe', 'pipe'], env: process.env });
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => { out += d; });
  child.stderr.setEncoding('utf8').on('data', (d: string) => { err += d; });
  const exited = new Promise<void>((res) => child.once('exit', () => res()));
  try {
    await until('the run prints READY', 60_000, async () => {
      if (child.exitCode !== null) throw new Error(`the run exited ${child.exitCode}: ${err}`);
      return out.includes('READY') ? true : undefined;
    });
  } finally {
    child.kill('SIGKILL');
    await exited;
  }

  // what the killed run left: r1's eth2 down and its config changed, both recorded with how to reach r1
  assert.equal(await linkState('r1', 'eth2'), 'DOWN');
  assert.match((await standinState()).r1.config, /description tsunagari-killed-run/);
  const recs = deviceRecords();
  assert.deepEqual(recs.map((r) => [r.node, r.action?.kind ?? 'config', r.pid]).sort(),
    [['r1', 'config', child.pid], ['r1', 'interface-up', child.pid]], JSON.stringify(recs.map((r) => ({ ...r, snapshot: undefined }))));
  assert.ok(recs.every((r) => r.access?.host === '198.18.254.11'));

  const check = await cli(['cleanup', '--check']);
  assert.equal(check.code, 1, check.stdout + check.stderr);
  assert.match(check.stderr, /left behind on external device r1 of lab dual-path: eth2 is down/);
  assert.match(check.stderr, /left behind on external device r1 of lab dual-path: a pushed configuration/);

  // The records keep the inventory's paths expanded (not the secrets: only where they are), so a cleanup
  // whose environment lacks the run's variables (e.g. under sudo) still restores the device.
  assert.ok(recs.every((r) => r.access?.knownHostsFile === info.knownHostsFile && r.access?.privateKeyFile === info.keyFile),
    JSON.stringify(recs.map((r) => r.access)));
  const env = { ...process.env };
  delete env.TSUNAGARI_LAB_KEY;
  delete env.TSUNAGARI_LAB_KNOWN_HOSTS;
  const clean = await run(process.execPath, [BIN, 'cleanup'], { timeoutMs: 120_000, env });
  assert.equal(clean.code, 0, clean.stdout + clean.stderr);
  assert.match(clean.stdout, /lab dual-path: removed/);
  assert.match(clean.stdout, /external device r1: brought eth2 back up/);
  assert.match(clean.stdout, /external device r1: rolled back to the snapshot/);
  assert.doesNotMatch(clean.stderr, /\n\s+at /, 'no stack trace');

  assert.equal(await linkState('r1', 'eth2'), 'UP');
  assert.deepEqual(deviceRecords(), []);
  assert.equal(existsSync(deviceRecordDir(LAB)), false, 'the lab\'s record directory goes with its last record');
  assert.deepEqual(await labLeftovers(ctx, [LAB], (cmd) => cmd.includes('lab-push-and-die')), []);
  const again = await cli(['cleanup', '--check']);
  assert.doesNotMatch(again.stderr, /external device/, again.stdout + again.stderr);
  // other labs on this machine (other people's, created since) would make it exit 1; nothing of ours is left
  assert.doesNotMatch(again.stderr, /dual-path/, again.stdout + again.stderr);
  if (!(await discoverLab(ctx, undefined)).count) assert.equal(again.code, 0, again.stdout + again.stderr);
  await assertStandinAsFound('after cleanup');
});
