// Owns a lab's part on other machines (docs/machines.md): checking them before anything is created (engine
// answers, underlay route), then — called by src/lab/up.ts at each phase, every name recorded in the ledger
// before it is created — nodes through each machine's engine, bridges, veths, VXLAN devices and ports
// through its agent, addresses and routes inside its nodes; and finding and removing all of it again
// (down, cleanup, a killed run: through the ledgers and the machine registry). Must not touch this
// machine's own resources (src/lab/* does).
import type Docker from 'dockerode';
import type { Lab, Node, SwitchLink, VethLink, VxlanLink } from '../topology/types.js';
import type { DiscoveredNode, NodeHandle, Runtime } from '../runtime/types.js';
import type { Owner } from '../lab/labels.js';
import { aliasFor } from '../lab/labels.js';
import type { Ledger } from '../lab/ledger.js';
import type { Context } from '../lab/context.js';
import type { OvsObject, PortSpec } from '../fabric/ovs.js';
import type { HostIf } from '../fabric/host.js';
import { vethLines } from '../fabric/veth.js';
import { switchPortLines, switchPortSpec } from '../fabric/switchport.js';
import { vxlanAddLine, vxlanNodeLine } from '../fabric/vxlan.js';
import { configureNode } from '../fabric/node-config.js';
import { mapLimit, run, sleep, type RunResult } from '../util/exec.js';
import { UserError } from '../util/errors.js';
import { Agent, AGENT_IMAGE, AGENT_LABEL } from './agent.js';
import { RemoteMachine } from './engine.js';
import { RemoteDockerRuntime } from './runtime.js';
import { machineKey, machineLabel, type Machine } from './machine.js';
import { sideMachine } from './placement.js';
import { sliceFor } from './slice.js';
import { expandMachine } from './inventory.js';
import { register, registered, unregister } from './registry.js';

/** What the ledger keeps per machine (write-ahead, like the local lists): names only, no secrets. */
export interface MachineRecord {
  machine: Machine;
  containers: string[];
  bridges: string[];
  hostIfs: string[];
}

type Step = <T>(phase: 'check' | 'node' | 'switch' | 'link' | 'config', name: string, fn: () => Promise<T>) => Promise<T>;

// ------------------------------------------------------------------------------------------ connections

const remotes = new WeakMap<Context, Map<string, RemoteMachine>>();
const runtimes = new WeakMap<RemoteMachine, RemoteDockerRuntime>();

/** The connection to a machine's engine for this context (one per machine). */
export function remoteMachine(ctx: Context, m: Machine): RemoteMachine {
  let map = remotes.get(ctx);
  if (!map) { map = new Map(); remotes.set(ctx, map); }
  const key = JSON.stringify(m);   // everything that decides how to connect (another CA is another client)
  let rm = map.get(key);
  if (!rm) { rm = new RemoteMachine(m); map.set(key, rm); }
  return rm;
}

export function machineOf(machines: Machine[] | undefined, name: string): Machine {
  const m = machines?.find((x) => x.name === name);
  if (!m) throw new Error(`machine ${name} is not among the lab's machines (${(machines ?? []).map((x) => x.name).join(', ') || 'none'})`);
  return m;
}

/** The runtime that runs `node`: this machine's, or the docker runtime of the machine it is placed on
 *  (`machines` with their paths expanded: checkMachines' or the ledger's). */
export async function nodeRuntime(ctx: Context, machines: Machine[] | undefined, node: Node): Promise<Runtime> {
  if (!node.machine) return ctx.runtime(node.runtime);
  const rm = remoteMachine(ctx, machineOf(machines, node.machine));
  let rt = runtimes.get(rm);
  if (!rt) { rt = new RemoteDockerRuntime(rm, () => ctx.docker()); runtimes.set(rm, rt); }
  return rt;
}

/**
 * Runs a program on machine `name` through its agent: in its namespace, or (handle) inside that node's
 * namespace by the node's current pid there. A node that is gone gives `nsenter: …` on stderr.
 */
