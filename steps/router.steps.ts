// Routers managed over SSH: config pushes (snapshot, commit-confirm, rollback after the scenario),
// routing-table and neighbour checks, the management session.
import { step } from './support/define.js';
import type { TsunagariWorld } from './support/world.js';
import type { Target } from '../src/lab/targets.js';

step('routerPushFile', function routerPushFile(this: TsunagariWorld, host: string, file: string) { return this.s.routers.pushFile(host, file); });
step('routerPushLines', function routerPushLines(this: TsunagariWorld, host: string, lines: string) { return this.s.routers.pushLines(host, lines); });
step('routerPushReverted', function routerPushReverted(this: TsunagariWorld, host: string, lines: string) { return this.s.routers.pushReverted(host, lines); });
step('routerRoute', function routerRoute(this: TsunagariWorld, host: string, prefix: string, via: Target) { return this.s.routers.routeVia(host, prefix, via); });
step('routerNeighbour', function routerNeighbour(this: TsunagariWorld, host: string, protocol: string, address: Target, state: string) { return this.s.routers.neighbour(host, protocol, address, state); });
step('routerManagement', function routerManagement(this: TsunagariWorld, host: string) { return this.s.routers.managementReachable(host); });
