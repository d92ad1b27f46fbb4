// Owns the labs of one test run: a lab named by a scenario is found in the project's topologies/,
// brought up once, shared by every scenario that names it, and torn down when the run ends. A lab
// that is already up with the same topology (e.g. `tsunagari up` while writing features) is reused
// and left up. Must not import Cucumber.
import { existsSync, readdirSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { loadTopology } from '../topology/load.js';
import type { Lab } from '../topology/types.js';
import { UserError, knownList } from '../util/errors.js';
import { Context } from '../lab/context.js';
import { up, type Progress } from '../lab/up.js';
import { teardown } from '../lab/down.js';
import { Ledger, alive } from '../lab/ledger.js';
import { openLab, type RunningLab } from '../lab/running.js';
import { pendingRollbacks, rollbackPending, restoreDevices } from '../devices/snapshot.js';
import { nodeSessionFactory } from '../devices/transport.js';
import { applyProfile, chosenProfile, looksLikeInventory, EMULATED } from '../topology/inventory.js';

export interface PoolOptions {
  projectDir: string;               // the user's project (cwd of the run)
  topologiesDir?: string;           // default <project>/topologies, or $TSUNAGARI_TOPOLOGIES
  /** Profile: `emulated` (default) or the name of inventories topologies/<lab>.<profile>.yaml; else $TSUNAGARI_PROFILE. */
  profile?: string;
  log?: (line: string) => void;
}

interface Entry { promise: Promise<RunningLab>; ownedByRun: boolean; file: string; }

export class LabPool {
  readonly ctx: Context;
  readonly dir: string;
  readonly profile: string;
  private labs = new Map<string, Entry>();
  private log: (line: string) => void;
  private stopped = false;

  constructor(readonly opts: PoolOptions) {
    this.log = opts.log ?? (() => {});
    this.ctx = new Context((l) => { if (!/: reusing /.test(l)) this.log(l); });
    this.dir = resolve(opts.projectDir, opts.topologiesDir ?? process.env.TSUNAGARI_TOPOLOGIES ?? 'topologies');
    this.profile = chosenProfile(opts.profile);
  }

  /** The lab as this run's profile has it (the inventory applied), from its topology file. */
  async findLab(name: string): Promise<{ file: string; lab: Lab }> {
    const { file, lab } = await this.findTopology(name);
    if (this.profile === EMULATED) return { file, lab };
    return { file, lab: applyProfile(lab, this.profile, existsSync) };
  }

  /** topologies/<name>.yaml, or the file in topologies/ whose `name:` is the lab name. */
  async findTopology(name: string): Promise<{ file: string; lab: Lab }> {
    const direct = ['.yaml', '.yml'].map((e) => join(this.dir, `${name}${e}`)).find((f) => existsSync(f));
    if (direct) {
      const lab = await loadTopology(relative(process.cwd(), direct) || direct);
      if (lab.name !== name) {
        throw new UserError(`cannot use ${relative(process.cwd(), direct)} for lab ${name} (its name: is ${lab.name})`, `rename the file or set name: ${name}`);
      }
      return { file: direct, lab };
    }
    let files: string[] = [];
    try { files = readdirSync(this.dir).filter((f) => /\.ya?ml$/.test(f) && !looksLikeInventory(f)); } catch { /* no folder */ }
    const names: string[] = [];
    for (const f of files) {
      try {
        const lab = await loadTopology(relative(process.cwd(), join(this.dir, f)));
        if (lab.name === name) return { file: join(this.dir, f), lab };
        names.push(lab.name);
      } catch { names.push(f.replace(/\.ya?ml$/, '')); }
    }
    throw new UserError(`unknown lab ${name}; known: ${knownList(names)}`,
      files.length ? `labs are the topology files in ${relative(process.cwd(), this.dir) || '.'}/` : `put ${name}.yaml into ${relative(process.cwd(), this.dir) || this.dir}/`);
  }

  /** The lab, up; `first` is true for the scenario that caused it to come up in this run. */
  async ensure(name: string, progress?: (p: Progress) => void): Promise<{ running: RunningLab; first: boolean }> {
    if (this.stopped) throw new UserError(`cannot bring lab ${name} up (the run is being stopped)`);
    const known = this.labs.get(name);
    if (known) return { running: await known.promise, first: false };
    // Owned (torn down at the end) only once this run starts creating it: never a lab it found up.
    const entry: Entry = { promise: Promise.resolve(null as unknown as RunningLab), ownedByRun: false, file: '' };
    entry.promise = (async () => {
      const { file, lab } = await this.findLab(name);
      entry.file = file;
      const existing = Ledger.read(name);
      if (existing) {
        const d = existing.data;
        if (d.state === 'up' && isDeepStrictEqual(d.topology, JSON.parse(JSON.stringify(lab)))) {
          this.log(`lab ${name}: reusing the lab that is already up (run ${d.run}); it stays up after the tests`);
          const running = openLab(this.ctx, name);
          // A run killed in the middle of a scenario left router configs changed: put them back first.
          if (pendingRollbacks(name).length) {
            for (const r of await rollbackPending(running, (n) => nodeSessionFactory(running, n))) {
              this.log(`lab ${name}: ${r.node}: ${r.message}`);
              if (!r.ok) throw new UserError(`cannot reuse lab ${name} (${r.node} could not be rolled back: ${r.message})`, `\`tsunagari down ${name}\` and run again`);
            }
          }
          return running;
        }
        if (d.state !== 'up' && alive(d.pid) && d.pid !== process.pid) {
          throw new UserError(`cannot start lab ${name} (another run, pid ${d.pid}, is ${d.state === 'creating' ? 'starting' : 'removing'} it)`, 'wait for it, or stop it');
        }
        if (d.state === 'up') {
          const upWith = (d.topology as { profile?: { name: string } }).profile?.name ?? EMULATED;
          const wants = lab.profile?.name ?? EMULATED;
          throw new UserError(upWith !== wants
            ? `cannot start lab ${name} with profile ${wants} (it is up with profile ${upWith}, started by run ${d.run})`
            : `cannot start lab ${name} (it is up with a different topology than ${relative(process.cwd(), file)})`, `\`tsunagari down ${name}\` first`);
        }
        this.log(`lab ${name}: removing what an interrupted run (${d.run}) left behind`);
        await teardown(this.ctx, name);
      }
      // A killed run may have left its changes on the profile's external devices: put them back first.
      for (const r of await restoreDevices(name)) {
        this.log(`lab ${name}: external device ${r.node}: ${r.message}`);
        if (!r.ok) throw new UserError(`cannot start lab ${name} (external device ${r.node} could not be restored: ${r.message})`, '`tsunagari cleanup` once the device is reachable');
      }
      this.log(`lab ${name}: bringing up ${relative(process.cwd(), file)}${lab.profile ? ` with profile ${lab.profile.name} (${relative(process.cwd(), lab.profile.file)}; external: ${(lab.external ?? []).map((x) => x.name).join(', ') || 'none'})` : ''} …`);
      entry.ownedByRun = true;
      const r = await up(this.ctx, lab, { progress });
      this.log(`lab ${name}: up in ${(r.ms / 1000).toFixed(1)} s`);
      return openLab(this.ctx, name);
    })();
    this.labs.set(name, entry);
    // A lab that failed to come up stays failed for this run: later scenarios report the same cause at
    // once instead of trying (and unwinding) again.
    entry.promise = entry.promise.catch((e: Error) => {
      throw new UserError(`lab ${name} could not be brought up in this run: ${e.message}`);
    });
    return { running: await entry.promise, first: true };
  }

  /** Tears down every lab this run brought up (not the ones it reused); returns failures.
   *  With `stop`, no lab comes up after this (Ctrl-C: scenarios still running must not restart one). */
  async teardownAll(o: { stop?: boolean } = {}): Promise<string[]> {
    if (o.stop) this.stopped = true;
    const failures: string[] = [];
    for (const [name, e] of [...this.labs].reverse()) {
      this.labs.delete(name);
      if (!e.ownedByRun) continue;
      // A bring-up that failed has unwound what it created; the name may belong to another run now.
      if (!(await e.promise.then(() => true, () => false))) continue;
      try {
        await teardown(this.ctx, name);
        this.log(`lab ${name}: down`);
      } catch (err) {
        failures.push(`lab ${name}: ${(err as Error).message}`);
      }
    }
    return failures;
  }
}
