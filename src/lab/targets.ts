// Owns turning names users write in scenarios into things of a resolved lab: a probe target (an
// address as is, `node`, `node:iface`) and a link (its name, `a:eth1--b:eth1` either way round, `a:eth1`).
// Pure: reads only the topology (no running lab, no network); unknown names fail listing the known ones.
import { isIP } from 'node:net';
import type { ExternalLink, Lab, Link, Node } from '../topology/types.js';
import { UserError, knownList } from '../util/errors.js';

export interface Target {
  address: string;
  family: 4 | 6;
  /** How to name it in messages: `server (10.0.1.20)`, `server:eth1 (10.0.1.20)` or the address. */
  label: string;
}

function bare(cidr: string): string {
  const slash = cidr.indexOf('/');
  return slash < 0 ? cidr : cidr.slice(0, slash);
}

const famOf = (a: string): 4 | 6 => (a.includes(':') ? 6 : 4);

/** First address of the wanted family (or IPv4, else IPv6) among the given CIDRs. */
function pick(addresses: string[], family?: 4 | 6): string | undefined {
  const plain = addresses.map(bare);
  if (family) return plain.find((a) => famOf(a) === family);
  return plain.find((a) => famOf(a) === 4) ?? plain.find((a) => famOf(a) === 6);
}

const famWord = (family?: 4 | 6): string => (family ? `IPv${family} ` : '');

/**
 * `10.0.1.20`, `fd00::20` → as is; `server` → its first IPv4 on a non-lo interface (else first IPv6);
 * `server:eth1` → that interface's first IPv4 (else IPv6). `family` asks for one family only.
 */
export function resolveTarget(lab: Lab, text: string, family?: 4 | 6): Target {
  const t = text.trim();
  const fam = isIP(t);
  if (fam) {
    if (family && fam !== family) throw new UserError(`cannot use ${t} as an IPv${family} target (it is an IPv${fam} address)`);
    return { address: t, family: fam as 4 | 6, label: t };
  }
  const colon = t.indexOf(':');
  const name = colon < 0 ? t : t.slice(0, colon);
  const node = lab.nodes.find((n) => n.name === name) ?? lab.external?.find((n) => n.name === name);
  if (!node) throw new UserError(`unknown host ${t}; known: ${knownList(hostNames(lab))}`);
  if (colon >= 0) {
    const ifname = t.slice(colon + 1);
    const iface = node.interfaces.find((i) => i.name === ifname);
    if (!iface) throw new UserError(`node ${node.name} has no interface ${ifname}; known: ${knownList(node.interfaces.map((i) => i.name))}`);
    const a = pick(iface.addresses, family);
    if (!a) {
      throw new UserError(`node ${node.name} has no ${famWord(family)}address on interface ${ifname}`,
        `give ${node.name}:${ifname} an ${family === 6 ? 'ipv6' : 'ipv4 or ipv6'} address in the topology, or name another interface`);
    }
    return { address: a, family: famOf(a), label: `${node.name}:${ifname} (${a})` };
  }
  const a = pick(node.interfaces.filter((i) => i.name !== 'lo').flatMap((i) => i.addresses), family);
  if (!a) {
    const lo = node.interfaces.some((i) => i.name === 'lo' && pick(i.addresses, family));
    throw new UserError(`node ${node.name} has no ${famWord(family)}address on its interfaces`,
      lo ? `name its loopback explicitly: ${node.name}:lo` : `give one of its interfaces an ${family === 6 ? 'ipv6' : 'ipv4 or ipv6'} address in the topology`);
  }
  return { address: a, family: famOf(a), label: `${node.name} (${a})` };
}

/** Every host a scenario may name: the lab's nodes and, with a profile, its external devices. */
export function hostNames(lab: Lab): string[] {
  return [...lab.nodes.map((n) => n.name), ...(lab.external ?? []).map((n) => n.name)];
}

// ------------------------------------------------------------------------------------------ links

