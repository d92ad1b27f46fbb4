// Owns the outage meter: sequence-numbered UDP probes every few ms from inside the source node's
// namespace to an echo responder it starts inside the target node's namespace (outage-meter.mjs), plus
// iputils `ping -D` alongside; it reads their logs live and reports outages per direction
// (outage-analysis.ts). Must not probe anything but an address of a lab node, nor leave a process behind:
// every program it starts dies with stop(), with this process (setpriv --pdeathsig) or after maxMs.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { randomInt } from 'node:crypto';
import type { Lab } from '../topology/types.js';
import type { RunningLab } from '../lab/running.js';
import { resolveTarget, type Target } from '../lab/targets.js';
import { UserError, knownList } from '../util/errors.js';
import { realtimePrefix } from '../util/realtime.js';
import { sleep } from '../util/exec.js';
import {
  buildReport, parsePingReplies, pingTransmitted, recoveredSince,
  type Arrival, type IcmpReply, type Mark, type MeterLogs, type OutageReport, type Sent,
} from './outage-analysis.js';

export type { OutageReport } from './outage-analysis.js';

export const METER_PATH = fileURLToPath(new URL('./outage-meter.mjs', import.meta.url));

export interface OutageMeterOptions {
  /** Gap between probes, each direction (default 5 ms; 1..100 ms). It is the resolution of the figures. */
  intervalMs?: number;
  /** A probe arriving later than this counts as lost (default 100 ms). */
  lateMs?: number;
  /** The meter stops by itself after this long if stop() is never called (default 5 min, at most 1 h). */
  maxMs?: number;
  /** Also run iputils ping (every max(interval, 10) ms) for an ICMP figure (default true). */
  icmp?: boolean;
  /** How long the programs may take to start and see both directions work (default 15 s). */
  startTimeoutMs?: number;
}

export interface Recovery {
  recovered: boolean;
  /** Meter ms of the first probe of the good tail (latest of the two directions), when recovered. */
  atMs?: number;
  /** How long the call waited. */
  waitedMs: number;
}

export interface OutageMeter {
  readonly from: string;
  /** The node the responder runs in. */
  readonly to: string;
  readonly target: Target;
  readonly intervalMs: number;
  readonly lateMs: number;
  /** CLOCK_MONOTONIC ms (process.hrtime) of the meter's time zero: report times are relative to it. */
  readonly t0Mono: number;
  /** Meter ms now. */
  now(): number;
  /** Records an event ('link down') now, or at a CLOCK_MONOTONIC ms time. */
  mark(label: string, atMono?: number): void;
  readonly marks: readonly Mark[];
  /** The figures so far (probes still in flight left out). */
  snapshot(): OutageReport;
  /**
   * Waits until both UDP directions get `consecutive` probes in a row through (default 3), counting only
   * probes sent at or after sinceMs (meter ms, default now), or until untilMs (meter ms).
   */
  waitRecovered(o: { untilMs: number; sinceMs?: number; consecutive?: number }): Promise<Recovery>;
  /** Stops everything it started (idempotent) and returns the final figures. */
  stop(): Promise<OutageReport>;
  readonly stopped: boolean;
  /** Process ids of the programs it started (sender, responder, ping) that have not exited. */
  pids(): number[];
}

const DEFAULT_MAX_MS = 300_000;
/** Logs reach us up to the programs' flush period (20 ms) late; a busy machine adds more. */
const LOG_SLACK_MS = 60;

export const monoNow = (): number => Number(process.hrtime.bigint()) / 1e6;

/** The node owning an address in the topology (the responder must run there). */
export function ownerOf(lab: Lab, address: string): string | undefined {
  const canon = (a: string): string => (a.includes(':') ? new URL(`http://[${a}]/`).hostname.replace(/^\[|\]$/g, '') : a);
  const want = canon(address);
  for (const n of lab.nodes) {
    for (const i of n.interfaces) {
      if (i.addresses.some((c) => canon(c.split('/')[0] as string) === want)) return n.name;
    }
  }
  return undefined;
}

