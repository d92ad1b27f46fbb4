// Owns cutting a placed lab (placement.ts) into what each machine creates: its nodes, the bridges it holds
// (a stretched switch has one on each of its machines, same name), its links — a link crossing machines
// becomes, on each machine, a switch↔remote VXLAN towards the other machine's address, which the existing
// fabric code creates as it is. Pure. Must not create anything.
import type { Lab, Link, VxlanLink, VxlanSide } from '../topology/types.js';
import { sideMachine } from './placement.js';

/** The part of the lab machine `m` (undefined = this machine) creates. Same names and order as the lab. */
export function sliceFor(lab: Lab, m: string | undefined): Lab {
  const nodes = lab.nodes.filter((n) => n.machine === m);
  const mine = new Set(nodes.map((n) => n.name));
  const links: Link[] = [];
  const bridgesHere = new Set(lab.switches.filter((s) => s.machine === m).map((s) => s.name));
  for (const l of lab.links) {
    switch (l.type) {
      case 'switch':
        if (mine.has(l.node.node)) { links.push(l); bridgesHere.add(l.switch); }
        break;
      case 'veth':
        if (mine.has(l.a.node)) links.push(l);
        break;
      case 'vxlan': {
        const v = vxlanHere(l, m, mine);
        if (v) {
          links.push(v);
          for (const s of [v.a, v.b]) if (s.kind === 'switch') bridgesHere.add(s.switch);
        }
        break;
      }
      default:
        // NIC attachments: only on this machine (placement.ts refuses the rest).
        if (m === undefined) links.push(l);
    }
  }
  const switches = lab.switches.filter((s) => bridgesHere.has(s.name));
  const { machines: _m, ...rest } = lab;
  return { ...rest, nodes, switches, links, ...(m === undefined && lab.management ? { management: lab.management } : { management: undefined }) };
}

/** This machine's view of a VXLAN link, or undefined when no end of it is here. */
function vxlanHere(l: VxlanLink, m: string | undefined, mine: ReadonlySet<string>): VxlanLink | undefined {
  const { a, b } = l;
  const at = (s: VxlanSide): boolean => (s.kind === 'node' ? mine.has(s.node) : s.kind === 'switch' ? sideMachine(s) === m : false);
  if (!at(a) && !at(b)) return undefined;
  if (a.kind === 'switch' && b.kind === 'switch' && sideMachine(a) !== sideMachine(b)) {
    // Across machines: our end towards the other machine's address, as a switch↔remote VXLAN.
    const [me, other] = at(a) ? [a, b] : [b, a];
    const { machine: _x, ...side } = me;
    const { underlay: _u, ...rest } = l;
    return { ...rest, a: side, b: { kind: 'remote', address: other.local } };
  }
  const strip = (s: VxlanSide): VxlanSide => { if (s.kind !== 'switch') return s; const { machine: _x, ...r } = s; return r; };
  return { ...l, a: strip(a), b: strip(b) };
}

/** Machines (by name) that hold anything of the lab, besides this one. */
export function machinesOf(lab: Lab): string[] {
  return (lab.machines ?? []).map((m) => m.name).filter((name) => {
    const s = sliceFor(lab, name);
    return s.nodes.length + s.switches.length + s.links.length > 0;
  });
}
