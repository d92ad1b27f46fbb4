// Owns the arithmetic of a lab's management network: the default subnet (picked per lab from a pool,
// away from the lab's own addresses and from other labs' management subnets), overlap tests, and the
// addresses it hands out (gateway first, then the managed nodes in file order).
// Pure functions over strings and bigints; must not touch the network, files or other labs' state.
import { formatIp, formatNetwork, networkOf, broadcastOf, parseCidr, type Cidr } from './address.js';
import { labId } from './naming.js';
import type { Lab } from './types.js';

/** Where default management subnets come from: one /24 of 172.16.0.0/12 per lab. */
export const MANAGEMENT_POOL = '172.16.0.0/12';
export const MANAGEMENT_PREFIX = 24;
/** The interface every managed node gets (reserved: a topology may not declare it). */
export const MANAGEMENT_IFACE = 'mgmt0';
/** The management namespace's own interface (holds the gateway address). */
export const MANAGEMENT_GATEWAY_IFACE = 'gw0';
/** A node name a lab with managed nodes cannot use: its namespace would be the management one. */
export const MANAGEMENT_RESERVED_NODE = 'mgmt';

/** Do two prefixes share any address? (Different families never do.) */
export function overlaps(a: Cidr, b: Cidr): boolean {
  if (a.family !== b.family) return false;
  return networkOf(a) <= broadcastOf(b) && networkOf(b) <= broadcastOf(a);
}

/** Addresses a subnet can hand out to hosts (IPv4: without network and broadcast). */
export function usableHosts(c: Cidr): bigint {
  const size = broadcastOf(c) - networkOf(c) + 1n;
  return c.prefix >= 31 ? size : size - 2n;
}

/** The gateway (first host) and `count` node addresses after it, as CIDRs with the subnet's prefix. */
export function managementAddresses(subnet: string, count: number): { gateway: string; nodes: string[] } {
  const c = parseCidr(subnet);
  if (!c || c.family !== 4) throw new Error(`management subnet ${subnet} is not an IPv4 prefix`);
  if (BigInt(count + 1) > usableHosts(c)) throw new Error(`management subnet ${subnet} has no room for ${count} nodes and the gateway`);
  const at = (n: number): string => `${formatIp(4, networkOf(c) + BigInt(n))}/${c.prefix}`;
  return { gateway: at(1), nodes: Array.from({ length: count }, (_, i) => at(i + 2)) };
}

/**
 * The default management subnet of a lab: the /24 of the pool that the lab id points at, or the next
 * one (wrapping around) that overlaps none of `avoid` (the lab's own addresses and routes, other labs'
 * management subnets). Deterministic: the same lab and the same `avoid` give the same subnet.
 */
export function defaultManagementSubnet(labName: string, avoid: readonly Cidr[]): string {
  const pool = parseCidr(MANAGEMENT_POOL)!;
  const slots = 1 << (MANAGEMENT_PREFIX - pool.prefix);
  const start = parseInt(labId(labName), 16) % slots;
  for (let k = 0; k < slots; k++) {
    const slot = (start + k) % slots;
    const c: Cidr = { family: 4, value: networkOf(pool) + (BigInt(slot) << BigInt(32 - MANAGEMENT_PREFIX)), prefix: MANAGEMENT_PREFIX };
    if (!avoid.some((a) => overlaps(a, c))) return formatNetwork(c);
  }
  throw new Error(`no free /${MANAGEMENT_PREFIX} left in ${MANAGEMENT_POOL} for the management network of lab ${labName}`);
}

/** A resolved lab's own IPv4 prefixes: interface addresses and route destinations (not the default). */
export function resolvedLabPrefixes(lab: Lab): Cidr[] {
  const out: Cidr[] = [];
  for (const n of lab.nodes) {
    for (const i of n.interfaces) for (const a of i.addresses) { const c = parseCidr(a); if (c?.family === 4) out.push(c); }
    for (const r of n.routes) { if (r.to === 'default') continue; const c = parseCidr(r.to); if (c?.family === 4 && c.prefix > 0) out.push(c); }
  }
  return out;
}

/**
 * The lab as it comes up next to other labs: a management subnet tsunagari chose that overlaps another
 * lab's is moved to the next free /24 (one given in the file is kept as it is). Returns a copy when moved.
 */
export function avoidOtherLabs(lab: Lab, otherSubnets: readonly string[]): Lab {
  const m = lab.management;
  if (!m?.defaulted) return lab;
  const taken = otherSubnets.map((s) => parseCidr(s)).filter((c): c is Cidr => !!c);
  const mine = parseCidr(m.subnet)!;
  if (!taken.some((t) => overlaps(t, mine))) return lab;
  return withManagementSubnet(lab, defaultManagementSubnet(lab.name, [...resolvedLabPrefixes(lab), ...taken]));
}

/** A copy of the lab with its management network on `subnet` (addresses handed out again, same order). */
export function withManagementSubnet(lab: Lab, subnet: string): Lab {
  if (!lab.management) return lab;
  const managed = lab.nodes.filter((n) => n.management);
  const addrs = managementAddresses(subnet, managed.length);
  const byNode = new Map(managed.map((n, i) => [n.name, addrs.nodes[i]!]));
  return {
    ...lab,
    management: { ...lab.management, subnet, gateway: addrs.gateway },
    nodes: lab.nodes.map((n) => (n.management ? { ...n, management: { ...n.management, address: byNode.get(n.name)! } } : n)),
  };
}