/** Validated options with defaults (exported for unit tests). */
export function meterOptions(o: OutageMeterOptions = {}): Required<OutageMeterOptions> {
  const r = {
    intervalMs: o.intervalMs ?? 5, lateMs: o.lateMs ?? 100, maxMs: o.maxMs ?? DEFAULT_MAX_MS,
    icmp: o.icmp ?? true, startTimeoutMs: o.startTimeoutMs ?? 15_000,
  };
  if (!(r.intervalMs >= 1 && r.intervalMs <= 100)) throw new UserError(`cannot probe every ${r.intervalMs} ms (must be 1..100 ms)`, 'the interval is the resolution: 5 ms or 10 ms are usual');
  if (!(r.lateMs >= 10 && r.lateMs <= 10_000)) throw new UserError(`cannot count replies later than ${r.lateMs} ms as lost (must be 10..10000 ms)`);
  if (!(r.maxMs >= 1000 && r.maxMs <= 3_600_000)) throw new UserError(`cannot probe for at most ${r.maxMs} ms (must be 1 s .. 1 h)`);
  return r;
}

/** Programs not yet ended: killed when this process exits normally (pdeathsig covers a crash). */
const live = new Set<ChildProcess>();
let exitHook = false;
function track(c: ChildProcess): void {
  live.add(c);
  c.once('exit', () => live.delete(c));
  if (exitHook) return;
  exitHook = true;
  process.once('exit', () => { for (const x of live) { try { x.kill('SIGKILL'); } catch { /* gone */ } } });
}

interface Proc {
  child: ChildProcess;
  exited: Promise<void>;
  isExited(): boolean;
  stderr(): string;
  send(cmd: string): void;
}

/** Starts argv inside the namespace, dying with us; each stdout line goes to onLine. */
function startIn(nsPath: string, rt: string[], argv: string[], onLine: (line: string) => void): Proc {
  const child = spawn('nsenter', [`--net=${nsPath}`, ...rt, 'setpriv', '--pdeathsig', 'KILL', '--', ...argv], { stdio: ['pipe', 'pipe', 'pipe'] });
  track(child);
  let buf = '';
  let err = '';
  let done = false;
  child.stdout!.setEncoding('utf8').on('data', (d: string) => {
    buf += d;
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) { onLine(buf.slice(0, nl)); buf = buf.slice(nl + 1); }
  });
  child.stderr!.setEncoding('utf8').on('data', (d: string) => { if (err.length < 8000) err += d; });
  child.stdin!.on('error', () => { /* it may have exited */ });
  const exited = new Promise<void>((res) => {
    child.once('exit', () => { done = true; if (buf) { onLine(buf); buf = ''; } res(); });
    child.once('error', (e) => { done = true; err += e.message; res(); });
  });
  return {
    child, exited, isExited: () => done, stderr: () => err.trim(),
    send: (cmd) => { if (!done && child.stdin!.writable) child.stdin!.write(`${cmd}\n`); },
  };
}


async function waitFor(pred: () => boolean, timeoutMs: number, everyMs = 10): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  for (let i = 0; i < 1_000_000; i++) {
    if (pred()) return true;
    if (Date.now() >= end) return pred();
    await sleep(everyMs);
  }
  return false;
}

async function endProc(p: Proc | undefined, graceMs: number): Promise<void> {
  if (!p || p.isExited()) return;
  if (await Promise.race([p.exited.then(() => true), sleep(graceMs).then(() => false)])) return;
  p.child.kill('SIGKILL');
  await Promise.race([p.exited, sleep(2000)]);
}

/**
 * Starts probing from node `from` to `target` (a node, node:iface or an address of a lab node); resolves
 * once both directions were seen working (time zero is before that; the figures count from then).
 */
