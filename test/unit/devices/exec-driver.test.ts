// Commit orchestration of ExecDriver (via the FRR driver) against a fake FRR device that understands the
// driver's commands (running config, files, frr-reload, the revert timer's lock and state): the order
// (restore point and timer BEFORE apply), confirm only through a NEW session, a refused apply restored at
// once, a pending commit-confirm on the device refused, management lost → wait for the device's revert →
// CommitReverted (or "did not answer again", bounded). The real timer scripts: confirm.test.ts; real FRR:
// test/integration/drivers.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FrrDriver, FRR_COMMANDS } from '../../../src/devices/frr.js';
import { CommandRejected, CommitReverted, DriverStateError } from '../../../src/devices/errors.js';
import { WRITE_FILE_RE } from '../../../src/devices/remote.js';
import { PRIVATE_DIR_RE } from '../../../src/devices/confirm.js';
import type { ExecResult, SessionFactory, SshSession } from '../../../src/devices/types.js';

const BASE = 'frr version 8.4.4\nfrr defaults traditional\nhostname r1\nservice integrated-vtysh-config\n!\nrouter ospf\n ospf router-id 10.0.0.1\nexit\n!\n';
const D = '/var/tmp/tsunagari';

/** What the device would do with the driver's commands; `log` records [session id, command]. */
class FakeFrr {
  running = BASE;
  files = new Map<string, string>();
  state = '';
  lock = false;
  timer?: NodeJS.Timeout;
  log: Array<[number, string]> = [];
  sessions = 0;
  applyResult = '';
  /** Seconds the timer was armed with, per arm. */
  armed: number[] = [];

  private revert(): void {
    const m = /<<'TSUNAGARI_FRR_CONFIG_EOF'\n([\s\S]*?)\nTSUNAGARI_FRR_CONFIG_EOF/.exec(this.files.get(`${D}/revert.sh`) ?? '');
    if (m) this.running = `${m[1]!.replace(/\nend$/, '')}\n`;
    this.state = `reverted 0 ${Math.floor(Date.now() / 1000)}`;
  }

  exec(id: number, cmd: string): ExecResult {
    this.log.push([id, cmd]);
    const ok = (stdout = ''): ExecResult => ({ code: 0, stdout, stderr: '' });
    const w = WRITE_FILE_RE.exec(cmd);
    if (w) { this.files.set(w[3]!, (w[2] === '>>' ? this.files.get(w[3]!) ?? '' : '') + Buffer.from(w[1]!, 'base64').toString()); return ok(); }
    if ((PRIVATE_DIR_RE.test(cmd) && !cmd.includes('\n')) || /^rm -f \S+$/.test(cmd) || (cmd.startsWith('rm -f ') && !cmd.includes('apply.rc'))) return ok();
    if (cmd === FRR_COMMANDS.running) return ok(`Building configuration...\n\nCurrent configuration:\n!\n${this.running}end\n`);
    if (cmd === FRR_COMMANDS.version) return ok('FRRouting 8.4.4 (r1) on Linux(6.1.0).\n');
    if (cmd.includes('frr-reload.py --test')) return ok();
    if (cmd.includes('apply.rc') && cmd.includes('setsid sh -c') && cmd.includes('frr-reload.py --reload')) {
      // the detached apply: runs at once here; its result is what the driver's wait/poll prints
      const c = this.files.get(`${D}/candidate.conf`) ?? '';
      if (c.includes('REJECT')) {
        this.applyResult = "rc 1\nvtysh failed to process new configuration: vtysh (mark file) exited with status 2:\nb'line 3: % Unknown command: REJECT\\n'\n";
      } else {
        this.running = c.replace(/^frr version.*\n/, 'frr version 8.4.4\n');
        this.applyResult = 'rc 0\n';
      }
      return ok(this.applyResult);
    }
    if (cmd.includes('apply.rc')) return ok(this.applyResult || 'running\n');
    if (cmd.includes('.next; do')) {
      if (this.timer && !this.lock) return { code: 3, stdout: 'pending 4242\n', stderr: '' };
      for (const [k, v] of [...this.files]) if (k.endsWith('.next')) { this.files.set(k.slice(0, -5), v); this.files.delete(k); }
      if (!cmd.includes('setsid sh -c')) return ok('armed 0\n');
      const secs = Number(/sleep (\d+)/.exec(cmd)![1]);
      this.armed.push(secs);
      this.lock = false;
      this.state = 'armed';
      this.timer = setTimeout(() => { if (!this.lock) { this.lock = true; this.revert(); } }, secs * 1000);
      return ok('armed 4242\n');
    }
    if (cmd.startsWith('if mkdir') && cmd.includes('echo confirmed')) {
      if (this.lock) return ok(`fired ${this.state}\n`);
      this.lock = true;
      clearTimeout(this.timer);
      this.state = 'confirmed';
      return ok('confirmed\n');
    }
    if (cmd.startsWith('if mkdir') && cmd.includes('revert.sh')) {
      if (!this.lock) { this.lock = true; clearTimeout(this.timer); this.revert(); }
      return ok(`${this.state}\n`);
    }
    if (cmd.startsWith(`cat ${D}/revert.state`)) return ok(`${this.state}\n\n`);
    if (cmd === `sh ${D}/restore.sh` || cmd === `sh ${D}/revert.sh`) {
      const m = /<<'TSUNAGARI_FRR_CONFIG_EOF'\n([\s\S]*?)\nTSUNAGARI_FRR_CONFIG_EOF/.exec(this.files.get(cmd.slice(3)) ?? '');
      if (m) this.running = `${m[1]!.replace(/\nend$/, '')}\n`;
      return ok();
    }
    throw new Error(`fake FRR: unexpected command ${cmd}`);
  }

