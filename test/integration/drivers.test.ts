// Device drivers on real FRR (test/fixtures/labs/drivers.yaml: r1 and r2 with OSPF, BGP and BFD; a
// management station `mgmt` on r1's eth2). Sessions are the EXEC TEST DOUBLE (test/support/exec-session.ts):
// commands run through the lab engine, and opening a session first pings r1 from mgmt, so a config that
// breaks r1's management path makes new sessions fail for real. The same flows over real SSH (the
// transport, kind frr, management network): drivers-ssh.test.ts. Timings are printed as `# …` lines.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { loadTopology } from '../../src/topology/load.js';
import { Context } from '../../src/lab/context.js';
import { up } from '../../src/lab/up.js';
import { teardown } from '../../src/lab/down.js';
import { openLab, type RunningLab } from '../../src/lab/running.js';
import { Ledger } from '../../src/lab/ledger.js';
import { labFilesDir } from '../../src/lab/services.js';
import { FrrDriver } from '../../src/devices/frr.js';
import { LinuxDriver } from '../../src/devices/linux.js';
import { CommandRejected, CommitReverted, ConfirmTimeout, RollbackMismatch } from '../../src/devices/errors.js';
import { pendingRollbacks, rollbackPending, snapshotAndPush } from '../../src/devices/snapshot.js';
import type { Neighbour } from '../../src/devices/types.js';
import { execSessionFactory, type FactoryDouble } from '../support/exec-session.js';
import { until } from './helpers.js';
import { sleep } from '../../src/util/exec.js';

const ctx = new Context();
const LAB = 'drivers';
const FILE = 'test/fixtures/labs/drivers.yaml';
const MGMT = { node: 'mgmt', address: '10.98.0.1' };
let running: RunningLab;
let f1: FactoryDouble;
let f2: FactoryDouble;
let r1: FrrDriver;
let r2: FrrDriver;
const numbers: string[] = [];
const log = (s: string): void => { process.stdout.write(`# ${s}\n`); };
const note = (s: string): void => { numbers.push(s); log(s); };

const nbr = (list: Neighbour[], address: string): Neighbour | undefined => list.find((n) => n.address === address);
const mgmtPings = async (): Promise<boolean> => (await running.exec('mgmt', ['ping', '-n', '-c', '1', '-W', '1', MGMT.address], { timeoutMs: 5000 })).code === 0;

before(async () => {
  if (Ledger.read(LAB)) await teardown(ctx, LAB); // ours, left by an interrupted run
  const r = await up(ctx, await loadTopology(FILE));
  log(`lab ${LAB} up in ${r.ms} ms`);
  running = openLab(ctx, LAB);
  f1 = execSessionFactory(running, 'r1', { reachableFrom: MGMT });
  f2 = execSessionFactory(running, 'r2');
  r1 = new FrrDriver(f1.factory, { log });
  r2 = new FrrDriver(f2.factory, { log });
  await r1.open();
  await r2.open();
});

after(async () => {
  await r1?.close();
  await r2?.close();
  await teardown(ctx, LAB);
  assert.equal(existsSync(labFilesDir(LAB)), false, 'no lab files (rollback records) left');
  log(`measured: ${numbers.join('; ')}`);
});

test('facts and running config of a real FRR', async () => {
  const f = await r1.facts();
  assert.equal(f.hostname, 'r1');
  assert.equal(f.vendor, 'FRRouting');
  assert.match(f.version, /^8\.\d+\.\d+/);
  assert.deepEqual(f.interfaces.filter((i) => i.startsWith('eth')).sort(), ['eth1', 'eth2']);
  const cfg = await r1.runningConfig();
  assert.match(cfg, /^frr version /);
  assert.match(cfg, /^hostname r1$/m);
  assert.match(cfg, /^router ospf\n ospf router-id 10\.255\.97\.1$/m);
  assert.doesNotMatch(cfg, /Building configuration/);
});

