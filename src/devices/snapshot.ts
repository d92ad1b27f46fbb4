// Owns "scenario changes are always undone" at the driver level: a push snapshots the running config
// first, records it in a ledger under the lab's state directory (so a killed run can be rolled back on the
// next start/cleanup), commits with commit-confirm, and returns an Undo that rolls back and then compares
// the restored config with the snapshot — a difference is an error. Must not decide which driver a node
// uses (callers do), nor remove lab files other than its own records.
import { readFileSync, readdirSync, renameSync, rmSync, rmdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Driver, SessionFactory } from './types.js';
import { ExecDriver, DEFAULT_CONFIRM_SECONDS, type RestorePoint } from './exec-driver.js';
import { RollbackMismatch, fmtMs } from './errors.js';
import { unifiedDiff } from './diff.js';
import { createDriver } from './index.js';
import { labFilesDir } from '../lab/services.js';
import { paths } from '../setup/paths.js';
import { pidAlive } from '../setup/lock.js';
import type { DeviceAccess } from '../topology/types.js';
import { expandedAccess } from '../topology/inventory.js';
import { externalSessionFactory } from './transport.js';
import { isInstanceName } from '../topology/naming.js';
import { ensurePrivateDir } from '../setup/paths.js';

/** Shaped like the scenario undo stack's entries: `undo.push(u.what, u.fn)`. */
export interface DeviceUndo {
  what: string;
  fn: () => Promise<void>;
  /** The running config before the push. */
  snapshot: string;
  /** What the push changed (compare() before commit; '' when the driver cannot compare). */
  diff: string;
  /** Timings of the push, ms. */
  timing: { snapshotMs: number; loadMs: number; commitMs: number };
}

export interface PushOptions {
  /** Lab and node: write a ledger record so a killed run is rolled back by rollbackPending(). */
  lab?: string;
  node?: string;
  /** An external device: the record keeps how to reach it (no secrets) and outlives the lab. */
  access?: DeviceAccess;
  confirmSeconds?: number;
  log?: (line: string) => void;
}

/** One pending rollback, as written under <state>/labs/<lab>.d/rollbacks/. */
export interface RollbackRecord {
  version: 1;
  lab: string;
  node: string;
  driver: string;
  pid: number;
  createdAt: string;
  snapshot: string;
  /** How to get back: absent until the commit finished for drivers whose restore point comes from the commit. */
  restore?: RestorePoint;
  /** An operation to undo instead of a config (link down, silent drop on a device's interface). */
  action?: DeviceAction;
  /** External devices: how to reach it again (the lab's ledger may be gone by then). */
  access?: DeviceAccess;
  file?: string;
}

export type DeviceAction = { kind: 'interface-up'; iface: string } | { kind: 'unblock'; iface: string };

/** Pending changes on external devices live outside the lab's files: tearing the lab down does not lose them. */
export function deviceRecordDir(lab: string): string {
  return join(paths.state, 'devices', lab);
}

export function rollbackDir(lab: string): string {
  return join(labFilesDir(lab), 'rollbacks');
}

let seq = 0;

function writeRecord(rec: RollbackRecord): string {
  if (rec.access) rec = { ...rec, access: expandedAccess(rec.access) };
  const dir = rec.access ? deviceRecordDir(rec.lab) : rollbackDir(rec.lab);
  ensurePrivateDir(join(dir, '..'));
  ensurePrivateDir(dir);
  const file = rec.file ?? join(dir, `${rec.node}-${Date.now()}-${process.pid}-${++seq}.json`);
  const tmp = `${file}.tmp`;
  // Records hold running configurations (secrets in them): 0600 in 0700 directories.
  writeFileSync(tmp, `${JSON.stringify({ ...rec, file: undefined }, null, 2)}\n`, { mode: 0o600 });
  renameSync(tmp, file);
  return file;
}

/** '' when the running config equals the snapshot (in the driver's own normal form), else snapshot → now. */
export async function diffFromSnapshot(driver: Driver, snapshot: string): Promise<string> {
  if (driver instanceof ExecDriver) return driver.diffFromSnapshot(snapshot);
  return unifiedDiff(snapshot, await driver.runningConfig(), { from: 'snapshot', to: 'now' });
}

