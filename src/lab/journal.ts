// Owns the journal of scenario-time changes to a lab instance (link down, loss, rate, delay, silent cut,
// timed outage, the broken-NAT rule, responder overrides): each change is recorded with its inverse
// BEFORE it is applied, and forgotten once its inverse ran. A run killed at any moment therefore leaves
// a journal from which the next run that reuses the lab, or `tsunagari cleanup`, puts the lab back
// (recoverLab). Inverses are data (commands in places, a responder state), idempotent and quiet when
// what they undo is already gone. One file per instance: <state>/labs/<instance>.journal.json (0600),
// written only by the holder of the instance's lease. Router config pushes and external devices keep
// their own write-ahead records (src/devices/snapshot.ts). Must not create or remove lab resources.
import { existsSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { ensurePrivateDir, paths } from '../setup/paths.js';
import { isInstanceName } from '../topology/naming.js';
import type { Where } from './impair.js';

/** One command of an inverse, run inside a place of the lab (impair.ts Where). */
export interface PlaceCommand {
  where: Where;
  label: string;
  argv: string[];
  input?: string;
  /** stderr that also means success (e.g. "the table is gone already"): a RegExp source. */
  okIf?: string;
}

export type Inverse =
  | { kind: 'commands'; commands: PlaceCommand[] }
  | { kind: 'responder'; node: string; overrides: Record<string, unknown> };

export interface JournalEntry { id: string; what: string; run: string; pid: number; at: string; inverse: Inverse; }

interface JournalFile { version: 1; lab: string; entries: JournalEntry[]; }

export function journalPath(instance: string): string {
  if (!isInstanceName(instance)) throw new Error(`invalid instance name ${JSON.stringify(instance).slice(0, 80)}`);
  return join(paths.labs, `${instance}.journal.json`);
}

export class Journal {
  constructor(readonly instance: string, readonly run: string = '') {}

  /** The open entries, oldest first. Throws when the file exists but cannot be read: the lab's state is then unknown. */
  entries(): JournalEntry[] {
    const p = journalPath(this.instance);
    if (!existsSync(p)) return [];
    let f: JournalFile;
    try {
      f = JSON.parse(readFileSync(p, 'utf8')) as JournalFile;
    } catch (e) {
      throw new Error(`journal ${p} is unreadable (${(e as Error).message})`);
    }
    if (!f || f.lab !== this.instance || !Array.isArray(f.entries)) throw new Error(`journal ${p} is not the journal of lab ${this.instance}`);
    return f.entries;
  }

  private write(entries: JournalEntry[]): void {
    const p = journalPath(this.instance);
    if (!entries.length) { rmSync(p, { force: true }); return; }
    ensurePrivateDir(paths.labs);
    const tmp = `${p}.tmp.${process.pid}`;
    writeFileSync(tmp, JSON.stringify({ version: 1, lab: this.instance, entries } satisfies JournalFile, null, 2), { mode: 0o600 });
    renameSync(tmp, p);
  }

  /** Records a change (with its inverse) about to be applied; returns its id for forget(). */
  record(what: string, inverse: Inverse): string {
    const id = randomBytes(6).toString('hex');
    this.write([...this.entries(), { id, what, run: this.run, pid: process.pid, at: new Date().toISOString(), inverse }]);
    return id;
  }

  /** The change was undone (or never made): drop its entry. */
  forget(id: string): void {
    const all = this.entries();
    const rest = all.filter((e) => e.id !== id);
    if (rest.length !== all.length) this.write(rest);
  }

  remove(): void {
    rmSync(journalPath(this.instance), { force: true });
  }
}

/** The inverse of an applied change (impair.ts Undo). */
type Undo = () => Promise<void>;

/**
 * Write-ahead around one change: records `inverse`, applies, and returns an Undo that also forgets the
 * record. When applying fails, the inverse is run at once (`replay`); the record stays if that fails too.
 */
export async function journaled(journal: Journal, what: string, inverse: Inverse, replay: (inv: Inverse) => Promise<void>, apply: () => Promise<Undo>): Promise<Undo> {
  const id = journal.record(what, inverse);
  let undo: Undo;
  try {
    undo = await apply();
  } catch (e) {
    try { await replay(inverse); journal.forget(id); } catch { /* kept: recovery runs it again */ }
    throw e;
  }
  return async () => { await undo(); journal.forget(id); };
}
