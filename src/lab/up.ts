// Owns bringing a resolved topology up: nodes, switches, links, addresses, routes, the kinds' services
// (started and health-checked), start commands — in that order, in parallel where it helps, recording
// every resource in the ledger *before* creating it.
// On any error or abort (Ctrl-C), it unwinds through teardown so no partial lab is left behind.
import type { Lab, NicLink, Node, SwitchLink, VethLink, VxlanLink } from '../topology/types.js';
import type { NodeHandle, Runtime } from '../runtime/types.js';
import { UserError } from '../util/errors.js';
import { mapLimit, run as runProgram } from '../util/exec.js';
import { Ledger, alive } from './ledger.js';
import { heldLease, type Lease } from '../util/lease.js';
import { leaseLab } from './instance.js';
import { newRunId, type Owner } from './labels.js';
import type { Context } from './context.js';
import { teardown } from './down.js';
import { hostBatch, hostIfNames } from '../fabric/host.js';
import { withNicPorts } from '../fabric/ovs.js';
import { vethLines } from '../fabric/veth.js';
import { switchPortLines, switchPortSpec } from '../fabric/switchport.js';
import { createVxlanSwitchSides, vxlanHostIfs, vxlanNamespaces, vxlanNodeLine } from '../fabric/vxlan.js';
import { configureNode } from '../fabric/node-config.js';
import { discoverLab } from './discover.js';
import { listNetns } from '../runtime/netns.js';
import { serviceOf, startService } from './services.js';
import {
  configureManagement, createClientKey, createManagementNetns, installClientKey, managedNodes, managementBridge,
  managementHostIfs, managementLinkLines, managementPorts, readHostKey,
} from './management.js';
import { avoidOtherLabs } from '../topology/management.js';
import { checkMachines, MachinesUp, nodeRuntime } from '../machines/lab.js';
import { sliceFor } from '../machines/slice.js';

export type Phase = 'check' | 'node' | 'switch' | 'link' | 'config' | 'service' | 'exec' | 'ready' | 'unwind';
export interface Progress { phase: Phase; name: string; status: 'start' | 'done' | 'fail'; ms?: number; detail?: string; }

export interface UpOptions {
  progress?: (p: Progress) => void;
  signal?: AbortSignal;
  /** Parallel node creations (Docker on 2 cores gains little past 4). */
  parallel?: number;
  /** Stays up after this process exits, until `tsunagari down` (`tsunagari up`); else it is this process's. */
  keep?: boolean;
  /** The instance's lease, when the caller took it (lab/instance.ts); else up takes it. */
  lease?: Lease;
}

export interface UpResult { lab: Lab; run: string; handles: Record<string, NodeHandle>; ms: number; }

class Aborted extends UserError {
  constructor() { super('lab start-up interrupted; everything it created was removed'); }
}

