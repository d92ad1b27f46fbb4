// Owns turning probe logs into outage figures: per direction sent/received/lost/late/reordered, the
// outages (runs of lost probes) with their start, end, duration and resolution, and the same from
// iputils ping replies (gaps between reply times). Pure: numbers in, numbers out — no processes, no
// clock. Times are ms relative to the meter's time zero; the meter (outage.ts) collects the logs.

/** One probe sent (seq in send order) and one arrival (in arrival order; a seq may arrive twice). */
export interface Sent { seq: number; t: number; }
export interface Arrival { seq: number; t: number; }

/** A run of consecutive lost (or late) probes. */
export interface Outage {
  /** Estimated start and end (ms from the meter start): midway between the last probe that got through
   *  and the first that did not, and between the last lost and the next that got through. */
  startMs: number;
  endMs: number;
  durationMs: number;
  /** The estimate is within ± this of the truth: half the send gaps around the run, both ends, plus the
   *  extra (over the median) delay of the probes that got through on either side. */
  resolutionMs: number;
  /** Probes of the run (late ones included). */
  lostProbes: number;
  lateProbes: number;
  /** false: nothing got through after it (yet). */
  recovered: boolean;
  /** Relative to the event in effect when it began (the last mark before its start), if any. */
  event?: { label: string; atMs: number; startAfterMs: number; endAfterMs: number };
}

export type ProbeStatus = 'ok' | 'lost' | 'late';
/** Per probe, for the timeline: when it was sent (ms) and what became of it. */
export interface ProbeMark { t: number; status: ProbeStatus; /** Arrival − send (one way, or round trip for echoes), when it arrived. */ delayMs?: number; }

export type Direction = 'forward' | 'reverse' | 'roundTrip' | 'icmp';

export interface DirectionReport {
  direction: Direction;
  /** Human words: "forward (client → server)". */
  label: string;
  sent: number;
  /** Arrived in time (each seq once). */
  received: number;
  /** Not arrived, or arrived late (late ones are counted in `late` as well). */
  lost: number;
  late: number;
  /** Arrivals with a lower seq than one that arrived before them. */
  reordered: number;
  duplicates: number;
  outages: Outage[];
  longest?: Outage;
  /** Largest gap between two consecutive sends: sender stalls (`ip`, `nft`, `vtysh` on a busy machine). */
  maxSendGapMs: number;
  probes: ProbeMark[];
}

export interface Mark { label: string; atMs: number; }

export interface StreamOptions {
  intervalMs: number;
  /** A probe arriving later than this after it was sent counts as lost (and late). */
  lateMs: number;
  /** Only probes sent in [fromMs, toMs] count: before fromMs is warm-up, after toMs still in flight. */
  fromMs?: number;
  toMs?: number;
  marks?: Mark[];
}

/**
 * Attaches the event in effect at the outage's start: the last mark at or before it, or else a mark at
 * most `slackMs` (a probe gap) after it — the estimate of the start may be that much early.
 */
export function relateToMarks(o: Outage, marks: Mark[] | undefined, slackMs: number): Outage {
  const all = marks ?? [];
  const before = all.filter((m) => m.atMs <= o.startMs);
  const m = before[before.length - 1] ?? all.find((x) => x.atMs <= o.startMs + slackMs);
  if (!m) return o;
  return { ...o, event: { label: m.label, atMs: m.atMs, startAfterMs: round(o.startMs - m.atMs), endAfterMs: round(o.endMs - m.atMs) } };
}

const round = (x: number): number => Math.round(x * 10) / 10;

function longestOf(outages: Outage[]): Outage | undefined {
  let best: Outage | undefined;
  for (const o of outages) if (!best || o.durationMs > best.durationMs) best = o;
  return best;
}

/**
 * One direction of UDP probes: the sends (as logged by the sending side) and the arrivals (as logged by
 * the receiving side). An outage is a maximal run of consecutive probes (by seq) that were lost or late.
 */
