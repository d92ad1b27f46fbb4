// Owns leases: exclusive, crash-proof claims held by a live process. A lease is a listening Unix socket
// in Linux's abstract namespace (`\0tsunagari/<kind>/<name>`): binding it is atomic and exclusive, and
// the kernel releases it the moment its process dies (SIGKILL included), so a lease can never go stale
// and never be held twice. A small JSON note beside it (who, since when) is for messages only.
// Abstract sockets belong to the network namespace of the process: every tsunagari process runs in the
// machine's own (it enters nodes only through child processes).
// Must not touch any file but the notes under <state>/leases/.
import { createServer, type Server } from 'node:net';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { STATE_DIR } from '../setup/paths.js';
import { self, procAlive, type ProcId } from './proc.js';

export type LeaseKind = 'lab' | 'lock';

export interface LeaseNote extends ProcId { kind: LeaseKind; name: string; what: string; since: string; }

export interface Lease { readonly kind: LeaseKind; readonly name: string; release(): Promise<void>; }

const NOTES = join(STATE_DIR, 'leases');
/** Socket names are at most 107 bytes: long names (lock paths) are hashed. */
const address = (kind: LeaseKind, name: string): string =>
  `\0tsunagari/${kind}/${name.length <= 64 && /^[A-Za-z0-9_.-]+$/.test(name) ? name : createHash('sha256').update(name).digest('hex').slice(0, 32)}`;
const notePath = (kind: LeaseKind, name: string): string =>
  join(NOTES, `${kind}-${createHash('sha256').update(name).digest('hex').slice(0, 24)}.json`);

/** Leases this process holds, by kind/name: taking one twice in a process returns the same lease. */
const held = new Map<string, Lease>();

function listen(addr: string): Promise<Server | undefined> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', (e: NodeJS.ErrnoException) => (e.code === 'EADDRINUSE' ? resolve(undefined) : reject(e)));
    s.listen({ path: addr }, () => { s.unref(); resolve(s); });
  });
}

/** Takes the lease if nobody holds it; undefined when another process does. */
export async function tryLease(kind: LeaseKind, name: string, what = ''): Promise<Lease | undefined> {
  const key = `${kind}/${name}`;
  const mine = held.get(key);
  if (mine) return mine;
  const server = await listen(address(kind, name));
  if (!server) return undefined;
  const note: LeaseNote = { ...self(), kind, name, what, since: new Date().toISOString() };
  try {
    mkdirSync(NOTES, { recursive: true });
    const p = notePath(kind, name);
    writeFileSync(`${p}.${process.pid}`, JSON.stringify(note));
    renameSync(`${p}.${process.pid}`, p);
  } catch { /* the note is informational */ }
  const lease: Lease = {
    kind, name,
    release: async () => {
      if (held.get(key) !== lease) return;
      held.delete(key);
      // The note first: once the socket is closed another process may write its own.
      try { if (readNote(kind, name)?.pid === process.pid) rmSync(notePath(kind, name), { force: true }); } catch { /* gone */ }
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
  held.set(key, lease);
  return lease;
}

/** The lease this process already holds, if any. */
export function heldLease(kind: LeaseKind, name: string): Lease | undefined {
  return held.get(`${kind}/${name}`);
}

/** Is the lease held by any live process (this one included)? Answered by trying to take it. */
export async function leaseHeld(kind: LeaseKind, name: string): Promise<boolean> {
  if (held.has(`${kind}/${name}`)) return true;
  const server = await listen(address(kind, name));
  if (!server) return true;
  await new Promise<void>((r) => server.close(() => r()));
  return false;
}

/** Who holds the lease, as its note says (only meaningful while leaseHeld is true). */
export function readNote(kind: LeaseKind, name: string): LeaseNote | undefined {
  try {
    const n = JSON.parse(readFileSync(notePath(kind, name), 'utf8')) as LeaseNote;
    return n && n.kind === kind && n.name === name && procAlive(n) ? n : undefined;
  } catch { return undefined; }
}

/** "run 2026…-ab12cd (pid 4242, since 21:04:05)" or "another process". */
export function describeHolder(kind: LeaseKind, name: string): string {
  const n = readNote(kind, name);
  if (!n) return 'another tsunagari process';
  return `${n.what || 'a tsunagari process'} (pid ${n.pid}, since ${n.since.slice(11, 19)})`;
}

/** Waits (polling, bounded) for a lease; undefined when it stayed held for `timeoutMs`. */
export async function waitLease(kind: LeaseKind, name: string, what: string, timeoutMs: number, onWait?: () => void): Promise<Lease | undefined> {
  const deadline = Date.now() + timeoutMs;
  let told = false;
  for (;;) {
    const l = await tryLease(kind, name, what);
    if (l) return l;
    if (Date.now() >= deadline) return undefined;
    if (!told) { told = true; onWait?.(); }
    await new Promise((r) => setTimeout(r, Math.min(500, Math.max(1, deadline - Date.now()))));
  }
}