export async function up(ctx: Context, given: Lab, opts: UpOptions = {}): Promise<UpResult> {
  let lab = given;
  const t0 = Date.now();
  const progress = opts.progress ?? (() => {});
  const step = async <T>(phase: Phase, name: string, fn: () => Promise<T>): Promise<T> => {
    if (opts.signal?.aborted) throw new Aborted();
    const t = Date.now();
    progress({ phase, name, status: 'start' });
    try {
      const v = await fn();
      progress({ phase, name, status: 'done', ms: Date.now() - t });
      return v;
    } catch (e) {
      progress({ phase, name, status: 'fail', ms: Date.now() - t, detail: (e as Error).message });
      throw e;
    }
  };

  // The instance's lease first: nobody else creates, uses or removes it while we hold it.
  const took = !opts.lease && !heldLease('lab', lab.name);
  const lease = opts.lease ?? heldLease('lab', lab.name) ?? await leaseLab(lab.name, opts.keep ? 'tsunagari up' : 'the process that brought it up');
  try {
    await step('check', 'no lab of that name is up', () => assertAbsent(ctx, lab));
  } catch (e) {
    if (took) await lease.release();
    throw e;
  }
  // A management subnet tsunagari chose moves away from other labs' (one from the file stays as written).
  lab = avoidOtherLabs(lab, Ledger.all().filter((l) => l.data.lab !== lab.name).flatMap((l) => l.data.topology.management?.subnet ?? []));
  // Other machines (docs/machines.md): their engines answer, and the addresses between them are known.
  // (The ledger keeps the topology as loaded; what up creates uses the machines with paths and addresses filled in.)
  const placed = lab.machines?.length ? await step('check', `machines ${lab.machines.map((m) => m.name).join(', ')} answer`, () => checkMachines(ctx, lab)) : lab;
  const run = newRunId();
  const owner: Owner = { lab: lab.name, run };
  const engine = here0(placed).nodes.some((n) => n.runtime === 'docker') ? { docker: await ctx.dockerSocket() } : undefined;
  const ledger = Ledger.create(lab, run, { keep: opts.keep ?? false, ...(engine ? { engine } : {}) });
  try {
    ledger.save();
  } catch (e) {
    if (took) await lease.release();
    throw e;
  }

  try {
    // What this machine creates; the rest is created through the other machines' engines and agents.
    const here = placed.machines?.length ? sliceFor(placed, undefined) : lab;
    const remote = new MachinesUp(ctx, placed, ledger, owner, step);
    await step('check', 'host names are free', async () => assertHostNamesFree(here, here.nodes.some((n) => n.runtime === 'docker') ? await ctx.docker() : undefined));
    if (here.links.some((l) => l.type === 'vxlan' && l.b.kind === 'remote')) await step('check', 'VXLAN peers are routable', () => assertRemoteVteps(here));
    await remote.prepare();
    if (lab.management) {
      // The lab's SSH client key, before any node exists (the ledger names the file; down removes it).
      ledger.data.management = { ...createClientKey(lab.name), hostKeys: {} };
      ledger.save();
    }
    const needOvs = here.switches.length > 0 || !!lab.management;
    const [ovs] = await Promise.all([
      needOvs ? ctx.ovs() : undefined,
      here.nodes.some((n) => n.runtime === 'docker') ? ctx.docker() : undefined,
    ]);

    // 1. Nodes, in parallel.
    ledger.intend('containers', here.nodes.filter((n) => n.runtime === 'docker').map((n) => n.container));
    ledger.intend('namespaces', here.nodes.filter((n) => n.runtime === 'netns').map((n) => n.netns));
    const handles: Record<string, NodeHandle> = {};
    await Promise.all([
      mapLimit(here.nodes, opts.parallel ?? 4, (node) => step('node', node.name, async () => {
        const rt = await ctx.runtime(node.runtime);
        handles[node.name] = await rt.create(node, owner);
        ledger.data.handles[node.name] = handles[node.name] as NodeHandle;
        ledger.save();
      })),
      remote.nodes(handles, opts.parallel ?? 4),
    ]);

    // 2. Switches (and the management bridge): one OVS transaction.
    const bridges = [...here.switches.map((s) => ({ bridge: s.bridge, name: s.name })), ...managementBridge(lab)];
    if (ovs && bridges.length) {
      ledger.intend('bridges', bridges.map((b) => b.bridge));
      await step('switch', bridges.map((b) => b.name).join(', '), () => ovs.addBridges(owner, bridges));
    }

    // 3. Links.
    const veths = here.links.filter((l): l is VethLink => l.type === 'veth');
    const sports = here.links.filter((l): l is SwitchLink => l.type === 'switch');
    const vxlans = here.links.filter((l): l is VxlanLink => l.type === 'vxlan');
    const nics = here.links.filter((l): l is NicLink => l.type === 'nic');
    ledger.intend('hostIfs', [...sports.map((l) => l.hostIf), ...vxlans.flatMap(vxlanHostIfs), ...managementHostIfs(lab)]);
    ledger.intend('namespaces', [...vxlans.flatMap(vxlanNamespaces), ...(lab.management ? [lab.management.netns] : [])]);
    if (lab.management) await step('link', `management namespace ${lab.management.netns}`, () => createManagementNetns(lab, owner));
    const h = (n: string): NodeHandle => handles[n] as NodeHandle;
    const nodeByName = new Map(here.nodes.map((n) => [n.name, n]));
    const mtuOf = (l: SwitchLink): number | undefined =>
      nodeByName.get(l.node.node)?.interfaces.find((i) => i.name === l.node.iface)?.mtu;
    const mgmtLines = managementLinkLines(lab, handles, owner);
    if (veths.length || sports.length || mgmtLines.length) {
      const n = veths.length + sports.length + managementHostIfs(lab).length;
      await step('link', `${n} veth`, () => hostBatch([
        ...veths.flatMap((l) => vethLines(l, h(l.a.node), h(l.b.node))),
        ...sports.flatMap((l) => switchPortLines(l, h(l.node.node), owner, mtuOf(l))),
        ...mgmtLines,
      ], 'create veth links'));
    }
    for (const l of vxlans) {
      await step('link', l.name, () => createVxlanSwitchSides(l, owner));
    }
    if (ovs) {
      const swByName = new Map(here.switches.map((s) => [s.name, s]));
      const ports0 = [...sports.map((l) => switchPortSpec(l, swByName.get(l.switch) as (typeof lab.switches)[number])), ...managementPorts(lab)];
      for (const l of vxlans) {
        for (const s of [l.a, l.b]) {
          if (s.kind === 'switch') ports0.push({ bridge: (swByName.get(s.switch) as (typeof lab.switches)[number]).bridge, port: s.hostIf, name: l.name });
        }
      }
      // NICs of this machine cabled to the lab (profile attachments): only added as ports, never changed;
      // a NIC's VLAN is a trunk on it, the bridge's untagged ports join that VLAN (withNicPorts).
      const ports = withNicPorts(ports0, nics.map((l) => ({ bridge: (swByName.get(l.switch) as (typeof lab.switches)[number]).bridge, device: l.device, name: l.name, vlan: l.vlan?.vlan })));
      if (ports.length) await step('link', `${ports.length} switch ports`, () => ovs.addPorts(owner, ports));
    }
    await remote.fabric(handles);

    // 4. Addresses and routes inside each node; VXLAN devices of node↔node links first.
    const nodeVx = new Map<string, string[]>();
    for (const l of vxlans) {
      for (const side of ['a', 'b'] as const) {
        const x = vxlanNodeLine(l, side);
        if (x) nodeVx.set(x.node, [...(nodeVx.get(x.node) ?? []), x.line]);
      }
    }
    await mapLimit(here.nodes, 4, (node) => step('config', node.name, async () => {
      const path = h(node.name).netnsPath;
      await configureNode(node, path, nodeVx.get(node.name) ?? [], new Set(sports.filter((l) => l.node.node === node.name).map((l) => l.node.iface)));
    }));
    await remote.config(handles);
    if (lab.management) {
      const m = lab.management;
      await step('config', `management ${m.subnet}`, () => configureManagement(lab, handles));
      // tsunagari's client key goes in before sshd starts (the service generates the host key).
      await mapLimit(managedNodes(lab), 4, async (node) => {
        await installClientKey(await ctx.runtime(node.runtime), h(node.name), node, ledger.data.management!.clientPublicKey);
      });
    }

    // 5. Services of the kinds (unbound, nsd, the responder): started, then waited for until they answer.
    //    A managed node's host key is pinned as soon as its service (with sshd) is ready, read through the container.
    await mapLimit(lab.nodes.filter((n) => serviceOf(n)), 4, (node) => step('service', `${node.name} (${serviceOf(node)!.server})`, async () => {
      const rt = await nodeRuntime(ctx, placed.machines, node);
      await startService(rt, h(node.name), lab.name, node);
      if (node.management) {
        ledger.data.management!.hostKeys[node.name] = await readHostKey(rt, h(node.name), node);
        ledger.save();
      }
    }));

    // 6. Start commands, nodes in parallel, lines in order.
    await mapLimit(lab.nodes.filter((n) => n.exec.length), 4, (node) => step('exec', node.name, async () => {
      await runStartCommands(await nodeRuntime(ctx, placed.machines, node), node, h(node.name));
    }));

    ledger.data.state = 'up';
    ledger.save();
    // A kept lab is nobody's once it is up; a run's own lab stays leased by this process until its teardown.
    if (opts.keep && took) await lease.release();
    progress({ phase: 'ready', name: lab.name, status: 'done', ms: Date.now() - t0 });
    return { lab, run, handles, ms: Date.now() - t0 };
  } catch (e) {
    progress({ phase: 'unwind', name: lab.name, status: 'start' });
    try {
      await teardown(ctx, lab.name, { ledger });
    } catch (e2) {
      throw new Error(`${(e as Error).message}\nand unwinding failed too: ${(e2 as Error).message}; run \`tsunagari cleanup\``);
    }
    progress({ phase: 'unwind', name: lab.name, status: 'done' });
    throw e;
  }
}

