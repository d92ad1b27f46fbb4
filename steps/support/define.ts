// Registers one step implementation under its English and its Japanese phrase from the catalogue.
// The implementation must be a named `function (this: TsunagariWorld, …)`: an arrow function would lose
// `this` and change the argument count Cucumber checks.
import { Given, Then, When } from '@cucumber/cucumber';
import { CATALOGUE, jaExpression, type StepId } from '../catalogue.js';
import type { TsunagariWorld } from './world.js';

const KEYWORD = { Given, When, Then } as const;

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function step(id: StepId, fn: (this: TsunagariWorld, ...args: any[]) => unknown): void {
  const p = CATALOGUE[id];
  const define = KEYWORD[p.keyword];
  define(p.en, fn);
  define(jaExpression(p.ja), 'jaOrder' in p ? reorder(fn, p.jaOrder) : fn);
}

/** The same implementation, taking its arguments in Japanese order (same `this`, same arity). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
function reorder(fn: (this: TsunagariWorld, ...args: any[]) => unknown, order: readonly number[]) {
  const inJapaneseOrder = function (this: TsunagariWorld, ...args: unknown[]): unknown {
    return fn.apply(this, [...order.map((i) => args[i]), ...args.slice(order.length)]);
  };
  Object.defineProperty(inJapaneseOrder, 'length', { value: fn.length });
  Object.defineProperty(inJapaneseOrder, 'name', { value: fn.name });
  return inJapaneseOrder;
}
