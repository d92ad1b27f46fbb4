// Owns changing a lab through its external devices (profile inventories, docs/profiles.md): a cable of a
// device goes down/up or silently drops everything, done by the device at the cable's end over SSH. Each
// change is recorded (src/devices/snapshot.ts) BEFORE it is made, so a killed run is undone by the next
// run or `tsunagari cleanup`; the Undo restores it and removes the record. Must not touch local nodes
// (impair.ts and outage-inject.ts do) nor change device configuration (snapshotAndPush does).
import type { ExternalLink, ExternalNode, NodeEnd } from '../topology/types.js';
import type { Driver } from '../devices/types.js';
import { createDriver } from '../devices/index.js';
import { MissingCapability } from '../devices/types.js';
import { externalSessionFactory } from '../devices/transport.js';
import { forgetRecord, recordDeviceAction, undoAction, type DeviceAction } from '../devices/snapshot.js';
import { UserError } from '../util/errors.js';
import type { RunningLab } from './running.js';
import type { Undo } from './impair.js';

interface End { x: ExternalNode; iface: string; device: string; }

function endOf(running: RunningLab, e: NodeEnd): End | undefined {
  const x = running.lab.external?.find((n) => n.name === e.node);
  return x ? { x, iface: e.iface, device: x.ifnames[e.iface] ?? e.iface } : undefined;
}

/** The external ends of a cable (both for device↔device, one for device↔segment). */
export function deviceEnds(running: RunningLab, l: ExternalLink): End[] {
  return [l.a, ...(l.b ? [l.b] : [])].map((e) => endOf(running, e)).filter((e): e is End => !!e);
}

async function withDriver<T>(end: End, fn: (d: Driver) => Promise<T>): Promise<T> {
  const d = createDriver(end.x.driver, externalSessionFactory(end.x.name, end.x.access));
  await d.open();
  try { return await fn(d); } finally { await d.close().catch(() => undefined); }
}

function needs(d: Driver, what: 'setInterfaceUp' | 'blockInterface', end: End, step: string): void {
  if (!d[what] || !d.capabilities.has('interfaces')) {
    const why = d.capabilities.has('interfaces') ? `driver ${d.name} cannot ${what === 'blockInterface' ? 'drop traffic silently' : 'change interfaces'}` : new MissingCapability(d.name, 'interfaces').message;
    throw new UserError(`cannot ${step} on ${end.x.name} (${why})`,
      'use a driver that can (frr, linux), or tag the scenario so this profile does not run it');
  }
}

/** Runs `act` on the device after recording `undo`; the returned Undo reverses it and forgets the record. */
async function change(running: RunningLab, end: End, undo: DeviceAction, step: string, act: (d: Driver) => Promise<void>): Promise<Undo> {
  // The session and the capability first: a device that cannot be reached (or refuses its host key, or
  // lacks the operation) was not changed, so nothing is recorded — a record of it would make every later
  // run and cleanup try (and fail) to restore a device that was never touched.
  const d = createDriver(end.x.driver, externalSessionFactory(end.x.name, end.x.access));
  await d.open();
  let file: string | undefined;
  try {
    needs(d, undo.kind === 'interface-up' ? 'setInterfaceUp' : 'blockInterface', end, step);
    file = recordDeviceAction(running.name, end.x.name, end.x.driver, end.x.access, undo);
    await act(d);
  } catch (e) {
    // Maybe made (the command failed, or the session broke after it): try the inverse now; keep the record if that fails too.
    if (file) {
      const f = file;
      try { await withDriver(end, (x) => undoAction(x, undo)); forgetRecord(f); } catch { /* the record stays for cleanup */ }
    }
    throw e;
  } finally {
    await d.close().catch(() => undefined);
  }
  return async () => {
    await withDriver(end, (d) => undoAction(d, undo));
    forgetRecord(file);
  };
}

/** A device cable goes down: the interface of its first external end is shut (its peer sees the carrier go). */
export async function deviceLinkDown(running: RunningLab, l: ExternalLink): Promise<Undo> {
  const [end] = deviceEnds(running, l);
  if (!end) throw new Error(`link ${l.name} has no external end`);
  return change(running, end, { kind: 'interface-up', iface: end.device }, `take link ${l.name} down`, (d) => d.setInterfaceUp!(end.device, false));
}

/** Brings a device cable's interfaces up (no record: up is where the lab started). */
export async function deviceLinkUp(running: RunningLab, l: ExternalLink): Promise<void> {
  for (const end of deviceEnds(running, l)) {
    await withDriver(end, async (d) => { needs(d, 'setInterfaceUp', end, `bring link ${l.name} up`); await d.setInterfaceUp!(end.device, true); });
  }
}

/** Everything on the cable is dropped silently at its device ends (no carrier change); the Undo removes it. */
export async function deviceSilentDrop(running: RunningLab, l: ExternalLink): Promise<Undo> {
  const ends = deviceEnds(running, l);
  const undos: Undo[] = [];
  try {
    for (const end of ends) {
      // A cable into a segment has one device end: it also drops what it sends (EtherType rewrite).
      undos.push(await change(running, end, { kind: 'unblock', iface: end.device }, `silently cut link ${l.name}`,
        (d) => d.blockInterface!(end.device, true, { egress: ends.length === 1 })));
    }
  } catch (e) {
    for (const u of undos.reverse()) await u().catch(() => undefined);
    throw e;
  }
  return async () => { for (const u of undos.reverse()) await u(); };
}

/** Steps that change a link's quality cannot act on a device's cable. */
export function notOnDeviceCable(l: ExternalLink, what: string): UserError {
  return new UserError(`cannot ${what} on link ${l.name} (it is a cable of external device${l.b ? 's' : ''} ${[l.a.node, l.b?.node].filter(Boolean).join(' and ')}: tsunagari can only take it down/up or cut it silently through the device)`,
    'tag the scenario for the emulated profile only, e.g. @ci');
}
