// The device-side revert timer (src/devices/confirm.ts) run for real by the local sh in a temp directory:
// it reverts when nobody confirms, confirm cancels it (no process left behind), confirm after it fired says
// so, a second arm while one is pending is refused, revert-now takes the lock. Plus the management check.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RevertTimer, checkManagement } from '../../../src/devices/confirm.js';
import type { ExecResult, SshSession } from '../../../src/devices/types.js';

/** Runs commands with the machine's own sh (the timer's scripts are plain POSIX sh). */
class LocalSession implements SshSession {
  readonly device = 'local';
  exec(command: string, o: { timeoutMs?: number } = {}): Promise<ExecResult> {
    return new Promise((resolve) => {
      const c = spawn('sh', ['-c', command], { stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = ''; let stderr = '';
      c.stdout.on('data', (d) => { stdout += d; });
      c.stderr.on('data', (d) => { stderr += d; });
      const t = setTimeout(() => c.kill('SIGKILL'), o.timeoutMs ?? 10_000);
      c.on('close', (code) => { clearTimeout(t); resolve({ code: code ?? 1, stdout, stderr }); });
    });
  }
  shell(): never { throw new Error('no shell'); }
  async close(): Promise<void> { /* nothing */ }
}

const s = new LocalSession();
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function setup(): { dir: string; timer: RevertTimer; marker: string; done: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'tsunagari-timer-'));
  const marker = join(dir, 'reverted-marker');
  writeFileSync(join(dir, 'revert.sh'), `echo reverted-by-timer > ${marker}\n`);
  return { dir, timer: new RevertTimer(dir), marker, done: () => rmSync(dir, { recursive: true, force: true }) };
}

/** The timer's process (or any of its group) still running — zombies waiting for a reaper count as gone. */
async function timerAlive(dir: string): Promise<boolean> {
  await sleep(100);
  const pgid = readFileSync(join(dir, 'timer.pid'), 'utf8').trim();
  const r = await s.exec(`ps -eo pgid=,stat= | awk '$1 == ${pgid} && $2 !~ /^Z/' | wc -l`);
  return Number(r.stdout.trim()) > 0;
}

test('nobody confirms: the timer runs revert.sh after N s and records it', async () => {
  const { dir, timer, marker, done } = setup();
  try {
    const t0 = Date.now();
    await timer.arm(s, 1);
    assert.ok(await timerAlive(dir));
    while (!existsSync(marker) && Date.now() - t0 < 5000) await sleep(50);
    const ms = Date.now() - t0;
    assert.ok(existsSync(marker), 'revert.sh ran');
    assert.ok(ms >= 950 && ms < 3000, `reverted after ${ms} ms`);
    await sleep(100);
    assert.match(readFileSync(join(dir, 'revert.state'), 'utf8'), /^reverted 0 \d+/);
    assert.equal(await timer.confirm(s), readFileSync(join(dir, 'revert.state'), 'utf8').trim(), 'a late confirm gets the state, not "confirmed"');
  } finally { done(); }
});

test('confirm cancels the timer: no revert, no process left', async () => {
  const { dir, timer, marker, done } = setup();
  try {
    await timer.arm(s, 1);
    assert.equal(await timer.confirm(s), true);
    assert.equal(await timerAlive(dir), false, 'the timer process group is gone');
    await sleep(1400);
    assert.equal(existsSync(marker), false, 'no revert after the timer would have fired');
    assert.match(readFileSync(join(dir, 'revert.state'), 'utf8'), /^confirmed/);
  } finally { done(); }
});

test('a second arm while one is pending is refused without touching its files; after confirm it is allowed', async () => {
  const { dir, timer, done } = setup();
  try {
    writeFileSync(join(dir, 'revert.sh.next'), 'echo first\n');
    await timer.arm(s, 30);
    assert.equal(readFileSync(join(dir, 'revert.sh'), 'utf8'), 'echo first\n', 'prepared files promoted by the arm');
    assert.equal(existsSync(join(dir, 'revert.sh.next')), false);
    writeFileSync(join(dir, 'revert.sh.next'), 'echo second\n');
    await assert.rejects(timer.arm(s, 30), /a commit-confirm is already pending on the device/);
    await assert.rejects(timer.arm(s, 0), /already pending/, 'a plain commit too');
    assert.equal(readFileSync(join(dir, 'revert.sh'), 'utf8'), 'echo first\n', 'the pending commit\'s revert script is untouched');
    assert.equal(await timer.confirm(s), true);
    await timer.arm(s, 30);
    assert.equal(await timer.confirm(s), true);
  } finally { done(); }
});

test('revert now: takes the lock, kills the timer, runs revert.sh once', async () => {
  const { dir, timer, marker, done } = setup();
  try {
    await timer.arm(s, 30);
    const r = await s.exec(timer.revertNowCommand());
    assert.equal(r.code, 0);
    assert.ok(existsSync(marker));
    assert.equal(await timerAlive(dir), false);
    assert.notEqual(await timer.confirm(s), true, 'nothing left to confirm');
  } finally { done(); }
});

test('management check: a factory that fails is retried until the deadline, one that works wins', async () => {
  let n = 0;
  const flaky = async (): Promise<SshSession> => { if (++n < 3) throw new Error(`refused #${n}`); return s; };
  const ok = await checkManagement(flaky, 'local', 'true', 5000);
  assert.equal(ok.ok, true);
  assert.equal(ok.attempts, 3);
  const dead = await checkManagement(async () => { throw new Error('connect ETIMEDOUT'); }, 'local', 'true', 800);
  assert.equal(dead.ok, false);
  assert.match(dead.error ?? '', /ETIMEDOUT/);
  assert.ok(dead.ms < 4000, `bounded: ${dead.ms} ms`);
  const failing = await checkManagement(async () => s, 'local', 'exit 4', 500);
  assert.equal(failing.ok, false);
  assert.match(failing.error ?? '', /exited 4/);
});
