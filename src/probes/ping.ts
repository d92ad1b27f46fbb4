// Owns ICMP echo probes run from inside a node's network namespace with the machine's iputils `ping`
// (`nsenter --net=<path> ping …`, ≈ 3–4 ms per call; never `docker exec`), and parsing its output; and
// many targets at once from one namespace with one `fping` process (reachMany, confirmUnreachableMany:
// a full mesh is one process per source instead of one per pair), iputils for what fping cannot answer.
// Must not change anything in the lab, and sends only to IP literals (never resolves a name outside).
import { isIP } from 'node:net';
import { sleep, mapLimit, run, type RunResult } from '../util/exec.js';
import { UserError } from '../util/errors.js';

/**
 * Where probes run: a namespace file here (nsenter), or a runner that runs `ping …` inside a node elsewhere
 * (a node on another machine, through its agent: RunningLab.probeRunner). Runners get no fping round.
 */
export type ProbeNs = string | ProbeRunner;
export interface ProbeRunner { label: string; run: (argv: string[], timeoutMs: number) => Promise<RunResult>; }

export interface PingOptions {
  /** Echo requests in one `ping` run (default 1). */
  count?: number;
  /** How long to wait for each reply (default 1000 ms; iputils `-W`, fractions allowed). */
  timeoutMs?: number;
  /** Gap between requests of one run (default 200 ms; iputils `-i`). */
  intervalMs?: number;
  /** Force IPv4 or IPv6 (iputils picks from the address otherwise). */
  family?: 4 | 6;
  /** ICMP payload size in bytes (iputils `-s`, default 56). */
  size?: number;
}

export interface PingResult {
  target: string;
  /** Echo requests sent (0 when ping could not send at all, e.g. "Network is unreachable"). */
  sent: number;
  received: number;
  /** Average round trip of the replies received, in ms. */
  rttMs?: number;
  /** Why nothing could be sent or an ICMP error came back (e.g. "Network is unreachable"). */
  error?: string;
  /** The probe itself could not run (no socket, no namespace, no ping, killed): its result says nothing
   *  about reachability, and a "cannot reach" check must not pass on it. */
  failed?: string;
  /** ping's own output (stdout and stderr), as evidence for reports. */
  output: string;
}

/** Upper bounds so a typo cannot start an endless probe. */
const MAX_COUNT = 10_000;
const MAX_RUN_MS = 120_000;

/** A bare IP address, optionally an IPv6 link-local one with a zone (`fe80::1%eth1`). */
export function ipLiteralFamily(target: string): 4 | 6 | 0 {
  const pct = target.indexOf('%');
  if (pct > 0) {
    const base = target.slice(0, pct);
    return isIP(base) === 6 && /^[A-Za-z0-9_.-]{1,15}$/.test(target.slice(pct + 1)) ? 6 : 0;
  }
  return isIP(target) as 4 | 6 | 0;
}

const secs = (ms: number): string => String(Math.round(ms) / 1000);

/** The argv after `ping` (exported for unit tests). */
export function pingArgs(target: string, opts: PingOptions = {}): string[] {
  const fam = ipLiteralFamily(target);
  if (!fam) {
    throw new UserError(`cannot ping ${target} (not an IP address)`, 'probes never resolve names; resolve lab names with resolveTarget');
  }
  if (opts.family && opts.family !== fam) {
    throw new UserError(`cannot ping ${target} over IPv${opts.family} (it is an IPv${fam} address)`);
  }
  const count = opts.count ?? 1;
  const timeoutMs = opts.timeoutMs ?? 1000;
  if (!Number.isInteger(count) || count < 1 || count > MAX_COUNT) throw new UserError(`cannot ping ${target} (count ${count} is not 1..${MAX_COUNT})`);
  if (!(timeoutMs >= 1 && timeoutMs <= 60_000)) throw new UserError(`cannot ping ${target} (timeout ${timeoutMs} ms is not 1..60000 ms)`);
  const args = ['-n', `-${opts.family ?? fam}`, '-c', String(count), '-W', secs(Math.max(timeoutMs, 1))];
  if (count > 1) {
    const interval = opts.intervalMs ?? 200;
    if (!(interval >= 1 && interval <= 60_000)) throw new UserError(`cannot ping ${target} (interval ${interval} ms is not 1..60000 ms)`);
    args.push('-i', secs(interval));
  }
  if (opts.size !== undefined) {
    if (!Number.isInteger(opts.size) || opts.size < 0 || opts.size > 65_000) throw new UserError(`cannot ping ${target} (size ${opts.size} is not 0..65000)`);
    args.push('-s', String(opts.size));
  }
  args.push(target);
  return args;
}