export async function runOnMachine(ctx: Context, machines: Machine[] | undefined, name: string, argv: string[],
  o: { input?: string; timeoutMs?: number; handle?: NodeHandle } = {}): Promise<RunResult> {
  const rm = remoteMachine(ctx, machineOf(machines, name));
  const agent = await rm.agent(() => ctx.docker());
  let full = argv;
  if (o.handle) {
    const info = o.handle.containerId ? await rm.docker.getContainer(o.handle.containerId).inspect().catch(() => undefined) : undefined;
    if (!info?.State.Running || !info.State.Pid) return { code: 1, stdout: '', stderr: `nsenter: node ${o.handle.node} is not running on machine ${name}` };
    full = ['nsenter', `--net=/proc/${info.State.Pid}/ns/net`, ...argv];
  }
  return agent.run(full, { ...(o.input !== undefined ? { input: o.input } : {}), timeoutMs: o.timeoutMs ?? 30_000 });
}

// ------------------------------------------------------------------------------------------ up

/** This machine's address towards `vtep`: the source address of the route to it. */
async function sourceAddressTo(m: Machine): Promise<string> {
  const r = await run('ip', ['-j', 'route', 'get', m.vtep], { timeoutMs: 5000 });
  const src = r.code === 0 ? (JSON.parse(r.stdout || '[]') as Array<{ prefsrc?: string }>)[0]?.prefsrc : undefined;
  if (!src) {
    throw new UserError(`cannot reach ${machineLabel(m)}'s vtep ${m.vtep} from this machine (${r.code === 0 ? 'no source address' : r.stderr.trim() || 'no route'})`,
      `give local_vtep: for ${m.name}, or add a route to ${m.vtep}`);
  }
  return src;
}

/**
 * Before anything is created: every machine's engine answers (bounded, one clear error), and every
 * address a VXLAN between machines needs is known. Returns the lab with this machine's addresses filled in.
 */
export async function checkMachines(ctx: Context, lab: Lab): Promise<Lab> {
  // Paths expanded now (the ledger and the registry keep them so; cleanup needs no environment).
  const machines = (lab.machines ?? []).map((m) => expandMachine(m));
  if (!machines.length) return lab;
  await Promise.all(machines.map((m) => remoteMachine(ctx, m).ping()));
  const filled = await Promise.all(machines.map(async (m) => ({ ...m, localVtep: m.localVtep ?? await sourceAddressTo(m) })));
  const byName = new Map(filled.map((m) => [m.name, m]));
  const links = lab.links.map((l) => {
    if (l.type !== 'vxlan' || l.a.kind !== 'switch' || l.b.kind !== 'switch') return l;
    const [ma, mb] = [sideMachine(l.a), sideMachine(l.b)];
    if (ma === mb) return l;
    const fix = (s: typeof l.a, on: string | undefined, to: string | undefined): typeof l.a =>
      (s.kind === 'switch' && !on && !s.local && to ? { ...s, local: byName.get(to)!.localVtep! } : s);
    return { ...l, a: fix(l.a, ma, mb), b: fix(l.b, mb, ma) } as VxlanLink;
  });
  return { ...lab, machines: filled, links };
}

export class MachinesUp {
  private readonly slices = new Map<string, Lab>();
  private readonly agents = new Map<string, Agent>();

  constructor(private readonly ctx: Context, private readonly lab: Lab, private readonly ledger: Ledger, private readonly owner: Owner,
    private readonly step: Step) {
    for (const m of lab.machines ?? []) this.slices.set(m.name, sliceFor(lab, m.name));
  }

  get used(): boolean { return this.slices.size > 0; }

  private rec(name: string): MachineRecord {
    const r = this.ledger.data.machines?.find((x) => x.machine.name === name);
    if (!r) throw new Error(`ledger of ${this.lab.name} has no record of machine ${name}`);
    return r;
  }

  private intend(name: string, kind: 'containers' | 'bridges' | 'hostIfs', names: string[]): void {
    const r = this.rec(name);
    for (const n of names) if (!r[kind].includes(n)) r[kind].push(n);
    this.ledger.save();
  }

  /** Registers the machines (registry and ledger) before anything is created there; images and agents. */
  async prepare(): Promise<void> {
    if (!this.used) return;
    this.ledger.data.machines = (this.lab.machines ?? []).map((machine) => ({ machine, containers: [], bridges: [], hostIfs: [] }));
    this.ledger.save();
    await mapLimit([...this.slices.keys()], 4, async (name) => {
      const m = machineOf(this.lab.machines, name);
      await register(m, this.lab.name);
      const rm = remoteMachine(this.ctx, m);
      const slice = this.slices.get(name)!;
      await this.step('check', `machine ${name}: images and agent`, async () => {
        const local = await this.ctx.docker();
        for (const image of new Set(slice.nodes.map((n) => n.image as string))) await rm.ensureImage(local, image);
        this.agents.set(name, await rm.agent(() => this.ctx.docker()));
      });
    });
  }

