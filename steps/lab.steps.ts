// Lab lifecycle steps.
import { step } from './support/define.js';
import type { TsunagariWorld } from './support/world.js';

step('labUp', function labUp(this: TsunagariWorld, lab: string) { return this.s.useLab(lab); });