/** Parses iputils ping output (exported for unit tests). */
export function parsePing(target: string, output: string): PingResult {
  const stats = /(\d+) packets transmitted, (\d+) (?:packets )?received/.exec(output);
  const rtt = /(?:rtt|round-trip) min\/avg\/max(?:\/mdev)? = [\d.]+\/([\d.]+)\//.exec(output);
  const result: PingResult = {
    target,
    sent: stats ? Number(stats[1]) : 0,
    received: stats ? Number(stats[2]) : 0,
    output,
  };
  if (rtt) result.rttMs = Number(rtt[1]);
  // "ping: connect: Network is unreachable", "From 10.0.0.1 icmp_seq=1 Destination Host Unreachable",
  // "ping: sendmsg: Operation not permitted" — the first one is the most telling.
  const err = /^ping: (?:connect: |sendmsg: )?(.+)$/m.exec(output) ?? /^From \S+ icmp_seq=\d+ (.+)$/m.exec(output);
  if (err && result.received === 0) result.error = (err[1] as string).trim();
  // No statistics line: either the network said no at once (connect: Network is unreachable), or the
  // tool never probed (ping: socket: Operation not permitted; nsenter: …; ping not found; killed).
  if (!stats) {
    const tool = TOOL_FAILED.exec(output);
    if (tool) result.failed = tool[0].trim();
    else if (!result.error || !NETWORK_SAID_NO.test(result.error)) result.failed = output.trim().split('\n').pop()?.trim() || 'ping printed nothing';
  }
  return result;
}

/** Lines that mean the probe did not run at all (exported for unit tests). */
export const TOOL_FAILED = /^(?:ping: socket: .*|ping: (?:bad|invalid|unknown|usage).*|nsenter: .*|.*(?:command not found|not found|No such file or directory).*|Usage: .*)$/im;
/** Errors by which the network (or the node's own routing/filtering) refused: a real "cannot reach". */
const NETWORK_SAID_NO = /unreachable|No route to host|Operation not permitted|Cannot assign requested address|Network is down|Destination/i;

/** Sends `count` echo requests from inside the namespace at nsPath; never throws for no reply. */
export async function ping(nsPath: ProbeNs, target: string, opts: PingOptions = {}): Promise<PingResult> {
  const args = pingArgs(target, opts);
  const count = opts.count ?? 1;
  const runMs = Math.min(MAX_RUN_MS, (count - 1) * (opts.intervalMs ?? 200) + (opts.timeoutMs ?? 1000) + 3000);
  const r = typeof nsPath === 'string' ? await run('nsenter', [`--net=${nsPath}`, 'ping', ...args], { timeoutMs: runMs })
    : await nsPath.run(['ping', ...args], runMs);
  const output = (r.stdout + (r.stderr ? `\n${r.stderr}` : '')).trim();
  if (r.code === 127 || /nsenter: /.test(r.stderr)) {
    // Not a network answer: the namespace is gone or a tool is missing.
    throw new Error(`cannot ping ${target} from ${typeof nsPath === 'string' ? nsPath : nsPath.label} (${r.stderr.trim().split('\n').pop()})`);
  }
  return parsePing(target, output);
}

export interface ReachResult { ok: boolean; probes: PingResult[]; }

