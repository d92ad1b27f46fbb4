// Owns which instance of a lab a caller gets (docs/instances.md). Every instance is held through a lease
// (util/lease.ts) while a process uses it: `up` holds it while creating, a test run for its whole life.
// - the lab's own instance (`home-nat`): what `tsunagari up` brings up and keeps (`keep`), reused by test
//   runs from the same topology file, one run at a time;
// - a run's own copy (`home-nat_1`, `home-nat_2` …): created and removed by that run;
// - a lab with parts outside its own names (external devices, NICs, remote VTEPs, other machines) has only
//   its own instance: a second run waits for it, bounded.
// An instance whose lease is free and that is not a kept lab that is up is dead: whoever takes its lease
// may remove it. Must not import Cucumber.
import type { Lab } from '../topology/types.js';
import { instanceName, labId } from '../topology/naming.js';
import { instantiate } from '../topology/instance.js';
import { describeHolder, leaseHeld, tryLease, waitLease, type Lease } from '../util/lease.js';
import { UserError } from '../util/errors.js';
import { Ledger } from './ledger.js';
import type { Context } from './context.js';
import { teardown } from './down.js';

/** At most this many copies of one lab on a machine. */
export const MAX_COPIES = 200;

/** Why this lab can have only its own instance (undefined: it can have copies). */
export function singular(lab: Lab): string | undefined {
  if (lab.external?.length) return `its profile ${lab.profile?.name ?? ''} has external devices (${lab.external.map((x) => x.name).join(', ')})`;
  if (lab.machines?.length) return `it has nodes on other machines (${lab.machines.map((m) => m.name).join(', ')})`;
  const nic = lab.links.find((l) => l.type === 'nic');
  if (nic && nic.type === 'nic') return `it joins this machine's NIC ${nic.device} (link ${nic.name})`;
  const vx = lab.links.find((l) => l.type === 'vxlan' && (l.a.kind === 'remote' || l.b.kind === 'remote'));
  if (vx) return `its VXLAN ${vx.name} has a fixed remote VTEP`;
  return undefined;
}

export type Standing = 'in-use' | 'kept' | 'dead';

/** In use (its lease is held), kept (`tsunagari up`, up, nobody using it), or dead (anything else). */
export async function standing(l: Ledger): Promise<Standing> {
  if (await leaseHeld('lab', l.data.lab)) return 'in-use';
  return l.data.keep && l.data.state === 'up' ? 'kept' : 'dead';
}

/** "in use by run … (pid …)" for messages. */
export function holderOf(instance: string): string {
  return describeHolder('lab', instance);
}

/** Takes the lease of an instance, or fails naming its holder. */
export async function leaseLab(instance: string, what: string): Promise<Lease> {
  const l = await tryLease('lab', instance, what);
  if (!l) {
    throw new UserError(`lab ${instance} is in use by ${holderOf(instance)}`, 'wait for that run to end (or stop it); `tsunagari status` shows the labs');
  }
  return l;
}

/** Waits (bounded) for the lease of an instance; fails naming its holder when it stayed taken. */
export async function waitForLab(instance: string, what: string, timeoutMs: number, log: (l: string) => void, why: string): Promise<Lease> {
  const l = await waitLease('lab', instance, what, timeoutMs, () =>
    log(`lab ${instance}: in use by ${holderOf(instance)}; waiting up to ${Math.round(timeoutMs / 1000)} s for it (${why}, so it cannot have a second copy)`));
  if (!l) {
    throw new UserError(`cannot use lab ${instance} (still in use by ${holderOf(instance)} after ${Math.round(timeoutMs / 1000)} s; ${why}, so it cannot have a second copy)`,
      'run the two jobs one after the other, or raise TSUNAGARI_LEASE_WAIT (seconds)');
  }
  return l;
}

/** Is an instance id already used by another instance on this machine? */
function idTaken(instance: string): boolean {
  const id = labId(instance);
  return Ledger.all().some((l) => l.data.lab !== instance && l.data.topology.id === id);
}

/**
 * A copy of the lab of the caller's own: the first `<lab>_<n>` whose lease is free, with what a dead run
 * left under that name removed first. Returns the lab renamed to it, and its lease (held).
 */
export async function claimCopy(ctx: Context, lab: Lab, what: string, log: (l: string) => void): Promise<{ lab: Lab; lease: Lease }> {
  for (let n = 1; n <= MAX_COPIES; n++) {
    const inst = instanceName(lab.name, n);
    const lease = await tryLease('lab', inst, what);
    if (!lease) continue;
    try {
      const old = Ledger.read(inst);
      if (old) {
        log(`lab ${inst}: removing what an earlier run (${old.data.run}, no longer running) left behind`);
        await teardown(ctx, inst, { ledger: old, keepLease: true });
      }
      if (idTaken(inst)) { await lease.release(); continue; }
      return { lab: instantiate(lab, inst), lease };
    } catch (e) {
      await lease.release();
      throw e;
    }
  }
  throw new UserError(`cannot start another copy of lab ${lab.name} (${MAX_COPIES} copies are in use on this machine)`, '`tsunagari status` shows them; `tsunagari cleanup` removes dead ones');
}
