// `npm run bench [-- --quick] [--only lifecycle,dns,outage,images,suite] [--no-peers] [--no-install]`:
// tsunagari against ovs-docker, Mininet and the machine's floors, measured in one run on one machine
// (issue 6). Prints a table and writes bench/results/latest.json. Read bench/README.md for how to read it.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Context } from '../src/lab/context.js';
import { LabPool } from '../src/scenario/pool.js';
import { ensureDocker, ensureOvs } from '../src/setup/daemons.js';
import { ensurePackages, isRoot } from '../src/setup/packages.js';
import type { BuiltinImage } from '../src/setup/images.js';
import { load, machine, row, stat, table, round, type Row, type Skip, type Stat } from './lib.js';
import { PEERS, PEERS_DIR, peersAvailable, runPeer, sumPhases, peerPingFailures, type PeerDef, type PeerResult } from './peers.js';
import { lifecycle, dnsMetric, imageMetric, suiteMetric, type LifecycleSample } from './metrics.js';
import { outageMetric } from './outage.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const RESULTS = join(HERE, 'results', 'latest.json');
/** What the peer scripts need besides tsunagari's own packages (installed for the bench only). */
export const BENCH_PACKAGES = ['mininet', 'bridge-utils', 'uuid-runtime'];
const METRICS = ['lifecycle', 'dns', 'outage', 'images', 'suite'] as const;
type Metric = (typeof METRICS)[number];

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean' }, only: { type: 'string' }, 'no-peers': { type: 'boolean' },
    'no-install': { type: 'boolean' }, help: { type: 'boolean', short: 'h' },
  },
});
if (values.help) {
  console.log('npm run bench [-- --quick] [--only lifecycle,dns,outage,images,suite] [--no-peers] [--no-install]\nsee bench/README.md');
  process.exit(0);
}
const quick = !!values.quick;
const only = new Set<Metric>(values.only ? values.only.split(',').map((s) => s.trim()) as Metric[] : METRICS);
for (const m of only) if (!METRICS.includes(m)) { console.error(`bench: unknown metric ${m}; known: ${METRICS.join(', ')}`); process.exit(2); }

const P = quick
  ? { ns: [4, 16], reps: 1, meshPasses: 3, steps: 20, dns: { queries: 200, rateQueries: 2000, concurrency: 16, oneShot: 10, dig: 20 }, warmReps: 3, cold: ['host'] as BuiltinImage[] }
  : { ns: [4, 8, 16], reps: 3, meshPasses: 5, steps: 50, dns: { queries: 500, rateQueries: 10000, concurrency: 16, oneShot: 20, dig: 50 }, warmReps: 5, cold: ['host', 'debian'] as BuiltinImage[] };
const MAXN = Math.max(...P.ns);

const log = (l: string): void => { process.stderr.write(`${l}\n`); };
const rows: Row[] = [];
const skipped: Skip[] = [];
const skip = (metric: string, reason: string): void => { skipped.push({ metric, reason }); log(`SKIP ${metric}: ${reason}`); };

