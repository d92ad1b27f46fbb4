// Owns the ledger: one JSON file per lab instance under <state>/labs/ recording what a run is about to
// create (written before each creation, so a SIGKILLed run is still fully known), how to reach its
// nodes, the engine it lives on and whether it outlives its creator (`keep`: brought up by `tsunagari up`).
// Ledger files are written 0600 (they hold node environments and keys' paths). File names come only from
// well-formed instance names (naming.ts isInstanceName): a name read back from anywhere is untrusted.
// Must not create or delete lab resources itself.
import { readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Lab } from '../topology/types.js';
import type { NodeHandle } from '../runtime/types.js';
import { ensurePrivateDir, paths } from '../setup/paths.js';
import { UserError } from '../util/errors.js';
import { isInstanceName } from '../topology/naming.js';
import { procAlive, procStart, type ProcId } from '../util/proc.js';
import type { ManagementState } from './management.js';
import type { MachineRecord } from '../machines/lab.js';

export interface LedgerData {
  version: 1;
  lab: string;                         // instance name (naming.ts): the lab's name, or `<lab>_<n>` for a run's own copy
  base?: string;                       // the lab's name in its topology file when `lab` is a copy's instance name
  run: string;
  pid: number;                         // process that ran `up`
  pidStart?: string;                   // its start time (util/proc.ts): a reused pid is not the creator
  keep?: boolean;                      // brought up by `tsunagari up`: stays up after its creator exits, until `down`
  engine?: { docker?: string };        // the Docker engine (socket) its containers live on
  state: 'creating' | 'up' | 'removing';
  startedAt: string;
  file: string;
  topology: Lab;                       // the resolved topology, so status/exec/down need no file
  handles: Record<string, NodeHandle>; // node name → handle
  hostIfs: string[];                   // host interfaces about to be / created (ownership also in ifalias)
  bridges: string[];
  namespaces: string[];
  containers: string[];                // container names
  management?: ManagementState;        // labs with managed nodes: client key file, pinned host keys
  machines?: MachineRecord[];          // other machines (how to reach them: paths only) and what is about to be / was created there
}

export function ledgerPath(lab: string): string {
  if (!isInstanceName(lab)) throw new UserError(`invalid lab name ${JSON.stringify(lab).slice(0, 80)}`, 'lab names are 1..24 lowercase letters, digits and \'-\' (a run\'s own copy: <lab>_<n>)');
  return join(paths.labs, `${lab}.json`);
}

export class Ledger {
  /** A ledger made by create() has not claimed its file yet; read() ones have. */
  private claimed: boolean;
  constructor(public data: LedgerData, claimed = true) { this.claimed = claimed; }

  static create(topology: Lab, run: string, o: { keep?: boolean; engine?: { docker?: string } } = {}): Ledger {
    return new Ledger({
      version: 1, lab: topology.name, ...(topology.lab ? { base: topology.lab } : {}), run, pid: process.pid,
      ...(procStart(process.pid) !== undefined ? { pidStart: procStart(process.pid) } : {}), keep: o.keep ?? false,
      ...(o.engine ? { engine: o.engine } : {}), state: 'creating', startedAt: new Date().toISOString(),
      file: topology.file, topology, handles: {}, hostIfs: [], bridges: [], namespaces: [], containers: [],
    }, false);
  }

  static read(lab: string): Ledger | undefined {
    if (!isInstanceName(lab)) return undefined;
    try {
      const d = JSON.parse(readFileSync(ledgerPath(lab), 'utf8')) as LedgerData;
      // A ledger must describe the instance its file is named after.
      return d && d.lab === lab ? new Ledger(d) : undefined;
    } catch {
      return undefined;
    }
  }

  static all(): Ledger[] {
    let names: string[] = [];
    try { names = readdirSync(paths.labs).filter((f) => f.endsWith('.json') && isInstanceName(f.slice(0, -5))); } catch { return []; }
    return names.map((f) => Ledger.read(f.slice(0, -5))).filter((l): l is Ledger => !!l);
  }

  /** The lab's name in its topology file (the instance name for the lab's own instance). */
  get base(): string { return this.data.base ?? this.data.lab; }

  /** The process that created it, as recorded. */
  get creator(): ProcId { return { pid: this.data.pid, ...(this.data.pidStart !== undefined ? { start: this.data.pidStart } : {}) }; }

  /** The first save claims the lab name exclusively (two runs starting the same lab: one wins);
   *  later saves are atomic (tmp + rename), so a crash never leaves half a ledger. */
  save(): void {
    ensurePrivateDir(paths.labs);
    const p = ledgerPath(this.data.lab);
    if (!this.claimed) {
      try {
        writeFileSync(p, JSON.stringify(this.data, null, 2), { flag: 'wx', mode: 0o600 });
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
        throw new UserError(`cannot start lab ${this.data.lab} (another run is starting or running it)`, `\`tsunagari status ${this.data.lab}\``);
      }
      this.claimed = true;
      return;
    }
    writeFileSync(`${p}.tmp.${process.pid}`, JSON.stringify(this.data, null, 2), { mode: 0o600 });
    renameSync(`${p}.tmp.${process.pid}`, p);
  }

  /** Records resources before they are created. */
  intend(kind: 'hostIfs' | 'bridges' | 'namespaces' | 'containers', names: string[]): void {
    for (const n of names) if (!this.data[kind].includes(n)) this.data[kind].push(n);
    this.save();
  }

  remove(): void {
    rmSync(ledgerPath(this.data.lab), { force: true });
  }
}

/** Is the process that wrote a ledger still running (same pid and start time)? */
export function alive(l: Ledger): boolean {
  return procAlive(l.creator);
}