  /** Sessions; `down()` says whether new ones fail (management lost). */
  factory(down: () => boolean = () => false): SessionFactory {
    return async () => {
      if (down()) throw new Error('connect ECONNREFUSED');
      const id = ++this.sessions;
      const s: SshSession = {
        device: 'r1',
        exec: async (c: string) => this.exec(id, c),
        shell: () => Promise.reject(new Error('no shell')),
        close: async () => undefined,
      };
      return s;
    };
  }
}

test('commit: restore point, revert.sh and timer before apply; confirm through a NEW session', async () => {
  const dev = new FakeFrr();
  const d = new FrrDriver(dev.factory());
  await d.open();
  await d.loadCandidate('router ospf\n passive-interface lo\nexit\n', 'merge');
  const from = dev.log.length;
  await d.commit({ confirmSeconds: 5 });
  const cmds = dev.log.slice(from).map(([, c]) => c);
  const at = (re: RegExp): number => cmds.findIndex((c) => re.test(c));
  assert.ok(at(/rollback\.conf\.next/) < at(/revert\.sh\.next/), 'rollback file first');
  assert.ok(at(/revert\.sh\.next/) < at(/setsid/), 'revert script written before arming');
  assert.equal(dev.files.get(`${D}/rollback.conf`), `${BASE}end\n`, 'the running config saved on the device');
  assert.match(dev.files.get(`${D}/revert.sh`) ?? '', /frr-reload\.py --reload \/var\/tmp\/tsunagari\/rollback\.conf/);
  assert.ok(at(/setsid/) < at(/--reload/), 'timer armed BEFORE applying');
  const live = dev.log.slice(from).find(([, c]) => c === FRR_COMMANDS.version)!;
  const conf = dev.log.slice(from).find(([, c]) => c.includes('echo confirmed'))!;
  assert.notEqual(live[0], 1, 'the management check ran on a new session');
  assert.equal(conf[0], live[0], 'confirmed through that proven session');
  assert.match(dev.running, /passive-interface lo/);
  assert.equal(dev.state, 'confirmed');
  assert.deepEqual(dev.armed, [5]);
  assert.equal(d.lastCommit?.outcome, 'confirmed');
});

test('commit() with no options arms the default 30 s timer; confirmSeconds 0 arms none', async () => {
  const dev = new FakeFrr();
  const d = new FrrDriver(dev.factory());
  await d.open();
  await d.loadCandidate('ip route 192.0.2.0/24 blackhole\n', 'merge');
  await d.commit();
  await d.loadCandidate('ip route 198.51.100.0/24 blackhole\n', 'merge');
  await d.commit({ confirmSeconds: 0 });
  assert.deepEqual(dev.armed, [30]);
  assert.equal(d.lastCommit?.mode, 'plain');
});

test('a refused apply is restored at once: CommandRejected with the device\'s words, nothing pending', async () => {
  const dev = new FakeFrr();
  const d = new FrrDriver(dev.factory());
  await d.open();
  await d.loadCandidate('router ospf\n REJECT\nexit\n', 'merge');
  await assert.rejects(d.commit({ confirmSeconds: 5 }), (e: unknown) =>
    e instanceof CommandRejected && /line 3: % Unknown command: REJECT/.test(e.deviceMessage) && /nothing was committed \(the previous config was restored\)/.test(e.message));
  assert.equal(dev.running, BASE);
  assert.match(dev.state, /^reverted/);
  await assert.rejects(d.confirm(), /no commit-confirm is pending/);
  await assert.rejects(d.commit(), /no candidate loaded/);
});

