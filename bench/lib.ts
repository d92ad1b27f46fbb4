// Owns the benchmark's plumbing: timing and statistics, result rows and their targets, the table printed on
// stdout, machine facts, and generated topologies (N hosts on one switch, built in memory).
// Must not measure anything itself (metrics.ts, peers.ts do) nor touch labs.
import { cpus, loadavg, totalmem, release } from 'node:os';
import { execFileSync } from 'node:child_process';
import { parseTopology } from '../src/topology/load.js';
import type { Lab, RuntimeName } from '../src/topology/types.js';

export const now = (): number => performance.now();
export const secs = (ms: number): number => ms / 1000;

export interface Stat { median: number; min: number; max: number; n: number; }

export function stat(values: number[]): Stat {
  const v = [...values].sort((a, b) => a - b);
  if (!v.length) return { median: NaN, min: NaN, max: NaN, n: 0 };
  const m = v.length % 2 ? v[(v.length - 1) / 2]! : (v[v.length / 2 - 1]! + v[v.length / 2]!) / 2;
  return { median: m, min: v[0]!, max: v[v.length - 1]!, n: v.length };
}

/** A target from the issue: the row passes when `ratio` (or the tsunagari value) is on the right side. */
export interface Target {
  text: string;
  /** 'ratio>=': peer ÷ tsunagari at least value; 'value<=': tsunagari_s at most value (seconds). */
  kind: 'ratio>=' | 'value<=' | 'value>=';
  value: number;
}

/** One line of bench/results/latest.json (the fields first, then ours). */
export interface Row {
  metric: string;
  n: number | null;
  tsunagari_s: number | null;
  peer: string | null;
  peer_s: number | null;
  /** peer ÷ tsunagari: > 1 means tsunagari is faster. */
  ratio: number | null;
  tsunagari_min_s?: number;
  tsunagari_max_s?: number;
  peer_min_s?: number;
  peer_max_s?: number;
  reps?: number;
  peer_reps?: number;
  /** For rates (q/s): the value shown instead of seconds. */
  tsunagari_rate?: number;
  peer_rate?: number;
  unit?: 's' | 'q/s';
  target?: string;
  target_ok?: boolean;
  detail?: Record<string, unknown>;
  note?: string;
}

export interface Skip { metric: string; reason: string; }

export function row(metric: string, n: number | null, ours: Stat | null, peer?: { name: string; s: Stat } | null,
  extra: Partial<Row> = {}, target?: Target): Row {
  const r: Row = {
    metric, n,
    tsunagari_s: ours ? round(ours.median) : null,
    peer: peer?.name ?? null,
    peer_s: peer ? round(peer.s.median) : null,
    ratio: ours && peer && ours.median > 0 ? round(peer.s.median / ours.median, 3) : null,
  };
  if (ours) { r.tsunagari_min_s = round(ours.min); r.tsunagari_max_s = round(ours.max); r.reps = ours.n; }
  if (peer) { r.peer_min_s = round(peer.s.min); r.peer_max_s = round(peer.s.max); r.peer_reps = peer.s.n; }
  Object.assign(r, extra);
  if (target) {
    r.target = target.text;
    const v = target.kind === 'ratio>=' ? r.ratio : (r.unit === 'q/s' ? r.tsunagari_rate ?? null : r.tsunagari_s);
    if (v !== null && v !== undefined && Number.isFinite(v)) {
      r.target_ok = target.kind === 'value<=' ? v <= target.value : v >= target.value;
    }
  }
  return r;
}

export function round(x: number, digits = 4): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

// ---- table -----------------------------------------------------------------------------------------

function fmtS(s: number | null | undefined): string {
  if (s === null || s === undefined || !Number.isFinite(s)) return '-';
  if (s < 0.01) return `${(s * 1000).toFixed(2)} ms`;
  if (s < 1) return `${(s * 1000).toFixed(0)} ms`;
  return `${s.toFixed(2)} s`;
}

function fmtRange(med: number | null | undefined, min?: number, max?: number, reps?: number): string {
  if (med === null || med === undefined) return '-';
  const base = fmtS(med);
  if (min === undefined || max === undefined || reps === undefined || reps < 2) return base;
  return `${base} (${fmtS(min)}–${fmtS(max)})`;
}

function fmtRate(r: number | undefined): string {
  return r === undefined ? '-' : `${Math.round(r).toLocaleString('en-US')} q/s`;
}

export function table(rows: Row[]): string {
  const head = ['metric', 'N', 'tsunagari', 'peer', 'peer time', 'ratio', 'target'];
  const body = rows.map((r) => [
    r.metric,
    r.n === null ? '-' : String(r.n),
    r.unit === 'q/s' ? fmtRate(r.tsunagari_rate) : fmtRange(r.tsunagari_s, r.tsunagari_min_s, r.tsunagari_max_s, r.reps),
    r.peer ?? '-',
    r.unit === 'q/s' ? fmtRate(r.peer_rate) : fmtRange(r.peer_s, r.peer_min_s, r.peer_max_s, r.peer_reps),
    r.ratio === null ? '-' : `${r.ratio.toFixed(2)}×`,
    r.target ? `${r.target_ok === undefined ? '?' : r.target_ok ? 'ok' : 'MISS'} ${r.target}` : '',
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => (b[i] as string).length)));
  const line = (cells: string[]): string => cells.map((c, i) => c.padEnd(widths[i] as number)).join('  ').trimEnd();
  return [line(head), line(widths.map((w) => '-'.repeat(w))), ...body.map(line)].join('\n');
}

// ---- machine facts ---------------------------------------------------------------------------------

export interface Machine {
  cores: number;
  cpu: string;
  mem_gib: number;
  kernel: string;
  node: string;
  git: string;
  loadavg_before: number[];
  loadavg_after?: number[];
}

export function machine(): Machine {
  let git = 'unknown';
  try { git = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim(); } catch { /* not a clone */ }
  return {
    cores: cpus().length,
    cpu: cpus()[0]?.model ?? 'unknown',
    mem_gib: round(totalmem() / 2 ** 30, 1),
    kernel: release(),
    node: process.version,
    git,
    loadavg_before: loadavg().map((x) => round(x, 2)),
  };
}

export const load = (): number[] => loadavg().map((x) => round(x, 2));

// ---- topologies ------------------------------------------------------------------------------------

/** N hosts h1..hN on one OVS switch s1, addresses 10.252.SUBNET.i/24 (only inside the lab's nodes). */
export function starLab(name: string, n: number, runtime: RuntimeName, subnet: number): Lab {
  let y = `name: ${name}\ndescription: bench, ${n} ${runtime} hosts on one switch\nruntime: ${runtime}\nnodes:\n`;
  for (let i = 1; i <= n; i++) y += `  h${i}: { kind: host, interfaces: { eth1: { ipv4: 10.252.${subnet}.${i}/24 } } }\n`;
  y += 'switches:\n  s1: {}\nlinks:\n';
  for (let i = 1; i <= n; i++) y += `  - endpoints: [h${i}:eth1, s1]\n`;
  return parseTopology(y, `${name}.yaml`, process.cwd());
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
