// Outage figures from synthetic probe logs: gaps, late replies, reordering and duplicates, each direction
// on its own, warm-up and in-flight probes left out, events, ICMP gaps with a stretched ping interval,
// recovery of the tail, and the report text.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  analyseIcmp, analyseStream, buildReport, describeReport, headline, parsePingReplies, pingTransmitted, recoveredSince, unwrapIcmpSeq,
  type Arrival, type IcmpReply, type MeterLogs, type Sent,
} from '../../../src/probes/outage-analysis.js';

const I = 5;
/** n probes every 5 ms from t = 0; `arrive(seq, t)` gives the arrival time or undefined (lost). */
function stream(n: number, arrive: (seq: number, t: number) => number | undefined): { sent: Sent[]; arr: Arrival[] } {
  const sent: Sent[] = [];
  const arr: Arrival[] = [];
  for (let seq = 0; seq < n; seq++) {
    const t = seq * I;
    sent.push({ seq, t });
    const a = arrive(seq, t);
    if (a !== undefined) arr.push({ seq, t: a });
  }
  arr.sort((x, y) => x.t - y.t);
  return { sent, arr };
}
/** A cut of the wire from `a` to `b` ms: probes sent then are lost, others arrive after 0.3 ms. */
const cut = (a: number, b: number) => (_: number, t: number) => (t >= a && t < b ? undefined : t + 0.3);

test('no loss: everything received, no outage', () => {
  const s = stream(200, cut(0, 0));
  const d = analyseStream('forward', 'forward', s.sent, s.arr, { intervalMs: I, lateMs: 100 });
  assert.deepEqual([d.sent, d.received, d.lost, d.late, d.reordered, d.duplicates, d.outages.length], [200, 200, 0, 0, 0, 0, 0]);
  assert.equal(d.longest, undefined);
  assert.equal(d.maxSendGapMs, 5);
});

test('a gap of 500 ms: one outage of 500 ms ± 5 ms, 100 probes lost, midpoints as start and end', () => {
  const s = stream(400, cut(502, 1002));
  const d = analyseStream('forward', 'forward', s.sent, s.arr, { intervalMs: I, lateMs: 100 });
  assert.equal(d.outages.length, 1);
  const o = d.outages[0]!;
  assert.deepEqual([o.lostProbes, o.lateProbes, o.recovered], [100, 0, true]);
  // lost: sent 505 .. 1000; ok: 500 and 1005 → start 502.5, end 1002.5
  assert.deepEqual([o.startMs, o.endMs, o.durationMs, o.resolutionMs], [502.5, 1002.5, 500, 5]);
  assert.equal(d.lost, 100);
  assert.equal(d.received, 300);
});

test('late replies (> lateMs) count as lost and as late, and may bridge two gaps into one outage', () => {
  const s = stream(300, (seq, t) => (seq >= 100 && seq < 110 ? undefined : seq >= 110 && seq < 120 ? t + 150 : seq >= 120 && seq < 125 ? undefined : t + 1));
  const d = analyseStream('forward', 'forward', s.sent, s.arr, { intervalMs: I, lateMs: 100 });
  assert.equal(d.outages.length, 1);
  assert.deepEqual([d.outages[0]!.lostProbes, d.outages[0]!.lateProbes, d.late, d.lost], [25, 10, 10, 25]);
  // 99 probes late by 99 ms are fine
  const ok = stream(100, (_, t) => t + 99);
  assert.equal(analyseStream('forward', 'f', ok.sent, ok.arr, { intervalMs: I, lateMs: 100 }).lost, 0);
});

test('a probe delayed next to an outage widens its ±', () => {
  const s = stream(300, (seq, t) => (t >= 500 && t < 1000 ? undefined : seq === 200 ? t + 30.3 : t + 0.3));
  const o = analyseStream('forward', 'f', s.sent, s.arr, { intervalMs: I, lateMs: 100 }).outages[0]!;
  assert.deepEqual([o.durationMs, o.resolutionMs], [500, 35]);
});

test('reordering and duplicates are counted, not lost', () => {
  const s = stream(100, (seq, t) => (seq % 10 === 3 ? t + 12 : t + 1));   // every 10th overtaken by the next two
  const dup = [...s.arr, { seq: 50, t: 400 }];
  const d = analyseStream('forward', 'f', s.sent, dup, { intervalMs: I, lateMs: 100 });
  assert.equal(d.reordered, 10);
  assert.equal(d.duplicates, 1);
  assert.equal(d.lost, 0);
  assert.equal(d.outages.length, 0);
});

