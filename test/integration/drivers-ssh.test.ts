// Device drivers END TO END over real SSH (test/fixtures/labs/drivers-ssh.yaml: two routers of kind frr,
// reached from the lab's management namespace with pinned host keys — src/devices/transport.ts). The
// seed-000 accident for real: a config that blackholes the management gateway cuts tsunagari off r1 (the
// open session stalls, new ones cannot connect); commit-confirm must not confirm, and r1's own timer must
// bring it back. Also: a confirmed commit, exact rollback, the scenario Undo, and the linux driver over SSH.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { loadTopology } from '../../src/topology/load.js';
import { Context } from '../../src/lab/context.js';
import { up } from '../../src/lab/up.js';
import { teardown } from '../../src/lab/down.js';
import { openLab, type RunningLab } from '../../src/lab/running.js';
import { Ledger } from '../../src/lab/ledger.js';
import { labFilesDir } from '../../src/lab/services.js';
import { labSessionFactory } from '../../src/devices/transport.js';
import { FrrDriver } from '../../src/devices/frr.js';
import { LinuxDriver } from '../../src/devices/linux.js';
import { CommitReverted } from '../../src/devices/errors.js';
import { pendingRollbacks, snapshotAndPush } from '../../src/devices/snapshot.js';
import type { SessionFactory } from '../../src/devices/types.js';
import { until } from './helpers.js';

const ctx = new Context();
const LAB = 'drvssh';
const FILE = 'test/fixtures/labs/drivers-ssh.yaml';
const MGMT_GW = '172.31.97.1';
let running: RunningLab;
let s1: SessionFactory;
let r1: FrrDriver;
const numbers: string[] = [];
const log = (s: string): void => { process.stdout.write(`# ${s}\n`); };
const note = (s: string): void => { numbers.push(s); log(s); };

before(async () => {
  if (Ledger.read(LAB)) await teardown(ctx, LAB); // ours, left by an interrupted run
  const r = await up(ctx, await loadTopology(FILE));
  log(`lab ${LAB} up in ${r.ms} ms`);
  running = openLab(ctx, LAB);
  s1 = labSessionFactory(running, 'r1');
  r1 = new FrrDriver(s1, { log });
  const t0 = Date.now();
  await r1.open();
  note(`SSH session open ${Date.now() - t0} ms`);
});

after(async () => {
  await r1?.close();
  await teardown(ctx, LAB);
  assert.equal(existsSync(labFilesDir(LAB)), false);
  log(`measured over SSH: ${numbers.join('; ')}`);
});

test('over SSH: facts, running config, OSPF Full with r2', async () => {
  const f = await r1.facts();
  assert.equal(f.hostname, 'r1');
  assert.ok(f.interfaces.includes('mgmt0'));
  assert.match(await r1.runningConfig(), /^router ospf$/m);
  await until('OSPF Full', 30_000, async () => (await r1.neighbours('ospf')).find((n) => n.address === '10.97.0.2' && n.state === 'Full'));
});

test('over SSH: commit() (commit-confirm) of a config that keeps management is confirmed; rollback is exact', async () => {
  const snap = await r1.runningConfig();
  await r1.loadCandidate('interface eth1\n ip ospf cost 40\nexit\nip route 192.0.2.0/24 blackhole\n', 'merge');
  await r1.commit();
  const c = r1.lastCommit!;
  assert.equal(c.outcome, 'confirmed');
  note(`commit-confirm round trip ${c.totalMs} ms (prepare ${c.prepareMs}, apply ${c.applyMs}, new SSH session + check ${c.checkMs}, confirm ${c.confirmMs})`);
  assert.match(await r1.runningConfig(), /^ip route 192\.0\.2\.0\/24 blackhole$/m);
  await r1.rollback();
  note(`rollback ${r1.lastRollbackMs} ms`);
  assert.equal(await r1.diffFromSnapshot(snap), '');
});

test('over SSH: a config that cuts tsunagari off r1 is reverted by r1 itself (seed 000, for real)', async () => {
  const snap = await r1.runningConfig();
  await r1.loadCandidate(`ip route ${MGMT_GW}/32 blackhole\n`, 'merge');
  const t0 = Date.now();
  await assert.rejects(r1.commit({ confirmSeconds: 8 }), (e: unknown) => {
    assert.ok(e instanceof CommitReverted, String(e));
    assert.equal(e.reverted, true);
    assert.match(e.message, /^commit on node r1 of lab drvssh was reverted \(management session lost after commit; .*\); the device reverted to the previous config after [\d.]+ s; the running config equals the snapshot$/s);
    log(e.message);
    return true;
  });
  note(`management cut → reverted and seen ${Date.now() - t0} ms after the commit (timer 8 s)`);
  assert.equal(await r1.diffFromSnapshot(snap), '');
  const s = await s1();
  assert.equal((await s.exec('true')).code, 0, 'a new SSH session works again');
  await s.close();
});

test('over SSH: snapshotAndPush and its Undo (rollback + compare with the snapshot)', async () => {
  const snap = await r1.runningConfig();
  const u = await snapshotAndPush(r1, 'interface eth1\n ip ospf cost 70\nexit\n', 'merge', s1, { lab: LAB, node: 'r1', confirmSeconds: 15 });
  assert.match(u.diff, /^\+ ip ospf cost 70$/m);
  assert.equal(pendingRollbacks(LAB).length, 1);
  const t0 = Date.now();
  await u.fn();
  note(`push ${u.timing.snapshotMs + u.timing.loadMs + u.timing.commitMs} ms, undo ${Date.now() - t0} ms`);
  assert.equal(await r1.diffFromSnapshot(snap), '');
  assert.deepEqual(pendingRollbacks(LAB), []);
});

test('over SSH: the linux driver on r2 commits a script with commit-confirm and rolls back exactly', async () => {
  const lx = new LinuxDriver(labSessionFactory(running, 'r2'), { log });
  await lx.open();
  try {
    const snap = await lx.runningConfig();
    await lx.loadCandidate('ip route add 203.0.113.0/24 via 10.97.0.1\nip addr add 10.96.0.1/24 dev eth1\n', 'merge');
    await lx.commit({ confirmSeconds: 10 });
    note(`linux commit-confirm ${lx.lastCommit!.totalMs} ms`);
    assert.match(await lx.runningConfig(), /^route 203\.0\.113\.0\/24 via 10\.97\.0\.1 dev eth1$/m);
    await lx.rollback();
    note(`linux rollback ${lx.lastRollbackMs} ms`);
    assert.equal(await lx.diffFromSnapshot(snap), '');
  } finally {
    await lx.close();
  }
});
