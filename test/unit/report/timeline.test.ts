// The failover timeline: one row per direction, lost probes and the outage span with its duration written,
// events as dashed lines, a time axis relative to the event; small (run-length) and deterministic.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildReport, type Arrival, type MeterLogs, type Sent } from '../../../src/probes/outage-analysis.js';
import { timelineSvg, timelineWindow } from '../../../src/report/timeline.js';

function logs(cutFrom: number, cutTo: number, n = 2000): MeterLogs {
  const sent: Sent[] = [];
  const arr: Arrival[] = [];
  for (let seq = 0; seq < n; seq++) {
    const t = seq * 5;
    sent.push({ seq, t });
    if (t < cutFrom || t >= cutTo) arr.push({ seq, t: t + (seq === 1900 ? 150 : 0.4) });
  }
  const icmp = { intervalMs: 10, replies: sent.filter((s) => s.seq % 2 === 0 && (s.t < cutFrom || s.t >= cutTo + 20)).map((s) => ({ seq: s.seq / 2 + 1, t: s.t + 0.3, rttMs: 0.3 })) };
  return { fwdSent: sent, fwdArr: arr, echoArr: arr, revSent: sent, revArr: arr, icmp, sendErrors: 0 };
}
const meta = { from: 'h1', to: 'h2', target: 'h2 (10.44.0.2)', intervalMs: 5, lateMs: 100, t0Mono: 0, startMs: 0, endMs: 10_000, final: true };

test('the timeline shows each direction, the outage with its duration, the event and the late probe', () => {
  const r = buildReport(logs(4000, 4500), { ...meta, marks: [{ label: 'the link "h1:eth1--lan" silently drops all traffic', atMs: 3990 }] });
  const svg = timelineSvg(r);
  assert.match(svg, /^<svg xmlns="http:\/\/www.w3.org\/2000\/svg" width="1000"/);
  assert.match(svg, /<\/svg>\n$/);
  for (const row of ['>forward<', '>reverse<', '>round trip<', '>round trip<']) assert.ok(svg.includes(row), row);
  assert.match(svg, />h1 → h2</);
  assert.match(svg, />500 ms \(100 lost\)</);
  assert.match(svg, />ICMP echo, ping</);
  assert.match(svg, /the link &quot;h1:eth1--lan&quot; silently drops all traffic/, 'event label, escaped');
  assert.match(svg, /stroke-dasharray/);
  assert.match(svg, />time after &quot;the link/);
  assert.match(svg, /fill="#f39c12"/, 'the late probe');
  assert.match(svg, /fill-opacity="0.15" class="outage"/, 'shaded outage');
  assert.doesNotMatch(svg, /NaN|undefined|Infinity/);
  assert.equal(timelineSvg(r), svg, 'deterministic');
  assert.ok(svg.length < 40_000, `small: ${svg.length} bytes for 2000 probes per row`);
  // The window: the event and the outage with a margin, not the whole 10 s.
  const w = timelineWindow(r);
  assert.ok(w.fromMs >= 3000 && w.fromMs < 3990 && w.toMs > 4500 && w.toMs < 6000, JSON.stringify(w));
});

test('no outage and no event: the whole measured window, all probes through', () => {
  const r = buildReport(logs(0, 0, 200), { ...meta, endMs: 1000, marks: [] });
  const svg = timelineSvg(r, { width: 600 });
  assert.match(svg, /no outage \(200\/200 probes forward/);
  assert.match(svg, />time since the probes started</);
  assert.doesNotMatch(svg, /class="outage"/);
  assert.doesNotMatch(svg, /NaN|undefined|Infinity/);
  assert.deepEqual(timelineWindow(r), { fromMs: 0, toMs: 1000 });
});

test('an outage not recovered is written as at least its length so far', () => {
  const r = buildReport(logs(4000, 1e9, 1000), { ...meta, endMs: 4999, final: false, nowMs: 5100, marks: [{ label: 'cut', atMs: 3995 }] });
  assert.match(timelineSvg(r), />≥ 998 ms \(200 lost\)</);
  assert.match(timelineSvg(r), /live read-out/);
});
