// Owns what FRR and plain-Linux drivers share: the session (opened from a SessionFactory), explicit
// capabilities, the candidate, and commit with EMULATED commit-confirm — restore point saved on the device,
// revert timer armed on the device BEFORE applying, a NEW management session proven before confirming,
// and the wait for the device's own revert when management is lost. Subclasses supply config syntax:
// how to stage, apply, snapshot and restore. Must not parse vendor output itself.
import type { Capability, CommitOptions, Driver, Facts, Neighbour, PingResult, Route, SessionFactory, SshSession } from './types.js';
import { cutScript, cutTable } from '../lab/outage-inject.js';
import { LOST_ETHERTYPE } from '../lab/impair.js';
import { MissingCapability } from './types.js';
import { CommandRejected, CommitReverted, ConfirmTimeout, DriverStateError, RollbackMismatch, fmtMs } from './errors.js';
import { DEVICE_DIR, RevertTimer, awaitRevert, privateDirCommand, checkManagement, closeQuietly } from './confirm.js';
import { runChecked, writeDeviceFile, shq, sleep, within } from './remote.js';
import { unifiedDiff } from './diff.js';

/** Commit-confirm unless the caller says otherwise: the seed-000 accident (a push that cuts management, no way back) cannot happen by default. */
export const DEFAULT_CONFIRM_SECONDS = 30;

export interface ExecDriverOptions {
  /** Directory on the device for candidate, rollback and timer files. */
  dir?: string;
  /** confirmSeconds when commit() is given none. */
  defaultConfirmSeconds?: number;
  /** How long to keep trying a new management session after a commit (default: half the confirm time, ≤ 15 s). */
  managementCheckMs?: number;
  /** Extra time, beyond the confirm timer, to wait for a device to come back after it reverted (default 20 s). */
  revertMarginMs?: number;
  /** Progress lines (timings), for reports. */
  log?: (line: string) => void;
}


/**
 * What undoes one commit, as data that survives this process (the rollback ledger stores it): a full
 * config to reload (replace-capable drivers), or a shell script of inverse commands plus the snapshot
 * (running-config dump) it should lead back to.
 */
export type RestorePoint =
  | { kind: 'config'; config: string }
  | { kind: 'script'; script: string; snapshot: string };

export interface CommitReport {
  mode: 'confirm' | 'plain';
  confirmSeconds: number;
  prepareMs: number;       // restore point saved on the device, revert timer armed
  applyMs: number;
  checkMs?: number;        // new management session proven
  confirmMs?: number;
  totalMs: number;
  outcome: 'confirmed' | 'pending' | 'applied' | 'reverted';
}

export abstract class ExecDriver implements Driver {
  abstract readonly name: string;
  abstract readonly capabilities: ReadonlySet<Capability>;
  protected session?: SshSession;
  protected candidate?: { config: string; mode: 'replace' | 'merge' };
  protected pending?: { armedAt: number; seconds: number; point: RestorePoint };
  private pendingPoint?: RestorePoint;
  /** Restore points of committed changes, last commit last. */
  protected history: RestorePoint[] = [];
  readonly timer: RevertTimer;
  readonly dir: string;
  lastCommit?: CommitReport;
  lastRollbackMs?: number;

  constructor(protected readonly sessions: SessionFactory, protected readonly opts: ExecDriverOptions = {}) {
    this.dir = opts.dir ?? DEVICE_DIR;
    this.timer = new RevertTimer(this.dir);
  }

  // ---- subclass hooks --------------------------------------------------------------------------
  /** A cheap command that only succeeds when the device is usable for management (e.g. `vtysh -c 'show version'`). */
  protected abstract readonly liveness: string;
  /** Builds the candidate's text from what the caller gave; validates it on the device when possible. */
  protected abstract stage(config: string, mode: 'replace' | 'merge'): Promise<string>;
  /** Reads what is needed to undo applying the staged candidate, saving it on the device. */
  protected abstract restorePoint(): Promise<RestorePoint>;
  /** Shell script (run on the device by the timer or by rollback) that restores `p`. */
  protected abstract revertScript(p: RestorePoint): string;
  /**
   * The shell command that applies the staged candidate (files it needs are written here). It runs
   * DETACHED on the device: a session the change cuts cannot kill it half-way (sshd hangs up on its
   * processes), and the driver polls for its result.
   */
  protected abstract applyCommand(): Promise<string>;
  /** The device's words from the apply command's output, when it failed. */
  protected applyFailure(output: string): string { return output.trim(); }
  /** The form two running configs are compared in (FRR: no header, separators or version line). */
  protected normalize(config: string): string { return config; }

