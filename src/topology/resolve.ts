// Owns resolution: a *validated* raw topology becomes the resolved `Lab` (types.ts) — defaults filled in,
// host-side names taken from naming.ts, paths made absolute. Pure: the only outside access is the
// injected `exists` check for file sources. Must not validate (validate.ts did) nor touch Docker/OVS.
import * as path from 'node:path';
import { KINDS, isManagedKind } from './kinds.js';
import { formatIp, formatNetwork, parseCidr, parseIp, networkOf, type Cidr } from './address.js';
import {
  bridgeName, containerName, labId, mgmtBridgeName, mgmtGatewayPortName, mgmtNetnsName, mgmtPortName, netnsName, portName,
  underlayNs, vxlanPortName,
} from './naming.js';
import { MANAGEMENT_IFACE, defaultManagementSubnet, managementAddresses } from './management.js';
import type { RawLink, RawTopology } from './schema.js';
import type {
  FileCopy, Interface, Lab, Link, Management, Node, PortVlan, Route, RuntimeName, Switch, VxlanSide,
} from './types.js';

export const DEFAULT_RUNTIME: RuntimeName = 'docker';
export const DEFAULT_DSTPORT = 4789;

/** File order of the keys of a map in the source (JS objects put integer-like keys first). */
export type KeyOrder = (yamlPath: string[]) => string[] | undefined;

export interface ResolveContext {
  file: string;                     // absolute path of the topology file ('' when built in memory)
  dir: string;                      // absolute directory for relative paths
  exists: (absPath: string) => boolean;
  keyOrder?: KeyOrder;
}

// ---- helpers shared with validate.ts ---------------------------------------------------------------

export type Endpoint =
  | { kind: 'node'; text: string; node: string; iface?: string }
  | { kind: 'switch'; text: string; switch: string; port?: string }
  | { kind: 'unknown'; text: string; name: string };

/** `node:iface`, `switch` or `switch:port`, looked up against the lab's node and switch names. */
export function parseEndpoint(text: string, nodes: ReadonlySet<string>, switches: ReadonlySet<string>): Endpoint {
  const colon = text.indexOf(':');
  const name = colon < 0 ? text : text.slice(0, colon);
  const rest = colon < 0 ? undefined : text.slice(colon + 1);
  if (nodes.has(name)) return rest === undefined ? { kind: 'node', text, node: name } : { kind: 'node', text, node: name, iface: rest };
  if (switches.has(name)) return rest === undefined ? { kind: 'switch', text, switch: name } : { kind: 'switch', text, switch: name, port: rest };
  return { kind: 'unknown', text, name };
}

/** Default link name: the endpoints as written, joined by `--` (`a:eth1--b:eth1`, `sw1--198.51.100.20`). */
export function defaultLinkName(link: Pick<RawLink, 'endpoints' | 'remote'>): string {
  const parts = [...link.endpoints];
  if (parts.length === 1 && link.remote !== undefined) parts.push(link.remote);
  return parts.join('--');
}

export function linkName(link: Pick<RawLink, 'name' | 'endpoints' | 'remote'>): string {
  return link.name ?? defaultLinkName(link);
}

/** The node's own runtime, else its kind's fixed one (responder: netns), else the lab's default. */
export function nodeRuntime(raw: RawTopology, node: string): RuntimeName {
  const n = raw.nodes[node]!;
  return n.runtime ?? KINDS[n.kind]?.runtime ?? raw.runtime ?? DEFAULT_RUNTIME;
}

/** Where a `files.src` is looked for: the topology folder, then its parent. Absolute paths as given. */
export function fileCandidates(src: string, dir: string): string[] {
  return path.isAbsolute(src) ? [src] : [path.resolve(dir, src), path.resolve(dir, '..', src)];
}

export function findFileSrc(src: string, dir: string, exists: (p: string) => boolean): string | undefined {
  return fileCandidates(src, dir).find((p) => exists(p));
}

export function asList<T>(v: T | T[] | undefined | null): T[] {
  return v === undefined || v === null ? [] : Array.isArray(v) ? v : [v];
}