/** Up to `attempts` single pings, stopping at the first reply (ARP/ND and OVS MAC learning can eat the first). */
export async function reach(nsPath: ProbeNs, target: string, opts: { attempts?: number; timeoutMs?: number; family?: 4 | 6 } = {}): Promise<ReachResult> {
  const attempts = Math.min(Math.max(1, opts.attempts ?? 3), 100);
  const probes: PingResult[] = [];
  for (let i = 0; i < attempts; i++) {
    const p = await ping(nsPath, target, { count: 1, timeoutMs: opts.timeoutMs ?? 1000, family: opts.family });
    probes.push(p);
    if (p.received > 0) return { ok: true, probes };
  }
  return { ok: false, probes };
}

export interface ReachWithinResult {
  ok: boolean;
  /** From the call until the reply that made it ok (or until giving up). */
  elapsedMs: number;
  /** Probes sent. */
  sent: number;
  /** Probes answered. */
  okCount: number;
  last?: PingResult;
}

export interface ReachWithinOptions {
  /** Start of one probe to the start of the next (default 100 ms). */
  intervalMs?: number;
  /** Longest wait for one reply (default 1000 ms; shortened near the deadline). */
  probeTimeoutMs?: number;
  /** Consecutive replies needed (default 1). */
  successes?: number;
  family?: 4 | 6;
}


/**
 * Polls with single pings until `successes` consecutive replies or the deadline. Bounded: at most
 * withinMs / intervalMs + 1 probes; a probe started before the deadline waits at most
 * max(time left, 200 ms) for its reply, so the call overruns the deadline by well under a second.
 */
export async function reachWithin(nsPath: ProbeNs, target: string, withinMs: number, opts: ReachWithinOptions = {}): Promise<ReachWithinResult> {
  const interval = Math.max(10, opts.intervalMs ?? 100);
  const need = Math.max(1, opts.successes ?? 1);
  const maxProbes = Math.floor(withinMs / interval) + 1;
  const t0 = Date.now();
  const deadline = t0 + withinMs;
  let sent = 0; let okCount = 0; let streak = 0;
  let last: PingResult | undefined;
  while (sent < maxProbes) {
    const start = Date.now();
    const left = deadline - start;
    if (left < 0 && sent > 0) break;
    const timeoutMs = Math.min(opts.probeTimeoutMs ?? 1000, Math.max(left, 200));
    last = await ping(nsPath, target, { count: 1, timeoutMs, family: opts.family });
    sent++;
    if (last.received > 0) {
      okCount++; streak++;
      if (streak >= need) return { ok: true, elapsedMs: Date.now() - t0, sent, okCount, last };
    } else {
      streak = 0;
    }
    if (Date.now() >= deadline) break;
    await sleep(Math.min(start + interval, deadline) - Date.now());
  }
  return { ok: false, elapsedMs: Date.now() - t0, sent, okCount, last };
}

export interface UnreachableResult {
  unreachable: boolean;
  probes: PingResult[];
  /** Set when a probe could not run (PingResult.failed): then `unreachable` is false — nothing was shown. */
  failed?: string;
}

/** "Cannot reach": `probes` single pings of `timeoutMs` each, all unanswered (stops at a reply). */
export async function confirmUnreachable(nsPath: ProbeNs, target: string, opts: { probes?: number; timeoutMs?: number; family?: 4 | 6 } = {}): Promise<UnreachableResult> {
  const n = Math.min(Math.max(1, opts.probes ?? 2), 100);
  const probes: PingResult[] = [];
  for (let i = 0; i < n; i++) {
    const p = await ping(nsPath, target, { count: 1, timeoutMs: opts.timeoutMs ?? 1000, family: opts.family });
    probes.push(p);
    if (p.received > 0) return { unreachable: false, probes };
    if (p.failed) return { unreachable: false, probes, failed: p.failed };
  }
  return { unreachable: true, probes };
}

// ---- many targets from one namespace ---------------------------------------------------------------

/** Set once fping turned out to be missing: the per-target path is used from then on. */
let fpingMissing = false;