  abstract facts(): Promise<Facts>;
  abstract runningConfig(): Promise<string>;
  abstract routes(): Promise<Route[]>;
  abstract neighbours(protocol: Neighbour['protocol']): Promise<Neighbour[]>;
  abstract compare(): Promise<string>;

  // ---- session ---------------------------------------------------------------------------------
  get device(): string { return this.session?.device ?? this.name; }

  async open(): Promise<void> {
    if (!this.session) this.session = await this.sessions();
  }

  async close(): Promise<void> {
    const s = this.session;
    this.session = undefined;
    if (s) await s.close();
  }

  protected get s(): SshSession {
    if (!this.session) throw new DriverStateError(this.name, `driver ${this.name} is not open`, 'call open() first');
    return this.session;
  }

  protected require(c: Capability): void {
    if (!this.capabilities.has(c)) throw new MissingCapability(this.name, c);
  }

  protected run(command: string, o: { timeoutMs?: number; okCodes?: number[] } = {}): Promise<string> {
    return runChecked(this.s, command, o);
  }

  protected log(line: string): void { this.opts.log?.(`${this.device}: ${line}`); }

  // ---- operations on the device (a Linux shell: FRR and plain Linux) ------------------------------

  async setInterfaceUp(iface: string, up: boolean): Promise<void> {
    this.require('interfaces');
    await this.run(`ip link set dev ${shq(iface)} ${up ? 'up' : 'down'}`);
  }

  async interfaceUp(iface: string): Promise<boolean> {
    this.require('interfaces');
    const out = await this.run(`ip -j link show dev ${shq(iface)}`);
    const [l] = JSON.parse(out || '[]') as Array<{ flags?: string[] }>;
    if (!l) throw new CommandRejected(this.device, `ip link show dev ${iface}`, `no interface ${iface}`);
    return (l.flags ?? []).includes('UP');
  }

  /** nftables netdev tables of tsunagari's own (tsunagari_cut_<iface>): ingress drop, egress EtherType rewrite. */
  async blockInterface(iface: string, on: boolean, o: { egress?: boolean } = {}): Promise<void> {
    this.require('interfaces');
    const table = cutTable('tsunagari_cut', iface);
    if (!on) {
      // Absent is success (already removed); any other failure of the delete is reported.
      await this.run(`if nft list table netdev ${table} >/dev/null 2>&1; then nft delete table netdev ${table}; fi`);
      return;
    }
    const chains = [{ name: 'ingress' as const, device: iface, action: 'drop' }];
    if (o.egress) chains.push({ name: 'egress' as const, device: iface, action: `ether type set ${LOST_ETHERTYPE}` } as never);
    const script = cutScript({ where: { kind: 'host' }, dev: iface, label: `${this.device} ${iface}`, family: 'netdev', table, chains });
    await this.run(`printf %s '${Buffer.from(script).toString('base64')}' | base64 -d | nft -f -`);
  }

  async ping(address: string, o: { count: number; timeoutMs: number }): Promise<PingResult> {
    this.require('ping');
    const count = Math.max(1, Math.min(100, Math.floor(o.count)));
    const wait = Math.max(1, Math.ceil(o.timeoutMs / 1000));
    const r = await this.s.exec(`ping -n -c ${count} -i 0.2 -W ${wait} ${shq(address)}`, { timeoutMs: count * 200 + wait * 1000 + 5000 });
    const m = /(\d+) packets transmitted, (\d+) (?:packets )?received/.exec(r.stdout);
    if (!m) throw new CommandRejected(this.device, `ping ${address}`, (r.stderr || r.stdout).trim() || `exit ${r.code}`);
    return { sent: Number(m[1]), received: Number(m[2]), output: r.stdout };
  }

  async exec(command: string, o: { timeoutMs?: number } = {}): Promise<{ code: number; stdout: string; stderr: string }> {
    this.require('exec');
    return this.s.exec(command, o);
  }

  /** '' when the running config equals `snapshot` (a runningConfig() result), else a unified diff snapshot → now. */
  async diffFromSnapshot(snapshot: string): Promise<string> {
    return unifiedDiff(this.normalize(snapshot), this.normalize(await this.runningConfig()), { from: `${this.device} snapshot`, to: `${this.device} now` });
  }

