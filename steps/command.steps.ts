// Commands inside nodes and checks on their output.
import { step } from './support/define.js';
import type { TsunagariWorld } from './support/world.js';

step('run', function run(this: TsunagariWorld, host: string, command: string) { return this.s.run(host, command); });
step('outputContains', function outputContains(this: TsunagariWorld, text: string) { return this.s.outputContains(text); });