test('OSPF neighbour Full between r1 and r2 (both ways), BGP Established, BFD up, routes learned', async () => {
  const t0 = Date.now();
  await until('OSPF Full both ways', 30_000, async () => {
    const a = nbr(await r1.neighbours('ospf'), '10.97.0.2');
    const b = nbr(await r2.neighbours('ospf'), '10.97.0.1');
    return a?.state === 'Full' && b?.state === 'Full' ? true : undefined;
  });
  note(`OSPF Full ${Date.now() - t0} ms after the first check`);
  const ospf = nbr(await r1.neighbours('ospf'), '10.97.0.2')!;
  assert.deepEqual(ospf, { protocol: 'ospf', address: '10.97.0.2', id: '10.255.97.2', state: 'Full', iface: 'eth1' });
  await until('BGP Established', 30_000, async () => nbr(await r1.neighbours('bgp'), '10.97.0.2')?.state === 'Established' || undefined);
  assert.equal(nbr(await r1.neighbours('bgp'), '10.97.0.2')?.id, '65002');
  await until('BFD up', 30_000, async () => nbr(await r1.neighbours('bfd'), '10.97.0.2')?.state === 'up' || undefined);
  const routes = await until('r2 loopback route', 30_000, async () => {
    const rs = await r1.routes();
    return rs.some((r) => r.prefix === '10.255.97.2/32' && r.selected) ? rs : undefined;
  });
  const sel = routes.find((r) => r.prefix === '10.255.97.2/32' && r.selected)!;
  assert.deepEqual(sel.nexthops, [{ via: '10.97.0.2', dev: 'eth1' }]);
  assert.ok(routes.some((r) => r.prefix === 'fd00:97::/64'), 'IPv6 routes too');
});

test('load + compare shows the diff; a refused candidate and discard leave the device untouched', async () => {
  const before0 = await r1.runningConfig();
  await r1.loadCandidate('interface eth1\n ip ospf cost 50\nexit\nip route 192.0.2.0/24 blackhole\n', 'merge');
  const t0 = Date.now();
  const diff = await r1.compare();
  note(`compare ${Date.now() - t0} ms`);
  assert.match(diff, /^--- r1 running\n\+\+\+ r1 candidate\n@@ /);
  assert.match(diff, /^\+ ip ospf cost 50$/m);
  assert.match(diff, /^\+ip route 192\.0\.2\.0\/24 blackhole$/m);
  assert.equal(diff.split('\n').filter((l) => /^[-+][^-+]/.test(l)).length, 2, diff);
  await r1.discardCandidate();
  await assert.rejects(r1.compare(), /no candidate loaded/);
  await assert.rejects(r1.loadCandidate('router ospf\n passive-interfaces lo\nexit\n', 'merge'),
    (e: unknown) => e instanceof CommandRejected && /% Unknown command:\s+passive-interfaces lo/.test(e.deviceMessage));
  assert.equal(await r1.runningConfig(), before0);
});

test('commit() is commit-confirm by default: a config that keeps management is confirmed through a NEW session', async () => {
  const snap = await r1.runningConfig();
  const opened = f1.opened;
  await r1.loadCandidate('interface eth1\n ip ospf cost 40\nexit\n', 'merge');
  await r1.commit();
  const c = r1.lastCommit!;
  assert.equal(c.mode, 'confirm');
  assert.equal(c.confirmSeconds, 30);
  assert.equal(c.outcome, 'confirmed');
  assert.ok(f1.opened > opened, 'a new management session was opened before confirming');
  note(`commit-confirm round trip ${c.totalMs} ms (prepare ${c.prepareMs}, apply ${c.applyMs}, new session ${c.checkMs}, confirm ${c.confirmMs})`);
  assert.match(await r1.runningConfig(), /^ ip ospf cost 40$/m);
  await r1.rollback();
  note(`rollback ${r1.lastRollbackMs} ms`);
  assert.equal(await r1.diffFromSnapshot(snap), '');
});

test('a confirmed commit stays after its timer would have fired; plain commit; rollbacks unwind in order to the snapshot', async () => {
  const snap = await r1.runningConfig();
  await r1.loadCandidate('ip route 192.0.2.0/24 blackhole\n', 'merge');
  await r1.commit({ confirmSeconds: 2 });
  await sleep(3000);
  assert.match(await r1.runningConfig(), /^ip route 192\.0\.2\.0\/24 blackhole$/m, 'the cancelled timer did not revert');
  const mid = await r1.runningConfig();
  await r1.loadCandidate('ip route 198.51.100.0/24 blackhole\n', 'merge');
  await r1.commit({ confirmSeconds: 0 });
  note(`plain commit (no timer) ${r1.lastCommit!.totalMs} ms`);
  assert.equal(r1.lastCommit!.mode, 'plain');
  await r1.rollback();
  assert.equal(await r1.diffFromSnapshot(mid), '');
  await r1.rollback();
  assert.equal(await r1.diffFromSnapshot(snap), '');
  await assert.rejects(r1.rollback(), /no commit to roll back/);
});

