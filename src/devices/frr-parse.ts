// Owns reading FRR's vtysh output (8.x JSON and a few text tables) into the contract's shapes: routes,
// OSPF/BGP/BFD neighbours, version and interfaces. Pure functions over strings; an output that is not what
// FRR prints fails naming the command, never returns an empty "success".
import type { Neighbour, Route } from './types.js';

function json(text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new Error(`cannot parse FRR ${what} (not JSON: ${JSON.stringify(text.trim().slice(0, 120))})`);
  }
}

interface FrrNexthop { ip?: string; interfaceName?: string; active?: boolean; directlyConnected?: boolean; }
interface FrrRoute { prefix: string; protocol: string; selected?: boolean; nexthops?: FrrNexthop[]; }

/** `show ip route json` / `show ipv6 route json`: one Route per entry (a prefix may have several: ospf + connected). */
export function parseFrrRoutes(text: string): Route[] {
  const data = json(text, 'routes') as Record<string, FrrRoute[]>;
  const out: Route[] = [];
  for (const [prefix, entries] of Object.entries(data)) {
    for (const e of entries) {
      out.push({
        prefix: e.prefix ?? prefix,
        protocol: e.protocol,
        selected: e.selected === true,
        nexthops: (e.nexthops ?? []).map((n) => ({ ...(n.ip ? { via: n.ip } : {}), ...(n.interfaceName ? { dev: n.interfaceName } : {}) })),
      });
    }
  }
  return out;
}

interface FrrOspfNbr { state?: string; nbrState?: string; address?: string; ifaceAddress?: string; ifaceName?: string; }

/** `show ip ospf neighbor json`: state `Full/DR` → `Full`; iface `eth1:10.0.0.1` → `eth1`. */
export function parseFrrOspfNeighbours(text: string): Neighbour[] {
  const data = json(text, 'OSPF neighbours') as { neighbors?: Record<string, FrrOspfNbr[] | FrrOspfNbr> };
  const out: Neighbour[] = [];
  for (const [rid, v] of Object.entries(data.neighbors ?? {})) {
    for (const n of Array.isArray(v) ? v : [v]) {
      const state = (n.nbrState ?? n.state ?? 'unknown').split('/')[0] as string;
      out.push({ protocol: 'ospf', address: n.ifaceAddress ?? n.address ?? '', id: rid, state, ...(n.ifaceName ? { iface: n.ifaceName.split(':')[0] } : {}) });
    }
  }
  return out;
}

interface FrrBgpPeer { remoteAs?: number | string; state?: string; }

/** `show bgp summary json`: peers of every address family, once each. */
export function parseFrrBgpSummary(text: string): Neighbour[] {
  const data = json(text, 'BGP summary') as Record<string, { peers?: Record<string, FrrBgpPeer> }>;
  const seen = new Map<string, Neighbour>();
  for (const af of Object.values(data)) {
    if (!af || typeof af !== 'object' || !af.peers) continue;
    for (const [addr, p] of Object.entries(af.peers)) {
      if (!seen.has(addr)) seen.set(addr, { protocol: 'bgp', address: addr, id: String(p.remoteAs ?? ''), state: p.state ?? 'unknown' });
    }
  }
  return [...seen.values()];
}

interface FrrBfdPeer { peer: string; status?: string; interface?: string; }

/** `show bfd peers json`: status up/down/init/shutdown as FRR says it. */
export function parseFrrBfdPeers(text: string): Neighbour[] {
  const data = json(text, 'BFD peers') as FrrBfdPeer[];
  return data.map((p) => ({ protocol: 'bfd' as const, address: p.peer, state: p.status ?? 'unknown', ...(p.interface ? { iface: p.interface } : {}) }));
}

/** `show version`: `FRRouting 8.4.4 (r1) on Linux(6.1.0).` */
export function parseFrrVersion(text: string): { version: string; hostname: string; platform: string } {
  const m = /^FRRouting (\S+) \(([^)]*)\) on (.+?)\.?$/m.exec(text);
  if (!m) throw new Error(`cannot parse FRR show version (no "FRRouting <version> (<host>) on …" line in ${JSON.stringify(text.trim().slice(0, 120))})`);
  return { version: m[1]!, hostname: m[2]!, platform: m[3]! };
}

/** `show interface brief`: the interface names (first column), header and continuation lines skipped. */
export function parseFrrInterfaces(text: string): string[] {
  const out: string[] = [];
  for (const l of text.split('\n')) {
    if (!l.trim() || /^\s/.test(l) || /^Interface\s+Status/.test(l) || /^-+\s/.test(l) || /^Interface .* is /.test(l)) continue;
    out.push(l.split(/\s+/)[0] as string);
  }
  return out;
}