/** One fping summary line: `10.0.0.2 : xmt/rcv/%loss = 1/1/0%, min/avg/max = 0.02/0.02/0.02` (exported for tests). */
export function parseFpingSummary(output: string): Map<string, PingResult> {
  const out = new Map<string, PingResult>();
  for (const line of output.split('\n')) {
    const m = /^(\S+)\s*: xmt\/rcv\/%loss = (\d+)\/(\d+)\/\d+%(?:, min\/avg\/max = [\d.]+\/([\d.]+)\/[\d.]+)?/.exec(line.trim());
    if (!m) continue;
    const r: PingResult = { target: m[1] as string, sent: Number(m[2]), received: Number(m[3]), output: `fping: ${line.trim()}` };
    if (m[4] !== undefined) r.rttMs = Number(m[4]);
    out.set(r.target, r);
  }
  return out;
}

/**
 * One echo request to each target, all sent at once by one `fping` in the namespace. Returns the
 * results it got (a target may be missing: fping could not say), or undefined when fping cannot run.
 */
async function fpingRound(nsPath: ProbeNs, targets: string[], timeoutMs: number): Promise<Map<string, PingResult> | undefined> {
  // fping does not take zoned link-local addresses; those go the per-target way.
  const list = targets.filter((t) => !t.includes('%'));
  if (fpingMissing || !list.length || typeof nsPath !== 'string') return undefined;
  const r = await run('nsenter', [`--net=${nsPath}`, 'fping', '-q', '-c', '1', '-t', String(Math.round(timeoutMs)), '-i', '0', ...list],
    { timeoutMs: timeoutMs + 3000 });
  if (r.code === 127 || /nsenter: .*(No such file|not found)/.test(r.stderr)) {
    if (/fping/.test(r.stderr) || r.code === 127) fpingMissing = true;
    return undefined;
  }
  if (r.code > 1) return undefined;   // 2: a name, 3: bad arguments, 4: a system call failed
  return parseFpingSummary(r.stdout + r.stderr);
}

/** reach() to many targets from one namespace: a first round for all at once, then reach() for the silent ones. */
export async function reachMany(nsPath: ProbeNs, targets: string[], opts: { attempts?: number; timeoutMs?: number } = {}): Promise<ReachResult[]> {
  for (const t of targets) pingArgs(t);    // the same validation as one ping
  const attempts = Math.min(Math.max(1, opts.attempts ?? 3), 100);
  const timeoutMs = opts.timeoutMs ?? 1000;
  const uniq = [...new Set(targets)];
  const first = await fpingRound(nsPath, uniq, timeoutMs);
  const byTarget = new Map<string, ReachResult>();
  await mapLimit(uniq, 4, async (t) => {
    const p = first?.get(t);
    if (p && p.received > 0) { byTarget.set(t, { ok: true, probes: [p] }); return; }
    if (p && attempts === 1) { byTarget.set(t, { ok: false, probes: [p] }); return; }
    const rest = await reach(nsPath, t, { attempts: p ? attempts - 1 : attempts, timeoutMs });
    byTarget.set(t, { ok: rest.ok, probes: p ? [p, ...rest.probes] : rest.probes });
  });
  return targets.map((t) => byTarget.get(t) as ReachResult);
}

/** confirmUnreachable() for many targets: a first round for all at once, the remaining probes per target. */
export async function confirmUnreachableMany(nsPath: ProbeNs, targets: string[], opts: { probes?: number; timeoutMs?: number } = {}): Promise<UnreachableResult[]> {
  for (const t of targets) pingArgs(t);
  const n = Math.min(Math.max(1, opts.probes ?? 2), 100);
  const timeoutMs = opts.timeoutMs ?? 1000;
  const uniq = [...new Set(targets)];
  const first = await fpingRound(nsPath, uniq, timeoutMs);
  const byTarget = new Map<string, UnreachableResult>();
  await mapLimit(uniq, 4, async (t) => {
    const p = first?.get(t);
    if (p && p.received > 0) { byTarget.set(t, { unreachable: false, probes: [p] }); return; }
    if (p && n === 1) { byTarget.set(t, { unreachable: true, probes: [p] }); return; }
    const rest = await confirmUnreachable(nsPath, t, { probes: p ? n - 1 : n, timeoutMs });
    byTarget.set(t, { ...rest, probes: p ? [p, ...rest.probes] : rest.probes });
  });
  return targets.map((t) => byTarget.get(t) as UnreachableResult);
}