test('a config that cuts the management path is not confirmed: the device reverts by itself (seed 000)', async () => {
  const snap = await r1.runningConfig();
  assert.ok(await mgmtPings());
  // replies to the management station go nowhere: r1 is unreachable for management, as in seed 000
  await r1.loadCandidate('ip route 10.98.0.10/32 blackhole\n', 'merge');
  const t0 = Date.now();
  await assert.rejects(r1.commit({ confirmSeconds: 6 }), (e: unknown) => {
    assert.ok(e instanceof CommitReverted, String(e));
    assert.equal(e.reverted, true);
    assert.match(e.message, /^commit on r1 was reverted \(management session lost after commit; no new management session within [\d.]+ s after the commit \(\d+ attempts?\): connect 10\.98\.0\.1: no answer from r1 \(ping from mgmt failed\)\); the device reverted to the previous config after [\d.]+ s; the running config equals the snapshot$/);
    assert.ok(e.afterMs! >= 6000 && e.afterMs! < 15_000, `reverted after ${e.afterMs} ms`);
    return true;
  });
  note(`management cut → device revert seen ${Date.now() - t0} ms after commit (timer 6 s)`);
  assert.equal(await r1.diffFromSnapshot(snap), '');
  assert.ok(await mgmtPings(), 'management works again');
  await assert.rejects(r1.rollback(), /no commit to roll back/, 'the reverted commit is not in the history');
});

test('confirm() after the timer fired: ConfirmTimeout, and the device is back at the snapshot', async () => {
  const snap = await r1.runningConfig();
  await r1.loadCandidate('ip route 192.0.2.0/24 blackhole\n', 'merge');
  await r1.commit({ confirmSeconds: 2, autoConfirm: false });
  assert.equal(r1.lastCommit!.outcome, 'pending');
  await until('the device reverted', 15_000, async () => (await r1.diffFromSnapshot(snap)) === '' || undefined);
  await assert.rejects(r1.confirm(), (e: unknown) => e instanceof ConfirmTimeout && /2 s revert timer already fired: reverted 0/.test(e.message));
  await assert.rejects(r1.confirm(), /no commit-confirm is pending/);
});

test('rollback() of a pending commit-confirm cancels the timer and restores at once', async () => {
  const snap = await r1.runningConfig();
  await r1.loadCandidate('interface eth1\n ip ospf cost 60\nexit\n', 'merge');
  await r1.commit({ confirmSeconds: 20, autoConfirm: false });
  assert.match(await r1.runningConfig(), /ip ospf cost 60/);
  await r1.rollback();
  note(`rollback of a pending commit-confirm ${r1.lastRollbackMs} ms`);
  assert.equal(await r1.diffFromSnapshot(snap), '');
  const st = await running.exec('r1', ['cat', '/var/tmp/tsunagari/revert.state']);
  assert.match(st.stdout, /^reverted 0 /);
});

/** Starts test/support/push-and-die.ts, waits for READY, SIGKILLs it. */
async function pushAndDie(args: string[]): Promise<void> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/support/push-and-die.ts', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d) => { out += d; });
  child.stderr.on('data', (d) => { out += d; });
  const exited = new Promise((r) => child.on('exit', r));
  await until('the child pushed', 60_000, async () => (out.includes('READY') ? true : child.exitCode !== null ? Promise.reject(new Error(out)) : undefined));
  child.kill('SIGKILL');
  await exited;
}

test('killed mid commit-confirm: the timer on the device reverts without tsunagari', async () => {
  const snap = await r1.runningConfig();
  const t0 = Date.now();
  await pushAndDie(['pending', LAB, 'r1', 'frr', '3', 'ip route 192.0.2.0/24 blackhole\n']);
  assert.match(await r1.runningConfig(), /192\.0\.2\.0\/24 blackhole/, 'the change is in place when the run dies');
  await until('the device reverted by itself', 20_000, async () => (await r1.diffFromSnapshot(snap)) === '' || undefined);
  note(`killed run: device reverted ${Date.now() - t0} ms after the push started (timer 3 s)`);
});

test('snapshotAndPush: ledger record while pushed, the Undo rolls back and compares with the snapshot', async () => {
  const snap = await r1.runningConfig();
  const u = await snapshotAndPush(r1, 'interface eth1\n ip ospf cost 70\nexit\nno router bgp 65001\n', 'merge', f1.factory, { lab: LAB, node: 'r1', confirmSeconds: 10, log });
  assert.equal(u.snapshot, snap);
  assert.match(u.diff, /^\+ ip ospf cost 70$/m);
  assert.match(u.diff, /^-router bgp 65001$/m);
  assert.doesNotMatch(await r1.runningConfig(), /router bgp/);
  assert.equal(pendingRollbacks(LAB).length, 1);
  const t0 = Date.now();
  await u.fn();
  note(`scenario undo (rollback + compare with snapshot) ${Date.now() - t0} ms; push ${u.timing.snapshotMs}+${u.timing.loadMs}+${u.timing.commitMs} ms (snapshot+load/compare+commit)`);
  assert.equal(await r1.diffFromSnapshot(snap), '');
  assert.deepEqual(pendingRollbacks(LAB), []);
});