function externalEndTexts(l: ExternalLink): string[] {
  return [`${l.a.node}:${l.a.iface}`, l.b ? `${l.b.node}:${l.b.iface}` : (l.segment ?? '')];
}

/**
 * Like resolveLink, but a profile's device cables count too: `primary` in a lab whose r1 and r2 are
 * external devices is the cable between them (changed through the devices, src/lab/device-links.ts).
 */
export function resolveAnyLink(lab: Lab, text: string): Link | ExternalLink {
  const t = text.trim();
  const ext = lab.externalLinks ?? [];
  const byName = ext.find((l) => l.name === t);
  if (byName) return byName;
  const parts = t.split('--');
  const hits = ext.filter((l) => {
    const ends = externalEndTexts(l);
    if (parts.length === 2) return (ends[0] === parts[0] && ends[1] === parts[1]) || (ends[0] === parts[1] && ends[1] === parts[0]);
    return t.includes(':') && ends.includes(t);
  });
  if (hits.length === 1) return hits[0]!;
  try {
    return resolveLink(lab, t);
  } catch (e) {
    if (!ext.length || !(e instanceof UserError) || !/^unknown link/.test(e.message)) throw e;
    throw new UserError(`unknown link ${t}; known: ${knownList([...lab.links.map((l) => l.name), ...ext.map((l) => l.name)])}`);
  }
}

/** The endpoint texts of a link, as `node:iface`, a switch name, or a remote address. */
export function linkEndTexts(link: Link): string[] {
  switch (link.type) {
    case 'veth': return [`${link.a.node}:${link.a.iface}`, `${link.b.node}:${link.b.iface}`];
    case 'switch': return [`${link.node.node}:${link.node.iface}`, link.switch];
    case 'nic': return [link.switch, link.device];
    case 'vxlan': return [link.a, link.b].map((s) => (s.kind === 'node' ? `${s.node}:${s.iface}` : s.kind === 'switch' ? s.switch : s.address));
  }
}

/** Also accept `switch:port` for the switch end of a node↔switch link. */
function endMatches(link: Link, end: string, i: number): boolean {
  const texts = linkEndTexts(link);
  if (texts[i] === end) return true;
  return link.type === 'switch' && i === 1 && end === `${link.switch}:${link.port}`;
}

/**
 * A link by its name (`r1-r2`, `client:eth1--lan`), by both ends in either order (`lan--client:eth1`,
 * `lan:client-eth1--client:eth1`), or by one node interface (`client:eth1`).
 */
export function resolveLink(lab: Lab, text: string): Link {
  const t = text.trim();
  const byName = lab.links.find((l) => l.name === t);
  if (byName) return byName;
  const parts = t.split('--');
  let found: Link[] = [];
  if (parts.length === 2) {
    const [x, y] = parts as [string, string];
    found = lab.links.filter((l) => (endMatches(l, x, 0) && endMatches(l, y, 1)) || (endMatches(l, y, 0) && endMatches(l, x, 1)));
  } else if (parts.length === 1 && t.includes(':')) {
    found = lab.links.filter((l) => linkEndTexts(l).includes(t));
    if (!found.length) {
      // A node interface that exists but is not a link end gives a more useful error than "unknown link".
      const [n, ifname] = [t.slice(0, t.indexOf(':')), t.slice(t.indexOf(':') + 1)];
      const node: Node | undefined = lab.nodes.find((x) => x.name === n);
      if (node && !node.interfaces.some((i) => i.name === ifname)) {
        throw new UserError(`node ${n} has no interface ${ifname}; known: ${knownList(node.interfaces.map((i) => i.name))}`);
      }
    }
  }
  if (found.length === 1) return found[0] as Link;
  if (found.length > 1) {
    throw new UserError(`link ${t} is ambiguous; it matches: ${knownList(found.map((l) => l.name))}`, 'use the link name');
  }
  throw new UserError(`unknown link ${t}; known: ${knownList(lab.links.map((l) => l.name))}`);
}
