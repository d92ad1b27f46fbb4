// Failover: an outage meter between two hosts, a silent cut, and checks on recovery, outage length and
// lost probes. Every When step is marked on a running meter as an event (the timeline shows it).
import { BeforeStep } from '@cucumber/cucumber';
import { step } from './support/define.js';
import type { TsunagariWorld } from './support/world.js';
import type { ExternalLink, Link } from '../src/topology/types.js';
import type { Target } from '../src/lab/targets.js';

BeforeStep(function markEvent(this: TsunagariWorld, { pickleStep }) {
  if (pickleStep.type === 'Action') this.s.failover.mark(pickleStep.text);
});

step('silentDrop', function silentDrop(this: TsunagariWorld, link: Link | ExternalLink) { return this.s.failover.silentDrop(link); });
step('probeStart', function probeStart(this: TsunagariWorld, host: string, target: Target, ms: number) { return this.s.failover.startProbes(host, target, ms); });
step('recoversWithin', function recoversWithin(this: TsunagariWorld, ms: number) { return this.s.failover.recoversWithin(ms); });
step('outageAtMost', function outageAtMost(this: TsunagariWorld, ms: number) { return this.s.failover.outageAtMost(ms); });
step('lostAtMost', function lostAtMost(this: TsunagariWorld, n: number) { return this.s.failover.lostAtMost(n); });