  /** '' when the device is back at `p`, else a unified diff (p → now). */
  protected differsFrom(p: RestorePoint): Promise<string> {
    return this.diffFromSnapshot(p.kind === 'config' ? p.config : p.snapshot);
  }

  /** The restore point of the last commit (for a rollback ledger that must survive this process). */
  lastRestorePoint(): RestorePoint | undefined { return this.history[this.history.length - 1]; }

  // ---- candidate -------------------------------------------------------------------------------
  async loadCandidate(config: string, mode: 'replace' | 'merge'): Promise<void> {
    this.require(mode === 'replace' ? 'load-replace' : 'load-merge');
    const text = await this.stage(config, mode);
    this.candidate = { config: text, mode };
  }

  async discardCandidate(): Promise<void> {
    this.candidate = undefined;
    await this.run(`rm -f ${shq(this.dir)}/candidate.*`);
  }

  protected requireCandidate(): { config: string; mode: 'replace' | 'merge' } {
    if (!this.candidate) throw new DriverStateError(this.device, `cannot commit on ${this.device} (no candidate loaded)`, 'loadCandidate() first');
    return this.candidate;
  }

  // ---- commit ----------------------------------------------------------------------------------
  async commit(opts: CommitOptions = {}): Promise<void> {
    this.require('commit');
    if (this.pending) {
      throw new DriverStateError(this.device, `cannot commit on ${this.device} (a commit-confirm is pending)`, 'confirm() or rollback() first');
    }
    this.requireCandidate();
    const seconds = opts.confirmSeconds ?? this.opts.defaultConfirmSeconds ?? DEFAULT_CONFIRM_SECONDS;
    if (seconds > 0) this.require('commit-confirm');
    const t0 = Date.now();
    await this.run(privateDirCommand(this.dir));
    const point = await this.restorePoint();
    // prepared as *.next; the arm promotes them only if no other commit-confirm is pending on the device
    await writeDeviceFile(this.s, `${this.dir}/revert.sh.next`, this.revertScript(point));
    await this.timer.arm(this.s, seconds);
    const prepareMs = Date.now() - t0;
    const armedAt = Date.now();
    const report: CommitReport = { mode: seconds > 0 ? 'confirm' : 'plain', confirmSeconds: seconds, prepareMs, applyMs: 0, totalMs: 0, outcome: 'applied' };

    const ta = Date.now();
    const applyDeadline = Date.now() + (seconds > 0 ? seconds * 1000 + 10_000 : 120_000);
    const rejected = async (e: CommandRejected): Promise<never> => {
      // Refused: the device may hold part of the candidate. Put the restore point back now.
      await this.revertNow(seconds > 0).catch((e2: Error) => { e.message += `; and restoring the previous config failed: ${e2.message}`; });
      this.candidate = undefined;
      e.message += '; nothing was committed (the previous config was restored)';
      throw e;
    };
    // `broken`: the session stopped answering while the change was applied (the change may have cut it).
    let broken: string | undefined;
    try {
      broken = await this.startApply(await this.applyCommand(), applyDeadline);
    } catch (e) {
      if (e instanceof CommandRejected) await rejected(e);
      throw e;
    }
    report.applyMs = Date.now() - ta;
    this.candidate = undefined;

    if (seconds === 0) {
      if (broken) {
        throw new DriverStateError(this.device, `commit on ${this.device}: the session stopped answering while the change was applied (${broken}); its outcome is unknown`,
          'a plain commit (confirmSeconds 0) has no revert timer: check the device by other means');
      }
      this.history.push(point);
      this.finish(report, t0, 'applied');
      return;
    }
    this.pending = { armedAt, seconds, point };
    this.pendingPoint = point;
    this.history.push(point);

    const checkMs = this.opts.managementCheckMs ?? Math.min(15_000, Math.max(2000, seconds * 500));
    const tc = Date.now();
    const check = await checkManagement(this.sessions, this.device, this.liveness, checkMs);
    report.checkMs = Date.now() - tc;
    if (!check.ok || !check.session) {
      const lost = `no new management session within ${fmtMs(checkMs)} after the commit (${check.attempts} attempt${check.attempts === 1 ? '' : 's'}): ${check.error}`;
      const why = broken ? `the session stopped answering while the change was applied, and ${lost}` : lost;
      await this.awaitDeviceRevert(`management session lost after commit; ${why}`, armedAt, seconds, t0, report);
    }
    // Management works through a session opened after the change: it becomes the driver's session.
    await this.adopt(check.session as SshSession);
    if (broken) {
      // the old session broke but a new one works: learn the apply's outcome through the new one
      try {
        const again = await this.awaitApply(applyDeadline);
        if (again) await this.awaitDeviceRevert(`the apply's result could not be read (${again})`, armedAt, seconds, t0, report);
      } catch (e) {
        if (e instanceof CommandRejected) { this.pending = undefined; this.history.pop(); await rejected(e); }
        throw e;
      }
      report.applyMs = Date.now() - ta;
    }
    if (opts.autoConfirm === false) {
      this.finish(report, t0, 'pending');
      return;
    }
    const tf = Date.now();
    try {
      await this.confirm();
    } catch (e) {
      if (!(e instanceof ConfirmTimeout)) throw e;
      // the timer fired before management could be proven (a slow apply, a session that stalled): the
      // device already went back; say so as what it is, a reverted commit
      report.totalMs = Date.now() - t0;
      report.outcome = 'reverted';
      this.lastCommit = report;
      const diff = await this.differsFrom(this.pendingPoint ?? { kind: 'config', config: '' }).catch(() => '');
      throw new CommitReverted(this.device, `not confirmed within its ${seconds} s timer (apply ${fmtMs(report.applyMs)}, new management session after ${fmtMs(report.checkMs ?? 0)}${broken ? `; the session stopped answering while the change was applied: ${broken}` : ''})`,
        true, Date.now() - armedAt, diff ? `but the running config differs from the snapshot:\n${diff}` : 'the running config equals the snapshot');
    }
    report.confirmMs = Date.now() - tf;
    this.finish(report, t0, 'confirmed');
  }