  /** Nodes of every machine, in parallel (handles go to `handles` and the ledger). */
  async nodes(handles: Record<string, NodeHandle>, parallel = 4): Promise<void> {
    await mapLimit([...this.slices], this.slices.size, async ([name, slice]) => {
      this.intend(name, 'containers', slice.nodes.map((n) => n.container));
      await mapLimit(slice.nodes, parallel, (node) => this.step('node', `${node.name} (on ${name})`, async () => {
        const rt = await nodeRuntime(this.ctx, this.lab.machines, node);
        handles[node.name] = await rt.create(node, this.owner);
        this.ledger.data.handles[node.name] = handles[node.name] as NodeHandle;
        this.ledger.save();
      }));
    });
  }

  /** Bridges, veths, VXLAN devices and OVS ports on every machine. */
  async fabric(handles: Record<string, NodeHandle>): Promise<void> {
    await mapLimit([...this.slices], this.slices.size, async ([name, slice]) => {
      const agent = this.agents.get(name)!;
      const ovs = agent.ovs();
      if (slice.switches.length) {
        this.intend(name, 'bridges', slice.switches.map((s) => s.bridge));
        await this.step('switch', `${slice.switches.map((s) => s.name).join(', ')} (on ${name})`,
          () => ovs.addBridges(this.owner, slice.switches.map((s) => ({ bridge: s.bridge, name: s.name }))));
      }
      const veths = slice.links.filter((l): l is VethLink => l.type === 'veth');
      const sports = slice.links.filter((l): l is SwitchLink => l.type === 'switch');
      const vxlans = slice.links.filter((l): l is VxlanLink => l.type === 'vxlan');
      const vxSides = vxlans.flatMap((l) => [l.a, l.b].flatMap((s) => (s.kind === 'switch' ? [{ l, s }] : [])));
      this.intend(name, 'hostIfs', [...sports.map((l) => l.hostIf), ...vxSides.map((x) => x.s.hostIf)]);
      const h = (n: string): NodeHandle => handles[n] as NodeHandle;
      const mtuOf = (l: SwitchLink): number | undefined =>
        slice.nodes.find((n) => n.name === l.node.node)?.interfaces.find((i) => i.name === l.node.iface)?.mtu;
      const lines = [
        ...veths.flatMap((l) => vethLines(l, h(l.a.node), h(l.b.node))),
        ...sports.flatMap((l) => switchPortLines(l, h(l.node.node), this.owner, mtuOf(l))),
        ...vxSides.flatMap(({ l, s }) => {
          const other = l.a === s ? l.b : l.a;
          const remote = other.kind === 'remote' ? other.address : other.local;
          return [vxlanAddLine(l, s.hostIf, s.local || undefined, remote),
            `link set dev ${s.hostIf} alias "${aliasFor(this.owner, `link:${l.name}`)}"`, `link set dev ${s.hostIf} up`];
        }),
      ];
      if (lines.length) await this.step('link', `${veths.length + sports.length} veth, ${vxSides.length} VXLAN (on ${name})`, () => agent.hostBatch(lines, 'create links'));
      const swByName = new Map(slice.switches.map((s) => [s.name, s]));
      const ports: PortSpec[] = [
        ...sports.map((l) => switchPortSpec(l, swByName.get(l.switch)!)),
        ...vxSides.map(({ l, s }) => ({ bridge: swByName.get(s.switch)!.bridge, port: s.hostIf, name: l.name })),
      ];
      if (ports.length) await this.step('link', `${ports.length} switch ports (on ${name})`, () => ovs.addPorts(this.owner, ports));
    });
  }

