// Reachability, TCP and HTTP checks: probes run inside the source node's network namespace.
import type { DataTable } from '@cucumber/cucumber';
import { step } from './support/define.js';
import type { TsunagariWorld } from './support/world.js';
import type { Target } from '../src/lab/targets.js';

step('canReach', function canReach(this: TsunagariWorld, host: string, target: Target) { return this.s.canReach(host, target); });
step('cannotReach', function cannotReach(this: TsunagariWorld, host: string, target: Target) { return this.s.cannotReach(host, target); });
step('canReachWithin', function canReachWithin(this: TsunagariWorld, host: string, target: Target, ms: number) { return this.s.canReachWithin(host, target, ms); });
step('reachability', function reachability(this: TsunagariWorld, t: DataTable) { return this.s.reachability(t.raw()); });
step('canConnect', function canConnect(this: TsunagariWorld, host: string, target: Target, port: number) { return this.s.canConnect(host, target, port); });
step('cannotConnect', function cannotConnect(this: TsunagariWorld, host: string, target: Target, port: number) { return this.s.cannotConnect(host, target, port); });
step('httpStatus', function httpStatus(this: TsunagariWorld, host: string, status: number, url: string) { return this.s.httpStatus(host, url, status); });
