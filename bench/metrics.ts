// Owns tsunagari's side of every metric: lab lifecycles and full meshes through the same calls a scenario
// makes (up, Scenario.reachability, Scenario.canReach, teardown), the DNS probe against nsd, image builds
// (cold with a throw-away recipe tag, warm from cache) and the example suite through the CLI.
// Must not touch labs it did not name (`bench-*`) and never calls cleanup.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { Context } from '../src/lab/context.js';
import { up } from '../src/lab/up.js';
import { teardown } from '../src/lab/down.js';
import { Ledger } from '../src/lab/ledger.js';
import { openLab, type RunningLab } from '../src/lab/running.js';
import { Scenario } from '../src/scenario/session.js';
import { LabPool } from '../src/scenario/pool.js';
import { resolveTarget } from '../src/lab/targets.js';
import { nsRun } from '../src/fabric/host.js';
import { dnsQuery } from '../src/probes/dns.js';
import { mapLimit, run } from '../src/util/exec.js';
import { parseTopology } from '../src/topology/load.js';
import type { Lab, RuntimeName } from '../src/topology/types.js';
import { ensureImages, buildUncached, recipeHash, RECIPES, type BuiltinImage } from '../src/setup/images.js';
import { paths } from '../src/setup/paths.js';
import { now, secs, stat, starLab, type Stat } from './lib.js';

export type Log = (line: string) => void;

/** One scenario-like object on a running lab, as the steps use it (attachments dropped). */
export function scenarioOn(lab: RunningLab, pool: LabPool): Scenario {
  const s = new Scenario(pool, () => {});
  s.lab = lab;
  return s;
}

/** The reachability table of N hosts, everyone to everyone (N·(N−1) cells). */
export function meshTable(n: number): string[][] {
  const names = Array.from({ length: n }, (_, i) => `h${i + 1}`);
  return [['', ...names], ...names.map((src) => [src, ...names.map((dst) => (dst === src ? '-' : 'ok'))])];
}

/** A lab of ours left by an interrupted bench run is removed first (only `bench-*` names). */
async function freshStart(ctx: Context, lab: Lab): Promise<void> {
  if (!lab.name.startsWith('bench-')) throw new Error(`refusing to touch lab ${lab.name}`);
  if (Ledger.read(lab.name)) await teardown(ctx, lab.name);
}

async function flushNeighbours(r: RunningLab): Promise<void> {
  await mapLimit(r.lab.nodes, 4, async (n) => { await nsRun((await r.handle(n.name)).netnsPath, ['ip', 'neigh', 'flush', 'all']); });
}

export interface LifecycleSample {
  total: number; up: number; mesh: number; down: number;
  /** Full-mesh passes on the running lab, each after flushing every host's neighbour cache (metric 2). */
  meshAlone: number[];
  /** canReach wall time and that minus the RTT ping reported (metric 3), in seconds. */
  step?: { wall: number[]; overhead: number[] };
}

/**
 * Metric 1 (+2, +3): up, every host pings every other (Scenario.reachability, the step a table of
 * ok/ng marks runs), down. The extra mesh passes and step samples run between mesh and down, untimed
 * for the lifecycle.
 */
export async function lifecycle(ctx: Context, pool: LabPool, runtime: RuntimeName, n: number, o: { meshPasses: number; steps: number }): Promise<LifecycleSample> {
  const lab = starLab(`bench-${runtime === 'netns' ? 'ns' : 'dk'}-n${n}`, n, runtime, runtime === 'netns' ? 1 : 2);
  await freshStart(ctx, lab);
  const t0 = now();
  await up(ctx, lab);
  const upS = secs(now() - t0);
  let meshS = NaN;
  const meshAlone: number[] = [];
  let step: LifecycleSample['step'];
  let downS = NaN;
  try {
    const running = openLab(ctx, lab.name);
    const s = scenarioOn(running, pool);
    const table = meshTable(n);
    const a = now();
    await s.reachability(table);
    meshS = secs(now() - a);
    for (let i = 0; i < o.meshPasses; i++) {
      await flushNeighbours(running);
      const b = now();
      await s.reachability(table);
      meshAlone.push(secs(now() - b));
    }
    if (o.steps > 0) step = await stepOverhead(s, lab, o.steps);
  } finally {
    const c = now();
    await teardown(ctx, lab.name);
    downS = secs(now() - c);
  }
  return { total: upS + meshS + downS, up: upS, mesh: meshS, down: downS, meshAlone, step };
}

