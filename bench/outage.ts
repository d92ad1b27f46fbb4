// Owns metric 5, outage measurement accuracy: a link dropped for exactly T ms (T = 100, 500, 2000) by the
// timed injector (src/lab/outage-inject.ts), measured by the outage meter (src/probes/outage.ts) from h1 to
// h2 of a two-host netns lab; the error is |measured − in force|. The ICMP figure of the same meter
// (iputils ping -D gaps) is the peer. Touches only its own `bench-outage` lab.
import { Context } from '../src/lab/context.js';
import { up } from '../src/lab/up.js';
import { teardown } from '../src/lab/down.js';
import { Ledger } from '../src/lab/ledger.js';
import { openLab } from '../src/lab/running.js';
import { injectOutage, type InjectedOutage } from '../src/lab/outage-inject.js';
import { startOutageMeter, type OutageMeter } from '../src/probes/outage.js';
import type { DirectionReport } from '../src/probes/outage-analysis.js';
import { row, sleep, starLab, stat, type Row } from './lib.js';

const TS = [100, 500, 2000];

/** The outage of a direction that overlaps the injected one (±50 ms), if exactly one does. */
function overlapping(d: DirectionReport | undefined, m: OutageMeter, inj: InjectedOutage): number | undefined {
  if (!d) return undefined;
  const s = inj.startMono - m.t0Mono;
  const e = inj.endMono - m.t0Mono;
  const o = d.outages.filter((x) => x.endMs > s - 50 && x.startMs < e + 50);
  return o.length === 1 ? o[0]!.durationMs : undefined;
}

export async function outageMetric(ctx: Context, quick: boolean, log: (l: string) => void): Promise<{ rows: Row[] } | { skip: string }> {
  const lab = starLab('bench-outage', 2, 'netns', 3);
  if (Ledger.read(lab.name)) await teardown(ctx, lab.name);
  const reps = quick ? 1 : 3;
  const errs = new Map<number, { udp: number[]; icmp: number[] }>(TS.map((t) => [t, { udp: [], icmp: [] }]));
  await up(ctx, lab);
  try {
    const running = openLab(ctx, lab.name);
    const link = lab.links.find((l) => l.type === 'switch' && l.node.node === 'h2');
    if (!link) throw new Error('bench-outage has no h2 switch link');
    const m = await startOutageMeter(running, 'h1', 'h2', { intervalMs: 5 });
    const injected: InjectedOutage[] = [];
    try {
      for (let rep = 0; rep < reps; rep++) {
        for (const T of TS) {
          await sleep(400);
          m.mark(`cut for ${T} ms`);
          injected.push(await injectOutage(running, link, T));
        }
      }
      await sleep(400);
    } finally {
      const r = await m.stop();
      for (const inj of injected) {
        const e = errs.get(inj.requestedMs)!;
        const udp = overlapping(r.forward, m, inj);
        const icmp = overlapping(r.icmp, m, inj);
        if (udp !== undefined) e.udp.push(Math.abs(udp - inj.durationMs) / 1000);
        else log(`  outage T = ${inj.requestedMs} ms: the meter did not see exactly one outage there`);
        if (icmp !== undefined) e.icmp.push(Math.abs(icmp - inj.durationMs) / 1000);
        if (inj.uncertaintyMs > 3) log(`  outage T = ${inj.requestedMs} ms: the injector knows it only to ±${inj.uncertaintyMs.toFixed(1)} ms (busy machine)`);
      }
      for (const n of r.notes) log(`  outage meter: ${n}`);
    }
  } finally {
    await teardown(ctx, lab.name);
  }
  const rows: Row[] = [];
  for (const T of TS) {
    const e = errs.get(T)!;
    if (!e.udp.length) continue;
    rows.push(row(`5 outage error |measured − T|, T = ${T} ms`, 2, stat(e.udp),
      e.icmp.length ? { name: 'iputils ping -D gaps (same meter)', s: stat(e.icmp) } : null, {},
      { text: '≤ 20 ms', kind: 'value<=', value: 0.02 }));
  }
  return rows.length ? { rows } : { skip: 'the outage meter measured none of the injected outages (see the log)' };
}
