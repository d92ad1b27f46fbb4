// Owns the ledger: one JSON file per lab under <state>/labs/ recording what a run is about to create
// (written before each creation, so a SIGKILLed run is still fully known) and how to reach its nodes.
// Must not create or delete lab resources itself.
import { pidAlive } from '../setup/lock.js';
import { mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Lab } from '../topology/types.js';
import type { NodeHandle } from '../runtime/types.js';
import { paths } from '../setup/paths.js';
import { UserError } from '../util/errors.js';
import type { ManagementState } from './management.js';
import type { MachineRecord } from '../machines/lab.js';

export interface LedgerData {
  version: 1;
  lab: string;
  run: string;
  pid: number;                         // process that ran `up`
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
  return join(paths.labs, `${lab}.json`);
}

export class Ledger {
  /** A ledger made by create() has not claimed its file yet; read() ones have. */
  private claimed: boolean;
  constructor(public data: LedgerData, claimed = true) { this.claimed = claimed; }

  static create(topology: Lab, run: string): Ledger {
    return new Ledger({
      version: 1, lab: topology.name, run, pid: process.pid, state: 'creating', startedAt: new Date().toISOString(),
      file: topology.file, topology, handles: {}, hostIfs: [], bridges: [], namespaces: [], containers: [],
    }, false);
  }

  static read(lab: string): Ledger | undefined {
    try {
      return new Ledger(JSON.parse(readFileSync(ledgerPath(lab), 'utf8')) as LedgerData);
    } catch {
      return undefined;
    }
  }

  static all(): Ledger[] {
    let names: string[] = [];
    try { names = readdirSync(paths.labs).filter((f) => f.endsWith('.json')); } catch { return []; }
    return names.map((f) => Ledger.read(f.slice(0, -5))).filter((l): l is Ledger => !!l);
  }

  /** The first save claims the lab name exclusively (two runs starting the same lab: one wins);
   *  later saves are atomic (tmp + rename), so a crash never leaves half a ledger. */
  save(): void {
    mkdirSync(paths.labs, { recursive: true });
    const p = ledgerPath(this.data.lab);
    if (!this.claimed) {
      try {
        writeFileSync(p, JSON.stringify(this.data, null, 2), { flag: 'wx' });
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
        throw new UserError(`cannot start lab ${this.data.lab} (another run is starting or running it)`, `\`tsunagari status ${this.data.lab}\``);
      }
      this.claimed = true;
      return;
    }
    writeFileSync(`${p}.tmp.${process.pid}`, JSON.stringify(this.data, null, 2));
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

/** Is the process that wrote a ledger still running? */
export const alive = pidAlive;
