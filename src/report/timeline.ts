// Owns the failover timeline picture: a self-contained SVG of probe results around the event, one row
// per direction (forward, reverse, UDP round trip, ICMP): probes that got through, lost and late ones,
// each outage shaded with its duration written on it, and the events ('link down') as dashed lines.
// Pure: an OutageReport in, an SVG string out; the same report always gives the same picture.
import type { DirectionReport, OutageReport, Outage, ProbeStatus } from '../probes/outage-analysis.js';
import { fmt, headline } from '../probes/outage-analysis.js';

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const n1 = (x: number): string => String(Math.round(x * 10) / 10);

export interface TimelineOptions {
  /** Picture width in px (default 1000). */
  width?: number;
  /** Time window in meter ms; default: the outages and events with a margin around them. */
  fromMs?: number;
  toMs?: number;
}

const COLOR: Record<ProbeStatus, string> = { ok: '#2e9d4c', lost: '#d7263d', late: '#f39c12' };
const LABEL_W = 190;
const ROW_H = 62;
const TOP = 92;

/** The window: each row's longest outage and the events, with a quarter of their span (at least 250 ms) around, within the measured window. */
export function timelineWindow(r: OutageReport): { fromMs: number; toMs: number } {
  const rows = rowsOf(r);
  const times: number[] = [];
  for (const d of rows) if (d.longest) times.push(d.longest.startMs, d.longest.endMs);
  for (const m of r.marks) if (m.atMs >= r.startMs && m.atMs <= r.endMs) times.push(m.atMs);
  if (!times.length) return { fromMs: r.startMs, toMs: Math.max(r.endMs, r.startMs + 1) };
  const lo = Math.min(...times);
  const hi = Math.max(...times);
  const pad = Math.max(250, (hi - lo) / 4);
  const fromMs = Math.max(r.startMs, lo - pad);
  return { fromMs, toMs: Math.max(fromMs + 1, Math.min(r.endMs, hi + pad)) };
}

function rowsOf(r: OutageReport): DirectionReport[] {
  return [r.forward, r.reverse, r.roundTrip, ...(r.icmp ? [r.icmp] : [])];
}

/** 1, 2, 5 × 10^k: about `want` ticks over the span. */
function tickStep(span: number, want = 8): number {
  const raw = span / want;
  const p = 10 ** Math.floor(Math.log10(Math.max(raw, 1e-6)));
  for (const m of [1, 2, 5, 10]) if (m * p >= raw) return m * p;
  return 10 * p;
}

