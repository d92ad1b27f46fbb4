// Owns reading plain Linux (iproute2 JSON, nft, os-release) into the contract's shapes and into the
// normalised "running config" dump the linux driver compares; and parsing a candidate script into known
// command forms with their inverses. Pure functions; no device access.
import type { Route } from './types.js';

export interface IpLink { ifname: string; flags?: string[]; mtu?: number; operstate?: string; }
export interface IpAddrInfo { family: string; local: string; prefixlen: number; scope?: string; }
export interface IpAddr extends IpLink { addr_info?: IpAddrInfo[]; }
export interface IpNexthop { gateway?: string; dev?: string; weight?: number; }
export interface IpRoute {
  dst: string; type?: string; gateway?: string; dev?: string; protocol?: string; scope?: string;
  prefsrc?: string; metric?: number; flags?: string[]; nexthops?: IpNexthop[]; table?: string;
}

/** Route protocols owned by a routing daemon: state, not configuration. */
export const DAEMON_PROTOCOLS = new Set(['ospf', 'bgp', 'zebra', 'rip', 'ripng', 'isis', 'babel', 'eigrp', 'openr', 'sharp', 'pbr', 'nhrp', 'ldp', 'bird', 'ra', 'redirect', 'mrouted', 'gated', 'xorp', 'ntk', 'dhcp']);

export function parseJson<T>(text: string, what: string): T {
  try {
    return JSON.parse(text.trim() || '[]') as T;
  } catch {
    throw new Error(`cannot parse ${what} (not JSON: ${JSON.stringify(text.trim().slice(0, 120))})`);
  }
}

function fullPrefix(dst: string, family: 4 | 6): string {
  if (dst === 'default') return family === 4 ? '0.0.0.0/0' : '::/0';
  return dst.includes('/') ? dst : `${dst}/${family === 4 ? 32 : 128}`;
}

/** `ip -j route` (+ `ip -j -6 route`) → contract routes; a route without proto is static (`boot`), kernel ones are connected. */
export function linuxRoutes(routes: IpRoute[], family: 4 | 6): Route[] {
  return routes.filter((r) => !isNoise(r, family)).map((r) => ({
    prefix: fullPrefix(r.dst, family),
    protocol: r.type && r.type !== 'unicast' ? r.type : r.protocol === undefined || r.protocol === 'boot' || r.protocol === 'static' ? 'static'
      : r.protocol === 'kernel' ? 'connected' : r.protocol,
    nexthops: r.nexthops?.length
      ? r.nexthops.map((n) => ({ ...(n.gateway ? { via: n.gateway } : {}), ...(n.dev ? { dev: n.dev } : {}) }))
      : r.gateway || r.dev ? [{ ...(r.gateway ? { via: r.gateway } : {}), ...(r.dev ? { dev: r.dev } : {}) }] : [],
    selected: true,
  }));
}

function isNoise(r: IpRoute, family: 4 | 6): boolean {
  return family === 6 && (/^fe80::/.test(r.dst) || /^ff00::/.test(r.dst) || r.type === 'multicast');
}

/** A route as `ip route` arguments (the dump line, and what `ip route replace` takes to put it back). */
export function routeSpec(r: IpRoute): string {
  const w: string[] = [];
  if (r.type && r.type !== 'unicast') w.push(r.type);
  w.push(r.dst);
  if (r.gateway) w.push('via', r.gateway);
  if (r.dev) w.push('dev', r.dev);
  if (r.protocol && r.protocol !== 'boot') w.push('proto', r.protocol);
  if (r.scope && r.scope !== 'global' && !(r.scope === 'link' && r.protocol === 'kernel')) w.push('scope', r.scope);
  if (r.prefsrc) w.push('src', r.prefsrc);
  if (r.metric !== undefined && r.metric !== 0) w.push('metric', String(r.metric));
  if (r.flags?.includes('onlink')) w.push('onlink');
  for (const n of r.nexthops ?? []) {
    w.push('nexthop');
    if (n.gateway) w.push('via', n.gateway);
    if (n.dev) w.push('dev', n.dev);
    if (n.weight !== undefined) w.push('weight', String(n.weight));
  }
  return w.join(' ');
}

