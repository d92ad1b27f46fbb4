// Owns the failover steps of a scenario: one outage meter at a time (started by a step, stopped after
// the scenario), events marked on it, the silent cut (undone after the scenario), and the checks —
// recovery within a time, outage length, lost probes — whose figures go to the report as text and as a
// timeline picture. Must not import Cucumber.
import type { ExternalLink, Link } from '../topology/types.js';
import { deviceSilentDrop } from '../lab/device-links.js';
import type { Target } from '../lab/targets.js';
import { startOutageMeter, type OutageMeter, type OutageReport } from '../probes/outage.js';
import { describeReport, fmt, headline, type Outage } from '../probes/outage-analysis.js';
import { linkSilentDrop } from '../lab/outage-inject.js';
import { timelineSvg } from '../report/timeline.js';
import { UserError } from '../util/errors.js';
import { formatMs } from './params.js';
import { CheckFailed } from './check.js';
import type { Scenario } from './session.js';
import { sleep } from '../util/exec.js';


/** Past lateMs, how long until the logs of a probe are in (they arrive ≤ 60 ms late): then it counts. */
const SETTLE_MS = 80;

export class FailoverSteps {
  private meter?: OutageMeter;
  private lastPicture?: string;
  private attached = false;
  constructor(private readonly s: Scenario) {}

  /** The running meter, for programmatic use (tests, benchmarks). */
  get current(): OutageMeter | undefined { return this.meter; }

  async startProbes(host: string, target: Target, intervalMs: number): Promise<void> {
    if (this.meter && !this.meter.stopped) {
      throw new UserError(`cannot start probing ${target.label} from ${host} (this scenario already probes ${this.meter.target.label} from ${this.meter.from})`,
        'one outage meter per scenario');
    }
    const meter = await startOutageMeter(this.s.requireLab(), host, target, { intervalMs });
    this.meter = meter;
    this.attached = false;
    this.s.undo.push(`stop probing ${target.label} from ${host}`, async () => {
      const r = await meter.stop();
      if (!this.attached) await this.attachReport(r);
    });
  }

  /** Records an event on the running meter (the hooks mark every When step); no meter, no-op. */
  mark(label: string): void {
    if (this.meter && !this.meter.stopped) this.meter.mark(label);
  }

  async silentDrop(link: Link | ExternalLink): Promise<void> {
    const undo = link.type === 'external' ? await deviceSilentDrop(this.s.requireLab(), link) : await linkSilentDrop(this.s.requireLab(), link);
    this.s.undo.push(`stop dropping all traffic on link ${link.name}`, async () => {
      this.mark(`silent drop on link ${link.name} removed (after the scenario)`);
      await undo();
    });
  }

  private requireMeter(): OutageMeter {
    if (!this.meter) {
      throw new UserError('no probes running in this scenario',
        'start them first: `Given client keeps probing server every 5 ms` / `前提 client から server へ 5 ミリ秒 間隔でプローブを送り続ける`');
    }
    return this.meter;
  }