test('a killed run\'s push is rolled back from its ledger record (rollbackPending)', async () => {
  const snap = await r1.runningConfig();
  await pushAndDie(['pushed', LAB, 'r1', 'frr', '10', 'ip route 192.0.2.0/24 blackhole\ninterface eth1\n ip ospf cost 90\nexit\n']);
  assert.match(await r1.runningConfig(), /ip ospf cost 90/);
  const pending = pendingRollbacks(LAB);
  assert.equal(pending.length, 1);
  assert.equal(pending[0]!.node, 'r1');
  const t0 = Date.now();
  const res = await rollbackPending(running, () => f1.factory);
  note(`rollbackPending ${Date.now() - t0} ms`);
  assert.deepEqual(res.map((r) => [r.node, r.ok]), [['r1', true]], JSON.stringify(res));
  assert.equal(await r1.diffFromSnapshot(snap), '');
  assert.deepEqual(pendingRollbacks(LAB), []);
});

test('linux driver on r2: facts, dump, a script committed with commit-confirm and rolled back exactly', async () => {
  const lx = new LinuxDriver(f2.factory, { log });
  await lx.open();
  try {
    const f = await lx.facts();
    assert.equal(f.hostname, 'r2');
    assert.match(f.os, /Debian/);
    await assert.rejects(lx.neighbours('ospf'), /driver linux cannot ospf/);
    await assert.rejects(lx.loadCandidate('ip route add 203.0.113.0/24 via 10.97.0.1', 'replace'), /driver linux cannot load-replace/);
    const snap = await lx.runningConfig();
    assert.match(snap, /^address eth1 10\.97\.0\.2\/30$/m);
    assert.doesNotMatch(snap, /proto (ospf|bgp)/, 'routing-daemon routes are state, not config');
    // (no sysctl line: /proc/sys is read-only inside a Docker container; sysctl inverses are unit-tested)
    const script = [
      'ip route add 203.0.113.0/24 via 10.97.0.1 dev eth1',
      'ip addr add 10.96.0.1/24 dev eth1',
      'ip -6 route add fd00:98::/64 via fd00:97::1',
      'nft add table inet tsunagari_test',
      "nft add chain inet tsunagari_test input '{ type filter hook input priority 0; policy accept; }'",
      'nft add rule inet tsunagari_test input tcp dport 2222 drop',
      'ip link set dev eth1 mtu 1400',
    ].join('\n');
    await lx.loadCandidate(script, 'merge');
    assert.match(await lx.compare(), /^\+nft add table inet tsunagari_test$/m);
    await lx.commit({ confirmSeconds: 10 });
    note(`linux commit-confirm round trip ${lx.lastCommit!.totalMs} ms`);
    const now = await lx.runningConfig();
    for (const want of [/^route 203\.0\.113\.0\/24 via 10\.97\.0\.1 dev eth1$/m, /^address eth1 10\.96\.0\.1\/24$/m, /^link eth1 up mtu 1400$/m, /tcp dport 2222 drop/]) assert.match(now, want);
    await lx.rollback();
    note(`linux rollback (inverse commands) ${lx.lastRollbackMs} ms`);
    assert.equal(await lx.diffFromSnapshot(snap), '');

    // a script failing half-way: what ran is undone, what existed before (the route it collided with) stays
    await running.exec('r2', ['ip', 'route', 'add', '198.18.0.0/24', 'via', '10.97.0.1']);
    const snap2 = await lx.runningConfig();
    await lx.loadCandidate('ip addr add 10.96.0.1/24 dev eth1\nip route add 198.18.0.0/24 via 10.97.0.1\n', 'merge');
    await assert.rejects(lx.commit({ confirmSeconds: 10 }), (e: unknown) => e instanceof CommandRejected && /File exists/.test(e.deviceMessage) && /line 2 failed/.test(e.deviceMessage) && /previous config was restored/.test(e.message));
    assert.equal(await lx.diffFromSnapshot(snap2), '');

    // a change behind tsunagari's back is not undone by inverse commands: the Undo reports the difference
    const u = await snapshotAndPush(lx, 'ip route add 203.0.113.0/24 via 10.97.0.1\n', 'merge', f2.factory, { confirmSeconds: 10 });
    await running.exec('r2', ['ip', 'route', 'add', '198.19.0.0/24', 'via', '10.97.0.1']);
    await assert.rejects(u.fn(), (e: unknown) => e instanceof RollbackMismatch && /^\+route 198\.19\.0\.0\/24 via 10\.97\.0\.1 dev eth1$/m.test(e.diff));
    await running.exec('r2', ['ip', 'route', 'del', '198.19.0.0/24']);
    await running.exec('r2', ['ip', 'route', 'del', '198.18.0.0/24']);
    assert.equal(await lx.diffFromSnapshot(snap), '');
  } finally {
    await lx.close();
  }
});