  private applyResultCommand(waitSteps: number): string {
    const D = shq(this.dir);
    return `i=0; while [ ! -s ${D}/apply.rc ] && [ $i -lt ${waitSteps} ]; do sleep 0.05; i=$((i+1)); done; ` +
      `if [ -s ${D}/apply.rc ]; then echo "rc $(cat ${D}/apply.rc)"; cat ${D}/apply.log; else echo running; fi`;
  }

  /**
   * Starts `cmd` DETACHED on the device (setsid; output to apply.log, exit code to apply.rc): a session the
   * change cuts cannot kill it half-way. Waits for it in the same exec for up to 2 s, then polls. Resolves
   * undefined when it succeeded; throws CommandRejected with the device's words when it failed; resolves
   * with a reason when the session stopped answering (a bounded exec got no answer).
   */
  private async startApply(cmd: string, deadline: number): Promise<string | undefined> {
    const D = shq(this.dir);
    const job = `${cmd} > "$0/apply.log" 2>&1; echo $? > "$0/apply.rc.tmp"; mv "$0/apply.rc.tmp" "$0/apply.rc"`;
    let out: string;
    try {
      out = await within(this.run(`rm -f ${D}/apply.rc ${D}/apply.log; setsid sh -c ${shq(job)} ${D} </dev/null >/dev/null 2>&1 & ${this.applyResultCommand(40)}`,
        { timeoutMs: 3500 }), 4000, this.device, 'start the apply');
    } catch (e) {
      if (e instanceof CommandRejected) throw e;
      return (e as Error).message;
    }
    return this.applyOutcome(out, deadline, cmd);
  }

  /** Polls apply.rc through the driver's (current) session until the deadline; as startApply. */
  private awaitApply(deadline: number): Promise<string | undefined> {
    return this.applyOutcome('running', deadline, 'apply');
  }

  private async applyOutcome(out: string, deadline: number, cmd: string): Promise<string | undefined> {
    while (!out.startsWith('rc ')) {
      if (Date.now() > deadline) return `no result of \`${cmd}\` by its deadline (last: ${out.trim().slice(0, 100)})`;
      await sleep(50);
      try {
        out = await within(this.run(this.applyResultCommand(20), { timeoutMs: 2500 }), 3000, this.device, 'read the apply result');
      } catch (e) {
        if (e instanceof CommandRejected) throw e;
        return (e as Error).message;
      }
    }
    const [first, ...log] = out.split('\n');
    const rc = Number(first!.slice(3));
    if (rc !== 0) throw new CommandRejected(this.device, cmd, this.applyFailure(log.join('\n')) || `exit ${rc}`);
    return undefined;
  }