/** Canonical address text (IPv6 per RFC 5952), prefix kept. */
function canonicalCidr(text: string): string {
  const c = parseCidr(text);
  return c ? `${formatIp(c.family, c.value)}/${c.prefix}` : text;
}

function canonicalIp(text: string): string {
  const ip = parseIp(text);
  return ip ? formatIp(ip.family, ip.value) : text;
}

/** The lab's own IPv4 prefixes the management subnet must stay clear of: interface addresses (with
 *  their prefix length) and route destinations other than the default route, each with its owner. */
export function labPrefixes(raw: RawTopology): { cidr: Cidr; text: string; owner: string }[] {
  const out: { cidr: Cidr; text: string; owner: string }[] = [];
  for (const [name, n] of Object.entries(raw.nodes)) {
    for (const [ifName, ifc] of Object.entries(n.interfaces ?? {})) {
      for (const text of asList(ifc?.ipv4)) {
        const c = parseCidr(text);
        if (c?.family === 4) out.push({ cidr: c, text, owner: `node ${name}, interface ${ifName}` });
      }
    }
    for (const r of n.routes ?? []) {
      const c = parseCidr(r.to);
      if (c?.family === 4 && c.prefix > 0) out.push({ cidr: c, text: r.to, owner: `node ${name}, route to` });
    }
  }
  return out;
}

/** Managed nodes (kinds with `managed`, e.g. frr), in the given order. */
export function managedNodes(raw: RawTopology, order: string[] = Object.keys(raw.nodes)): string[] {
  return order.filter((n) => isManagedKind(raw.nodes[n]!.kind));
}

export function underlayPrefix(link: RawLink, index: number): string {
  return typeof link.underlay === 'string' ? link.underlay : `169.254.${index}.0/30`;
}

/** First IPv4 address (no prefix) of a node interface, '' when it has none. */
export function firstIpv4(raw: RawTopology, node: string, iface: string): string {
  const ifc = raw.nodes[node]?.interfaces?.[iface];
  const first = asList(ifc?.ipv4)[0];
  return first === undefined ? '' : canonicalIp(first.split('/')[0]!);
}

// ---- resolution ------------------------------------------------------------------------------------

function ordered<T>(obj: Record<string, T> | undefined, yamlPath: string[], keyOrder?: KeyOrder): string[] {
  if (!obj) return [];
  const keys = Object.keys(obj);
  const order = keyOrder?.(yamlPath);
  if (!order) return keys;
  const inFile = order.filter((k) => Object.hasOwn(obj, k));
  return [...inFile, ...keys.filter((k) => !inFile.includes(k))];
}

function portVlan(p: { vlan?: number | undefined; trunk?: number[] | undefined } | null | undefined): PortVlan | undefined {
  if (!p) return undefined;
  if (p.vlan !== undefined) return { vlan: p.vlan };
  if (p.trunk !== undefined) return { trunk: [...p.trunk] };
  return undefined;
}