/** Routes that are configuration (not a routing daemon's, not IPv6 link-local/multicast). */
export function configRoutes(routes: IpRoute[], family: 4 | 6): IpRoute[] {
  return routes.filter((r) => !isNoise(r, family) && !DAEMON_PROTOCOLS.has(r.protocol ?? 'boot'));
}

/** Global-scope addresses: `dev address/len`. */
export function globalAddresses(addrs: IpAddr[]): Array<{ dev: string; cidr: string; family: 4 | 6 }> {
  const out: Array<{ dev: string; cidr: string; family: 4 | 6 }> = [];
  for (const l of addrs) {
    for (const a of l.addr_info ?? []) {
      if (a.scope === 'link' || a.scope === 'host' && l.ifname !== 'lo') continue;
      if (l.ifname === 'lo' && (a.local === '127.0.0.1' || a.local === '::1')) continue;
      out.push({ dev: l.ifname, cidr: `${a.local}/${a.prefixlen}`, family: a.family === 'inet6' ? 6 : 4 });
    }
  }
  return out;
}

export interface LinuxState { links: IpLink[]; addrs: IpAddr[]; routes4: IpRoute[]; routes6: IpRoute[]; nft: string | undefined; hostname: string; }

/** The normalised dump runningConfig() returns: sorted, stable, one fact per line. */
export function linuxDump(st: LinuxState): string {
  const out = [`hostname ${st.hostname.trim()}`];
  for (const l of [...st.links].sort((a, b) => a.ifname.localeCompare(b.ifname))) {
    out.push(`link ${l.ifname} ${l.flags?.includes('UP') ? 'up' : 'down'} mtu ${l.mtu ?? '?'}`);
  }
  out.push(...globalAddresses(st.addrs).map((a) => `address ${a.dev} ${a.cidr}`).sort());
  out.push(...configRoutes(st.routes4, 4).map((r) => `route ${routeSpec(r)}`).sort());
  out.push(...configRoutes(st.routes6, 6).map((r) => `route -6 ${routeSpec(r)}`).sort());
  if (st.nft === undefined) out.push('nft (not installed)');
  else out.push(...st.nft.split('\n').filter((l) => l.trim()).map((l) => `nft ${l.replace(/\t/g, '  ')}`));
  return `${out.join('\n')}\n`;
}

/** Words of a shell command line (single/double quotes, backslash), no expansion. */
export function shellWords(line: string): string[] {
  const out: string[] = [];
  let cur = '';
  let has = false;
  let q: '"' | "'" | undefined;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (q) {
      if (c === q) q = undefined;
      else if (c === '\\' && q === '"' && i + 1 < line.length) cur += line[++i];
      else cur += c;
    } else if (c === '"' || c === "'") { q = c; has = true; }
    else if (c === '\\' && i + 1 < line.length) { cur += line[++i]; has = true; }
    else if (/\s/.test(c)) { if (has || cur) { out.push(cur); cur = ''; has = false; } }
    else cur += c;
  }
  if (q) throw new Error(`unterminated ${q} quote`);
  if (has || cur) out.push(cur);
  return out;
}

/** One candidate line, classified: what kind of state it touches and (when it is simple) its inverse. */
export interface ScriptStep {
  line: string;
  kind: 'addr-add' | 'addr-del' | 'route-add' | 'route-del' | 'route-replace' | 'link' | 'nft' | 'sysctl';
  family: 4 | 6;
  /** addr-add: the address/dev; route-*: the destination; link: the device; sysctl: the key */
  target: string;
  dev?: string;
  value?: string;
  /** words after the verb (route-*: the route spec) */
  args?: string[];
}

export const KNOWN_FORMS = 'ip [-4|-6] addr add|del ADDR dev DEV, ip [-4|-6] route add|append|del|replace|change …, ip link set [dev] DEV up|down|mtu N, nft …, sysctl -w KEY=VALUE';

