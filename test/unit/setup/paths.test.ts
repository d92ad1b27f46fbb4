import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, existsSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { MAX_SOCKET_PATH, STATE_DIR, paths, socketPaths } from '../../../src/setup/paths.js';
import { withLock } from '../../../src/setup/lock.js';

test('every path lives below the state directory and sockets fit sun_path', () => {
  const all: string[] = [];
  const walk = (v: unknown): void => {
    if (typeof v === 'string') all.push(v);
    else if (typeof v === 'function') all.push((v as (n: string) => string)('debian'));
    else if (v && typeof v === 'object') Object.values(v).forEach(walk);
  };
  walk(paths);
  for (const p of all) assert.ok(p === STATE_DIR || p.startsWith(STATE_DIR + '/'), p);
  for (const s of socketPaths()) assert.ok(Buffer.byteLength(s) <= MAX_SOCKET_PATH, s);
});

test('withLock serialises holders and removes its lock file', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsg-lock-'));
  try {
    const lock = join(dir, 'x.lock');
    const order: string[] = [];
    const slow = (id: string) => withLock(lock, 'test', 5000, async () => {
      order.push(`${id}+`);
      await new Promise((r) => setTimeout(r, 50));
      order.push(`${id}-`);
    });
    await Promise.all([slow('a'), slow('b')]);
    assert.deepEqual(order, ['a+', 'a-', 'b+', 'b-']);
    assert.equal(existsSync(lock), false);
  } finally { rmSync(dir, { recursive: true, force: true }); }
});

test('withLock takes over a lock left by a dead process', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsg-lock-'));
  try {
    const lock = join(dir, 'y.lock');
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']).stdout.toString();
    writeFileSync(lock, `${dead}\n`);
    assert.equal(await withLock(lock, 'test', 1000, async () => 42), 42);
  } finally { rmSync(dir, { recursive: true, force: true }); }
});