/** Metric 3: Scenario.canReach h1 → h2, wall time and wall time minus the RTT ping reported. */
async function stepOverhead(s: Scenario, lab: Lab, samples: number): Promise<NonNullable<LifecycleSample['step']>> {
  const target = resolveTarget(lab, 'h2');
  await s.canReach('h1', target);          // warm: neighbour entry, node handle
  const step = { wall: [] as number[], overhead: [] as number[] };
  for (let i = 0; i < samples; i++) {
    const a = now();
    const r = await s.canReach('h1', target);
    const wall = now() - a;
    const rtt = (r?.probes ?? []).reduce((sum: number, p: { rttMs?: number }) => sum + (p.rttMs ?? 0), 0);
    step.wall.push(secs(wall));
    step.overhead.push(secs(wall - rtt));
  }
  return step;
}

// ---- metric 4: DNS probe --------------------------------------------------------------------------

const DNS_LAB = (root: string): string => `name: bench-dns
description: bench, DNS probe overhead and rate (nsd in a container, the asking host a container with dig)
nodes:
  client:
    kind: host
    image: tsunagari/debian:latest
    interfaces:
      eth1: { ipv4: 198.51.100.10/24 }
  auth:
    kind: authoritative
    interfaces:
      eth1: { ipv4: 198.51.100.54/24 }
    files:
      - { src: ${root}/bench/fixtures/nsd.conf, dst: /etc/nsd/nsd.conf }
      - { src: ${root}/fixtures/dns/home-nat/example.test.zone, dst: /etc/nsd/example.test.zone }
links:
  - endpoints: [client:eth1, auth:eth1]
`;

export interface DnsSample {
  /** dnsQuery wall time minus the exchange time measured inside the namespace, per query (s). */
  overhead: number[];
  wall: number[];
  exchange: number[];
  /** Queries per second from the client: sequential, and with `concurrency` queries in flight. */
  qpsSeq: number;
  qpsPar: number;
  concurrency: number;
  /** Queries without a NOERROR answer (timeouts count in the rate: a real client would wait too). */
  failed: number;
  lastError: string;
  /** The old path (one `nsenter node runner.mjs` per query), for comparison. */
  oneShot?: { overhead: number[]; wall: number[] };
  /** Peer: `nsenter -t PID -m -n dig …` per query (what a shell script does). */
  dig?: { wall: number[] };
}

export async function dnsMetric(ctx: Context, o: { queries: number; rateQueries: number; concurrency: number; oneShot: number; dig: number }, log: Log): Promise<DnsSample> {
  const lab = parseTopology(DNS_LAB(process.cwd()), 'bench-dns.yaml', process.cwd());
  await freshStart(ctx, lab);
  await up(ctx, lab);
  try {
    const r = openLab(ctx, lab.name);
    const h = await r.handle('client');
    const q = { server: '198.51.100.54', name: 'www.example.test', type: 'A', timeoutMs: 2000 };
    let failed = 0;
    let lastError = '';
    const one = async (): Promise<{ wall: number; exchange: number }> => {
      const a = now();
      const res = await dnsQuery(h.netnsPath, q);
      const wall = now() - a;
      if (!res.ok || res.rcode !== 'NOERROR') { failed++; lastError = res.error ?? res.rcode ?? 'failed'; }
      return { wall: secs(wall), exchange: secs(res.latencyMs ?? 0) };
    };
    for (let i = 0; i < 5; i++) await one();   // warm-up: first use starts the probe agent, fills caches
    const wall: number[] = []; const exchange: number[] = []; const overhead: number[] = [];
    const t0 = now();
    for (let i = 0; i < o.queries; i++) {
      const x = await one();
      wall.push(x.wall); exchange.push(x.exchange); overhead.push(x.wall - x.exchange);
    }
    const qpsSeq = o.queries / secs(now() - t0);
    const t1 = now();
    await mapLimit(Array.from({ length: o.rateQueries }), o.concurrency, () => one());
    const qpsPar = o.rateQueries / secs(now() - t1);
    const out: DnsSample = { overhead, wall, exchange, qpsSeq, qpsPar, concurrency: o.concurrency, failed, lastError };
    if (failed) log(`  ${failed} of ${o.queries + o.rateQueries} DNS queries got no good answer (last: ${lastError})`);
    if (o.oneShot > 0) {
      const saved = process.env.TSUNAGARI_PROBE_AGENT;
      process.env.TSUNAGARI_PROBE_AGENT = '0';
      try {
        const w: number[] = []; const ov: number[] = [];
        for (let i = 0; i < o.oneShot; i++) { const x = await one(); w.push(x.wall); ov.push(x.wall - x.exchange); }
        out.oneShot = { wall: w, overhead: ov };
      } finally {
        if (saved === undefined) delete process.env.TSUNAGARI_PROBE_AGENT; else process.env.TSUNAGARI_PROBE_AGENT = saved;
      }
    }
    if (o.dig > 0 && h.pid) {
      const w: number[] = [];
      for (let i = 0; i < o.dig; i++) {
        const a = now();
        const d = await run('nsenter', ['-t', String(h.pid), '-m', '-n', 'dig', '+tries=1', '+time=2', '@198.51.100.54', 'www.example.test', 'A'], { timeoutMs: 10_000 });
        if (d.code !== 0) { log(`  dig peer failed (exit ${d.code}): ${d.stderr.trim().split('\n').pop()}`); break; }
        w.push(secs(now() - a));
      }
      if (w.length) out.dig = { wall: w };
    }
    return out;
  } finally {
    await teardown(ctx, lab.name);
  }
}