  /**
   * Waits (bounded) until probes get through both ways again after the last event, then reports the
   * outage. Fails when they do not within `ms` of the event.
   */
  async recoversWithin(ms: number): Promise<void> {
    const m = this.requireMeter();
    const callMs = m.now();
    const event = m.marks[m.marks.length - 1];
    const eventMs = event?.atMs ?? 0;
    const rec = await m.waitRecovered({ sinceMs: callMs, untilMs: Math.max(eventMs + ms, callMs) + m.lateMs + 200 });
    if (rec.recovered) await sleep(m.lateMs + SETTLE_MS);
    const r = m.snapshot();
    await this.attachReport(r);
    const since = event ? ` after "${event.label}"` : '';
    if (!rec.recovered) {
      throw new CheckFailed(`${m.from} → ${m.target.label}: connectivity did not recover within ${formatMs(ms)}${since}: ${headline(r)}\n${describeReport(r)}`);
    }
    const after = [...r.forward.outages, ...r.reverse.outages].filter((o) => o.endMs > eventMs);
    if (!after.length) {
      // Nothing to recover from: the change never touched the probed path (a cut on another link, a
      // failover that did not happen). A hitless change is asserted with "at most 0 probes are lost".
      throw new CheckFailed(`${m.from} → ${m.target.label}: connectivity was never interrupted${since}: no probe was lost after it ` +
        `(${r.forward.sent} sent forward, ${r.reverse.sent} reverse), so there is no recovery to time; the change did not touch this path. ` +
        `For a change that must be hitless, check \`at most 0 probes are lost\` instead\n${describeReport(r)}`);
    }
    const back = Math.max(...after.map((o) => o.endMs)) - eventMs;
    if (back > ms) {
      throw new CheckFailed(`${m.from} → ${m.target.label}: connectivity recovered ${fmt(back)}${since}, later than ${formatMs(ms)}: ${headline(r)}\n${describeReport(r)}`);
    }
  }

  /** Waits for an outage still going on to end (up to the bound and a little), then reads the figures. */
  private async settled(boundMs: (o: Outage) => number): Promise<OutageReport> {
    const m = this.requireMeter();
    // Probes sent up to this step must have arrived or be overdue before they count: wait that long.
    if (!m.stopped) await sleep(m.lateMs + SETTLE_MS);
    const r = m.snapshot();
    const ongoing = [r.forward, r.reverse].map((d) => d.outages[d.outages.length - 1]).filter((o): o is Outage => !!o && !o.recovered);
    if (!ongoing.length || m.stopped) return r;
    const until = Math.max(...ongoing.map((o) => o.startMs + boundMs(o))) + m.lateMs + 200;
    const rec = await m.waitRecovered({ sinceMs: m.now(), untilMs: until });
    if (rec.recovered) await sleep(m.lateMs + SETTLE_MS);
    return m.snapshot();
  }

  async outageAtMost(ms: number): Promise<void> {
    const m = this.requireMeter();
    const r = await this.settled(() => ms);
    await this.attachReport(r);
    const w = r.worst;
    if (w && (!w.outage.recovered || w.outage.durationMs > ms)) {
      const what = w.outage.recovered ? `lasted ${fmt(w.outage.durationMs)}` : `lasts ≥ ${fmt(w.outage.durationMs)} and has not ended`;
      throw new CheckFailed(`${m.from} → ${m.target.label}: the outage ${what} (${w.direction}, ±${fmt(w.outage.resolutionMs)}), expected at most ${formatMs(ms)}: ` +
        `${headline(r)}\n${describeReport(r)}`);
    }
  }

  async lostAtMost(n: number): Promise<void> {
    const m = this.requireMeter();
    const r = await this.settled(() => (n + 1) * m.intervalMs * 2);
    await this.attachReport(r);
    const worse = r.forward.lost >= r.reverse.lost ? r.forward : r.reverse;
    if (worse.lost > n) {
      throw new CheckFailed(`${m.from} → ${m.target.label}: ${worse.lost} probes lost ${worse.direction} (${r.forward.lost} forward, ${r.reverse.lost} reverse, ` +
        `of ${worse.sent} sent), expected at most ${n}: ${headline(r)}\n${describeReport(r)}`);
    }
  }

  /** The figures as text (JUnit/HTML show it) and the timeline picture (once per distinct picture). */
  private async attachReport(r: OutageReport): Promise<void> {
    this.attached = true;
    await this.s.attach(describeReport(r), 'text/plain');
    const key = JSON.stringify([r.final, r.marks.length, ...[r.forward, r.reverse].map((d) => d.outages.map((o) => [o.startMs, o.endMs, o.recovered]))]);
    if (key === this.lastPicture) return;
    this.lastPicture = key;
    await this.s.attach(timelineSvg(r), 'image/svg+xml');
  }
}
