// Owns removing labs: exactly one lab (`down`) or everything tsunagari left anywhere (`cleanup`),
// found by label (discover.ts) and by the ledger's write-ahead records. Never touches unlabelled
// containers, bridges, interfaces or namespaces that no ledger of ours names.
import type { Context } from './context.js';
import { discoverLab, labsIn, type Found } from './discover.js';
import { Ledger } from './ledger.js';
import { deleteHostIfs, hostIfDetails, waitHostIfsGone } from '../fabric/host.js';
import { deleteNetnsMany, listNetns } from '../runtime/netns.js';
import { closeProbeAgents } from '../probes/runner-client.js';
import { removeLabFiles } from './services.js';
import { remoteCount, remoteOf, removeRemote, retireIdleMachines } from '../machines/lab.js';
import { restoreDevices } from '../devices/snapshot.js';

export interface TeardownResult { lab: string; removed: { containers: number; namespaces: number; bridges: number; interfaces: number }; skipped: string[]; }

export async function teardown(ctx: Context, lab: string, o: { ledger?: Ledger } = {}): Promise<TeardownResult> {
  const ledger = o.ledger ?? Ledger.read(lab);
  if (ledger) { ledger.data.state = 'removing'; ledger.save(); }
  // With a ledger we know which engines the lab used; without one, look everywhere.
  const topo = ledger?.data.topology;
  const found = await discoverLab(ctx, lab, {
    docker: topo ? topo.nodes.some((n) => n.runtime === 'docker') || ledger!.data.containers.length > 0 : undefined,
    ovs: topo ? topo.switches.length > 0 || ledger!.data.bridges.length > 0 : undefined,
  });
  const result = await removeFound(ctx, found, ledger ? [ledger] : [], [lab]);
  removeLabFiles(lab);   // logs and control sockets of netns services (their processes died with the namespaces)
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
  const bridgeNames = new Set(found.bridges.map((b) => b.name));
  for (const l of ledgers) for (const b of l.data.bridges) bridgeNames.add(b);
  if (found.bridges.length || found.ports.length || ledgers.some((l) => l.data.bridges.length)) {
    const ovs = await ctx.ovs();
    await ovs.delBridges([...bridgeNames]);
    // Ports of deleted bridges are gone already (--if-exists); this catches ports on foreign bridges.
    await ovs.delPorts(found.ports.map((p) => p.name));
  }
  // Host interfaces: labelled ones, and ones a ledger recorded (created before their label was set).
  const present = await hostIfDetails();
  const ifs = new Set(found.hostIfs.map((i) => i.name));
  for (const l of ledgers) for (const n of l.data.hostIfs) if (present.has(n)) ifs.add(n);
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
  for (const l of ledgers) for (const n of l.data.namespaces) if (nsPresent.has(n)) ns.add(n);
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

/** Removes everything any tsunagari run left behind on this machine. */
export async function cleanupAll(ctx: Context, o: { only?: (lab: string) => boolean } = {}): Promise<TeardownResult[]> {
  const found = await discoverLab(ctx, undefined);
  const results: TeardownResult[] = [];
  // `only`: tests on a shared machine restrict the same procedure to their own labs.
  for (const lab of labsIn(found).filter((l) => !o.only || o.only(l))) {
    const only = (x: { lab: string }): boolean => x.lab === lab;
    const part: Found = {
      ...found,
      containers: found.containers.filter(only), namespaces: found.namespaces.filter(only),
      bridges: found.bridges.filter(only), ports: found.ports.filter(only), hostIfs: found.hostIfs.filter(only),
      ledgers: found.ledgers.filter((l) => l.data.lab === lab),
      remote: found.remote.map((r) => remoteOf(r, lab)),
    };
    const r = await removeFound(ctx, part, part.ledgers, [lab]);
    removeLabFiles(lab);
    for (const l of part.ledgers) l.remove();
    results.push({ lab, ...r });
  }
  // Other machines with nothing of any lab on them: their agent and registry entry go too.
  await retireIdleMachines(ctx, found.remote.filter((r) => remoteCount(r) === 0));
  return results;
}
