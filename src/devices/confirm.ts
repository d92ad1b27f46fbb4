// Owns commit-confirm emulation ON THE DEVICE for devices that have none (FRR, plain Linux): a detached
// background job that sleeps N s and then runs the device's revert script unless confirm takes the lock
// first; and the check that a NEW management session still works. The timer lives on the device, so a
// device reverts even when tsunagari is killed or cut off. Must not know any config syntax (the driver
// writes revert.sh); must not touch files outside its directory on the device.
import type { SessionFactory, SshSession } from './types.js';
import { runChecked, shq, sleep, within } from './remote.js';
import { CommandTimeout, DriverStateError } from './errors.js';

/** Directory on the device for candidates, rollback files, the revert script and the timer's state. */
export const DEVICE_DIR = '/var/tmp/tsunagari';

/**
 * Files in `dir`:
 *   revert.sh     what the timer runs (written by the driver before arming)
 *   timer.pid     the timer's process group (it is a session leader: setsid)
 *   confirm.lock  a directory; whoever creates it first wins: confirm (timer cancelled) or the timer (revert)
 *   revert.state  `armed <epoch>` → `reverting <epoch>` → `reverted <exit code> <epoch>`
 *   revert.log    the revert script's output
 */
/**
 * A shell command making `dir` the session user's private folder, or failing (exit 4) saying why: it is
 * created 0700 with umask 077, and refused when it is a symbolic link or is not owned by the user with
 * mode 0700 — on a shared device another local user could otherwise plant the script the timer runs as root.
 */
export function privateDirCommand(dir: string): string {
  const D = shq(dir);
  return `umask 077 && if [ -L ${D} ]; then echo "${dir} is a symbolic link: refusing it" >&2; exit 4; fi; mkdir -m 700 ${D} 2>/dev/null; ` +
    `if [ -d ${D} ] && [ ! -L ${D} ] && [ "$(stat -c %u:%a ${D})" = "$(id -u):700" ]; then :; else ` +
    `echo "${dir} is not a private folder of $(id -un) (owner:mode $(stat -c %U:%a ${D} 2>/dev/null || echo missing)): refusing to keep the revert script there" >&2; exit 4; fi`;
}