test('a commit-confirm already pending on the device (another run) is refused before anything changes', async () => {
  const dev = new FakeFrr();
  const other = new FrrDriver(dev.factory());
  await other.open();
  await other.loadCandidate('ip route 192.0.2.0/24 blackhole\n', 'merge');
  await other.commit({ confirmSeconds: 30, autoConfirm: false });
  const changed = dev.running;
  const d = new FrrDriver(dev.factory());
  await d.open();
  await d.loadCandidate('ip route 198.51.100.0/24 blackhole\n', 'merge');
  await assert.rejects(d.commit({ confirmSeconds: 5 }), (e: unknown) => e instanceof DriverStateError && /a commit-confirm is already pending on the device/.test(e.message));
  assert.equal(dev.running, changed);
  assert.match(dev.files.get(`${D}/revert.sh`) ?? '', /^router ospf$/m, 'the pending commit\'s revert script is untouched');
  assert.doesNotMatch(dev.files.get(`${D}/revert.sh`) ?? '', /192\.0\.2\.0/);
  await d.loadCandidate('ip route 198.51.100.0/24 blackhole\n', 'merge');
  await assert.rejects(d.commit({ confirmSeconds: 0 }), /already pending on the device/, 'a plain commit is refused too');
  await assert.rejects(other.commit(), /a commit-confirm is pending/);
  await other.rollback();
  assert.equal(dev.running, BASE);
});

test('management lost after commit: no confirm; the device reverts by itself → CommitReverted (reverted, with timing)', async () => {
  const dev = new FakeFrr();
  let cut = false;
  const d = new FrrDriver(dev.factory(() => cut), { managementCheckMs: 300 });
  await d.open();
  await d.loadCandidate('ip route 10.98.0.10/32 blackhole\n', 'merge');
  const origExec = dev.exec.bind(dev);
  dev.exec = (id, c) => { const r = origExec(id, c); if (c.includes('--reload')) cut = true; return r; };
  // the path comes back once the device reverted
  const watch = setInterval(() => { if (dev.state.startsWith('reverted')) cut = false; }, 20);
  try {
    await assert.rejects(d.commit({ confirmSeconds: 1 }), (e: unknown) => {
      assert.ok(e instanceof CommitReverted);
      assert.equal(e.reverted, true);
      assert.match(e.message, /management session lost after commit; no new management session within 300 ms after the commit \(\d+ attempts?\): connect ECONNREFUSED\); the device reverted to the previous config after 1(?:\.\d)? s; the running config equals the snapshot$/);
      return true;
    });
  } finally { clearInterval(watch); }
  assert.equal(dev.running, BASE);
  assert.ok(!dev.log.some(([, c]) => c.includes('echo confirmed')), 'never confirmed');
  await assert.rejects(d.rollback(), /no commit to roll back/);
});

test('management lost and the device never answers again: CommitReverted (not seen), bounded', async () => {
  const dev = new FakeFrr();
  let cut = false;
  const d = new FrrDriver(dev.factory(() => cut), { managementCheckMs: 200, revertMarginMs: 300 });
  await d.open();
  await d.loadCandidate('ip route 10.98.0.10/32 blackhole\n', 'merge');
  const origExec = dev.exec.bind(dev);
  dev.exec = (id, c) => { const r = origExec(id, c); if (c.includes('--reload')) cut = true; return r; };
  const t0 = Date.now();
  await assert.rejects(d.commit({ confirmSeconds: 1 }), (e: unknown) =>
    e instanceof CommitReverted && !e.reverted && /the device did not answer again/.test(e.message) && /revert timer runs on the device itself/.test(e.message));
  assert.ok(Date.now() - t0 < 6000, `bounded: ${Date.now() - t0} ms`);
});

test('the device folder for revert scripts: created 0700; a symlink, a wider mode or another owner is refused (sh, for real)', async () => {
  const { privateDirCommand } = await import('../../../src/devices/confirm.js');
  const { mkdtempSync, mkdirSync, symlinkSync, statSync, chmodSync, chownSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const { run } = await import('../../../src/util/exec.js');
  const base = mkdtempSync(join(tmpdir(), 'tsunagari-devdir-'));
  const sh = (dir: string) => run('sh', ['-c', privateDirCommand(dir)]);
  const fresh = join(base, 'fresh');
  assert.equal((await sh(fresh)).code, 0);
  assert.equal(statSync(fresh).mode & 0o777, 0o700);
  assert.equal((await sh(fresh)).code, 0, 'again: it is ours and private');
  const link = join(base, 'link');
  symlinkSync(fresh, link);
  const l = await sh(link);
  assert.equal(l.code, 4);
  assert.match(l.stderr, /link is a symbolic link: refusing it/);
  const wide = join(base, 'wide');
  mkdirSync(wide);
  chmodSync(wide, 0o777);
  const w = await sh(wide);
  assert.equal(w.code, 4);
  assert.match(w.stderr, /wide is not a private folder of \S+ \(owner:mode \S+:777\): refusing to keep the revert script there/);
  if (process.getuid?.() === 0) {
    const other = join(base, 'other');
    mkdirSync(other, { mode: 0o700 });
    chownSync(other, 65534, 65534);
    assert.equal((await sh(other)).code, 4, 'a folder another user owns');
  }
});
