// Leases and locks: exclusive across processes, released by the kernel when the holder is SIGKILLed (no
// stale lock, no takeover race), re-entrant per process for leases, queued per process for locks.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const state = mkdtempSync(join(tmpdir(), 'tsunagari-lease-'));
process.env.TSUNAGARI_STATE = state;
const { tryLease, leaseHeld, readNote, waitLease } = await import('../../../src/util/lease.js');
const { withLock } = await import('../../../src/setup/lock.js');
after(() => rmSync(state, { recursive: true, force: true }));

const NAME = `unit-${process.pid}-${Date.now()}`;
const LEASE_URL = new URL('../../../src/util/lease.ts', import.meta.url).href;

/** A child process that takes the lease and holds it until killed; resolves once it holds it. */
function holder(name: string): Promise<import('node:child_process').ChildProcess> {
  const code = `const { tryLease } = await import(${JSON.stringify(LEASE_URL)}); const l = await tryLease('lab', ${JSON.stringify(name)}, 'unit holder'); process.stdout.write(l ? 'held\\n' : 'refused\\n'); setInterval(() => {}, 1000);`;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env } });
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => (d.toString().includes('held') ? resolve(child) : reject(new Error(d.toString()))));
    child.on('exit', (c) => reject(new Error(`holder exited ${c}`)));
  });
}

test('a lease is exclusive across processes, names its holder, and is free the moment the holder is SIGKILLed', async () => {
  const child = await holder(NAME);
  try {
    assert.equal(await tryLease('lab', NAME), undefined, 'held by the child');
    assert.equal(await leaseHeld('lab', NAME), true);
    assert.equal(readNote('lab', NAME)?.pid, child.pid);
    assert.equal(readNote('lab', NAME)?.what, 'unit holder');
  } finally {
    child.kill('SIGKILL');
  }
  const got = await waitLease('lab', NAME, 'unit', 5000);
  assert.ok(got, 'taken after the holder died, without any stale-lock handling');
  assert.equal(await tryLease('lab', NAME), got, 'the same lease again inside one process');
  await got!.release();
  assert.equal(await leaseHeld('lab', NAME), false);
});

test('locks: callers in one process take turns; a second process waits, bounded, and is told who holds it', async () => {
  const path = join(state, 'x.lock');
  const order: string[] = [];
  await Promise.all([1, 2, 3].map((i) => withLock(path, `step ${i}`, 5000, async () => {
    order.push(`in ${i}`);
    await new Promise((r) => setTimeout(r, 20));
    order.push(`out ${i}`);
  })));
  for (let i = 0; i < order.length; i += 2) assert.equal(order[i]!.slice(3), order[i + 1]!.slice(4), `no overlap: ${order.join(', ')}`);
  // held by another process: we wait (bounded) and are refused, naming the holder
  const code = `const { withLock } = await import(${JSON.stringify(new URL('../../../src/setup/lock.ts', import.meta.url).href)}); await withLock(${JSON.stringify(path)}, 'hold', 5000, async () => { process.stdout.write('held\\n'); setInterval(() => {}, 1000); await new Promise(() => {}); });`;
  const locker = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => { locker.stdout!.on('data', () => resolve()); locker.on('exit', (c) => reject(new Error(`locker exited ${c}`))); });
  try {
    await assert.rejects(withLock(path, 'build the image', 300, async () => undefined), /cannot build the image \(another tsunagari process, hold \(pid \d+, since .*\), holds .*x\.lock\)/);
  } finally {
    locker.kill('SIGKILL');
  }
  let ran = false;
  await withLock(path, 'after', 5000, async () => { ran = true; });
  assert.equal(ran, true, 'a killed holder never leaves the lock stuck');
});
