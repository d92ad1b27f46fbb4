// Link changes: down/up, loss, rate, delay. Each pushes its inverse; the After hook undoes them.
import { step } from './support/define.js';
import type { TsunagariWorld } from './support/world.js';
import type { ExternalLink, Link } from '../src/topology/types.js';

step('linkDown', function linkDown(this: TsunagariWorld, link: Link | ExternalLink) { return this.s.linkDown(link); });
step('linkUp', function linkUp(this: TsunagariWorld, link: Link | ExternalLink) { return this.s.linkUp(link); });
step('linkLoss', function linkLoss(this: TsunagariWorld, link: Link | ExternalLink, percent: number) { return this.s.linkLoss(link, percent); });
step('linkRate', function linkRate(this: TsunagariWorld, link: Link | ExternalLink, bps: number) { return this.s.linkRate(link, bps); });
step('linkDelay', function linkDelay(this: TsunagariWorld, link: Link | ExternalLink, ms: number) { return this.s.linkDelay(link, ms); });