/**
 * Snapshots the running config, pushes `config` (loadCandidate → compare → commit with commit-confirm), and
 * returns the Undo. `sessions` opens fresh sessions to the same device: the Undo uses it to rebuild the
 * driver when the scenario left the driver's own session broken.
 */
export async function snapshotAndPush(driver: Driver, config: string, mode: 'replace' | 'merge', sessions: SessionFactory, o: PushOptions = {}): Promise<DeviceUndo> {
  const t0 = Date.now();
  const snapshot = await driver.runningConfig();
  const snapshotMs = Date.now() - t0;
  const record: RollbackRecord | undefined = o.lab && o.node ? {
    version: 1, lab: o.lab, node: o.node, driver: driver.name, pid: process.pid, createdAt: new Date().toISOString(), snapshot,
    ...(o.access ? { access: o.access } : {}),
    ...(driver.capabilities.has('load-replace') ? { restore: { kind: 'config' as const, config: snapshot } } : {}),
  } : undefined;
  if (record) record.file = writeRecord(record);
  const t1 = Date.now();
  let diff = '';
  try {
    await driver.loadCandidate(config, mode);
    if (driver.capabilities.has('compare')) diff = await driver.compare();
  } catch (e) {
    if (record?.file) forgetRecord(record.file);
    throw e;
  }
  const loadMs = Date.now() - t1;
  const t2 = Date.now();
  try {
    await driver.commit({ confirmSeconds: o.confirmSeconds ?? DEFAULT_CONFIRM_SECONDS });
  } catch (e) {
    // refused or reverted: nothing to undo (the device is back at the snapshot)
    if (record?.file) forgetRecord(record.file);
    throw e;
  }
  const commitMs = Date.now() - t2;
  const point = driver instanceof ExecDriver ? driver.lastRestorePoint() : undefined;
  if (record && point) writeRecord({ ...record, restore: point });
  const who = o.node ?? driver.name;
  o.log?.(`${who}: pushed (${mode}) in ${fmtMs(Date.now() - t0)}: snapshot ${fmtMs(snapshotMs)}, load+compare ${fmtMs(loadMs)}, commit ${fmtMs(commitMs)}`);

  const undo = async (): Promise<void> => {
    const tu = Date.now();
    let d = driver;
    let fresh: Driver | undefined;
    try {
      try {
        await restoreWith(d, point, snapshot);
      } catch (e) {
        if (e instanceof RollbackMismatch) throw e;
        // the scenario may have left the driver's session broken: once more with a fresh driver
        fresh = createDriver(driver.name, sessions);
        await fresh.open();
        d = fresh;
        await restoreWith(d, point, snapshot);
      }
      const left = await diffFromSnapshot(d, snapshot);
      if (left) throw new RollbackMismatch(who, left);
    } finally {
      if (fresh) await fresh.close().catch(() => undefined);
    }
    if (record?.file) forgetRecord(record.file);
    o.log?.(`${who}: rolled back and equal to the snapshot in ${fmtMs(Date.now() - tu)}`);
  };
  return { what: `roll back the config pushed to ${who}`, fn: undo, snapshot, diff, timing: { snapshotMs, loadMs, commitMs } };
}

/** Back to the snapshot: the driver's rollback when this push is its last commit, else its restore point, else a replace. */
async function restoreWith(d: Driver, point: RestorePoint | undefined, snapshot: string): Promise<void> {
  if (d instanceof ExecDriver && point) {
    if (d.lastRestorePoint() === point) await d.rollback();
    else await d.restore(point);
    return;
  }
  if (d.capabilities.has('load-replace') && d.capabilities.has('commit')) {
    await d.loadCandidate(snapshot, 'replace');
    await d.commit();
    return;
  }
  await d.rollback();
}

/** Records a change about to be made on an external device (before making it); returns the record's file. */
export function recordDeviceAction(lab: string, node: string, driver: string, access: DeviceAccess, action: DeviceAction): string {
  return writeRecord({ version: 1, lab, node, driver, pid: process.pid, createdAt: new Date().toISOString(), snapshot: '', access, action });
}

/** Removes a record once its change is undone; its lab's directory goes with the last one. */
export function forgetRecord(file: string): void {
  rmSync(file, { force: true });
  try { rmdirSync(dirname(file)); } catch { /* other records remain */ }
}