async function runStartCommands(rt: Runtime, node: Node, h: NodeHandle): Promise<void> {
  for (const line of node.exec) {
    const r = await rt.exec(h, ['sh', '-c', line], { timeoutMs: 60000 });
    if (r.code !== 0) {
      const out = (r.stderr || r.stdout).trim().split('\n').slice(-3).join(' | ');
      throw new UserError(`node ${node.name}: start command \`${line}\` failed (exit ${r.code})${out ? `: ${out}` : ''}`,
        'fix the command under `exec:` in the topology');
    }
  }
}

/** What this machine creates of a lab (the rest is on other machines). */
function here0(lab: Lab): Lab {
  return lab.machines?.length ? sliceFor(lab, undefined) : lab;
}

async function assertAbsent(ctx: Context, lab: Lab): Promise<void> {
  const same = Ledger.all().find((l) => l.data.lab !== lab.name && l.data.topology.id === lab.id);
  if (same) {
    throw new UserError(`cannot start lab ${lab.name} (its id ${lab.id} is that of lab ${same.data.lab}, which is up: their interface names would collide)`,
      'rename the lab (`name:` in its topology)');
  }
  const existing = Ledger.read(lab.name);
  if (existing) {
    const how = existing.data.state === 'creating' && !alive(existing)
      ? `an interrupted run ${existing.data.run} left it behind` : `run ${existing.data.run}, started ${existing.data.startedAt}`;
    throw new UserError(`cannot start lab ${lab.name} (it is already up: ${how})`, `\`tsunagari down ${lab.name}\` first`);
  }
  const found = await discoverLab(ctx, lab.name, { docker: lab.nodes.some((n) => n.runtime === 'docker'), ovs: lab.switches.length > 0 || !!lab.management });
  if (found.count > 0) {
    throw new UserError(`cannot start lab ${lab.name} (${found.count} resources of an earlier run are still there)`,
      `\`tsunagari down ${lab.name}\` or \`tsunagari cleanup\``);
  }
}

