// Owns the labs of one test run (one Cucumber worker): a lab named by a scenario is found in the
// project's topologies/, brought up once as an instance of this run's own (`home-nat_1`, lab/instance.ts),
// shared by every scenario of the run that names it, and torn down when the run ends. A lab that
// `tsunagari up` keeps up from the same topology file is reused instead, leased to this run alone and
// left up (docs/instances.md). Must not import Cucumber.
import { existsSync, readdirSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { loadTopology } from '../topology/load.js';
import type { Lab } from '../topology/types.js';
import { UserError, knownList } from '../util/errors.js';
import { Context } from '../lab/context.js';
import { up, type Progress } from '../lab/up.js';
import { teardown } from '../lab/down.js';
import { Ledger } from '../lab/ledger.js';
import { openLab, type RunningLab } from '../lab/running.js';
import { restoreDevices } from '../devices/snapshot.js';
import { claimCopy, holderOf, singular, waitForLab } from '../lab/instance.js';
import { recoverLab } from '../lab/recover.js';
import { newRunId } from '../lab/labels.js';
import { tryLease, type Lease } from '../util/lease.js';
import { applyProfile, chosenProfile, looksLikeInventory, EMULATED } from '../topology/inventory.js';

export interface PoolOptions {
  projectDir: string;               // the user's project (cwd of the run)
  topologiesDir?: string;           // default <project>/topologies, or $TSUNAGARI_TOPOLOGIES
  /** Profile: `emulated` (default) or the name of inventories topologies/<lab>.<profile>.yaml; else $TSUNAGARI_PROFILE. */
  profile?: string;
  log?: (line: string) => void;
  /** Reuse a lab `tsunagari up` keeps (auto, default) or always bring up copies of our own (never); else $TSUNAGARI_REUSE. */
  reuse?: 'auto' | 'never';
}

interface Entry { promise: Promise<RunningLab>; ownedByRun: boolean; file: string; instance?: string; }

export class LabPool {
  readonly ctx: Context;
  readonly dir: string;
  readonly profile: string;
  private labs = new Map<string, Entry>();
  private log: (line: string) => void;
  private stopped = false;
  /** Leases on kept labs this run reuses (its own copies are leased through up/teardown). */
  private leases = new Map<string, Lease>();
  /** This run's id (in lease notes and journal entries). */
  readonly run = newRunId();
  /** `never` (--fresh): copies of our own even where `tsunagari up` keeps the lab up. */
  readonly reuse: 'auto' | 'never';

  constructor(readonly opts: PoolOptions) {
    this.log = opts.log ?? (() => {});
    this.ctx = new Context((l) => { if (!/: reusing /.test(l)) this.log(l); });
    this.dir = resolve(opts.projectDir, opts.topologiesDir ?? process.env.TSUNAGARI_TOPOLOGIES ?? 'topologies');
    this.profile = chosenProfile(opts.profile);
    const reuse = opts.reuse ?? process.env.TSUNAGARI_REUSE ?? 'auto';
    if (reuse !== 'auto' && reuse !== 'never') throw new UserError(`invalid TSUNAGARI_REUSE ${reuse} (auto or never)`);
    this.reuse = reuse;
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
    const broken: string[] = [];
    for (const f of files) {
      const shown = relative(process.cwd(), join(this.dir, f));
      try {
        const lab = await loadTopology(shown);
        if (lab.name === name) return { file: join(this.dir, f), lab };
        names.push(lab.name);
      } catch (e) {
        // A file that does not load may be the lab asked for: say so, with its first problem.
        broken.push(`${shown} (${(e as Error).message.split('\n')[0]!.replace(`${shown}:`, 'line ')})`);
      }
    }
    if (broken.length) {
      throw new UserError(`unknown lab ${name}; known: ${knownList(names)}; and ${broken.length === 1 ? 'this topology does' : 'these topologies do'} not load, so ${broken.length === 1 ? 'it' : 'one of them'} may be lab ${name}: ${broken.join('; ')}`,
        `fix ${broken.length === 1 ? 'it' : 'them'} (\`tsunagari validate ${relative(process.cwd(), this.dir) || '.'}/*.yaml\`)`);
    }
    throw new UserError(`unknown lab ${name}; known: ${knownList(names)}`,
      files.length ? `labs are the topology files in ${relative(process.cwd(), this.dir) || '.'}/` : `put ${name}.yaml into ${relative(process.cwd(), this.dir) || this.dir}/`);
  }

  /** The lab, up; `first` is true for the scenario that caused it to come up in this run. */
  async ensure(name: string, progress?: (p: Progress) => void): Promise<{ running: RunningLab; first: boolean }> {
    if (this.stopped) throw new UserError(`cannot bring lab ${name} up (the run is being stopped)`);
    const known = this.labs.get(name);
    if (known) return { running: await known.promise, first: false };
    // Owned (torn down at the end) only once this run starts creating it: never a kept lab it reuses.
    const entry: Entry = { promise: Promise.resolve(null as unknown as RunningLab), ownedByRun: false, file: '' };
    entry.promise = (async () => {
      const { file, lab } = await this.findLab(name);
      entry.file = file;
      const reused = this.reuse === 'never' ? undefined : await this.reuseKept(lab, file);
      if (reused) return reused;
      const one = singular(lab);
      let claim: { lab: Lab; lease: Lease };
      if (one) {
        // Bounded whatever the variable says (a typo must not mean "wait forever").
        const w = Number(process.env.TSUNAGARI_LEASE_WAIT ?? 600);
        const wait = (Number.isFinite(w) && w >= 0 ? Math.min(w, 86_400) : 600) * 1000;
        const lease = await waitForLab(lab.name, `run ${this.run}`, wait, this.log, one);
        try {
          const old = Ledger.read(lab.name);
          if (old && old.data.keep && old.data.state === 'up') {
            // Kept by `tsunagari up` and free now: reuse it if it is the same lab (reuseKept refuses otherwise).
            await lease.release();
            const again = this.reuse === 'never' ? undefined : await this.reuseKept(lab, file);
            if (again) return again;
            throw new UserError(`cannot start lab ${name} (\`tsunagari up\` keeps it up, started by run ${old.data.run}; ${one}, so it cannot have a second copy)`, `\`tsunagari down ${name}\` first`);
          }
          if (old) {
            this.log(`lab ${name}: removing what an interrupted run (${old.data.run}) left behind`);
            await teardown(this.ctx, name, { ledger: old, keepLease: true });
          }
          // A killed run may have left its changes on the profile's external devices: put them back first.
          for (const r of await restoreDevices(name)) {
            this.log(`lab ${name}: external device ${r.node}: ${r.message}`);
            if (!r.ok) throw new UserError(`cannot start lab ${name} (external device ${r.node} could not be restored: ${r.message})`, '`tsunagari cleanup` once the device is reachable');
          }
        } catch (e) {
          await lease.release();
          throw e;
        }
        claim = { lab, lease };
      } else {
        claim = await claimCopy(this.ctx, lab, `run ${this.run}`, this.log);
      }
      const inst = claim.lab.name;
      this.log(`lab ${name}: bringing up ${relative(process.cwd(), file)}${inst !== name ? ` as ${inst}` : ''}${lab.profile ? ` with profile ${lab.profile.name} (${relative(process.cwd(), lab.profile.file)}; external: ${(lab.external ?? []).map((x) => x.name).join(', ') || 'none'})` : ''} …`);
      entry.ownedByRun = true;
      entry.instance = inst;
      const r = await up(this.ctx, claim.lab, { progress, lease: claim.lease, keep: false });
      this.log(`lab ${name}: up in ${(r.ms / 1000).toFixed(1)} s`);
      return openLab(this.ctx, inst, { run: this.run });
    })();
    this.labs.set(name, entry);
    // A lab that failed to come up stays failed for this run: later scenarios report the same cause at
    // once instead of trying (and unwinding) again.
    entry.promise = entry.promise.catch((e: Error) => {
      throw new UserError(`lab ${name} could not be brought up in this run: ${e.message}`);
    });
    return { running: await entry.promise, first: true };
  }

  /**
   * The lab's own instance when `tsunagari up` keeps it up from the same topology file and nobody uses it:
   * leased for this run, put back from a dead run's journal first. Undefined: make a copy of our own.
   */
  private async reuseKept(lab: Lab, file: string): Promise<RunningLab | undefined> {
    const name = lab.name;
    const peek = Ledger.read(name);
    if (!peek || !peek.data.keep || peek.data.state !== 'up') return undefined;
    const lease = await tryLease('lab', name, `run ${this.run}`);
    if (!lease) {
      if (singular(lab)) return undefined; // waited for below
      this.log(`lab ${name}: the lab \`tsunagari up\` keeps is in use by ${holderOf(name)}; this run brings up a copy of its own`);
      return undefined;
    }
    try {
      const d = Ledger.read(name)?.data;   // again, now that nobody can change it
      if (!d || !d.keep || d.state !== 'up') { await lease.release(); return undefined; }
      if (!isDeepStrictEqual(d.topology, JSON.parse(JSON.stringify(lab)))) {
        const upWith = d.topology.profile?.name ?? EMULATED;
        const wants = lab.profile?.name ?? EMULATED;
        const why = upWith !== wants ? `it is up with profile ${upWith}, this run wants ${wants}` : `it is up from ${d.file ? relative(process.cwd(), d.file) || d.file : 'another file'} as it was then, not ${relative(process.cwd(), file)} as it is now`;
        await lease.release();
        if (singular(lab)) {
          throw new UserError(`cannot start lab ${name} (${why}; ${singular(lab)}, so it cannot have a second copy)`, `\`tsunagari down ${name}\` first`);
        }
        this.log(`lab ${name}: not reusing the lab \`tsunagari up\` keeps (${why}); this run brings up a copy of its own`);
        return undefined;
      }
      const running = openLab(this.ctx, name, { run: this.run });
      // A run killed in the middle of a scenario left changes: put them back first, or refuse the lab.
      const rec = await recoverLab(running);
      for (const u of rec.undone) this.log(`lab ${name}: ${u}`);
      if (rec.failed.length) {
        throw new UserError(`cannot reuse lab ${name} (an earlier run that died left changes that could not be undone: ${rec.failed.join('; ')})`,
          `\`tsunagari down ${name}\` and run again (or \`tsunagari test --fresh\` for copies of your own)`);
      }
      this.log(`lab ${name}: reusing the lab \`tsunagari up\` keeps (run ${d.run}), leased to this run; it stays up after the tests`);
      this.leases.set(name, lease);
      return running;
    } catch (e) {
      await lease.release();
      throw e;
    }
  }

  /** Tears down every lab this run brought up (not the ones it reused); returns failures.
   *  With `stop`, no lab comes up after this (Ctrl-C: scenarios still running must not restart one). */
  async teardownAll(o: { stop?: boolean } = {}): Promise<string[]> {
    if (o.stop) this.stopped = true;
    const failures: string[] = [];
    for (const [name, e] of [...this.labs].reverse()) {
      this.labs.delete(name);
      const ok = await e.promise.then(() => true, () => false);
      if (!e.ownedByRun) {
        // A kept lab this run leased: every finished scenario undid its changes; a scenario cut short
        // (Ctrl-C, SIGTERM) left its journal, which is undone now. Then the lease goes back.
        if (ok && this.leases.has(name)) {
          const rec = await recoverLab(await e.promise);
          for (const u of rec.undone) this.log(`lab ${name}: ${u}`);
          for (const f of rec.failed) failures.push(`lab ${name}: NOT undone: ${f}`);
        }
        await this.leases.get(name)?.release();
        this.leases.delete(name);
        continue;
      }
      // A bring-up that failed has unwound what it created (and let go of its lease).
      if (!ok || !e.instance) continue;
      try {
        await teardown(this.ctx, e.instance);
        this.log(`lab ${name}: ${e.instance !== name ? `${e.instance} ` : ''}down`);
      } catch (err) {
        failures.push(`lab ${name}: ${(err as Error).message}`);
      }
    }
    return failures;
  }
}
