// The outage meter on a real lab (test/fixtures/labs/outage.yaml): CLOCK_MONOTONIC is the same inside
// netns and container namespaces; timed outages of 100, 500 and 2000 ms (one nft process, timed inside the
// namespace) are measured within ±20 ms on a switch link, and on a veth and towards a container; the
// silent cut changes no carrier and is undone; the meter's programs end with stop(), with maxMs, and
// with a killed parent — and nothing of ours is left afterwards.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadTopology } from '../../src/topology/load.js';
import { Context } from '../../src/lab/context.js';
import { up } from '../../src/lab/up.js';
import { teardown } from '../../src/lab/down.js';
import { discoverLab } from '../../src/lab/discover.js';
import { openLab, type RunningLab } from '../../src/lab/running.js';
import { Ledger } from '../../src/lab/ledger.js';
import { injectOutage, linkSilentDrop, type InjectedOutage } from '../../src/lab/outage-inject.js';
import { startOutageMeter, type OutageMeter } from '../../src/probes/outage.js';
import { describeReport, type DirectionReport, type Outage, type OutageReport } from '../../src/probes/outage-analysis.js';
import { timelineSvg } from '../../src/report/timeline.js';
import { run, runOk } from '../../src/util/exec.js';

const ctx = new Context();
const LAB = 'outage';
const FILE = 'test/fixtures/labs/outage.yaml';
const TOLERANCE_MS = 20;
let running: RunningLab;
let tables0 = '';
const log = (s: string): void => { process.stdout.write(`# ${s}\n`); };
const sleep = (ms: number): Promise<void> => new Promise((res) => setTimeout(res, ms));
const nsOf = async (n: string): Promise<string> => (await running.handle(n)).netnsPath;
const alive = (pid: number): boolean => existsSync(`/proc/${pid}`);

async function ourTables(): Promise<string> {
  const names = ['h1', 'h2', 'h3', 'srv'];
  const out: string[] = [];
  for (const n of names) {
    const r = await run('nsenter', [`--net=${await nsOf(n)}`, 'nft', 'list', 'tables']);
    out.push(...r.stdout.split('\n').filter((l) => l.includes('tsunagari')).map((l) => `${n}: ${l}`));
  }
  return out.join('\n');
}

before(async () => {
  if (Ledger.read(LAB)) await teardown(ctx, LAB);   // only our own lab, left by an interrupted run
  await up(ctx, await loadTopology(FILE));
  running = openLab(ctx, LAB);
  tables0 = await ourTables();
});

after(async () => {
  assert.equal(await ourTables(), tables0, 'no nft table of ours left in the nodes');
  await teardown(ctx, LAB);
  assert.equal((await discoverLab(ctx, LAB)).count, 0);
});

/** The outage of a direction that overlaps the injected one (the meter's times are relative to t0Mono). */
function matching(d: DirectionReport, m: OutageMeter, inj: InjectedOutage): Outage {
  const s = inj.startMono - m.t0Mono;
  const e = inj.endMono - m.t0Mono;
  const o = d.outages.filter((x) => x.endMs > s - 50 && x.startMs < e + 50);
  assert.equal(o.length, 1, `${d.direction}: one outage around ${s.toFixed(1)}..${e.toFixed(1)} ms, got ${JSON.stringify(d.outages)}`);
  return o[0]!;
}

interface Row { what: string; injected: number; fwd: number; rev: number; rt: number; icmp?: number; startErr: number; }
const rows: Row[] = [];