export function analyseStream(direction: Direction, label: string, sentIn: readonly Sent[], arrivals: readonly Arrival[], o: StreamOptions): DirectionReport {
  const from = o.fromMs ?? -Infinity;
  const to = o.toMs ?? Infinity;
  const sent = sentIn.filter((s) => s.t >= from && s.t <= to).slice().sort((a, b) => a.seq - b.seq);
  const sentAt = new Map(sent.map((s) => [s.seq, s.t]));
  const first = new Map<number, number>();
  let duplicates = 0;
  let reordered = 0;
  let maxSeq = -1;
  for (const a of arrivals) {
    if (!sentAt.has(a.seq)) continue;
    if (first.has(a.seq)) { duplicates++; continue; }
    first.set(a.seq, a.t);
    if (a.seq < maxSeq) reordered++;
    else maxSeq = a.seq;
  }
  const status: ProbeStatus[] = sent.map((s) => {
    const at = first.get(s.seq);
    if (at === undefined) return 'lost';
    return at - s.t > o.lateMs ? 'late' : 'ok';
  });
  const late = status.filter((x) => x === 'late').length;
  const received = status.filter((x) => x === 'ok').length;
  let maxSendGapMs = 0;
  for (let i = 1; i < sent.length; i++) maxSendGapMs = Math.max(maxSendGapMs, (sent[i] as Sent).t - (sent[i - 1] as Sent).t);

  // A probe that got through late-ish next to an outage may have waited in a queue before or after the
  // cut point: its extra delay over the usual (median) one widens the ± of that outage's boundary.
  const delayOf = (s: Sent | undefined): number => (s ? (first.get(s.seq) ?? s.t) - s.t : 0);
  const okDelays = sent.filter((_, i) => status[i] === 'ok').map(delayOf).sort((a, b) => a - b);
  const usual = okDelays.length ? okDelays[Math.floor(okDelays.length / 2)] as number : 0;
  const excess = (s: Sent | undefined): number => Math.max(0, delayOf(s) - usual);
  const outages: Outage[] = [];
  for (let i = 0; i < sent.length;) {
    if (status[i] === 'ok') { i++; continue; }
    let j = i;
    while (j + 1 < sent.length && status[j + 1] !== 'ok') j++;
    const firstLost = sent[i] as Sent;
    const lastLost = sent[j] as Sent;
    const prev = sent[i - 1];
    const next = sent[j + 1];
    const gapBefore = prev ? firstLost.t - prev.t : o.intervalMs;
    const gapAfter = next ? next.t - lastLost.t : o.intervalMs;
    const startMs = prev ? (prev.t + firstLost.t) / 2 : firstLost.t;
    const endMs = next ? (lastLost.t + next.t) / 2 : lastLost.t;
    const run = status.slice(i, j + 1);
    outages.push(relateToMarks({
      startMs: round(startMs), endMs: round(endMs), durationMs: round(endMs - startMs),
      resolutionMs: round((gapBefore + gapAfter) / 2 + excess(prev) + excess(next)),
      lostProbes: run.length, lateProbes: run.filter((x) => x === 'late').length, recovered: next !== undefined,
    }, o.marks, o.intervalMs));
    i = j + 1;
  }
  return {
    direction, label, sent: sent.length, received, lost: sent.length - received, late, reordered, duplicates,
    outages, longest: longestOf(outages), maxSendGapMs: round(maxSendGapMs),
    probes: sent.map((s, i) => {
      const at = first.get(s.seq);
      return at === undefined ? { t: s.t, status: status[i] as ProbeStatus } : { t: s.t, status: status[i] as ProbeStatus, delayMs: round(at - s.t) };
    }),
  };
}

/** One iputils reply line: `[epoch.micro] … icmp_seq=N … time=RTT ms`, its time converted to meter ms. */
export interface IcmpReply { seq: number; t: number; rttMs: number; }

export interface IcmpOptions extends StreamOptions {
  /** Echo requests ping says it sent (its summary), when known; else the highest seq seen. */
  transmitted?: number;
  /** The time the log was read up to: a silence longer than lateMs + 3 intervals before it is an ongoing outage. */
  nowMs?: number;
}

/** Undoes iputils' 16-bit icmp_seq wrap, in arrival order. */
export function unwrapIcmpSeq(replies: readonly IcmpReply[]): IcmpReply[] {
  let epoch = 0;
  let last = -1;
  return replies.map((r) => {
    let seq = r.seq + epoch;
    if (last >= 0 && seq < last - 32768) { epoch += 65536; seq += 65536; }
    last = Math.max(last, seq);
    return { ...r, seq };
  });
}

/**
 * ICMP echo with iputils ping: ping stretches its interval while replies are missing, so lost time is
 * taken from the gap between the send times (reply time − RTT) of the replies around a run of missing
 * sequence numbers, less one interval; lost probes are the missing sequence numbers. Round trip only.
 */