// ---- metric 6: images -----------------------------------------------------------------------------

export async function imageMetric(ctx: Context, o: { warmReps: number; cold: BuiltinImage[] }, log: Log): Promise<{ warm: number[]; cold: Record<string, number> }> {
  const docker = await ctx.docker();
  const quiet: Log = () => {};
  await ensureImages(docker, ['host', 'debian'], log);     // the warm case needs them present
  const warm: number[] = [];
  for (let i = 0; i < o.warmReps; i++) {
    const a = now();
    await ensureImages(docker, ['host', 'debian'], quiet);
    warm.push(secs(now() - a));
  }
  const cold: Record<string, number> = {};
  for (const name of o.cold) {
    // A recipe no cache can hold: same steps, a throw-away tag and version, so the recipe hash is new.
    const id = randomBytes(4).toString('hex');
    const recipe = { ...RECIPES[name], tag: `tsunagari/bench-cold-${name}:${id}`, version: `${RECIPES[name].version}+bench-${id}` };
    log(`  cold build of ${name} as ${recipe.tag} …`);
    const a = now();
    try {
      await buildUncached(docker, recipe, quiet);
      cold[name] = secs(now() - a);
    } finally {
      await docker.getImage(recipe.tag).remove({ force: true }).catch(() => undefined);
      rmSync(paths.images.log(`${name}-${recipeHash(recipe).slice(0, 12)}`), { force: true });   // its log (a failure quotes its last lines)
    }
  }
  return { warm, cold };
}

// ---- metric 7: the example suite ------------------------------------------------------------------

/**
 * The example suite through the CLI, serial or with `--parallel N` workers. Every run brings up lab copies
 * of its own (`--fresh`: never a lab `tsunagari up` keeps), so other runs on the machine do not matter.
 */
export async function suiteMetric(log: Log, o: { parallel?: number } = {}): Promise<{ seconds: number; scenarios: number; passed: number; code: number; summary: string } | { skip: string }> {
  const reports = mkdtempSync(join(tmpdir(), 'tsunagari-bench-reports-'));
  try {
    const a = now();
    const r = await run(process.execPath, [resolve('bin/tsunagari.js'), 'test', '--no-setup', '--fresh', '--format', 'summary', '--reports', reports,
      ...(o.parallel ? ['--parallel', String(o.parallel)] : []), 'features'], { timeoutMs: 15 * 60_000 });
    const seconds = secs(now() - a);
    const m = /(\d+) scenarios? \(([^)]*)\)/.exec(r.stdout);
    const passed = m ? Number(/(\d+) passed/.exec(m[2] as string)?.[1] ?? 0) : 0;
    if (r.code !== 0) log(`  example suite${o.parallel ? ` (--parallel ${o.parallel})` : ''} exited ${r.code}: ${(r.stdout + r.stderr).trim().split('\n').slice(-4).join(' | ')}`);
    return { seconds, scenarios: m ? Number(m[1]) : 0, passed, code: r.code, summary: m ? m[0] : '(no summary line)' };
  } finally {
    rmSync(reports, { recursive: true, force: true });
  }
}

export type { Stat };