export function timelineSvg(r: OutageReport, opts: TimelineOptions = {}): string {
  const width = Math.max(500, opts.width ?? 1000);
  const win = opts.fromMs !== undefined && opts.toMs !== undefined && opts.toMs > opts.fromMs
    ? { fromMs: opts.fromMs, toMs: opts.toMs } : timelineWindow(r);
  const rows = rowsOf(r);
  const plotW = width - LABEL_W - 30;
  const x = (t: number): number => LABEL_W + ((t - win.fromMs) / (win.toMs - win.fromMs)) * plotW;
  const height = TOP + rows.length * ROW_H + 70;
  const event = r.worst?.outage.event ?? (r.marks.length ? { label: r.marks[r.marks.length - 1]!.label, atMs: r.marks[r.marks.length - 1]!.atMs } : undefined);
  const zero = event ? event.atMs : 0;
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`);
  out.push(`<rect width="${width}" height="${height}" fill="#ffffff"/>`);
  out.push(`<text x="12" y="22" font-size="15" font-weight="bold">${esc(`${r.from} → ${r.target}: ${headline(r)}`)}</text>`);
  out.push(`<text x="12" y="40" fill="#555">${esc(`UDP probes every ${r.intervalMs} ms each way, replies later than ${r.lateMs} ms count as lost${r.final ? '' : ' (live read-out)'}`)}</text>`);
  // legend
  const legend: Array<[string, string, number]> = [['got through', COLOR.ok, 1], ['lost', COLOR.lost, 1], [`late (> ${r.lateMs} ms)`, COLOR.late, 1], ['outage', COLOR.lost, 0.15]];
  let lx = 12;
  for (const [label, color, opacity] of legend) {
    out.push(`<rect x="${lx}" y="50" width="12" height="12" fill="${color}" fill-opacity="${opacity}"/><text x="${lx + 16}" y="60">${esc(label)}</text>`);
    lx += 28 + label.length * 7;
  }

  rows.forEach((d, i) => {
    const y0 = TOP + i * ROW_H;
    const mid = y0 + ROW_H / 2;
    out.push(`<line x1="${LABEL_W}" y1="${mid}" x2="${LABEL_W + plotW}" y2="${mid}" stroke="#ddd"/>`);
    out.push(`<text x="12" y="${mid - 4}" font-weight="bold">${esc(d.label.replace(/ \(.*$/, ''))}</text>`);
    out.push(`<text x="12" y="${mid + 12}" fill="#555" font-size="11">${esc(d.label.includes('(') ? d.label.slice(d.label.indexOf('(') + 1, -1) : '')}</text>`);
    // outage spans first (under the probes)
    const inWin = d.outages.filter((o) => o.endMs >= win.fromMs && o.startMs <= win.toMs);
    for (const o of inWin) {
      const a = Math.max(LABEL_W, x(o.startMs));
      const b = Math.min(LABEL_W + plotW, x(o.endMs));
      out.push(`<rect x="${n1(a)}" y="${y0 + 6}" width="${n1(Math.max(1, b - a))}" height="${ROW_H - 12}" fill="${COLOR.lost}" fill-opacity="0.15" class="outage"/>`);
      if (b - a >= 24 || o === d.longest) out.push(outageText(o, a, b, y0, plotW));
    }
    // probes: one run-length rectangle per stretch of pixel columns with the same worst status
    const cols = new Map<number, ProbeStatus>();
    const rank: Record<ProbeStatus, number> = { ok: 0, late: 1, lost: 2 };
    for (const p of d.probes) {
      if (p.t < win.fromMs || p.t > win.toMs) continue;
      const c = Math.min(plotW - 1, Math.floor(x(p.t) - LABEL_W));
      const cur = cols.get(c);
      if (cur === undefined || rank[p.status] > rank[cur]) cols.set(c, p.status);
    }
    // Neighbouring probes a few px apart join into one stretch (a probe covers the gap to the next one).
    const keys = [...cols.keys()].sort((a, b) => a - b);
    const join = Math.max(1, Math.ceil(medianGapPx(keys) * 1.5));
    for (let k = 0; k < keys.length;) {
      const c0 = keys[k] as number;
      const s = cols.get(c0) as ProbeStatus;
      let c1 = c0;
      while (k + 1 < keys.length && (keys[k + 1] as number) - c1 <= join && cols.get(keys[k + 1] as number) === s) { k++; c1 = keys[k] as number; }
      k++;
      const h = s === 'ok' ? 10 : 20;
      out.push(`<rect x="${LABEL_W + c0}" y="${mid - h / 2}" width="${c1 - c0 + 1}" height="${h}" fill="${COLOR[s]}"/>`);
    }
  });

  // events
  const bottom = TOP + rows.length * ROW_H;
  r.marks.filter((m) => m.atMs >= win.fromMs && m.atMs <= win.toMs).forEach((m, i) => {
    const mx = n1(x(m.atMs));
    out.push(`<line x1="${mx}" y1="${TOP - 6 - (i % 2) * 10}" x2="${mx}" y2="${bottom}" stroke="#333" stroke-dasharray="4 3"/>`);
    out.push(`<text x="${mx}" y="${TOP - 9 - (i % 2) * 10}" font-size="11" text-anchor="${x(m.atMs) > LABEL_W + plotW * 0.7 ? 'end' : 'start'}">${esc(clip(m.label, 70))}</text>`);
  });

  // time axis
  const step = tickStep(win.toMs - win.fromMs);
  out.push(`<line x1="${LABEL_W}" y1="${bottom + 4}" x2="${LABEL_W + plotW}" y2="${bottom + 4}" stroke="#333"/>`);
  const first = Math.ceil((win.fromMs - zero) / step) * step;
  for (let t = first, i = 0; t + zero <= win.toMs && i < 100; t += step, i++) {
    const tx = n1(x(t + zero));
    out.push(`<line x1="${tx}" y1="${bottom + 4}" x2="${tx}" y2="${bottom + 9}" stroke="#333"/><text x="${tx}" y="${bottom + 22}" text-anchor="middle" font-size="11">${esc(tickText(t, step))}</text>`);
  }
  out.push(`<text x="${LABEL_W + plotW / 2}" y="${bottom + 42}" text-anchor="middle" fill="#555">${esc(event ? `time after "${clip(event.label, 60)}"` : 'time since the probes started')}</text>`);
  out.push('</svg>');
  return out.join('\n') + '\n';
}

function medianGapPx(keys: number[]): number {
  const gaps = keys.slice(1).map((k, i) => k - (keys[i] as number)).sort((a, b) => a - b);
  return gaps.length ? gaps[Math.floor(gaps.length / 2)] as number : 1;
}

function outageText(o: Outage, a: number, b: number, y0: number, plotW: number): string {
  const words = `${o.recovered ? fmt(o.durationMs) : `≥ ${fmt(o.durationMs)}`} (${o.lostProbes} lost)`;
  const cx = Math.min(Math.max((a + b) / 2, LABEL_W + 50), LABEL_W + plotW - 50);
  return `<text x="${n1(cx)}" y="${y0 + 17}" text-anchor="middle" font-weight="bold" fill="#8b0000">${esc(words)}</text>`;
}

function tickText(t: number, step: number): string {
  if (step >= 1000) return `${Math.round(t / 100) / 10} s`;
  return `${Math.round(t)} ms`;
}

function clip(s: string, n: number): string {
  return s.length > n ? `${s.slice(0, n - 1)}…` : s;
}