export function analyseIcmp(label: string, repliesIn: readonly IcmpReply[], o: IcmpOptions): DirectionReport {
  const from = o.fromMs ?? -Infinity;
  const to = o.toMs ?? Infinity;
  const replies = unwrapIcmpSeq(repliesIn);
  const seen = new Set<number>();
  let duplicates = 0;
  let reordered = 0;
  let maxSeq = -Infinity;
  const good: Array<{ seq: number; s: number; late: boolean }> = [];
  for (const r of replies) {
    const s = r.t - r.rttMs;
    if (s < from || s > to) continue;
    if (seen.has(r.seq)) { duplicates++; continue; }
    seen.add(r.seq);
    if (r.seq < maxSeq) reordered++;
    else maxSeq = r.seq;
    good.push({ seq: r.seq, s, late: r.rttMs > o.lateMs });
  }
  good.sort((a, b) => a.seq - b.seq);
  const ok = good.filter((g) => !g.late);
  const late = good.length - ok.length;
  const firstSeq = good[0]?.seq ?? 0;
  const lastSeq = Math.max(good[good.length - 1]?.seq ?? 0, o.transmitted ?? 0);
  const sent = good.length ? lastSeq - firstSeq + 1 : (o.transmitted ?? 0);
  const half = o.intervalMs / 2;
  const outages: Outage[] = [];
  const probes: ProbeMark[] = good.map((g) => ({ t: g.s, status: g.late ? 'late' : 'ok' }));
  let maxSendGapMs = 0;
  for (let i = 1; i < ok.length; i++) {
    const a = ok[i - 1] as typeof ok[number];
    const b = ok[i] as typeof ok[number];
    maxSendGapMs = Math.max(maxSendGapMs, b.s - a.s);
    const missing = b.seq - a.seq - 1;
    if (missing <= 0) continue;
    const startMs = a.s + half;
    const endMs = Math.max(startMs, b.s - half);
    for (let k = 1; k <= missing; k++) {
      if (!seen.has(a.seq + k)) probes.push({ t: a.s + ((b.s - a.s) * k) / (missing + 1), status: 'lost' });
    }
    outages.push(relateToMarks({
      startMs: round(startMs), endMs: round(endMs), durationMs: round(endMs - startMs),
      resolutionMs: round(o.intervalMs), lostProbes: missing,
      lateProbes: good.filter((g) => g.late && g.seq > a.seq && g.seq < b.seq).length, recovered: true,
    }, o.marks, o.intervalMs));
  }
  // Nothing in time since the last good reply: an outage still going on (live), or one at the end.
  const lastOk = ok[ok.length - 1];
  const tail = lastSeq - (lastOk?.seq ?? firstSeq - 1);
  const silentFor = o.nowMs !== undefined && lastOk ? o.nowMs - lastOk.s : 0;
  if (lastOk && (tail > 1 || silentFor > o.lateMs + 3 * o.intervalMs)) {
    const startMs = lastOk.s + half;
    const endMs = Math.max(startMs, o.nowMs ?? startMs);
    outages.push(relateToMarks({
      startMs: round(startMs), endMs: round(endMs), durationMs: round(endMs - startMs), resolutionMs: round(o.intervalMs),
      lostProbes: Math.max(0, tail), lateProbes: good.filter((g) => g.late && g.seq > lastOk.seq).length, recovered: false,
    }, o.marks, o.intervalMs));
  }
  probes.sort((a, b) => a.t - b.t);
  const received = ok.length;
  return {
    direction: 'icmp', label, sent, received, lost: Math.max(0, sent - received), late, reordered, duplicates,
    outages, longest: longestOf(outages), maxSendGapMs: round(maxSendGapMs), probes,
  };
}

/** iputils `ping -D` reply lines → replies with times in meter ms (`realToMeter` converts epoch ms). */
export function parsePingReplies(text: string, realToMeter: (epochMs: number) => number): IcmpReply[] {
  const out: IcmpReply[] = [];
  const re = /^\[(\d+\.\d+)\] \d+ bytes from [^:]+: icmp_seq=(\d+) .*?time=([\d.]+) ms/gm;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    out.push({ seq: Number(m[2]), t: realToMeter(Number(m[1]) * 1000), rttMs: Number(m[3]) });
  }
  return out;
}

/** `N packets transmitted` from ping's summary, if it printed one. */
export function pingTransmitted(text: string): number | undefined {
  const m = /(\d+) packets transmitted/.exec(text);
  return m ? Number(m[1]) : undefined;
}