async function main(): Promise<number> {
  if (!isRoot()) { console.error('bench: cannot run (not root: labs need network namespaces, Docker and OVS); hint: sudo npm run bench'); return 1; }
  const t0 = Date.now();
  const facts = machine();
  log(`bench: ${quick ? 'quick' : 'full'} run, N = ${P.ns.join(', ')}, ${P.reps} repetition(s); ${facts.cores} cores, load ${facts.loadavg_before.join(' ')}`);

  // Engines: tsunagari's own (or the ones it reuses); the peers are pointed at the same ones.
  const ctx = new Context((l) => { if (!/reusing/.test(l)) log(l); });
  const [dockerEngine, ovsEngine] = await Promise.all([ensureDocker(log), ensureOvs(log)]);
  const pool = new LabPool({ projectDir: process.cwd() });

  // ---- peers ----------------------------------------------------------------------------------------
  let peerResults: PeerResult[] = [];
  const peerNote = values['no-peers'] ? '--no-peers' : peersAvailable();
  if (peerNote) {
    skip('peers', `${peerNote}: tsunagari's side runs alone, no ratios`);
  } else if (only.has('lifecycle')) {
    if (!values['no-install']) await ensurePackages(log, BENCH_PACKAGES);
    peerResults = await runPeers(dockerEngine.socketPath, ovsEngine.rundir);
  }

  // ---- metrics 1–3: lifecycles, full mesh, step overhead ---------------------------------------------
  if (only.has('lifecycle')) {
    for (const runtime of ['netns', 'docker'] as const) {
      for (const n of P.ns) {
        const samples: LifecycleSample[] = [];
        for (let rep = 1; rep <= P.reps; rep++) {
          const s = await lifecycle(ctx, pool, runtime, n, { meshPasses: P.meshPasses, steps: n === MAXN && rep === 1 ? P.steps : 0 });
          log(`  tsunagari ${runtime} N=${n} rep ${rep}: up ${s.up.toFixed(3)} s, mesh ${s.mesh.toFixed(3)} s, down ${s.down.toFixed(3)} s` +
            `; mesh alone ${s.meshAlone.map((x) => x.toFixed(3)).join(' ')} s`);
          samples.push(s);
        }
        lifecycleRows(runtime, n, samples, peerResults);
      }
    }
  }

  // ---- metric 4: DNS ---------------------------------------------------------------------------------
  if (only.has('dns')) {
    log('DNS probe: lab bench-dns (nsd in a container, a client container) …');
    try {
      const d = await dnsMetric(ctx, P.dns, log);
      const dig = d.dig ? { name: 'dig via nsenter (one process per query)', s: stat(d.dig.wall) } : null;
      rows.push(row('4 DNS query, wall time per query', 1, stat(d.wall), dig, { detail: { exchange_median_s: round(stat(d.exchange).median, 6) } }));
      rows.push(row('4 DNS probe overhead (wall − exchange)', 1, stat(d.overhead),
        d.oneShot ? { name: 'one-shot runner (nsenter node, the old path)', s: stat(d.oneShot.overhead) } : null, {},
        { text: '≤ 5 ms', kind: 'value<=', value: 0.005 }));
      const digRate = d.dig ? 1 / stat(d.dig.wall).median : undefined;
      rows.push(row('4 DNS queries/s, one at a time', 1, { median: 1 / d.qpsSeq, min: 1 / d.qpsSeq, max: 1 / d.qpsSeq, n: 1 },
        dig, { unit: 'q/s', tsunagari_rate: round(d.qpsSeq, 1), ...(digRate ? { peer_rate: round(digRate, 1) } : {}) }));
      rows.push(row(`4 DNS queries/s, ${d.concurrency} in flight`, 1, { median: 1 / d.qpsPar, min: 1 / d.qpsPar, max: 1 / d.qpsPar, n: 1 },
        dig, { unit: 'q/s', tsunagari_rate: round(d.qpsPar, 1), ...(digRate ? { peer_rate: round(digRate, 1) } : {}) },
        { text: '≥ 2,000 q/s', kind: 'value>=', value: 2000 }));
    } catch (e) { skip('4 DNS', (e as Error).message); }
  }

  // ---- metric 5: outage accuracy ------------------------------------------------------------------------
  if (only.has('outage')) {
    const o = await outageMetric(ctx, quick, log);
    if ('skip' in o) skip('5 outage accuracy', o.skip); else rows.push(...o.rows);
  }

  // ---- metric 6: images --------------------------------------------------------------------------------
  if (only.has('images')) {
    try {
      const im = await imageMetric(ctx, { warmReps: P.warmReps, cold: P.cold }, log);
      rows.push(row('6 image build, warm (host + debian cached)', null, stat(im.warm), null, {}, { text: '≤ 1 s', kind: 'value<=', value: 1 }));
      for (const [name, s] of Object.entries(im.cold)) rows.push(row(`6 image build, cold: ${name}`, null, stat([s])));
      if (!P.cold.includes('debian')) skip('6 cold debian build', 'full run only (debootstrap takes 1–2 min and needs the Debian mirror)');
    } catch (e) { skip('6 images', (e as Error).message); }
  }

  // ---- metric 7: example suite -------------------------------------------------------------------------
  if (only.has('suite')) {
    log('example suite: tsunagari test --no-setup features …');
    const s = await suiteMetric(log);
    if ('skip' in s) skip('7 example suite', s.skip);
    else {
      rows.push(row(`7 example suite (N = scenarios)`, s.scenarios, stat([s.seconds]), null,
        { note: `${s.summary}, exit ${s.code}` }, { text: '≤ 60 s', kind: 'value<=', value: 60 }));
      // The same suite with two Cucumber workers, each on lab copies of its own (docs/instances.md).
      log('example suite: tsunagari test --no-setup --parallel 2 features …');
      const p2 = await suiteMetric(log, { parallel: 2 });
      if ('skip' in p2) skip('7 example suite --parallel 2', p2.skip);
      else {
        rows.push(row('7 example suite, --parallel 2 vs serial (N = scenarios)', p2.scenarios, stat([p2.seconds]), { name: 'serial', s: stat([s.seconds]) },
          { note: `${p2.summary}, exit ${p2.code}; ratio = serial ÷ parallel` }, { text: '≥ 1 (parallel not slower)', kind: 'ratio>=', value: 1 }));
      }
    }
  }

  facts.loadavg_after = load();
  const out = {
    bench: 'tsunagari', issue: 6, mode: quick ? 'quick' : 'full', ns: P.ns, reps: P.reps,
    started: new Date(t0).toISOString(), wall_s: round((Date.now() - t0) / 1000, 1),
    machine: facts,
    peers: peerNote ? { ran: false, reason: peerNote } : { ran: only.has('lifecycle'), dir: PEERS_DIR },
    results: rows, skipped,
  };
  mkdirSync(dirname(RESULTS), { recursive: true });
  writeFileSync(RESULTS, `${JSON.stringify(out, null, 2)}\n`);
  console.log(`\ntsunagari bench, ${out.mode} run (${P.reps} repetition(s); medians, min–max when more than one)`);
  console.log(`machine: ${facts.cores} cores (${facts.cpu}), ${facts.mem_gib} GiB, kernel ${facts.kernel}, node ${facts.node}, commit ${facts.git}`);
  console.log(`load average before ${facts.loadavg_before.join(' ')}, after ${facts.loadavg_after.join(' ')}` +
    `${Math.max(...facts.loadavg_before, ...facts.loadavg_after) > facts.cores * 0.5 ? '  ← busy machine: absolute times are noise, read the ratios' : ''}\n`);
  console.log(table(rows));
  console.log('\nratio = peer ÷ tsunagari (> 1: tsunagari is faster). target: the issue\'s goal for that row (ok / MISS).');
  for (const s of skipped) console.log(`skipped: ${s.metric}: ${s.reason}`);
  console.log(`\nwritten: ${RESULTS} (${out.wall_s} s)`);
  return 0;
}

