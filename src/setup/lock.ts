// Owns the locks that keep two concurrent `tsunagari setup` runs from starting two daemons or building
// the same image twice (and machine registrations, image copies). A lock is a lease (util/lease.ts) named
// by its path. It must not touch any file but the lock path it is given.
import { readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { describeHolder, waitLease } from '../util/lease.js';
import { dirname } from 'node:path';
import { ensureDirs } from './paths.js';
import { UserError } from '../util/errors.js';
import { sleep } from '../util/exec.js';

export { sleep };

export function pidAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try { process.kill(pid, 0); return true; } catch (e) { return (e as NodeJS.ErrnoException).code === 'EPERM'; }
}

/** Per-process queue: the lease is per process, so callers inside one process take turns first. */
const queues = new Map<string, Promise<unknown>>();

/**
 * Runs fn while holding the lock `path` (a lease, util/lease.ts: the kernel releases it when its process
 * dies, so there is no stale-lock takeover and never two holders). Waits (polling) up to timeoutMs for
 * another holder. The pid written to `path` is for people reading the state directory only.
 */
export async function withLock<T>(path: string, what: string, timeoutMs: number, fn: () => Promise<T>): Promise<T> {
  const prev = queues.get(path) ?? Promise.resolve();
  let done!: () => void;
  const mine = new Promise<void>((r) => { done = r; });
  const chained = prev.then(() => mine);
  queues.set(path, chained);
  try {
    await prev.catch(() => undefined);
    ensureDirs(dirname(path));
    const lease = await waitLease('lock', path, what, timeoutMs);
    if (!lease) {
      throw new UserError(`cannot ${what} (another tsunagari process, ${describeHolder('lock', path)}, holds ${path})`,
        'wait for it to finish, or stop that process');
    }
    try { writeFileSync(path, `${process.pid}\n`); } catch { /* informational */ }
    try {
      return await fn();
    } finally {
      try { if (readFileSync(path, 'utf8').trim() === String(process.pid)) unlinkSync(path); } catch { /* already gone */ }
      await lease.release();
    }
  } finally {
    done();
    if (queues.get(path) === chained) queues.delete(path);
  }
}