/** How test doubles recognise privateDirCommand. */
export const PRIVATE_DIR_RE = /^umask 077 && if \[ -L /;

export class RevertTimer {
  constructor(readonly dir: string = DEVICE_DIR) {}

  private get d(): string { return shq(this.dir); }

  /**
   * Refuses when another commit-confirm is pending on the device (a timer alive and no lock taken); else
   * promotes the files prepared for this commit (`X.next` → `X`: revert.sh, a rollback file) and, with
   * seconds > 0, starts the timer. Nothing a pending commit needs is overwritten before the check.
   */
  armCommand(seconds: number): string {
    const D = this.d;
    const job = [
      'echo $$ > "$0/timer.pid"',
      `sleep ${Math.max(1, Math.round(seconds))}`,
      'mkdir "$0/confirm.lock" 2>/dev/null || exit 0',
      'echo "reverting $(date +%s)" > "$0/revert.state"',
      'sh "$0/revert.sh" > "$0/revert.log" 2>&1',
      'echo "reverted $? $(date +%s)" > "$0/revert.state"',
    ].join('; ');
    return [
      privateDirCommand(this.dir),
      // a timer alive (not a zombie nobody reaped) and no lock taken: someone's commit-confirm is pending
      `p=$(cat ${D}/timer.pid 2>/dev/null); if [ -n "$p" ] && [ ! -d ${D}/confirm.lock ] && kill -0 "$p" 2>/dev/null && ! grep -qs '^[0-9]* ([^)]*) Z' /proc/"$p"/stat; then echo "pending $p"; exit 3; fi`,
      `for f in ${D}/*.next; do [ -e "$f" ] && mv -f "$f" "\${f%.next}"; done`,
      ...(seconds > 0 ? [
        `rm -rf ${D}/confirm.lock ${D}/timer.pid ${D}/revert.log`,
        `echo "armed $(date +%s)" > ${D}/revert.state`,
        `setsid sh -c ${shq(job)} ${D} </dev/null >/dev/null 2>&1 &`,
        // the job writes its own pid (setsid may fork): wait for it, bounded
        `i=0; while [ ! -s ${D}/timer.pid ] && [ $i -lt 50 ]; do sleep 0.05; i=$((i+1)); done`,
        `[ -s ${D}/timer.pid ] && echo "armed $(cat ${D}/timer.pid)"`,
      ] : ['echo "armed 0"']),
    ].join('\n');
  }

  /** Prints `confirmed` (lock taken, timer killed) or `fired <state>` (the timer got there first). */
  confirmCommand(): string {
    const D = this.d;
    // too late: wait (bounded) for the revert under way to finish, so the caller sees the device settled
    return `if mkdir ${D}/confirm.lock 2>/dev/null; then p=$(cat ${D}/timer.pid 2>/dev/null); [ -n "$p" ] && kill -TERM -"$p" 2>/dev/null; echo "confirmed $(date +%s)" > ${D}/revert.state; echo confirmed; ` +
      `else i=0; while ! grep -q '^reverted' ${D}/revert.state 2>/dev/null && [ $i -lt 600 ]; do sleep 0.1; i=$((i+1)); done; echo "fired $(cat ${D}/revert.state 2>/dev/null)"; fi`;
  }

  /** Takes the lock (or finds the timer already reverting/reverted) and runs the revert now. */
  revertNowCommand(): string {
    const D = this.d;
    return `if mkdir ${D}/confirm.lock 2>/dev/null; then p=$(cat ${D}/timer.pid 2>/dev/null); [ -n "$p" ] && kill -TERM -"$p" 2>/dev/null; ` +
      `sh ${D}/revert.sh > ${D}/revert.log 2>&1; rc=$?; echo "reverted $rc $(date +%s)" > ${D}/revert.state; cat ${D}/revert.log; exit $rc; ` +
      `else i=0; while ! grep -q '^reverted' ${D}/revert.state 2>/dev/null && [ $i -lt 600 ]; do sleep 0.1; i=$((i+1)); done; cat ${D}/revert.state; fi`;
  }

  stateCommand(): string {
    return `cat ${this.d}/revert.state 2>/dev/null; echo; cat ${this.d}/revert.log 2>/dev/null | tail -n 5`;
  }

  /** seconds 0: no timer, but the same refusal and the prepared files promoted (a plain commit). */
  async arm(s: SshSession, seconds: number): Promise<void> {
    const r = await s.exec(this.armCommand(seconds), { timeoutMs: 15_000 });
    if (r.code === 3) {
      throw new DriverStateError(s.device, `cannot commit on ${s.device} (a commit-confirm is already pending on the device: timer ${r.stdout.trim().split(' ')[1] ?? '?'} in ${this.dir})`,
        'wait for it to revert or confirm it; a previous run may have been killed mid-commit');
    }
    if (r.code !== 0 || !/^armed \d+/m.test(r.stdout)) {
      throw new DriverStateError(s.device, `cannot start the revert timer on ${s.device} (exit ${r.code}: ${(r.stderr || r.stdout).trim() || 'no output'})`,
        'the device needs sh, setsid, sleep and mkdir');
    }
  }

  /** true = confirmed; otherwise the device state (`reverting …` / `reverted …`). */
  async confirm(s: SshSession): Promise<true | string> {
    const out = (await runChecked(s, this.confirmCommand(), { timeoutMs: 75_000 })).trim();
    return out === 'confirmed' ? true : out.replace(/^fired\s*/, '');
  }
}

export interface ManagementCheck { ok: boolean; session?: SshSession; ms: number; attempts: number; error?: string; }

/**
 * Proves management still works: a NEW session from the factory runs `liveness`, retried until the deadline.
 * On success the caller owns the returned session.
 */
export async function checkManagement(sessions: SessionFactory, device: string, liveness: string, deadlineMs: number): Promise<ManagementCheck> {
  const t0 = Date.now();
  let attempts = 0;
  let error = 'no attempt';
  while (attempts === 0 || Date.now() - t0 < deadlineMs) {
    attempts++;
    const left = Math.max(500, deadlineMs - (Date.now() - t0));
    let s: SshSession | undefined;
    try {
      s = await within(sessions(), left, device, 'open a management session');
      const r = await s.exec(liveness, { timeoutMs: Math.min(left, 10_000) });
      if (r.code === 0) return { ok: true, session: s, ms: Date.now() - t0, attempts };
      error = `\`${liveness}\` exited ${r.code}: ${(r.stderr || r.stdout).trim().slice(0, 200)}`;
    } catch (e) {
      // our own time bound on the last attempt says less than what the attempts before it met
      if (!(e instanceof CommandTimeout) || error === 'no attempt') error = (e as Error).message;
    }
    if (s) await closeQuietly(s);
    if (Date.now() - t0 + 300 >= deadlineMs) break;
    await sleep(300);
  }
  return { ok: false, ms: Date.now() - t0, attempts, error };
}

/**
 * After a lost management session: polls with new sessions until the device reports its revert, or the
 * deadline. Resolves with the session that saw it (caller owns it) and the state line.
 */
export async function awaitRevert(sessions: SessionFactory, device: string, timer: RevertTimer, deadline: number):
Promise<{ session?: SshSession; state: string; log: string }> {
  let last = '';
  while (Date.now() < deadline) {
    let s: SshSession | undefined;
    try {
      s = await within(sessions(), Math.max(500, Math.min(5000, deadline - Date.now())), device, 'open a management session');
      const r = await s.exec(timer.stateCommand(), { timeoutMs: 5000 });
      const [state = '', ...log] = r.stdout.split('\n');
      last = state.trim();
      if (last.startsWith('reverted')) return { session: s, state: last, log: log.join('\n').trim() };
    } catch (e) {
      last = last || (e as Error).message;
    }
    if (s) await closeQuietly(s);
    await sleep(500);
  }
  return { state: last, log: '' };
}

export async function closeQuietly(s: SshSession): Promise<void> {
  try { await within(s.close(), 3000, s.device, 'close the session'); } catch { /* a dead session: nothing to close */ }
}