test('directions are separate: forward cut 300 ms, reverse 800 ms, round trip the union', () => {
  const fwd = stream(600, cut(1000, 1300));
  const rev = stream(600, cut(1000, 1800));
  const echo = stream(600, (seq, t) => (t >= 1000 && t < 1800 ? undefined : t + 0.6));
  const logs: MeterLogs = { fwdSent: fwd.sent, fwdArr: fwd.arr, echoArr: echo.arr, revSent: rev.sent, revArr: rev.arr, sendErrors: 0 };
  const r = buildReport(logs, { from: 'h1', to: 'h2', target: 'h2 (10.0.0.2)', intervalMs: I, lateMs: 100, t0Mono: 0, startMs: 0, endMs: 3000, marks: [{ label: 'link down', atMs: 990 }], final: true });
  assert.equal(r.forward.longest!.durationMs, 300);
  assert.equal(r.reverse.longest!.durationMs, 800);
  assert.equal(r.roundTrip.longest!.durationMs, 800);
  assert.deepEqual(r.worst && [r.worst.direction, r.worst.outage.durationMs], ['reverse', 800]);
  assert.deepEqual(r.forward.longest!.event, { label: 'link down', atMs: 990, startAfterMs: 7.5, endAfterMs: 307.5 });
  assert.equal(headline(r), 'outage 300 ms (60 probes lost) forward, 800 ms (160 probes lost) reverse');
  const text = describeReport(r);
  assert.match(text, /^outage 300 ms \(60 probes lost\) forward, 800 ms \(160 probes lost\) reverse — h1 → h2 \(10\.0\.0\.2\), UDP probes every 5 ms/);
  assert.match(text, /began 8 ms after "link down"/);
  assert.match(text, /forward \(h1 → h2\): 600 sent, 540 received, 60 lost \(0 late\), 0 reordered; longest outage 300 ms ±5 ms/);
  assert.match(text, /\n    reverse: 800 ms \(160 probes lost\) ±5 ms, from 8 to 808 ms after "link down" \(t = 0\.998 \.\. 1\.798 s\)\n    forward: 300 ms/);
});

test('warm-up before startMs and probes still in flight after endMs are left out; an outage at the end is not recovered', () => {
  const s = stream(400, (seq, t) => (seq < 5 ? undefined : t >= 1500 ? undefined : t + 1));
  const d = analyseStream('forward', 'f', s.sent, s.arr, { intervalMs: I, lateMs: 100, fromMs: 50, toMs: 1800 });
  assert.equal(d.sent, 351);
  assert.equal(d.outages.length, 1);
  const o = d.outages[0]!;
  assert.equal(o.recovered, false);
  assert.deepEqual([o.startMs, o.endMs, o.lostProbes], [1497.5, 1800, 61]);
});

test('sender stalls: no loss, but a wider ± at an outage next to one', () => {
  const sent: Sent[] = [];
  for (let i = 0; i < 100; i++) sent.push({ seq: i, t: i * 5 + (i >= 50 ? 80 : 0) });   // 85 ms between seq 49 and 50
  const arr = sent.filter((p) => !(p.seq >= 50 && p.seq < 60)).map((p) => ({ seq: p.seq, t: p.t + 1 }));
  const d = analyseStream('forward', 'f', sent, arr, { intervalMs: I, lateMs: 100 });
  assert.equal(d.maxSendGapMs, 85);
  assert.equal(d.outages[0]!.resolutionMs, 45);
  assert.equal(d.outages[0]!.startMs, 245 + 42.5);
  const r = buildReport({ fwdSent: sent, fwdArr: arr, echoArr: arr, revSent: [], revArr: [], sendErrors: 2 },
    { from: 'a', to: 'b', target: 'b', intervalMs: I, lateMs: 100, t0Mono: 0, startMs: 0, endMs: 1000, marks: [], final: true });
  assert.match(r.notes.join('\n'), /stalled for up to 85 ms/);
  assert.match(r.notes.join('\n'), /2 sends were refused/);
});

