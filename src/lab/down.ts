// Owns removing labs: exactly one lab instance (`down`), what dead runs left (`cleanup`), or everything
// tsunagari-labelled (`cleanup --all`), found by label (discover.ts) and by the ledger's write-ahead
// records. Removing an instance needs its lease (lab/instance.ts): a lab a live run uses is never
// removed. A name a ledger records is deleted only when it carries this lab's label or none (created,
// not yet labelled when its run died) — never one labelled for another lab or run.
import type { Context } from './context.js';
import { discoverLab, labsIn, type Found } from './discover.js';
import { Ledger } from './ledger.js';
import { deleteHostIfs, hostIfDetails, waitHostIfsGone } from '../fabric/host.js';
import { deleteNetnsMany, listNetns } from '../runtime/netns.js';
import { closeProbeAgents } from '../probes/runner-client.js';
import { removeLabFiles } from './services.js';
import { remoteCount, remoteOf, removeRemote, retireIdleMachines } from '../machines/lab.js';
import { restoreDevices } from '../devices/snapshot.js';
import { isInstanceName } from '../topology/naming.js';
import { heldLease, tryLease, type Lease } from '../util/lease.js';
import { UserError } from '../util/errors.js';
import { Journal } from './journal.js';
import { netnsOwner } from '../runtime/netns.js';
import { mapLimit } from '../util/exec.js';

export interface TeardownResult {
  lab: string;
  removed: { containers: number; namespaces: number; bridges: number; interfaces: number };
  skipped: string[];
  /** cleanup only: left alone because a live run holds it ('in-use') or it is a kept lab that is up ('kept'). */
  left?: 'in-use' | 'kept';
  /** cleanup of a kept lab: what a dead run's journal undid, and what it could not. */
  recovered?: { undone: string[]; failed: string[] };
}

export interface TeardownOptions {
  ledger?: Ledger;
  /** The caller goes on holding the lab's lease (it reuses the name). */
  keepLease?: boolean;
}

/** Removes one lab instance. Takes its lease (fails naming the holder when a live run has it). */
export async function teardown(ctx: Context, lab: string, o: TeardownOptions = {}): Promise<TeardownResult> {
  if (!isInstanceName(lab)) {
    throw new UserError(`invalid lab name ${JSON.stringify(lab).slice(0, 80)}`, 'lab names are 1..24 lowercase letters, digits and \'-\' (a run\'s own copy: <lab>_<n>); `tsunagari status` lists them');
  }
  const lease = heldLease('lab', lab) ?? await tryLease('lab', lab, `tsunagari down`);
  if (!lease) {
    const { holderOf } = await import('./instance.js');
    throw new UserError(`cannot take lab ${lab} down (it is in use by ${holderOf(lab)})`, 'wait for that run to end, or stop it; `tsunagari status` shows the labs');
  }
  try {
    return await teardownHeld(ctx, lab, o.ledger ?? Ledger.read(lab));
  } finally {
    if (!o.keepLease) await lease.release();
  }
}

async function teardownHeld(ctx0: Context, lab: string, ledger: Ledger | undefined): Promise<TeardownResult> {
  if (ledger) { ledger.data.state = 'removing'; ledger.save(); }
  // The engine the lab's containers live on, as its ledger recorded it.
  const ctx = ledger?.data.engine?.docker ? ctx0.onEngine(ledger.data.engine.docker) : ctx0;
  // With a ledger we know which engines the lab used; without one, look everywhere.
  const topo = ledger?.data.topology;
  const found = await discoverLab(ctx, lab, {
    docker: topo ? topo.nodes.some((n) => n.runtime === 'docker') || ledger!.data.containers.length > 0 : undefined,
    ovs: topo ? topo.switches.length > 0 || ledger!.data.bridges.length > 0 : undefined,
  });
  const result = await removeFound(ctx, found, ledger ? [ledger] : [], [lab]);
  removeLabFiles(lab);   // logs and control sockets of netns services (their processes died with the namespaces)
  new Journal(lab).remove();
  ledger?.remove();
  // External devices are never torn down, but what a run changed on them (and did not undo) is put back.
  for (const r of await restoreDevices(lab)) {
    result.skipped.push(r.ok ? `external device ${r.node}: ${r.message}` : `external device ${r.node} was NOT restored (${r.message}); \`tsunagari cleanup\` tries again`);
  }
  return { lab, ...result };
}