// ------------------------------------------------------------------------------------------ recovery

/**
 * Has the stream recovered? True when the last `consecutive` probes sent at or after `sinceMs` that are
 * no longer in flight all got through in time. A probe is in flight while it has not arrived and was
 * sent less than lateMs before `nowMs`. Returns the send time of the first probe of that good tail.
 * `arrived` is a seq → first arrival time lookup (a Map, or built from an arrival list).
 */
export function recoveredSince(sentIn: readonly Sent[], arrived: ReadonlyMap<number, number> | readonly Arrival[],
  o: { sinceMs: number; nowMs: number; lateMs: number; consecutive: number }): { recovered: boolean; firstOkMs?: number } {
  let at: ReadonlyMap<number, number>;
  if (arrived instanceof Map) at = arrived;
  else {
    const m = new Map<number, number>();
    for (const a of arrived as readonly Arrival[]) if (!m.has(a.seq)) m.set(a.seq, a.t);
    at = m;
  }
  // Sends are in time order: start at the first one at or after sinceMs.
  let lo = 0;
  let hi = sentIn.length;
  while (lo < hi) { const mid = (lo + hi) >> 1; if ((sentIn[mid] as Sent).t < o.sinceMs) lo = mid + 1; else hi = mid; }
  const settled: Array<{ t: number; ok: boolean }> = [];
  for (let i = lo; i < sentIn.length; i++) {
    const s = sentIn[i] as Sent;
    const arr = at.get(s.seq);
    if (arr === undefined) {
      if (o.nowMs - s.t > o.lateMs) settled.push({ t: s.t, ok: false });
      continue;
    }
    settled.push({ t: s.t, ok: arr - s.t <= o.lateMs });
  }
  if (settled.length < o.consecutive) return { recovered: false };
  let k = settled.length;
  while (k > 0 && (settled[k - 1] as { ok: boolean }).ok) k--;
  const okTail = settled.length - k;
  return okTail >= o.consecutive ? { recovered: true, firstOkMs: (settled[k] as { t: number }).t } : { recovered: false };
}

// ------------------------------------------------------------------------------------------ the report

/** Everything the meter's programs logged, in meter ms. */
export interface MeterLogs {
  /** Forward probes sent by the sender; their arrivals at the responder; their echoes back at the sender. */
  fwdSent: Sent[];
  fwdArr: Arrival[];
  echoArr: Arrival[];
  /** The responder's own probes towards the sender, and their arrivals there. */
  revSent: Sent[];
  revArr: Arrival[];
  icmp?: { replies: IcmpReply[]; transmitted?: number; intervalMs: number };
  /** Sends the kernel refused (no route, …): those probes are lost too. */
  sendErrors: number;
}

export interface ReportMeta {
  from: string;
  to: string;
  /** How the target was named: `server (10.0.1.20)`. */
  target: string;
  intervalMs: number;
  lateMs: number;
  /** CLOCK_MONOTONIC ms of the meter's time zero. */
  t0Mono: number;
  /** The measured window: probes sent in [startMs, endMs] count (ms from time zero). */
  startMs: number;
  endMs: number;
  /** The live read-out time (for ICMP silence); absent in a final report. */
  nowMs?: number;
  marks: Mark[];
  final: boolean;
}

export interface OutageReport extends ReportMeta {
  forward: DirectionReport;
  reverse: DirectionReport;
  roundTrip: DirectionReport;
  icmp?: DirectionReport;
  /** The longest outage of the two UDP directions (what the outage steps check). */
  worst?: { direction: 'forward' | 'reverse'; outage: Outage };
  sendErrors: number;
  notes: string[];
}

