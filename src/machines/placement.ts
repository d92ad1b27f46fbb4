// Owns placing a resolved lab's nodes and switches on other machines (a profile's `machines:` and
// `placement:`; docs/machines.md) — pure: checks what cannot be placed (one message each, naming the node or
// link and the fix) and rewrites the links that now cross machines:
//   - a switch whose members sit on several machines is stretched: one bridge (same name) per machine,
//     joined to the bridge on the switch's own machine by a VXLAN link `<switch>@<machine>` over the
//     machines' underlay addresses (a star: no loops);
//   - a switch↔switch VXLAN whose ends are on two machines uses the machines' underlay addresses instead
//     of a private underlay on this machine.
// Must not connect anywhere, nor touch Docker/OVS.
import type { Lab, Link, Node, Switch, VxlanLink, VxlanSide } from '../topology/types.js';
import { knownList } from '../util/errors.js';
import { isIP } from 'node:net';
import { stretchPortName } from '../topology/naming.js';
import type { Machine } from './machine.js';

/** A problem at a path of the inventory (`['placement', 'b2']`, `['machines', 'm2', 'vtep']`). */
export interface PlacementProblem { path: (string | number)[]; object: string; message: string; }

export interface PlacementInput {
  machines: Machine[];
  /** node or switch name → machine name */
  placement: Record<string, string>;
}

const here = 'this machine';
const where = (m: string | undefined): string => (m ? `machine ${m}` : here);

/** VNI of the VXLAN stretching switch #si to machine #mi: deterministic per lab, clear of the lab's own. */
export function stretchVni(labId: string, si: number, mi: number, used: ReadonlySet<number>): number {
  let v = 0x800000 | ((parseInt(labId, 16) & 0x3fff) << 9) | ((si & 0x3f) << 3) | (mi & 0x7);
  while (used.has(v)) v = v >= 0xffffff ? 0x800000 : v + 1;
  return v;
}

