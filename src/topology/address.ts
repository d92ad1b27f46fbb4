// Owns IP address arithmetic for the topology validator and resolver: parse, compare, subnet tests.
// Pure functions over strings and bigints; strict parsing (no leading zeros, no zone ids, no shorthand).
// Must not touch the network or the host: nothing here looks at real interfaces.
import { isIPv6 } from 'node:net';

export type Family = 4 | 6;

export interface Ip { family: Family; value: bigint; }
export interface Cidr extends Ip { prefix: number; }

const BITS: Record<Family, number> = { 4: 32, 6: 128 };

function parseIpv4(s: string): bigint | null {
  const parts = s.split('.');
  if (parts.length !== 4) return null;
  let v = 0n;
  for (const p of parts) {
    if (!/^(0|[1-9][0-9]{0,2})$/.test(p)) return null;
    const n = Number(p);
    if (n > 255) return null;
    v = (v << 8n) | BigInt(n);
  }
  return v;
}

function parseIpv6(s: string): bigint | null {
  if (!isIPv6(s) || s.includes('%')) return null;
  let text = s;
  let tail: bigint[] = [];
  const v4 = /^(.*:)(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4) {
    const n = parseIpv4(v4[2]!);
    if (n === null) return null;
    tail = [(n >> 16n) & 0xffffn, n & 0xffffn];
    text = v4[1]!.endsWith('::') ? v4[1]! : v4[1]!.slice(0, -1);
  }
  const [head, rest] = text.split('::') as [string, string | undefined];
  const groups = (x: string): bigint[] => (x === '' ? [] : x.split(':').map((g) => BigInt(`0x${g}`)));
  const left = groups(head);
  const right = rest === undefined ? [] : groups(rest);
  const missing = 8 - tail.length - left.length - right.length;
  if (rest === undefined ? missing !== 0 : missing < 0) return null;
  const all = [...left, ...Array<bigint>(rest === undefined ? 0 : missing).fill(0n), ...right, ...tail];
  return all.reduce((acc, g) => (acc << 16n) | g, 0n);
}

/** Parses a bare address (no prefix). */
export function parseIp(s: string): Ip | null {
  const v4 = parseIpv4(s);
  if (v4 !== null) return { family: 4, value: v4 };
  const v6 = parseIpv6(s);
  if (v6 !== null) return { family: 6, value: v6 };
  return null;
}

/** Parses `address/prefix`; the prefix is required. */
export function parseCidr(s: string): Cidr | null {
  const m = /^([^/]+)\/(0|[1-9][0-9]{0,2})$/.exec(s);
  if (!m) return null;
  const ip = parseIp(m[1]!);
  if (!ip) return null;
  const prefix = Number(m[2]);
  if (prefix > BITS[ip.family]) return null;
  return { ...ip, prefix };
}

export function familyName(f: Family): string {
  return f === 4 ? 'IPv4' : 'IPv6';
}

/** Why `s` is not a CIDR of `family`, or null when it is one. */
export function cidrProblem(s: string, family: Family): string | null {
  const c = parseCidr(s);
  if (c) return c.family === family ? null : `'${s}' is an ${familyName(c.family)} address`;
  const bare = parseIp(s);
  if (bare) {
    if (bare.family !== family) return `'${s}' is an ${familyName(bare.family)} address`;
    return `'${s}' has no prefix length; hint: write it as ${s}/${family === 4 ? 24 : 64}`;
  }
  return family === 4
    ? `'${s}' is not a valid IPv4 CIDR (a.b.c.d/0..32)`
    : `'${s}' is not a valid IPv6 CIDR (address/0..128)`;
}

/** Why `s` is not a bare address of `family` (or of either family when family is omitted). */
export function ipProblem(s: string, family?: Family): string | null {
  const ip = parseIp(s);
  if (ip) return family === undefined || ip.family === family ? null : `'${s}' is an ${familyName(ip.family)} address`;
  if (parseCidr(s)) return `'${s}' must be an address without a prefix length`;
  const what = family === undefined ? 'IP' : familyName(family);
  return `'${s}' is not a valid ${what} address`;
}

function mask(family: Family, prefix: number): bigint {
  const bits = BigInt(BITS[family]);
  return ((1n << bits) - 1n) ^ ((1n << (bits - BigInt(prefix))) - 1n);
}

export function networkOf(c: Cidr): bigint {
  return c.value & mask(c.family, c.prefix);
}

export function broadcastOf(c: Cidr): bigint {
  return networkOf(c) | (((1n << BigInt(BITS[c.family])) - 1n) ^ mask(c.family, c.prefix));
}

export function hostBitsSet(c: Cidr): boolean {
  return networkOf(c) !== c.value;
}

export function inSubnet(ip: Ip, c: Cidr): boolean {
  return ip.family === c.family && (ip.value & mask(c.family, c.prefix)) === networkOf(c);
}

export function formatIp(family: Family, value: bigint): string {
  if (family === 4) return [24n, 16n, 8n, 0n].map((s) => String((value >> s) & 0xffn)).join('.');
  const groups = [112n, 96n, 80n, 64n, 48n, 32n, 16n, 0n].map((s) => (value >> s) & 0xffffn);
  // RFC 5952: compress the longest run (>= 2) of zero groups, the first one on ties.
  let best = -1; let bestLen = 1;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0n) { i++; continue; }
    let j = i; while (j < 8 && groups[j] === 0n) j++;
    if (j - i > bestLen) { best = i; bestLen = j - i; }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (best < 0) return hex.join(':');
  return `${hex.slice(0, best).join(':')}::${hex.slice(best + bestLen).join(':')}`;
}

/** Canonical text of an address, for comparing addresses written differently. */
export function ipKey(ip: Ip): string {
  return `${ip.family}/${ip.value.toString(16)}`;
}

/** Canonical `network/prefix`, e.g. 10.0.1.0/24. */
export function formatNetwork(c: Cidr): string {
  return `${formatIp(c.family, networkOf(c))}/${c.prefix}`;
}

/** Why an address cannot be an interface's own address in a lab: loopback (except on `lo`), multicast,
 *  unspecified, limited broadcast; undefined when it can. */
export function specialAddress(ip: Ip, onLoopback: boolean): string | undefined {
  const v = ip.value;
  if (ip.family === 4) {
    if (v === 0n) return 'the unspecified address';
    if (v === 0xffffffffn) return 'the limited broadcast address';
    if (v >> 24n === 127n && !onLoopback) return 'a loopback address (127.0.0.0/8 belongs to lo)';
    if (v >> 28n === 0xen) return 'a multicast address (224.0.0.0/4)';
    if (v >> 24n === 0n) return 'in 0.0.0.0/8 ("this network", never a host\'s address)';
    return undefined;
  }
  if (v === 0n) return 'the unspecified address';
  if (v === 1n && !onLoopback) return 'the loopback address (::1 belongs to lo)';
  if (v >> 120n === 0xffn) return 'a multicast address (ff00::/8)';
  return undefined;
}