export function buildReport(logs: MeterLogs, meta: ReportMeta): OutageReport {
  const o: StreamOptions = { intervalMs: meta.intervalMs, lateMs: meta.lateMs, fromMs: meta.startMs, toMs: meta.endMs, marks: meta.marks };
  const forward = analyseStream('forward', `forward (${meta.from} → ${meta.to})`, logs.fwdSent, logs.fwdArr, o);
  const reverse = analyseStream('reverse', `reverse (${meta.to} → ${meta.from})`, logs.revSent, logs.revArr, o);
  const roundTrip = analyseStream('roundTrip', 'round trip (UDP echo)', logs.fwdSent, logs.echoArr, o);
  const icmp = logs.icmp ? analyseIcmp('round trip (ICMP echo, ping)', logs.icmp.replies, {
    ...o, intervalMs: logs.icmp.intervalMs, transmitted: logs.icmp.transmitted, nowMs: meta.final ? undefined : meta.nowMs,
  }) : undefined;
  let worst: OutageReport['worst'];
  for (const d of [forward, reverse]) {
    if (d.longest && (!worst || d.longest.durationMs > worst.outage.durationMs)) worst = { direction: d.direction as 'forward' | 'reverse', outage: d.longest };
  }
  const notes: string[] = [];
  const stall = Math.max(forward.maxSendGapMs, reverse.maxSendGapMs);
  if (stall > 3 * meta.intervalMs) notes.push(`a sender stalled for up to ${fmt(stall)} (busy machine): outages next to a stall are known less precisely (see ± per outage)`);
  if (logs.sendErrors) notes.push(`${logs.sendErrors} sends were refused by the kernel (no route, unreachable): counted as lost`);
  if (forward.sent === 0) notes.push('no probe was sent in the measured window');
  return { ...meta, forward, reverse, roundTrip, ...(icmp ? { icmp } : {}), ...(worst ? { worst } : {}), sendErrors: logs.sendErrors, notes };
}

/** 512 → "512 ms", 2345.6 → "2.35 s". */
export function fmt(ms: number): string {
  if (ms >= 10_000) return `${(ms / 1000).toFixed(1)} s`;
  if (ms >= 1000) return `${(ms / 1000).toFixed(2)} s`;
  return `${Math.round(ms)} ms`;
}

function outageWords(o: Outage | undefined, withLost: boolean): string {
  if (!o) return 'no outage';
  const dur = o.recovered ? fmt(o.durationMs) : `≥ ${fmt(o.durationMs)}, not recovered`;
  return withLost ? `${dur} (${o.lostProbes} probe${o.lostProbes === 1 ? '' : 's'} lost)` : dur;
}

/** The headline: "outage 512 ms (102 probes lost) forward, 510 ms (101 probes lost) reverse". */
export function headline(r: OutageReport): string {
  const f = r.forward.longest;
  const v = r.reverse.longest;
  if (!f && !v) return `no outage (${r.forward.received}/${r.forward.sent} probes forward, ${r.reverse.received}/${r.reverse.sent} reverse)`;
  return `outage ${outageWords(f, true)} forward, ${outageWords(v, true)} reverse`;
}

/** The text attached to the report (and shown by JUnit/HTML): headline, per direction, outages, notes. */
export function describeReport(r: OutageReport): string {
  const lines = [
    `${headline(r)} — ${r.from} → ${r.target}, UDP probes every ${r.intervalMs} ms (late > ${r.lateMs} ms = lost)` +
      `${r.worst?.outage.event ? `; began ${fmt(Math.max(0, r.worst.outage.event.startAfterMs))} after "${r.worst.outage.event.label}"` : ''}`,
  ];
  for (const d of [r.forward, r.reverse, r.roundTrip, ...(r.icmp ? [r.icmp] : [])]) {
    lines.push(`  ${d.label}: ${d.sent} sent, ${d.received} received, ${d.lost} lost (${d.late} late), ${d.reordered} reordered` +
      `${d.duplicates ? `, ${d.duplicates} duplicated` : ''}; longest outage ${outageWords(d.longest, false)}` +
      `${d.longest ? ` ±${fmt(d.longest.resolutionMs)}` : ''}`);
  }
  const all = [r.forward, r.reverse].flatMap((d) => d.outages.map((o) => ({ d, o })));
  const shown = all.sort((a, b) => b.o.durationMs - a.o.durationMs).slice(0, 8).sort((a, b) => a.o.startMs - b.o.startMs);
  if (shown.length) {
    lines.push(`  outages${all.length > shown.length ? ` (the ${shown.length} longest of ${all.length})` : ''}:`);
    for (const { d, o } of shown) {
      const secs = (ms: number): string => (ms / 1000).toFixed(3);
      const ev = o.event ? `, from ${Math.round(o.event.startAfterMs)} to ${Math.round(o.event.endAfterMs)} ms after "${o.event.label}"` : '';
      lines.push(`    ${d.direction}: ${outageWords(o, true)} ±${fmt(o.resolutionMs)}${ev} (t = ${secs(o.startMs)} .. ${secs(o.endMs)} s)`);
    }
  }
  for (const n of r.notes) lines.push(`  note: ${n}`);
  return lines.join('\n');
}
