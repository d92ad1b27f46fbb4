// Owns Open vSwitch bridges and ports through ovs-vsctl, one transaction per batch. Every bridge and port
// tsunagari adds carries external_ids tsunagari-lab/run; discovery and removal only look at those.
// Bridges use the userspace datapath (datapath_type=netdev): this kernel has no openvswitch module.
import { runOk } from '../util/exec.js';
import { OVS_KEY, type Owner } from '../lab/labels.js';
import type { PortVlan } from '../topology/types.js';

export interface BridgeSpec { bridge: string; name: string; }
export interface PortSpec { bridge: string; port: string; name: string; vlan?: PortVlan; }
export interface OvsObject extends Owner { name: string; label: string; }

type OvsJson = { headings: string[]; data: unknown[][] };

function ids(owner: Owner, name: string): string[] {
  return [`external_ids:${OVS_KEY.lab}=${owner.lab}`, `external_ids:${OVS_KEY.run}=${owner.run}`, `external_ids:${OVS_KEY.name}="${name}"`];
}

/** OVSDB map column (["map", [[k, v], …]]) to an object. */
function ovsMap(cell: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (Array.isArray(cell) && cell[0] === 'map') for (const [k, v] of cell[1] as [string, string][]) out[k] = v;
  return out;
}

/**
 * Ports of this machine's bridges with the NICs of profile attachments added (docs/profiles.md). A NIC with
 * `vlan: V` carries the segment tagged V: it becomes a trunk of V only, and every other port of that bridge
 * with no VLAN of its own (node ports, VXLAN ports) an access port of V, so the switch's untagged members and
 * the NIC meet in one VLAN of the bridge. Ports with their own VLAN keep it. The NIC itself is only added.
 */
export function withNicPorts(ports: PortSpec[], nics: Array<{ bridge: string; device: string; name: string; vlan?: number }>): PortSpec[] {
  const tagOf = new Map(nics.flatMap((n) => (n.vlan !== undefined ? [[n.bridge, n.vlan] as const] : [])));
  return [
    ...ports.map((p) => (p.vlan?.vlan === undefined && !p.vlan?.trunk?.length && tagOf.has(p.bridge) ? { ...p, vlan: { vlan: tagOf.get(p.bridge)! } } : p)),
    ...nics.map((n) => ({ bridge: n.bridge, port: n.device, name: n.name, ...(n.vlan !== undefined ? { vlan: { trunk: [n.vlan] } } : {}) })),
  ];
}

/** Runs `ovs-vsctl` with these arguments somewhere else (another machine's agent); resolves with stdout. */
export type VsctlRunner = (argv: string[]) => Promise<string>;

export class Ovs {
  constructor(readonly db: string, private readonly runner?: VsctlRunner) {}

  vsctl(args: string[]): Promise<string> {
    const argv = [`--db=${this.db}`, '--timeout=30', ...args];
    return this.runner ? this.runner(['ovs-vsctl', ...argv]) : runOk('ovs-vsctl', argv, { timeoutMs: 40000 });
  }

  /** Adds all bridges in one transaction; fails (creating none) if any name exists already. */
  async addBridges(owner: Owner, bridges: BridgeSpec[]): Promise<void> {
    if (!bridges.length) return;
    const args: string[] = [];
    for (const b of bridges) {
      args.push('--', 'add-br', b.bridge, '--', 'set', 'bridge', b.bridge, 'datapath_type=netdev', 'fail_mode=standalone',
        ...ids(owner, b.name));
    }
    await this.vsctl(args);
  }

  /** Adds all ports in one transaction, with VLAN access tag or trunk. */
  async addPorts(owner: Owner, ports: PortSpec[]): Promise<void> {
    if (!ports.length) return;
    const args: string[] = [];
    for (const p of ports) {
      const vlan: string[] = [];
      if (p.vlan?.vlan !== undefined) vlan.push(`tag=${p.vlan.vlan}`);
      if (p.vlan?.trunk?.length) vlan.push(`trunks=${p.vlan.trunk.join(',')}`);
      args.push('--', 'add-port', p.bridge, p.port, ...vlan, '--', 'set', 'port', p.port, ...ids(owner, p.name));
    }
    await this.vsctl(args);
  }

  async delBridges(bridges: string[]): Promise<void> {
    if (!bridges.length) return;
    await this.vsctl(bridges.flatMap((b) => ['--', '--if-exists', 'del-br', b]));
  }

  async delPorts(ports: string[]): Promise<void> {
    if (!ports.length) return;
    await this.vsctl(ports.flatMap((p) => ['--', '--if-exists', 'del-port', p]));
  }

  /** Bridges and ports carrying our label (optionally of one lab). */
  async discover(lab?: string): Promise<{ bridges: OvsObject[]; ports: OvsObject[] }> {
    const list = async (table: 'Bridge' | 'Port'): Promise<OvsObject[]> => {
      const out = JSON.parse(await this.vsctl(['--format=json', '--columns=name,external_ids', 'list', table])) as OvsJson;
      const objs: OvsObject[] = [];
      for (const row of out.data) {
        const ext = ovsMap(row[1]);
        const l = ext[OVS_KEY.lab];
        if (!l || (lab && l !== lab)) continue;
        objs.push({ name: String(row[0]), lab: l, run: ext[OVS_KEY.run] ?? '', label: ext[OVS_KEY.name] ?? '' });
      }
      return objs;
    };
    const [bridges, ports] = await Promise.all([list('Bridge'), list('Port')]);
    return { bridges, ports };
  }

  async bridgeExists(name: string): Promise<boolean> {
    const out = await this.vsctl(['list-br']);
    return out.split('\n').includes(name);
  }
}