async function measure(what: string, from: string, to: string, link: string, durations: number[]): Promise<OutageReport> {
  const m = await startOutageMeter(running, from, to, { intervalMs: 5 });
  const injected: InjectedOutage[] = [];
  let all = 0;
  let r: OutageReport;
  try {
    for (const T of durations) {
      // A reference known to ±3 ms or better: on a busy machine nft may answer late; then cut again.
      for (let attempt = 1; attempt <= 3; attempt++) {
        await sleep(400);
        m.mark(`cut ${link} for ${T} ms`);
        const inj = await injectOutage(running, link, T);
        all++;
        if (inj.uncertaintyMs <= 3) { injected.push(inj); break; }
        log(`${what}: the ${T} ms cut is known only to ±${inj.uncertaintyMs} ms (nft answered late): not a reference, cutting again`);
      }
    }
    await sleep(400);
  } finally {
    r = await m.stop();
  }
  log(describeReport(r).split('\n').join('\n# '));
  for (const inj of injected) {
    const f = matching(r.forward, m, inj);
    const v = matching(r.reverse, m, inj);
    const rt = matching(r.roundTrip, m, inj);
    const icmp = r.icmp?.outages.filter((x) => x.endMs > inj.startMono - m.t0Mono - 50 && x.startMs < inj.endMono - m.t0Mono + 50);
    const row: Row = {
      what, injected: inj.durationMs, fwd: f.durationMs - inj.durationMs, rev: v.durationMs - inj.durationMs, rt: rt.durationMs - inj.durationMs,
      ...(icmp?.length === 1 ? { icmp: icmp[0]!.durationMs - inj.durationMs } : {}),
      startErr: f.startMs - (inj.startMono - m.t0Mono),
    };
    rows.push(row);
    log(`${what}: injected ${inj.requestedMs} ms → in force ${inj.durationMs.toFixed(2)} ms (±${inj.uncertaintyMs.toFixed(2)}; nft acks ${(inj.raw.addAck - inj.raw.addSent).toFixed(2)}/${(inj.raw.delAck - inj.raw.delSent).toFixed(2)} ms) at ${inj.at}, t = ${(inj.startMono - m.t0Mono).toFixed(1)} .. ${(inj.endMono - m.t0Mono).toFixed(1)} ms; ` +
      `measured forward ${f.durationMs} ms (${row.fwd >= 0 ? '+' : ''}${row.fwd.toFixed(1)}, ${f.lostProbes} lost, ±${f.resolutionMs}), ` +
      `reverse ${v.durationMs} ms (${row.rev >= 0 ? '+' : ''}${row.rev.toFixed(1)}), round trip ${rt.durationMs} ms (${row.rt.toFixed(1)}), ` +
      `ICMP ${row.icmp !== undefined ? `${(row.icmp + inj.durationMs).toFixed(1)} ms (${row.icmp.toFixed(1)})` : 'n/a'}; forward start ${row.startErr.toFixed(1)} ms off`);
    for (const [d, o] of [[r.forward, f], [r.reverse, v]] as const) {
      const i = d.probes.findIndex((p) => p.t > o.startMs);
      const j = d.probes.findIndex((p) => p.t > o.endMs);
      const around = (k: number): string => d.probes.slice(Math.max(0, k - 3), k + 3).map((p) => `${p.t.toFixed(1)}:${p.status === 'ok' ? p.delayMs : p.status}`).join(' ');
      log(`  ${d.direction} probes (send ms:delay) at the start ${around(i)} | at the end ${around(j)}`);
    }
    assert.ok(Math.abs(inj.durationMs - inj.requestedMs) < 5, `the injector held the drop ${inj.durationMs} ms for ${inj.requestedMs} ms`);
    // Within ±20 ms; when the path itself stalled next to the cut (a userspace-OVS hiccup on a loaded machine:
    // the last probe before it took 30 ms instead of 0.3), within the uncertainty the meter states for that
    // outage, which counts the stall. The stated uncertainty must stay below the late threshold.
    for (const [dir, err, o] of [['forward', row.fwd, f], ['reverse', row.rev, v], ['round trip', row.rt, rt], ['forward start', row.startErr, f]] as const) {
      const tol = Math.max(TOLERANCE_MS, o.resolutionMs);
      assert.ok(o.resolutionMs < 100, `${what} ${inj.requestedMs} ms: ${dir} stated uncertainty ±${o.resolutionMs} ms`);
      assert.ok(Math.abs(err) <= tol, `${what} ${inj.requestedMs} ms: ${dir} off by ${err.toFixed(1)} ms (> ±${tol} ms${tol > TOLERANCE_MS ? ', the meter\'s stated uncertainty' : ''})`);
    }
    assert.equal(f.event?.label, `cut ${link} for ${inj.requestedMs} ms`);
  }
  assert.equal(injected.length, durations.length, 'a precise reference for every length');
  assert.equal(r.forward.outages.length, all, 'no other outage');
  assert.equal(r.reverse.outages.length, all, 'no other outage');
  assert.equal(r.forward.reordered, 0);
  assert.equal(r.forward.late, 0);
  assert.deepEqual(m.pids(), [], 'stop() ended every program');
  return r;
}

test('the nodes\' namespaces (netns and container) share our CLOCK_MONOTONIC', async () => {
  for (const n of ['h2', 'srv']) {
    const before = process.hrtime.bigint();
    const r = await runOk('nsenter', [`--net=${await nsOf(n)}`, process.execPath, '-e', 'process.stdout.write(String(process.hrtime.bigint()))']);
    const after = process.hrtime.bigint();
    const t = BigInt(r.trim());
    assert.ok(t > before && t < after, `${n}: ${t} not within ${before}..${after}`);
  }
});

test('timed outages of 100, 500 and 2000 ms on a switch link are measured within ±20 ms (or the meter\'s stated uncertainty if the path stalled)', async () => {
  const r = await measure('switch link h2', 'h1', 'h2', 'h2:eth1--lan', [100, 500, 2000]);
  const svg = timelineSvg(r);
  assert.match(svg, />2\.0\d s \(\d+ lost\)</);
  const dir = mkdtempSync(join(tmpdir(), 'tsunagari-outage-'));
  writeFileSync(join(dir, 'timeline.svg'), svg);
  log(`timeline: ${join(dir, 'timeline.svg')} (${svg.length} bytes)`);
});