test('ICMP: outage from the gap between reply send times, not from missing sequence numbers; late replies', () => {
  // ping every 10 ms; 300 ms cut at 1000 ms; while waiting ping stretched its interval, so only 12 seqs were sent in the cut.
  const replies: IcmpReply[] = [];
  let seq = 1;
  for (let t = 0; t < 1000; t += 10) replies.push({ seq: seq++, t: t + 0.2, rttMs: 0.2 });
  seq += 12;
  for (let t = 1300; t < 2000; t += 10) replies.push({ seq: seq++, t: t + 0.2, rttMs: 0.2 });
  replies.push({ seq: seq++, t: 2000 + 150, rttMs: 150 });   // late
  for (let t = 2010; t < 2100; t += 10) replies.push({ seq: seq++, t: t + 0.2, rttMs: 0.2 });
  const d = analyseIcmp('icmp', replies, { intervalMs: 10, lateMs: 100 });
  assert.equal(d.outages.length, 2);
  assert.deepEqual([d.outages[0]!.startMs, d.outages[0]!.endMs, d.outages[0]!.durationMs, d.outages[0]!.lostProbes], [995, 1295, 300, 12]);
  assert.deepEqual([d.outages[1]!.durationMs, d.outages[1]!.lostProbes, d.outages[1]!.lateProbes], [10, 1, 1]);
  assert.equal(d.late, 1);
  assert.equal(d.sent, seq - 1);
  assert.equal(d.lost, 13);
  // Live: silence since 2090 ms read at 2400 ms is an outage still going on.
  const live = analyseIcmp('icmp', replies, { intervalMs: 10, lateMs: 100, nowMs: 2400 });
  assert.deepEqual(live.outages.map((o) => o.recovered), [true, true, false]);
});

test('ICMP sequence numbers wrap at 65536', () => {
  const r = unwrapIcmpSeq([{ seq: 65534, t: 0, rttMs: 0 }, { seq: 65535, t: 1, rttMs: 0 }, { seq: 0, t: 2, rttMs: 0 }, { seq: 1, t: 3, rttMs: 0 }]);
  assert.deepEqual(r.map((x) => x.seq), [65534, 65535, 65536, 65537]);
});

test('iputils ping -D lines: epoch time to meter time, seq and RTT; the summary\'s transmitted count', () => {
  const text = [
    'PING 10.0.0.2 (10.0.0.2) 56(84) bytes of data.',
    '[1700000000.123456] 64 bytes from 10.0.0.2: icmp_seq=1 ttl=64 time=0.081 ms',
    '[1700000000.133456] 64 bytes from 10.0.0.2: icmp_seq=2 ttl=64 time=12.5 ms',
    '[1700000000.143456] From 10.0.0.1 icmp_seq=3 Destination Host Unreachable',
    '--- 10.0.0.2 ping statistics ---', '3 packets transmitted, 2 received, 33% packet loss, time 20ms',
  ].join('\n');
  const r = parsePingReplies(text, (ms) => ms - 1700000000000);
  assert.deepEqual(r.map((x) => [x.seq, Math.round(x.t * 1000) / 1000, x.rttMs]), [[1, 123.456, 0.081], [2, 133.456, 12.5]]);
  assert.equal(pingTransmitted(text), 3);
});

test('recovery: the last N settled probes sent since the call all got through; in-flight ones wait', () => {
  const s = stream(400, cut(500, 1500));
  // read at 1200 ms: still cut
  assert.equal(recoveredSince(s.sent.filter((p) => p.t <= 1200), s.arr.filter((a) => a.t <= 1200), { sinceMs: 600, nowMs: 1200, lateMs: 100, consecutive: 3 }).recovered, false);
  // read at 1520 ms: three probes since 1500 arrived
  const at = 1520;
  const r = recoveredSince(s.sent.filter((p) => p.t <= at), s.arr.filter((a) => a.t <= at), { sinceMs: 600, nowMs: at, lateMs: 100, consecutive: 3 });
  assert.deepEqual(r, { recovered: true, firstOkMs: 1500 });
  // Just after the cut began, the probes in flight are not yet lost, and old good ones before `since` do not count.
  const early = recoveredSince(s.sent.filter((p) => p.t <= 560), s.arr.filter((a) => a.t <= 560), { sinceMs: 510, nowMs: 560, lateMs: 100, consecutive: 3 });
  assert.equal(early.recovered, false);
});