/**
 * The first character with which a shell would do more than run one command with these words: `;` `&`
 * `|` `<` `>` `(` `)` `` ` `` and `$` (command lists, pipes, redirections, subshells, substitutions,
 * expansions), outside single quotes (`$` and `` ` `` also inside double quotes); a backslash-escaped one is
 * a plain character. Undefined when there is none.
 */
export function shellMeta(line: string): string | undefined {
  let q: '"' | "'" | undefined;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (q === "'") { if (c === "'") q = undefined; continue; }
    if (c === '\\') { i++; continue; }
    if (q === '"') { if (c === '"') q = undefined; else if (c === '$' || c === '`') return c; continue; }
    if (c === '"' || c === "'") { q = c; continue; }
    if (/[;&|<>()`$\n]/.test(c)) return c;
  }
  return undefined;
}

/** Classifies one line; undefined = no inverse known (the caller refuses the candidate). Throws for a line
 *  a shell would turn into more than the one known command (the linux driver runs lines through sh). */
export function classify(line: string): ScriptStep | undefined {
  const meta = shellMeta(line);
  if (meta !== undefined) {
    throw new Error(`shell metacharacter ${JSON.stringify(meta)} is not allowed: only single commands of the known forms run, each with a known inverse (${KNOWN_FORMS}); quote it ('…') or escape it (\\${meta}) if it is part of an argument, e.g. an nft rule`);
  }
  const w = shellWords(line);
  if (w[0] === 'nft') return { line, kind: 'nft', family: 4, target: 'ruleset' };
  if (w[0] === 'sysctl') {
    const rest = w.slice(1).filter((x) => x !== '-w' && x !== '-q');
    if (rest.length !== 1 || !rest[0]!.includes('=')) return undefined;
    const [k, ...v] = rest[0]!.split('=');
    return { line, kind: 'sysctl', family: 4, target: k!.trim(), value: v.join('=') };
  }
  if (w[0] !== 'ip') return undefined;
  let i = 1;
  let family: 4 | 6 = 4;
  while (w[i]?.startsWith('-')) { if (w[i] === '-6') family = 6; else if (w[i] !== '-4') return undefined; i++; }
  const obj = w[i++];
  const verb = w[i++];
  const args = w.slice(i);
  if (obj && /^(a|ad|add|addr|addre|addres|address)$/.test(obj)) {
    const devAt = args.indexOf('dev');
    if (devAt < 0 || !args[0] || !args[devAt + 1]) return undefined;
    const cidr = args[0];
    if (cidr.includes(':')) family = 6;
    if (verb === 'add') return { line, kind: 'addr-add', family, target: cidr, dev: args[devAt + 1] };
    if (verb === 'del' || verb === 'delete') return { line, kind: 'addr-del', family, target: cidr, dev: args[devAt + 1] };
    return undefined;
  }
  if (obj && /^(r|ro|rou|rout|route)$/.test(obj)) {
    const dst = args.find((a) => !['unicast', 'blackhole', 'unreachable', 'prohibit', 'throw'].includes(a));
    if (!dst) return undefined;
    if (dst.includes(':')) family = 6;
    if (verb === 'add' || verb === 'append') return { line, kind: 'route-add', family, target: dst, args };
    if (verb === 'del' || verb === 'delete') return { line, kind: 'route-del', family, target: dst, args };
    if (verb === 'replace' || verb === 'change') return { line, kind: 'route-replace', family, target: dst, args };
    return undefined;
  }
  if (obj && /^(l|li|lin|link)$/.test(obj) && verb === 'set') {
    const a = args[0] === 'dev' ? args.slice(1) : args;
    const dev = a[0];
    const rest = a.slice(1);
    if (!dev || !rest.length) return undefined;
    for (let k = 0; k < rest.length; k++) {
      if (rest[k] === 'up' || rest[k] === 'down') continue;
      if (rest[k] === 'mtu' && /^\d+$/.test(rest[k + 1] ?? '')) { k++; continue; }
      return undefined;
    }
    return { line, kind: 'link', family: 4, target: dev };
  }
  return undefined;
}