test('a timed outage on a veth, and towards a container, measured within ±20 ms', async () => {
  await measure('veth h1-h3', 'h1', 'h3', 'h1-h3', [500]);
  await measure('switch link to a container', 'h1', 'srv', 'srv:eth1--lan', [500]);
});

test('the silent cut drops everything both ways without a carrier change; its undo restores the link', async () => {
  const m = await startOutageMeter(running, 'h2', 'h1', { intervalMs: 5 });
  let r: OutageReport;
  const h2 = await nsOf('h2');
  try {
    await sleep(300);
    m.mark('silent drop');
    const undo = await linkSilentDrop(running, 'h2:eth1--lan');
    const applied = m.now();
    try {
      await sleep(600);
      const link = (await runOk('nsenter', [`--net=${h2}`, 'ip', '-o', 'link', 'show', 'eth1']));
      assert.match(link, /LOWER_UP/);
      assert.doesNotMatch(link, /NO-CARRIER/);
      assert.match(await ourTables(), /h2: table netdev tsunagari_cut_eth1/);
      const live = m.snapshot();
      assert.equal(live.forward.longest?.recovered, false, 'an outage going on, forward');
      assert.equal(live.reverse.longest?.recovered, false, 'and reverse');
      const no = await m.waitRecovered({ untilMs: m.now() + 200 });
      assert.equal(no.recovered, false);
    } finally {
      m.mark('undo');
      await undo();
    }
    const undone = m.now();
    const back = await m.waitRecovered({ untilMs: m.now() + 3000 });
    assert.equal(back.recovered, true);
    await undo();   // idempotent
    await sleep(200);
    const silentFor = undone - applied;
    r = await m.stop();
    const o = r.forward.longest!;
    log(`silent cut: applied after ${applied.toFixed(1)} ms, removed after ${undone.toFixed(1)} ms; ${describeReport(r).split('\n')[0]}`);
    assert.equal(o.event?.label, 'silent drop');
    assert.ok(o.durationMs >= silentFor - TOLERANCE_MS && o.durationMs <= silentFor + 150, `outage ${o.durationMs} ms for a drop in force ${silentFor.toFixed(1)}+ ms`);
    assert.equal(r.forward.outages.length, 1);
    assert.equal(r.reverse.outages.length, 1);
  } finally {
    await m.stop();
  }
  assert.equal(await ourTables(), tables0);
});

test('the meter\'s programs end by themselves after maxMs, and with a killed parent', async () => {
  const m = await startOutageMeter(running, 'h1', 'h2', { intervalMs: 10, maxMs: 1500 });
  const pids = m.pids();
  assert.equal(pids.length, 3, 'sender, responder, ping');
  for (let i = 0; i < 100 && pids.some(alive); i++) await sleep(50);
  assert.deepEqual(pids.filter(alive), [], 'gone within 5 s of maxMs = 1.5 s');
  const r = await m.stop();
  assert.ok(r.forward.sent >= 80 && r.forward.sent <= 160, `${r.forward.sent} probes in 1.5 s`);

  // A parent killed with SIGKILL takes its programs along (setpriv --pdeathsig).
  const script = [
    "import { Context } from './src/lab/context.js';",
    "import { openLab } from './src/lab/running.js';",
    "import { startOutageMeter } from './src/probes/outage.js';",
    `const m = await startOutageMeter(openLab(new Context(), '${LAB}'), 'h1', 'h2', { intervalMs: 5 });`,
    "process.stdout.write(JSON.stringify(m.pids()) + '\\n');",
    'setInterval(() => {}, 1000);',
  ].join('\n');
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'], cwd: process.cwd() });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => { out += d; });
  for (let i = 0; i < 600 && !out.includes('\n'); i++) await sleep(50);
  const orphans = JSON.parse(out.trim()) as number[];
  assert.equal(orphans.length, 3);
  assert.ok(orphans.every(alive));
  child.kill('SIGKILL');
  for (let i = 0; i < 60 && orphans.some(alive); i++) await sleep(50);
  assert.deepEqual(orphans.filter(alive), [], 'a killed parent leaves no prober behind');
});

after(() => {
  if (!rows.length) return;
  const f = (x: number | undefined): string => (x === undefined ? 'n/a' : `${x >= 0 ? '+' : ''}${x.toFixed(1)}`);
  log('measured − injected (ms):');
  for (const r of rows) log(`  ${r.what} ${r.injected.toFixed(1)} ms: forward ${f(r.fwd)}, reverse ${f(r.rev)}, round trip ${f(r.rt)}, ICMP ${f(r.icmp)}, start ${f(r.startErr)}`);
});