  private finish(report: CommitReport, t0: number, outcome: CommitReport['outcome']): void {
    report.totalMs = Date.now() - t0;
    report.outcome = outcome;
    this.lastCommit = report;
    this.log(`commit ${outcome} in ${fmtMs(report.totalMs)} (prepare ${fmtMs(report.prepareMs)}, apply ${fmtMs(report.applyMs)}` +
      `${report.checkMs !== undefined ? `, new management session ${fmtMs(report.checkMs)}` : ''}${report.confirmMs !== undefined ? `, confirm ${fmtMs(report.confirmMs)}` : ''})`);
  }

  /** Management is lost: do not confirm; wait (bounded) for the device to revert by itself, then throw CommitReverted. */
  private async awaitDeviceRevert(reason: string, armedAt: number, seconds: number, t0: number, report: CommitReport): Promise<never> {
    const point = this.pending?.point;
    const deadline = armedAt + seconds * 1000 + (this.opts.revertMarginMs ?? 20_000);
    this.log(`${reason}; not confirming, waiting up to ${fmtMs(deadline - Date.now())} for the device to revert`);
    const seen = await awaitRevert(this.sessions, this.device, this.timer, deadline);
    this.pending = undefined;
    this.history.pop();
    report.totalMs = Date.now() - t0;
    report.outcome = 'reverted';
    this.lastCommit = report;
    if (!seen.session) throw new CommitReverted(this.device, reason, false, undefined, `last state: ${seen.state || 'unknown'}`);
    await this.adopt(seen.session);
    const afterMs = Date.now() - armedAt;
    const rc = /^reverted (\d+)/.exec(seen.state)?.[1];
    let detail = rc && rc !== '0' ? `the revert script exited ${rc}: ${seen.log}` : '';
    if (point) {
      const diff = await this.differsFrom(point).catch((e: Error) => `(cannot compare: ${e.message})`);
      detail = [detail, diff ? `but the running config differs from the snapshot:\n${diff}` : 'the running config equals the snapshot'].filter(Boolean).join('; ');
    }
    throw new CommitReverted(this.device, reason, true, afterMs, detail);
  }

  private async adopt(fresh: SshSession): Promise<void> {
    const old = this.session;
    this.session = fresh;
    if (old && old !== fresh) await closeQuietly(old);
  }

  async confirm(): Promise<void> {
    this.require('commit-confirm');
    const p = this.pending;
    if (!p) throw new DriverStateError(this.device, `cannot confirm on ${this.device} (no commit-confirm is pending)`);
    const r = await this.timer.confirm(this.s);
    this.pending = undefined;
    if (r !== true) {
      this.history.pop();
      throw new ConfirmTimeout(this.device, p.seconds, r);
    }
  }

  /** Back to the config before the last commit (cancelling a pending commit-confirm), then checked. */
  async rollback(): Promise<void> {
    this.require('rollback');
    const t0 = Date.now();
    if (this.pending) {
      await this.revertNow(true);
    } else {
      const p = this.history[this.history.length - 1];
      if (!p) throw new DriverStateError(this.device, `cannot roll back ${this.device} (no commit to roll back in this session)`);
      await this.restore(p);
    }
    const p = this.history.pop() as RestorePoint;
    const diff = await this.differsFrom(p);
    this.lastRollbackMs = Date.now() - t0;
    this.log(`rollback in ${fmtMs(this.lastRollbackMs)}`);
    if (diff) throw new RollbackMismatch(this.device, diff);
  }

  /** Restores a point (from this session's history, or a rollback ledger): its script runs on the device. */
  async restore(p: RestorePoint): Promise<void> {
    await writeDeviceFile(this.s, `${this.dir}/restore.sh`, this.revertScript(p));
    await this.run(`sh ${shq(`${this.dir}/restore.sh`)}`, { timeoutMs: 120_000 });
  }

  /** Runs revert.sh now, taking the timer's lock first when one is armed. */
  private async revertNow(armed: boolean): Promise<void> {
    if (armed) {
      const out = await this.run(this.timer.revertNowCommand(), { timeoutMs: 120_000 });
      this.pending = undefined;
      if (/^reverted [1-9]/m.test(out)) throw new CommandRejected(this.device, 'revert', out);
    } else {
      await this.run(`sh ${shq(`${this.dir}/revert.sh`)}`, { timeoutMs: 120_000 });
    }
  }
}