export function applyPlacement(lab: Lab, input: PlacementInput): { lab: Lab; problems: PlacementProblem[] } {
  const problems: PlacementProblem[] = [];
  const byName = new Map(input.machines.map((m) => [m.name, m]));
  const nodeNames = new Set(lab.nodes.map((n) => n.name));
  const switchNames = new Set(lab.switches.map((s) => s.name));
  const external = new Set((lab.external ?? []).map((x) => x.name));

  for (const m of input.machines) {
    if (!isIP(m.vtep)) problems.push({ path: ['machines', m.name, 'vtep'], object: `machine ${m.name}`, message: `vtep ${JSON.stringify(m.vtep)} is not an IP address` });
    if (m.localVtep !== undefined && !isIP(m.localVtep)) {
      problems.push({ path: ['machines', m.name, 'local_vtep'], object: `machine ${m.name}`, message: `local_vtep ${JSON.stringify(m.localVtep)} is not an IP address` });
    }
  }
  const place = new Map<string, string>();
  for (const [name, machine] of Object.entries(input.placement)) {
    const p = ['placement', name];
    if (external.has(name)) {
      problems.push({ path: p, object: `placement of ${name}`, message: `${name} is an external device of this profile; only nodes and switches tsunagari creates can be placed` });
      continue;
    }
    if (!nodeNames.has(name) && !switchNames.has(name)) {
      problems.push({ path: p, object: `placement of ${name}`, message: `unknown node or switch ${name}; known: ${knownList([...nodeNames, ...switchNames])}` });
      continue;
    }
    if (!byName.has(machine)) {
      problems.push({ path: p, object: `placement of ${name}`, message: `machine ${machine} is not declared under machines:; known: ${knownList(byName.keys())}` });
      continue;
    }
    place.set(name, machine);
  }

  // Nodes that cannot run on another machine.
  const nodes: Node[] = lab.nodes.map((n) => {
    const m = place.get(n.name);
    if (!m) return n;
    const p = ['placement', n.name];
    const o = `node ${n.name}`;
    if (n.runtime !== 'docker') {
      problems.push({ path: p, object: o, message: `a ${n.runtime} node (a bare network namespace of this machine) cannot be placed on machine ${m}; hint: give ${n.name} runtime: docker in the topology, or leave it unplaced` });
    }
    if (n.management) {
      problems.push({ path: p, object: o, message: `managed nodes (kind ${n.kind}: SSH from this machine's management network) cannot be placed on machine ${m} yet; hint: leave ${n.name} unplaced` });
    }
    const mounted = n.files.find((f) => f.mode === 'mount');
    if (mounted) {
      problems.push({ path: p, object: o, message: `file ${mounted.dst} is mounted from this machine (mode: mount), which machine ${m} cannot see; hint: use mode: copy` });
    }
    return { ...n, machine: m };
  });
  const nodeMachine = new Map(nodes.map((n) => [n.name, n.machine]));
  const switches: Switch[] = lab.switches.map((s) => (place.has(s.name) ? { ...s, machine: place.get(s.name) } : s));
  const switchHome = new Map(switches.map((s) => [s.name, s.machine]));

  /** The address a side on machine `on` uses towards machine `to` (undefined = here; '' = chosen at up). */
  const addrOn = (on: string | undefined, to: string | undefined): string =>
    on ? byName.get(on)?.vtep ?? '' : (to ? byName.get(to)?.localVtep ?? '' : '');

  const links: Link[] = [];
  for (const l of lab.links) {
    if (l.type === 'veth') {
      const [ma, mb] = [nodeMachine.get(l.a.node), nodeMachine.get(l.b.node)];
      if (ma !== mb) {
        problems.push({ path: ['placement', mb ? l.b.node : l.a.node], object: `link ${l.name}`, message: `a veth cannot cross machines (node ${l.a.node} is on ${where(ma)}, node ${l.b.node} on ${where(mb)}); hint: join them through a switch (it is stretched between the machines), or place both on the same machine` });
      }
      links.push(l);
      continue;
    }
    if (l.type === 'nic') {
      const m = switchHome.get(l.switch);
      if (m) problems.push({ path: ['placement', l.switch], object: `switch ${l.switch}`, message: `switch ${l.switch} has an attachment to NIC ${l.device} of this machine (${l.name}), so it cannot be placed on machine ${m}; hint: leave ${l.switch} unplaced` });
      links.push(l);
      continue;
    }
    if (l.type !== 'vxlan') { links.push(l); continue; }
    const { a, b } = l;
    if (a.kind === 'switch' && b.kind === 'switch') {
      const [ma, mb] = [switchHome.get(a.switch), switchHome.get(b.switch)];
      if (ma === mb) {
        if (ma) problems.push({ path: ['placement', a.switch], object: `link ${l.name}`, message: `both switches of this VXLAN (${a.switch}, ${b.switch}) are on machine ${ma}, which is not supported; hint: place one of them elsewhere, or join them with one switch` });
        links.push(l);
        continue;
      }
      // Across machines: the machines' own addresses, no private underlay.
      const side = (s: typeof a, on: string | undefined, to: string | undefined): VxlanSide => {
        const { underlayNs: _u, ...rest } = s;
        return { ...rest, local: addrOn(on, to), ...(on ? { machine: on } : {}) };
      };
      const { underlay: _x, ...rest } = l;
      links.push({ ...rest, a: side(a, ma, mb), b: side(b, mb, ma) });
      continue;
    }
    const sw = a.kind === 'switch' ? a : b.kind === 'switch' ? b : undefined;
    if (sw && sw.kind === 'switch' && switchHome.get(sw.switch)) {
      const m = switchHome.get(sw.switch) as string;
      if (sw.local) problems.push({ path: ['placement', sw.switch], object: `link ${l.name}`, message: `local ${sw.local} is an address of this machine, but switch ${sw.switch} is on machine ${m}; hint: drop local: (machine ${m} chooses its own source address)` });
      const placed: VxlanSide = { ...sw, machine: m };
      links.push({ ...l, ...(a === sw ? { a: placed } : { b: placed }) });
      continue;
    }
    links.push(l);
  }

  // Stretched switches: a bridge on every machine one of its nodes is on, joined to the switch's own bridge.
  const used = new Set(links.filter((l): l is VxlanLink => l.type === 'vxlan').map((l) => l.vni));
  const machineIndex = (m: string | undefined): number => (m ? input.machines.findIndex((x) => x.name === m) + 1 : 0);
  switches.forEach((s, si) => {
    const home = s.machine;
    const members = new Set<string | undefined>();
    for (const l of links) if (l.type === 'switch' && l.switch === s.name) members.add(nodeMachine.get(l.node.node));
    members.delete(home);
    for (const m of [...members].sort((x, y) => machineIndex(x) - machineIndex(y))) {
      const mi = machineIndex(m);
      const vni = stretchVni(lab.id, si, mi, used);
      used.add(vni);
      const port = stretchPortName(lab.id, si, mi);
      const sideOf = (on: string | undefined, to: string | undefined): VxlanSide =>
        ({ kind: 'switch', switch: s.name, hostIf: port, local: addrOn(on, to), ...(on ? { machine: on } : {}) });
      links.push({
        type: 'vxlan', name: `${s.name}@${m ?? 'here'}`, vni, dstport: 4789, udpChecksum: false,
        a: sideOf(home, m), b: sideOf(m, home), stretch: true,
      });
    }
  });

  if (problems.length) return { lab, problems };
  const used2 = new Set<string>([...place.values()]);
  const machines = input.machines.filter((m) => used2.has(m.name));
  return { lab: { ...lab, nodes, switches, links, ...(machines.length ? { machines } : {}) }, problems };
}

/** Machine of a VXLAN side (undefined = this machine). */
export const sideMachine = (s: VxlanSide): string | undefined => (s.kind === 'switch' ? s.machine : undefined);

/** Does this link run between two machines (so it uses their underlay addresses)? */
export function crossesMachines(l: Link): l is VxlanLink {
  return l.type === 'vxlan' && l.a.kind === 'switch' && l.b.kind === 'switch' && sideMachine(l.a) !== sideMachine(l.b);
}