async function runPeers(dockerSocket: string, ovsRundir: string): Promise<PeerResult[]> {
  const env = {
    DOCKER_HOST: `unix://${dockerSocket}`, OVS_RUNDIR: ovsRundir,
    PB_REPS: String(P.reps), PB_NS_LIST: P.ns.join(' '),
    // The same busybox image tsunagari's docker hosts run, so the docker rows compare like with like.
    PB_IMAGE: 'tsunagari/host:latest',
    PB_MN_MODES: 'ovs-netdev lxbr', PB_FLOOR_MODES: 'lxbr ovs',
  };
  const all: PeerResult[] = [];
  for (const script of ['bench-netns-floor.sh', 'bench-docker-floor.sh', 'bench-mininet.sh', 'bench-ovs-docker.sh']) {
    log(`peer ${script} (N = ${P.ns.join(', ')}, ${P.reps} rep) …`);
    const r = await runPeer(script, env, (quick ? 6 : 15) * 60_000, log);
    log(`  ${script}: exit ${r.code}, ${r.results.length} results in ${r.seconds.toFixed(0)} s`);
    if (r.code !== 0) skip(`peer ${script}`, `exit ${r.code}: ${r.tail.split('\n').slice(-3).join(' | ')}`);
    all.push(...r.results);
  }
  return all;
}