function readRecords(dir: string): RollbackRecord[] {
  let names: string[] = [];
  try { names = readdirSync(dir).filter((f) => f.endsWith('.json')).sort(); } catch { return []; }
  const out: RollbackRecord[] = [];
  for (const n of names) {
    try { out.push({ ...(JSON.parse(readFileSync(join(dir, n), 'utf8')) as RollbackRecord), file: join(dir, n) }); } catch { /* half-written: ignored */ }
  }
  return out;
}

/** Rollback records a run left behind for `lab` (a killed run's pushes that were never undone), oldest first. */
export function pendingRollbacks(lab: string): RollbackRecord[] {
  return [...readRecords(rollbackDir(lab)), ...readRecords(deviceRecordDir(lab))]
    .sort((a, b) => a.createdAt.localeCompare(b.createdAt) || (a.file ?? '').localeCompare(b.file ?? ''));
}

/** Labs with pending changes on external devices. */
export function labsWithDeviceRecords(): string[] {
  try { return readdirSync(join(paths.state, 'devices')).filter((l) => isInstanceName(l) && readRecords(deviceRecordDir(l)).length > 0).sort(); } catch { return []; }
}

export interface RollbackResult { node: string; driver: string; ok: boolean; message: string; }

/**
 * Rolls back every pending record of the lab, newest first, each compared with its snapshot afterwards.
 * `sessionsFor(node)` opens sessions to a node (the transport's labSessionFactory). Records of a live
 * process (another run still owns them) are skipped.
 */
export async function rollbackPending(lab: { name: string }, sessionsFor: (node: string) => SessionFactory, o: { onlyDevices?: boolean } = {}): Promise<RollbackResult[]> {
  const results: RollbackResult[] = [];
  const records = o.onlyDevices ? readRecords(deviceRecordDir(lab.name)) : pendingRollbacks(lab.name);
  for (const rec of records.reverse()) {
    if (rec.pid !== process.pid && pidAlive(rec.pid)) {
      results.push({ node: rec.node, driver: rec.driver, ok: false, message: `skipped: run ${rec.pid} is still alive` });
      continue;
    }
    const d = createDriver(rec.driver, rec.access ? externalSessionFactory(rec.node, rec.access) : sessionsFor(rec.node));
    try {
      await d.open();
      if (rec.action) {
        await undoAction(d, rec.action);
        if (rec.file) forgetRecord(rec.file);
        results.push({ node: rec.node, driver: rec.driver, ok: true, message: `${actionText(rec.action)} (left by run ${rec.pid} at ${rec.createdAt})` });
        continue;
      }
      await restoreWith(d, rec.restore, rec.snapshot);
      const left = await diffFromSnapshot(d, rec.snapshot);
      if (left) throw new RollbackMismatch(rec.node, left);
      if (rec.file) forgetRecord(rec.file);
      results.push({ node: rec.node, driver: rec.driver, ok: true, message: `rolled back to the snapshot of ${rec.createdAt}` });
    } catch (e) {
      results.push({ node: rec.node, driver: rec.driver, ok: false, message: (e as Error).message });
    } finally {
      await d.close().catch(() => undefined);
    }
  }
  return results;
}

/** Undoes a recorded device operation. */
export async function undoAction(d: Driver, a: DeviceAction): Promise<void> {
  if (a.kind === 'interface-up') {
    if (!d.setInterfaceUp) throw new Error(`driver ${d.name} cannot bring ${a.iface} back up`);
    await d.setInterfaceUp(a.iface, true);
  } else {
    if (!d.blockInterface) throw new Error(`driver ${d.name} cannot remove the silent drop on ${a.iface}`);
    await d.blockInterface(a.iface, false);
  }
}

export function actionText(a: DeviceAction): string {
  return a.kind === 'interface-up' ? `brought ${a.iface} back up` : `removed the silent drop on ${a.iface}`;
}

/** External devices' pending records of `lab` (all labs when absent), restored with their recorded access. */
export async function restoreDevices(lab?: string): Promise<RollbackResult[]> {
  const out: RollbackResult[] = [];
  for (const l of lab ? [lab] : labsWithDeviceRecords()) {
    out.push(...await rollbackPending({ name: l }, () => { throw new Error('record without access'); }, { onlyDevices: true }));
  }
  return out;
}