  /** Addresses, routes, sysctls and offloads inside every node of every machine (through its agent). */
  async config(handles: Record<string, NodeHandle>): Promise<void> {
    const tasks = [...this.slices].flatMap(([name, slice]) => slice.nodes.map((node) => ({ name, slice, node })));
    await mapLimit(tasks, 4, ({ name, slice, node }) => this.step('config', `${node.name} (on ${name})`, async () => {
      const agent = this.agents.get(name)!;
      const vx = slice.links.flatMap((l) => (l.type === 'vxlan' ? (['a', 'b'] as const).map((s) => vxlanNodeLine(l, s)) : []))
        .filter((x): x is { node: string; line: string } => !!x && x.node === node.name).map((x) => x.line);
      const switchIfs = new Set(slice.links.filter((l): l is SwitchLink => l.type === 'switch' && l.node.node === node.name).map((l) => l.node.iface));
      const pid = (handles[node.name] as NodeHandle).pid as number;
      // nsenter runs ON that machine, into the node's namespace by its pid there.
      await configureNode(node, `/proc/${pid}/ns/net`, vx, switchIfs, (argv, input) => agent.run(argv, { input, timeoutMs: 30_000 }));
    }));
  }
}

// ------------------------------------------------------------------------------------------ discovery

/** What tsunagari left on one other machine (by label), and what ledgers recorded there. */
export interface RemoteFound {
  machine: Machine;
  containers: DiscoveredNode[];
  bridges: OvsObject[];
  ports: OvsObject[];
  hostIfs: HostIf[];
  agent: boolean;
}

/** Machines to look at for `lab` (or every lab): its ledger(s) and the registry. */
export function machinesToCheck(ledgers: Ledger[], lab: string | undefined): Machine[] {
  const all = [
    ...ledgers.filter((l) => !lab || l.data.lab === lab).flatMap((l) => (l.data.machines ?? []).map((r) => r.machine)),
    ...registered().filter((e) => !lab || e.labs.includes(lab)).map((e) => e.machine),
  ];
  const seen = new Map<string, Machine>();
  for (const m of all) if (!seen.has(machineKey(m))) seen.set(machineKey(m), m);
  return [...seen.values()];
}

/** Host interfaces of a machine without an agent: a short-lived container in its namespace lists them. */
async function hostIfsWithoutAgent(docker: Docker): Promise<HostIf[]> {
  if (!(await docker.getImage(AGENT_IMAGE).inspect().catch(() => undefined))) return [];   // nothing of ours was ever there
  const c = await docker.createContainer({
    Image: AGENT_IMAGE, Cmd: ['ip', '-j', 'link', 'show'], Labels: { [AGENT_LABEL]: 'probe' },
    HostConfig: { NetworkMode: 'host', AutoRemove: false },
  });
  try {
    await c.start();
    await Promise.race([c.wait(), new Promise((_, rej) => setTimeout(() => rej(new Error('listing interfaces took over 20 s')), 20_000))]);
    const buf = await c.logs({ stdout: true, stderr: false }) as unknown as Buffer;
    let text = '';
    for (let i = 0; i + 8 <= buf.length;) { const n = buf.readUInt32BE(i + 4); text += buf.subarray(i + 8, i + 8 + n).toString('utf8'); i += 8 + n; }
    const { parseAlias } = await import('../lab/labels.js');
    return (JSON.parse(text || '[]') as Array<{ ifname: string; ifalias?: string }>).flatMap((l) => {
      const o = parseAlias(l.ifalias);
      return o ? [{ name: l.ifname, ...o }] : [];
    });
  } finally {
    await c.remove({ force: true }).catch(() => undefined);
  }
}

/** Everything labelled for `lab` (or any lab) on the given machines; unreachable ones are skipped with the reason. */
export async function discoverRemote(ctx: Context, lab: string | undefined, machines: Machine[]): Promise<{ found: RemoteFound[]; skipped: string[] }> {
  const skipped: string[] = [];
  const found = await mapLimit(machines, 4, async (m): Promise<RemoteFound | undefined> => {
    const rm = remoteMachine(ctx, m);
    try {
      await rm.ping();
      const rt = new RemoteDockerRuntime(rm, () => ctx.docker());
      const containers = await rt.discover(lab);
      const agent = await rm.runningAgent();
      let bridges: OvsObject[] = [];
      let ports: OvsObject[] = [];
      let hostIfs: HostIf[];
      if (agent) {
        ({ bridges, ports } = await agent.ovs().discover(lab));
        hostIfs = (await agent.hostIfs()).flatMap((i) => (i.owner && (!lab || i.owner.lab === lab) ? [i.owner] : []));
      } else {
        hostIfs = (await hostIfsWithoutAgent(rm.docker)).filter((i) => !lab || i.lab === lab);
      }
      return { machine: m, containers, bridges, ports, hostIfs, agent: !!agent };
    } catch (e) {
      skipped.push(`${machineLabel(m)} not checked (${(e as Error).message.split('\n')[0]})`);
      return undefined;
    }
  });
  return { found: found.filter((f): f is RemoteFound => !!f), skipped };
}