function peerStat(results: PeerResult[], def: PeerDef, n: number, phases: string[]): { name: string; s: Stat } | null {
  const s = sumPhases(results, def.bench, def.mode, n, phases);
  if (!s) return null;
  const failed = peerPingFailures(results, def.bench, def.mode, n);
  return { name: failed ? `${def.name} [${failed} pings failed]` : def.name, s };
}

function lifecycleRows(runtime: 'netns' | 'docker', n: number, samples: LifecycleSample[], peers: PeerResult[]): void {
  const big = n === MAXN;
  const total = stat(samples.map((s) => s.total));
  const detail = {
    up_s: round(stat(samples.map((s) => s.up)).median), mesh_s: round(stat(samples.map((s) => s.mesh)).median),
    down_s: round(stat(samples.map((s) => s.down)).median),
  };
  const metric = `1 lifecycle, ${runtime === 'netns' ? 'netns' : 'docker'} hosts`;
  const lifePeers: Array<[PeerDef, Parameters<typeof row>[5] | undefined]> = runtime === 'netns'
    ? [[PEERS.mnLxbr, { text: 'no slower than Mininet', kind: 'ratio>=', value: 1 }],
       [PEERS.mnOvs, { text: 'no slower than Mininet', kind: 'ratio>=', value: 1 }],
       [PEERS.floorOvs, { text: '≤ 1.5 × netns floor', kind: 'ratio>=', value: 1 / 1.5 }],
       [PEERS.floorLxbr, { text: '≤ 1.5 × netns floor', kind: 'ratio>=', value: 1 / 1.5 }]]
    : [[PEERS.dockerPar, { text: '≤ 1.2 × docker-run floor', kind: 'ratio>=', value: 1 / 1.2 }],
       [PEERS.dockerSeq, undefined],
       [PEERS.ovsDocker, { text: '≥ 5 × faster than ovs-docker', kind: 'ratio>=', value: 5 }],
       [PEERS.ovsDockerNsenter, undefined]];
  let any = false;
  for (const [def, target] of lifePeers) {
    const p = peerStat(peers, def, n, def.lifecycle);
    if (!p) continue;
    any = true;
    rows.push(row(metric, n, total, p, { detail }, big ? target : undefined));
  }
  if (!any) rows.push(row(metric, n, total, null, { detail }));

  // Metric 2: the mesh alone, on the running lab, neighbour caches flushed before each pass.
  const mesh = stat(samples.flatMap((s) => s.meshAlone));
  const meshTarget = big ? { text: '≤ 0.3 s', kind: 'value<=' as const, value: 0.3 } : undefined;
  const meshPeers = runtime === 'netns' ? [PEERS.floorOvs, PEERS.mnOvs] : [PEERS.ovsDockerNsenter, PEERS.ovsDocker];
  const m2 = `2 full mesh, ${runtime} hosts (${n * (n - 1)} pairs)`;
  let anyMesh = false;
  for (const def of meshPeers) {
    const p = def.mesh ? peerStat(peers, def, n, [def.mesh]) : null;
    if (!p) continue;
    anyMesh = true;
    rows.push(row(m2, n, mesh, p, {}, meshTarget));
  }
  if (!anyMesh) rows.push(row(m2, n, mesh, null, {}, meshTarget));

  // Metric 3: one reachability step.
  const st = samples.find((s) => s.step)?.step;
  if (st) {
    rows.push(row(`3 step overhead, ${runtime} host (canReach − RTT)`, n, stat(st.overhead), null,
      { detail: { wall_median_s: round(stat(st.wall).median, 6) } }, { text: '≤ 5 ms', kind: 'value<=', value: 0.005 }));
  }
}

main().then((code) => process.exit(code), (e) => {
  console.error(`bench failed: ${(e as Error).stack ?? e}`);
  process.exit(1);
});
