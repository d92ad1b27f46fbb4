// Owns the registry of other machines tsunagari has put something on: one JSON file per machine under
// <state>/machines/ (the Machine as the profile gave it — paths, never secrets — and the labs that use it),
// written before anything is created there and removed once nothing of tsunagari is left there. Cleanup
// finds remote engines through it (and the ledgers), so a killed run is cleaned up on every machine.
// Must not connect anywhere.
import { readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ensurePrivateDir, paths } from '../setup/paths.js';
import { withLock } from '../setup/lock.js';
import { machineKey, type Machine } from './machine.js';

export interface RegistryEntry { machine: Machine; labs: string[]; updatedAt: string; }

export const registryDir = (): string => join(paths.state, 'machines');
const fileOf = (m: Machine): string => join(registryDir(), `${machineKey(m)}.json`);
const lockOf = (m: Machine): string => join(paths.run, `machine-${machineKey(m)}.registry.lock`);

function read(file: string): RegistryEntry | undefined {
  try { return JSON.parse(readFileSync(file, 'utf8')) as RegistryEntry; } catch { return undefined; }
}

function write(m: Machine, e: RegistryEntry): void {
  ensurePrivateDir(registryDir());
  const f = fileOf(m);
  writeFileSync(`${f}.tmp.${process.pid}`, JSON.stringify(e, null, 2), { mode: 0o600 });
  renameSync(`${f}.tmp.${process.pid}`, f);
}

/** Every registered machine. */
export function registered(): RegistryEntry[] {
  let names: string[] = [];
  try { names = readdirSync(registryDir()).filter((f) => f.endsWith('.json')); } catch { return []; }
  return names.map((n) => read(join(registryDir(), n))).filter((e): e is RegistryEntry => !!e);
}

/** Records that `lab` is about to put things on the machine. */
export async function register(m: Machine, lab: string): Promise<void> {
  await withLock(lockOf(m), `register ${m.name}`, 10_000, async () => {
    const e = read(fileOf(m));
    const labs = [...new Set([...(e?.labs ?? []), lab])].sort();
    write(m, { machine: m, labs, updatedAt: new Date().toISOString() });
  });
}

/** The lab has nothing left on the machine; the entry goes when no lab is left (or `all`). */
export async function unregister(m: Machine, lab: string | undefined): Promise<void> {
  await withLock(lockOf(m), `unregister ${m.name}`, 10_000, async () => {
    const e = read(fileOf(m));
    if (!e) return;
    const labs = lab === undefined ? [] : e.labs.filter((l) => l !== lab);
    if (!labs.length) rmSync(fileOf(m), { force: true });
    else write(m, { ...e, labs, updatedAt: new Date().toISOString() });
  });
}