export async function startOutageMeter(running: RunningLab, from: string, targetIn: Target | string, opts: OutageMeterOptions = {}): Promise<OutageMeter> {
  const o = meterOptions(opts);
  const lab = running.lab;
  running.node(from);
  const target = typeof targetIn === 'string' ? resolveTarget(lab, targetIn) : targetIn;
  const to = ownerOf(lab, target.address);
  if (!to) {
    throw new UserError(`cannot probe ${target.label} from ${from} (no node of lab ${running.name} has that address; the echo responder runs inside the target node)`,
      `name a node or one of its addresses; nodes: ${knownList(lab.nodes.map((n) => n.name))}`);
  }
  const [fromNs, toNs] = [(await running.handle(from)).netnsPath, (await running.handle(to)).netnsPath];
  const baseNs = process.hrtime.bigint();
  const t0Mono = Number(baseNs) / 1e6;
  const rel = (): number => monoNow() - t0Mono;
  const run = randomInt(1, 0xffffffff);
  const family = target.family;

  const logs: MeterLogs = { fwdSent: [], fwdArr: [], echoArr: [], revSent: [], revArr: [], sendErrors: 0 };
  const icmpReplies: IcmpReply[] = [];
  let pingText = '';
  const marks: Mark[] = [];
  const errors: string[] = [];
  const stopT: { sender?: number; responder?: number } = {};
  const ready: { sender?: { ns: bigint; port: number }; responder?: { ns: bigint; port: number } } = {};
  const num = (s: string | undefined): number => Number(s);
  const push = (arr: Sent[] | Arrival[], f: string[]): void => { arr.push({ seq: num(f[1]), t: num(f[2]) }); };
  // First arrival per seq, kept as lines come in: recovery is polled often on long runs.
  const fwdAt = new Map<number, number>();
  const revAt = new Map<number, number>();
  const first = (m: Map<number, number>, f: string[]): void => { const seq = num(f[1]); if (!m.has(seq)) m.set(seq, num(f[2])); };

  const onLine = (who: 'sender' | 'responder') => (line: string): void => {
    const f = line.split(' ');
    switch (f[0]) {
      case 's': push(logs.fwdSent, f); break;
      case 'e': push(logs.echoArr, f); break;
      case 'r': push(logs.revArr, f); first(revAt, f); break;
      case 'f': push(logs.fwdArr, f); first(fwdAt, f); break;
      case 'R': push(logs.revSent, f); break;
      case 'x': if (who === 'sender' && /^\d+$/.test(f[1] ?? '')) logs.sendErrors++; break;
      case 'ready': ready[who] = { ns: BigInt(f[1] ?? '0'), port: num(f[2]) }; break;
      case 'stopped': stopT[who] = num(f[1]); break;
      case 'error': errors.push(`${who}: ${line.slice(6)}`); break;
      default: break;
    }
  };

  // Real time (ping -D prints epoch seconds) to meter ms: sampled now; Date.now() truncates to 1 ms.
  let offset = -Infinity;
  for (let i = 0; i < 5; i++) offset = Math.max(offset, Date.now() + 0.5 - rel());
  const realToMeter = (epochMs: number): number => epochMs - offset;
  const icmpIntervalMs = Math.max(10, o.intervalMs);

  const common = { run, intervalMs: o.intervalMs, maxMs: o.maxMs, lingerMs: o.lateMs + 1000, baseNs: String(baseNs), family };
  const procs: { responder?: Proc; sender?: Proc; ping?: Proc } = {};
  const words = `probing ${target.label} from ${from}`;
  // Real-time scheduling when allowed: the programs sleep between probes, and a busy machine (2 cores,
  // `ip`/`nft`/`vtysh` running) no longer stalls them for tens of ms.
  const rt = await realtimePrefix(10);

  const abort = async (why: string): Promise<never> => {
    for (const p of Object.values(procs)) p?.child.kill('SIGKILL');
    await Promise.all(Object.values(procs).map((p) => p && Promise.race([p.exited, sleep(2000)])));
    throw new Error(`cannot start ${words} (${why})`);
  };
  /** Same CLOCK_MONOTONIC on both sides of nsenter: the child's clock read falls between our two reads. */
  const checkClock = (who: 'sender' | 'responder', before: bigint, after: bigint): Promise<void> | undefined => {
    const c = ready[who]!.ns;
    if (c >= before && c <= after) return undefined;
    return abort(`the ${who}'s CLOCK_MONOTONIC differs from ours (${c} ns not within ${before}..${after}): times across namespaces cannot be compared`);
  };
  const startOne = async (who: 'sender' | 'responder', ns: string, req: object): Promise<void> => {
    const before = process.hrtime.bigint();
    const p = startIn(ns, rt, [process.execPath, METER_PATH, JSON.stringify({ ...common, ...req, role: who })], onLine(who));
    procs[who] = p;
    const ok = await waitFor(() => !!ready[who] || errors.length > 0 || p.isExited(), o.startTimeoutMs);
    const after = process.hrtime.bigint();
    if (!ok || !ready[who]) await abort(`${who}: ${errors.join('; ') || p.stderr().split('\n').pop() || `no word within ${o.startTimeoutMs} ms`}`);
    await checkClock(who, before, after);
  };

  await startOne('responder', toNs, {});
  await startOne('sender', fromNs, { target: target.address, port: ready.responder!.port });
  const bothWays = await waitFor(() => logs.echoArr.length > 0 && logs.revArr.length > 0, o.startTimeoutMs);
  if (!bothWays) {
    await abort(`no ${logs.echoArr.length ? 'reverse probe' : 'echo'} within ${o.startTimeoutMs} ms: ${logs.fwdArr.length}/${logs.fwdSent.length} probes arrived at ${to}, ` +
      `${logs.revArr.length}/${logs.revSent.length} of its probes arrived at ${from}; the probes use UDP port ${ready.responder!.port}`);
  }
  const startMs = rel();
  if (o.icmp) {
    const deadline = Math.ceil(o.maxMs / 1000) + 1;
    const count = Math.ceil(o.maxMs / icmpIntervalMs) + 10;
    // stdbuf -oL: a reply line reaches us when it is printed, not when ping's stdio buffer fills.
    const argv = ['stdbuf', '-oL', 'ping', '-n', `-${family}`, '-D', '-i', String(icmpIntervalMs / 1000), '-W', '1', '-w', String(deadline), '-c', String(count), target.address];
    procs.ping = startIn(fromNs, rt, argv, (line) => {
      if (pingText.length < 200_000) pingText += `${line}\n`;
      const r = parsePingReplies(line, realToMeter);
      icmpReplies.push(...r);
    });
  }

  let stopping: Promise<OutageReport> | undefined;
  let selfStopped = false;
  const selfStop = setTimeout(() => { selfStopped = true; }, o.maxMs);
  selfStop.unref();

  const report = (final: boolean): OutageReport => {
    const now = rel();
    const endMs = final
      ? Math.min(stopT.sender ?? Infinity, stopT.responder ?? Infinity, now)
      : now - o.lateMs - LOG_SLACK_MS;
    const icmp = o.icmp ? { replies: icmpReplies.slice(), intervalMs: icmpIntervalMs, ...(final ? { transmitted: pingTransmitted(pingText) } : {}) } : undefined;
    return buildReport({ ...logs, ...(icmp ? { icmp } : {}) }, {
      from, to, target: target.label, intervalMs: o.intervalMs, lateMs: o.lateMs, t0Mono,
      startMs, endMs, ...(final ? {} : { nowMs: now - LOG_SLACK_MS }), marks: marks.slice(), final,
    });
  };

  const meter: OutageMeter = {
    from, to, target, intervalMs: o.intervalMs, lateMs: o.lateMs, t0Mono,
    now: rel,
    mark(label, atMono) { marks.push({ label, atMs: Math.round(((atMono ?? monoNow()) - t0Mono) * 10) / 10 }); marks.sort((a, b) => a.atMs - b.atMs); },
    get marks() { return marks; },
    get stopped() { return !!stopping || selfStopped; },
    pids: () => Object.values(procs).filter((p): p is Proc => !!p && !p.isExited() && p.child.pid !== undefined).map((p) => p.child.pid as number),
    snapshot: () => report(false),
    async waitRecovered({ untilMs, sinceMs, consecutive = 3 }) {
      const since = sinceMs ?? rel();
      const t0 = rel();
      const check = (): Recovery | undefined => {
        const nowMs = rel() - LOG_SLACK_MS;
        const f = recoveredSince(logs.fwdSent, fwdAt, { sinceMs: since, nowMs, lateMs: o.lateMs, consecutive });
        const v = recoveredSince(logs.revSent, revAt, { sinceMs: since, nowMs, lateMs: o.lateMs, consecutive });
        if (f.recovered && v.recovered) return { recovered: true, atMs: Math.max(f.firstOkMs ?? 0, v.firstOkMs ?? 0), waitedMs: rel() - t0 };
        return undefined;
      };
      for (let i = 0; i < 400_000; i++) {
        const r = check();
        if (r) return r;
        if (rel() >= untilMs || meter.stopped) break;
        await sleep(15);
      }
      return check() ?? { recovered: false, waitedMs: rel() - t0 };
    },
    stop() {
      stopping ??= (async () => {
        clearTimeout(selfStop);
        procs.sender?.send('stop');
        procs.responder?.send('stop');
        procs.ping?.child.kill('SIGINT');
        // Late echoes and reverse probes still count (as late): wait for them before ending the programs.
        await sleep(o.lateMs + LOG_SLACK_MS);
        procs.sender?.send('exit');
        procs.responder?.send('exit');
        await Promise.all([endProc(procs.sender, 3000), endProc(procs.responder, 3000), endProc(procs.ping, 3000)]);
        return report(true);
      })();
      return stopping;
    },
  };
  return meter;
}
