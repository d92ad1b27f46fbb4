// Registers one step implementation under its English and its Japanese phrase from the catalogue.
// The implementation must be a named `function (this: TsunagariWorld, …)`: an arrow function would lose
// `this` and change the argument count Cucumber checks.
import { Given, Then, When } from '@cucumber/cucumber';
import { CATALOGUE, jaExpression, type StepId } from '../catalogue.js';
import type { TsunagariWorld } from './world.js';
import { redactError } from '../../src/util/redact.js';

const KEYWORD = { Given, When, Then } as const;

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function step(id: StepId, fn: (this: TsunagariWorld, ...args: any[]) => unknown): void {
  const p = CATALOGUE[id];
  const define = KEYWORD[p.keyword];
  const safe = redacting(fn);
  define(p.en, safe);
  define(jaExpression(p.ja), 'jaOrder' in p ? reorder(safe, p.jaOrder) : safe);
}

/** The same implementation; a failure's message never carries a secret value (src/util/redact.ts). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
function redacting(fn: (this: TsunagariWorld, ...args: any[]) => unknown) {
  const wrapped = function (this: TsunagariWorld, ...args: unknown[]): unknown {
    try {
      const r = fn.apply(this, args);
      return r instanceof Promise ? r.catch((e: unknown) => { throw redactError(e); }) : r;
    } catch (e) {
      throw redactError(e);
    }
  };
  Object.defineProperty(wrapped, 'length', { value: fn.length });
  Object.defineProperty(wrapped, 'name', { value: fn.name });
  return wrapped;
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
