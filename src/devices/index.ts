// Owns the registry of device drivers: a driver by name, with the known names in the error. Steps and
// the rollback ledger create drivers through it. Must not open sessions itself (the caller's factory does).
import type { Driver, SessionFactory } from './types.js';
import { FrrDriver, type FrrOptions } from './frr.js';
import { LinuxDriver } from './linux.js';
import { IosDriver } from './ios.js';
import type { ExecDriverOptions } from './exec-driver.js';
import { UserError } from '../util/errors.js';

export const DRIVERS = {
  frr: (s: SessionFactory, o?: FrrOptions): Driver => new FrrDriver(s, o),
  linux: (s: SessionFactory, o?: ExecDriverOptions): Driver => new LinuxDriver(s, o),
  ios: (s: SessionFactory): Driver => new IosDriver(s),
} as const;

export type DriverName = keyof typeof DRIVERS;

export function createDriver(name: string, sessions: SessionFactory, opts?: ExecDriverOptions & FrrOptions): Driver {
  const make = (DRIVERS as Record<string, ((s: SessionFactory, o?: ExecDriverOptions) => Driver) | undefined>)[name];
  if (!make) throw new UserError(`unknown device driver ${name}; known: ${Object.keys(DRIVERS).join(', ')}`);
  return make(sessions, opts);
}

export { FrrDriver } from './frr.js';
export { LinuxDriver } from './linux.js';
export { IosDriver } from './ios.js';
export * from './errors.js';
export type * from './types.js';