export function resolveTopology(raw: RawTopology, ctx: ResolveContext): Lab {
  const id = labId(raw.name);
  const nodeNames = ordered(raw.nodes, ['nodes'], ctx.keyOrder);
  const switchNames = ordered(raw.switches ?? undefined, ['switches'], ctx.keyOrder);
  const nodeSet = new Set(nodeNames);
  const switchSet = new Set(switchNames);
  const rawLinks = raw.links ?? [];

  // Switch port names: explicit ones (declared or written in a link) are reserved first, so a defaulted
  // `<node>-<iface>` never takes a name a later link asks for.
  const taken = new Map<string, Set<string>>(switchNames.map((s) => [s, new Set(Object.keys(raw.switches?.[s]?.ports ?? {}))]));
  for (const l of rawLinks) {
    for (const t of l.endpoints) {
      const ep = parseEndpoint(t, nodeSet, switchSet);
      if (ep.kind === 'switch' && ep.port !== undefined) taken.get(ep.switch)!.add(ep.port);
    }
  }

  const ifaceLink = new Map<string, string>(); // `node:iface` → link name
  const links: Link[] = rawLinks.map((l, i): Link => {
    const name = linkName(l);
    const eps = l.endpoints.map((t) => parseEndpoint(t, nodeSet, switchSet));
    for (const ep of eps) if (ep.kind === 'node') ifaceLink.set(`${ep.node}:${ep.iface}`, name);

    if (l.type === 'vxlan') {
      const common = { type: 'vxlan' as const, name, vni: l.vni!, dstport: l.dstport ?? DEFAULT_DSTPORT, udpChecksum: l.udp_checksum ?? false };
      const [e0, e1] = eps;
      if (e0?.kind === 'switch' && e1?.kind === 'switch') {
        const net = parseCidr(underlayPrefix(l, i))!;
        const host = (n: bigint) => formatIp(4, networkOf(net) + n);
        return {
          ...common,
          a: { kind: 'switch', switch: e0.switch, hostIf: vxlanPortName(id, i, 'a'), local: host(1n), underlayNs: underlayNs(raw.name, i, 'a') },
          b: { kind: 'switch', switch: e1.switch, hostIf: vxlanPortName(id, i, 'b'), local: host(2n), underlayNs: underlayNs(raw.name, i, 'b') },
          underlay: { veth: [`u${i}a`, `u${i}b`], prefix: net.prefix },
        };
      }
      if (e0?.kind === 'switch') {
        return {
          ...common,
          a: { kind: 'switch', switch: e0.switch, hostIf: vxlanPortName(id, i, 'a'), local: l.local === undefined ? '' : canonicalIp(l.local) },
          b: { kind: 'remote', address: canonicalIp(l.remote!) },
        };
      }
      const under = asList(l.underlay);
      const side = (ep: Endpoint | undefined, j: number): VxlanSide => {
        if (ep?.kind !== 'node') throw new Error(`resolve: link ${name} endpoint ${j} is not a node (validation missed it)`);
        const u = under[j]!;
        return { kind: 'node', node: ep.node, iface: ep.iface!, local: firstIpv4(raw, ep.node, u.slice(u.indexOf(':') + 1)) };
      };
      return { ...common, a: side(e0, 0), b: side(e1, 1) };
    }

    const [e0, e1] = eps as [Endpoint, Endpoint];
    if (e0.kind === 'node' && e1.kind === 'node') {
      return { type: 'veth', name, a: { node: e0.node, iface: e0.iface! }, b: { node: e1.node, iface: e1.iface! } };
    }
    const nodeEp = (e0.kind === 'node' ? e0 : e1) as Extract<Endpoint, { kind: 'node' }>;
    const swEp = (e0.kind === 'switch' ? e0 : e1) as Extract<Endpoint, { kind: 'switch' }>;
    let port = swEp.port;
    if (port === undefined) {
      const used = taken.get(swEp.switch)!;
      const base = `${nodeEp.node}-${nodeEp.iface}`;
      port = base;
      for (let n = 2; used.has(port); n++) port = `${base}-${n}`;
      used.add(port);
    }
    const vlan = portVlan(l) ?? (swEp.port !== undefined ? portVlan(raw.switches?.[swEp.switch]?.ports?.[swEp.port]) : undefined);
    return {
      type: 'switch', name, node: { node: nodeEp.node, iface: nodeEp.iface! }, switch: swEp.switch, port,
      hostIf: portName(id, i), ...(vlan ? { vlan } : {}),
    };
  });

  // Management network: only for labs with managed nodes; addresses in node order (gateway first).
  const managed = managedNodes(raw, nodeNames);
  let management: Management | undefined;
  const mgmtAddr = new Map<string, string>();
  if (managed.length) {
    const subnet = raw.management?.subnet !== undefined ? formatNetwork(parseCidr(raw.management.subnet)!)
      : defaultManagementSubnet(raw.name, labPrefixes(raw).map((p) => p.cidr));
    const addrs = managementAddresses(subnet, managed.length);
    managed.forEach((n, i) => mgmtAddr.set(n, addrs.nodes[i]!));
    management = {
      subnet, defaulted: raw.management?.subnet === undefined, gateway: addrs.gateway,
      netns: mgmtNetnsName(raw.name), bridge: mgmtBridgeName(id), gatewayIf: mgmtGatewayPortName(id),
    };
  }

  const nodes: Node[] = nodeNames.map((name, nodeIndex): Node => {
    const n = raw.nodes[name]!;
    const kind = KINDS[n.kind]!;
    const runtime = nodeRuntime(raw, name);
    const interfaces = ordered(n.interfaces, ['nodes', name, 'interfaces'], ctx.keyOrder).map((ifName): Interface => {
      const ifc = n.interfaces![ifName];
      const link = ifaceLink.get(`${name}:${ifName}`);
      return {
        name: ifName,
        addresses: [...asList(ifc?.ipv4), ...asList(ifc?.ipv6)].map(canonicalCidr),
        ...(ifc?.mtu !== undefined ? { mtu: ifc.mtu } : {}),
        ...(ifc?.mac !== undefined ? { mac: ifc.mac.toLowerCase() } : {}),
        ...(link !== undefined ? { link } : {}),
        ...(ifc?.tx_checksum_offload !== undefined ? { txChecksumOffload: ifc.tx_checksum_offload } : {}),
      };
    });
    const routes: Route[] = [];
    if (n.gateway !== undefined) routes.push({ to: 'default', via: canonicalIp(n.gateway), family: 4 });
    if (n.gateway6 !== undefined) routes.push({ to: 'default', via: canonicalIp(n.gateway6), family: 6 });
    for (const r of n.routes ?? []) {
      const to = parseCidr(r.to)!;
      routes.push({
        to: formatNetwork(to),
        ...(r.via !== undefined ? { via: canonicalIp(r.via) } : {}),
        ...(r.dev !== undefined ? { dev: r.dev } : {}),
        family: to.family,
      });
    }
    const sysctls: Record<string, string> = { ...kind.sysctls };
    for (const [k, v] of Object.entries(n.sysctls ?? {})) sysctls[k] = String(v);
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries(n.env ?? {})) env[k] = String(v);
    const files: FileCopy[] = (n.files ?? []).map((f) => {
      const src = findFileSrc(f.src, ctx.dir, ctx.exists);
      if (src === undefined) throw new Error(`resolve: file ${f.src} of node ${name} not found (validation missed it)`);
      return { src, dst: f.dst, mode: f.mode ?? 'copy' };
    });
    const responder = n.responder === undefined ? undefined : findFileSrc(n.responder, ctx.dir, ctx.exists);
    if (n.responder !== undefined && responder === undefined) throw new Error(`resolve: responder fixture ${n.responder} of node ${name} not found (validation missed it)`);
    return {
      name,
      kind: kind.name,
      runtime,
      ...(runtime === 'docker' ? { image: n.image ?? kind.image } : {}),
      container: containerName(raw.name, name),
      netns: netnsName(raw.name, name),
      interfaces,
      routes,
      sysctls,
      files,
      exec: [...(n.exec ?? [])],
      env,
      capabilities: [...kind.capabilities],
      ...(responder !== undefined ? { responder } : {}),
      ...(mgmtAddr.has(name) ? { management: { iface: MANAGEMENT_IFACE, address: mgmtAddr.get(name)!, hostIf: mgmtPortName(id, nodeIndex) } } : {}),
    };
  });

  const switches: Switch[] = switchNames.map((name, i): Switch => {
    const ports: Record<string, PortVlan> = {};
    for (const [p, v] of Object.entries(raw.switches?.[name]?.ports ?? {})) ports[p] = portVlan(v) ?? {};
    return { name, bridge: bridgeName(id, i), ports };
  });

  return {
    name: raw.name,
    id,
    file: ctx.file,
    dir: ctx.dir,
    ...(raw.description !== undefined ? { description: raw.description } : {}),
    nodes,
    switches,
    links,
    ...(management ? { management } : {}),
  };
}
