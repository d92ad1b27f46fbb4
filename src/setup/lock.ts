// Owns the pid lock files that keep two concurrent `tsunagari setup` runs from starting two daemons or
// building the same image twice. A lock is a file created with O_EXCL holding the owner's pid; a lock
// whose owner is dead is taken over. It must not touch any file but the lock path it is given.
import { openSync, writeSync, closeSync, readFileSync, unlinkSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { ensureDirs } from './paths.js';
import { UserError } from '../util/errors.js';
import { sleep } from '../util/exec.js';

export { sleep };

export function pidAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try { process.kill(pid, 0); return true; } catch (e) { return (e as NodeJS.ErrnoException).code === 'EPERM'; }
}

function readOwner(path: string): number | undefined {
  try {
    const n = Number.parseInt(readFileSync(path, 'utf8').trim(), 10);
    return Number.isFinite(n) ? n : undefined;
  } catch { return undefined; }
}

function tryTake(path: string): boolean {
  try {
    const fd = openSync(path, 'wx', 0o644);
    writeSync(fd, `${process.pid}\n`);
    closeSync(fd);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw e;
  }
}


/**
 * Runs fn while holding the lock file at `path`. Waits (polling) up to timeoutMs for another live owner;
 * a lock left by a dead process (or an empty one older than 10 s) is removed and taken.
 */
export async function withLock<T>(path: string, what: string, timeoutMs: number, fn: () => Promise<T>): Promise<T> {
  ensureDirs(dirname(path));
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (tryTake(path)) break;
    const owner = readOwner(path);
    let stale = owner !== undefined ? !pidAlive(owner) : false;
    if (owner === undefined) {
      try { stale = Date.now() - statSync(path).mtimeMs > 10_000; } catch { stale = true; }
    }
    if (stale) {
      try { unlinkSync(path); } catch { /* someone else took it over first */ }
      continue;
    }
    if (Date.now() > deadline) {
      throw new UserError(`cannot ${what} (another tsunagari process, pid ${owner}, holds ${path})`,
        `wait for it to finish, or remove ${path} if that process is not tsunagari`);
    }
    await sleep(200);
  }
  try {
    return await fn();
  } finally {
    if (readOwner(path) === process.pid) { try { unlinkSync(path); } catch { /* already gone */ } }
  }
}