/** VXLAN towards another machine (a remote VTEP, a profile's uplink): `local` must be ours, `remote` routable. */
async function assertRemoteVteps(lab: Lab): Promise<void> {
  const where = lab.profile ? ` in ${lab.profile.file}${lab.profile.inline ? ` (profiles.${lab.profile.name})` : ''}` : lab.file ? ` in ${lab.file}` : '';
  const addrs = JSON.parse((await runProgram('ip', ['-j', 'addr', 'show'])).stdout || '[]') as Array<{ addr_info?: Array<{ local?: string }> }>;
  const mine = new Set(addrs.flatMap((i) => (i.addr_info ?? []).map((a) => a.local ?? '')));
  for (const l of lab.links) {
    if (l.type !== 'vxlan' || l.b.kind !== 'remote' || l.a.kind !== 'switch') continue;
    if (l.a.local && !mine.has(l.a.local)) {
      throw new UserError(`cannot start lab ${lab.name} (VXLAN ${l.name}: local address ${l.a.local} is not an address of this machine)`, `fix local:${where}, or leave it out to let the kernel choose`);
    }
    const r = await runProgram('ip', ['route', 'get', l.b.address, ...(l.a.local ? ['from', l.a.local] : [])]);
    if (r.code !== 0) {
      throw new UserError(`cannot start lab ${lab.name} (VXLAN ${l.name}: no route to the remote VTEP ${l.b.address}: ${(r.stderr || r.stdout).trim()})`, `check remote:${where} and this machine's routes to it`);
    }
  }
}

/** Host-side names (bridges, ports, VXLAN devices, namespaces) must not exist yet, ours or anybody's. */
async function assertHostNamesFree(lab: Lab, docker?: import('dockerode')): Promise<void> {
  const names = [
    ...lab.switches.map((s) => s.bridge),
    ...lab.links.flatMap((l) => (l.type === 'switch' ? [l.hostIf] : l.type === 'vxlan' ? vxlanHostIfs(l) : [])),
    ...(lab.management ? [lab.management.bridge] : []),
    ...managementHostIfs(lab),
  ];
  // Namespaces (nodes, underlays, management): none may exist, ours or anybody's.
  const nsNow = new Set(await listNetns());
  const nsWanted = [
    ...lab.nodes.filter((n) => n.runtime === 'netns').map((n) => n.netns),
    ...lab.links.flatMap((l) => (l.type === 'vxlan' ? vxlanNamespaces(l) : [])),
    ...(lab.management ? [lab.management.netns] : []),
  ];
  for (const ns of nsWanted) {
    if (nsNow.has(ns)) {
      throw new UserError(`cannot start lab ${lab.name} (network namespace ${ns} already exists on this machine, and it is not this lab's)`,
        '`tsunagari status` shows the labs that are up; `ip netns identify`/`ip netns pids` tell what uses it');
    }
  }
  if (docker) {
    const wanted = new Set(lab.nodes.filter((n) => n.runtime === 'docker').map((n) => n.container));
    const taken = (await docker.listContainers({ all: true })).flatMap((c) => c.Names.map((x) => x.replace(/^\//, ''))).find((x) => wanted.has(x));
    if (taken) {
      throw new UserError(`cannot start lab ${lab.name} (a container named ${taken} already exists on this Docker engine, and it is not this lab's)`,
        '`docker ps -a` shows it; `tsunagari status` shows the labs that are up');
    }
  }
  const existing = await hostIfNames();
  for (const l of lab.links) {
    if (l.type === 'nic' && !existing.has(l.device)) {
      throw new UserError(`cannot start lab ${lab.name} (NIC ${l.device} of attachment ${l.name.replace(/^uplink:/, '')} does not exist on this machine)`,
        `fix nic.device in ${lab.profile?.file ?? 'the inventory'}; \`ip -br link\` lists the NICs`);
    }
  }
  for (const n of names) {
    if (existing.has(n)) {
      throw new UserError(`cannot start lab ${lab.name} (interface ${n} already exists on this machine)`,
        'another lab with a colliding id may be up; `tsunagari status` shows the labs');
    }
  }
}