async function removeFound(ctx: Context, found: Found, ledgers: Ledger[], labs: string[]): Promise<Omit<TeardownResult, 'lab'>> {
  // Other machines first (docs/machines.md): their VXLAN devices point at ours.
  const remote = await removeRemote(ctx, found.remote, ledgers, labs);
  // Our probe agents in the lab's nodes first: one in a container's namespace would keep it (and its
  // interfaces) alive after the container is gone. Other processes' agents notice by themselves.
  await closeProbeAgents([
    ...ledgers.flatMap((l) => Object.values(l.data.handles).filter((h) => !h.machine).map((h) => h.netnsPath)),
    ...found.namespaces.map((n) => `/run/netns/${n.ref}`),
  ]);
  // OVS first: bridges (with their ports), then labelled ports left on other bridges.
  // Bridges are created with their labels in one OVS transaction: only labelled ones are ours.
  const bridgeNames = new Set(found.bridges.map((b) => b.name));
  if (found.bridges.length || found.ports.length) {
    const ovs = await ctx.ovs();
    await ovs.delBridges([...bridgeNames]);
    // Ports of deleted bridges are gone already (--if-exists); this catches ports on foreign bridges.
    await ovs.delPorts(found.ports.map((p) => p.name));
  }
  // Host interfaces: labelled ones, and ones a ledger recorded (created before their label was set).
  const present = await hostIfDetails();
  const ifs = new Set(found.hostIfs.map((i) => i.name));
  const ours = (l: Ledger, owner: { lab: string } | undefined): boolean => !owner || owner.lab === l.data.lab;
  for (const l of ledgers) for (const n of l.data.hostIfs) if (present.has(n) && ours(l, present.get(n)?.owner)) ifs.add(n);
  for (const b of bridgeNames) ifs.delete(b);
  // A veth whose other end is in a node goes when the node's namespace goes: the kernel removes them
  // in one batch, where `ip link del` pays ≈ 20 ms per device. The rest (VXLAN devices …) go now.
  const withNode = [...ifs].filter((n) => present.get(n)?.kind === 'veth' && present.get(n)?.peerElsewhere);
  await deleteHostIfs([...ifs].filter((n) => !withNode.includes(n)));
  // Containers (their veths go with them), then namespaces.
  if (found.containers.length) {
    const rt = await ctx.dockerRuntime();
    await rt.removeAll(found.containers.map((c) => c.ref));
  }
  const nsPresent = new Set(await listNetns());
  const ns = new Set(found.namespaces.map((n) => n.ref));
  const recorded = ledgers.flatMap((l) => l.data.namespaces.filter((n) => nsPresent.has(n) && !ns.has(n)).map((n) => ({ l, n })));
  await mapLimit(recorded, 8, async ({ l, n }) => { if (ours(l, await netnsOwner(n))) ns.add(n); });
  await deleteNetnsMany([...ns]);
  // The kernel finishes removing a namespace in the background: wait for those veths, bounded, and
  // delete any that stayed (its peer was in a namespace that is not ours to delete).
  await deleteHostIfs(await waitHostIfsGone(withNode, 2000));
  return {
    removed: {
      containers: found.containers.length + remote.containers, namespaces: ns.size,
      bridges: bridgeNames.size + remote.bridges, interfaces: ifs.size + remote.interfaces,
    },
    skipped: found.skipped,
  };
}

export interface CleanupOptions {
  /** Tests on a shared machine restrict the same procedure to their own labs. */
  only?: (lab: string) => boolean;
  /** `cleanup --all`: kept labs too (never a lab a live run holds). */
  all?: boolean;
}

/**
 * Removes what dead runs left on this machine: every instance whose lease is free and that is not a kept
 * lab that is up (`--all`: kept ones too), and labelled resources no ledger explains. A kept lab a dead
 * run was using is put back from its journal (recover.ts) and left up. Labs a live run holds are left alone.
 */
export async function cleanupAll(ctx: Context, o: CleanupOptions = {}): Promise<TeardownResult[]> {
  const found = await discoverLab(ctx, undefined);
  const results: TeardownResult[] = [];
  for (const lab of labsIn(found).filter((l) => !o.only || o.only(l))) {
    const only = (x: { lab: string }): boolean => x.lab === lab;
    const part: Found = {
      ...found,
      containers: found.containers.filter(only), namespaces: found.namespaces.filter(only),
      bridges: found.bridges.filter(only), ports: found.ports.filter(only), hostIfs: found.hostIfs.filter(only),
      ledgers: found.ledgers.filter((l) => l.data.lab === lab),
      remote: found.remote.map((r) => remoteOf(r, lab)),
    };
    const none = { containers: 0, namespaces: 0, bridges: 0, interfaces: 0 };
    // A label read back from Docker, OVS or an ifalias is untrusted: a malformed lab name is removed by
    // reference (its resources are labelled as tsunagari's) but never becomes a path or a lease name.
    const valid = isInstanceName(lab);
    const lease: Lease | undefined = valid ? await tryLease('lab', lab, `tsunagari cleanup`) : undefined;
    if (valid && !lease) { results.push({ lab, removed: none, skipped: [], left: 'in-use' }); continue; }
    try {
      const ledger = part.ledgers[0];
      if (ledger && ledger.data.keep && ledger.data.state === 'up' && !o.all) {
        const { openLab } = await import('./running.js');
        const { recoverLab } = await import('./recover.js');
        const eng = ledger.data.engine?.docker;
        const recovered = await recoverLab(openLab(eng ? ctx.onEngine(eng) : ctx, lab));
        results.push({ lab, removed: none, skipped: [], left: 'kept', recovered });
        continue;
      }
      const eng = ledger?.data.engine?.docker;
      const r = await removeFound(eng ? ctx.onEngine(eng) : ctx, part, part.ledgers, [lab]);
      if (valid) {
        removeLabFiles(lab);
        new Journal(lab).remove();
      }
      for (const l of part.ledgers) l.remove();
      results.push({ lab, ...r });
    } finally {
      await lease?.release();
    }
  }
  // Other machines with nothing of any lab on them: their agent and registry entry go too.
  await retireIdleMachines(ctx, found.remote.filter((r) => remoteCount(r) === 0));
  return results;
}