export const remoteCount = (f: RemoteFound): number => f.containers.length + f.bridges.length + f.ports.length + f.hostIfs.length;

export function remoteLabs(f: RemoteFound): string[] {
  return [...f.containers, ...f.bridges, ...f.ports, ...f.hostIfs].map((x) => x.lab);
}

/** The part of `f` that belongs to one lab. */
export function remoteOf(f: RemoteFound, lab: string): RemoteFound {
  const only = <T extends { lab: string }>(xs: T[]): T[] => xs.filter((x) => x.lab === lab);
  return { ...f, containers: only(f.containers), bridges: only(f.bridges), ports: only(f.ports), hostIfs: only(f.hostIfs) };
}

// ------------------------------------------------------------------------------------------ removal

export interface RemoteRemoved { containers: number; bridges: number; interfaces: number; }

/**
 * Removes what was found (and what the ledgers recorded) on each machine: bridges and ports, host interfaces,
 * containers; then the machine's agent when nothing of any lab is left there, and the lab's registry entry.
 * An unreachable machine keeps its registry entry, so a later cleanup tries again.
 */
export async function removeRemote(ctx: Context, found: RemoteFound[], ledgers: Ledger[], labs: string[]): Promise<RemoteRemoved> {
  const total: RemoteRemoved = { containers: 0, bridges: 0, interfaces: 0 };
  for (const f of found) {
    const rm = remoteMachine(ctx, f.machine);
    const key = machineKey(f.machine);
    const recs = ledgers.flatMap((l) => (l.data.machines ?? []).filter((r) => machineKey(r.machine) === key));
    const bridgeNames = new Set([...f.bridges.map((b) => b.name), ...recs.flatMap((r) => r.bridges)]);
    const ifNames = new Set([...f.hostIfs.map((i) => i.name), ...recs.flatMap((r) => r.hostIfs)]);
    const needAgent = bridgeNames.size > 0 || ifNames.size > 0 || f.ports.length > 0;
    const agent = needAgent ? (f.agent ? await rm.runningAgent() : undefined) ?? await rm.agent(() => ctx.docker()) : undefined;
    if (agent) {
      const ovs = agent.ovs();
      await ovs.delBridges([...bridgeNames]);
      await ovs.delPorts(f.ports.map((p) => p.name));
      const present = new Set((await agent.hostIfs()).map((i) => i.name));
      for (const b of bridgeNames) ifNames.delete(b);
      await agent.deleteHostIfs([...ifNames].filter((n) => present.has(n)));
    }
    const rt = new RemoteDockerRuntime(rm, () => ctx.docker());
    await rt.removeAll(f.containers.map((c) => c.ref));
    if (agent) {
      // Host ends of the containers' veths go when the kernel has finished removing their namespaces:
      // wait for them (bounded), then delete any that stayed.
      const deadline = Date.now() + 3000;
      let rest = [...ifNames];
      while (rest.length && Date.now() < deadline) {
        const now = new Set((await agent.hostIfs()).map((i) => i.name));
        rest = rest.filter((n) => now.has(n));
        if (rest.length) await sleep(100);
      }
      await agent.deleteHostIfs(rest);
    }
    total.containers += f.containers.length;
    total.bridges += bridgeNames.size;
    total.interfaces += ifNames.size;
    // The agent goes once nothing of any lab is left on the machine.
    const rest = await discoverRemote(ctx, undefined, [f.machine]);
    const left = rest.found[0];
    if (left && remoteCount(left) === 0) {
      await retireIdleMachines(ctx, [left]);
    } else if (left) {
      for (const lab of labs) if (!remoteLabs(left).includes(lab)) await unregister(f.machine, lab);
    }
  }
  return total;
}

/** Machines with nothing of any lab left: their agent is removed and they leave the registry. */
export async function retireIdleMachines(ctx: Context, idle: RemoteFound[]): Promise<void> {
  for (const f of idle) {
    const rm = remoteMachine(ctx, f.machine);
    const a = await rm.runningAgent();
    if (a) await a.remove();
    rm.forgetAgent();
    await unregister(f.machine, undefined);
  }
}
