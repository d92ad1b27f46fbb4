// Owns finding what tsunagari left on this machine, by label only: Docker labels, OVS external_ids,
// ifalias of host interfaces and of namespace loopbacks, plus the ledgers. Never matches name patterns.
// Must not delete anything (down.ts does).
import type { Context } from './context.js';
import type { DiscoveredNode } from '../runtime/types.js';
import type { OvsObject } from '../fabric/ovs.js';
import { discoverHostIfs, type HostIf } from '../fabric/host.js';
import { Ledger } from './ledger.js';
import { isInstanceName } from '../topology/naming.js';
import { discoverRemote, machinesToCheck, remoteCount, remoteLabs, type RemoteFound } from '../machines/lab.js';

export interface Found {
  containers: DiscoveredNode[];
  namespaces: DiscoveredNode[];
  bridges: OvsObject[];
  ports: OvsObject[];
  hostIfs: HostIf[];
  ledgers: Ledger[];
  remote: RemoteFound[];       // on other machines (docs/machines.md), found through ledgers and the machine registry
  count: number;               // resources (not ledgers), on every machine
  skipped: string[];           // engines not consulted, with the reason
  /** Resources whose tsunagari label names no well-formed lab instance: never acted on, only reported. */
  malformed: string[];
}

export interface DiscoverOptions { docker?: boolean; ovs?: boolean; }

/** Everything labelled for one lab, or for any lab when lab is undefined. */
export async function discoverLab(ctx: Context, lab: string | undefined, o: DiscoverOptions = {}): Promise<Found> {
  const skipped: string[] = [];
  let [containers, namespaces, ovsFound, hostIfs] = await Promise.all([
    o.docker === false ? [] : ctx.dockerRuntime().then((rt) => rt.discover(lab)).catch((e: Error) => {
      skipped.push(`Docker containers not checked (${e.message.split('\n')[0]})`); return [] as DiscoveredNode[];
    }),
    ctx.netns.discover(lab),
    o.ovs === false ? { bridges: [], ports: [] } : ctx.ovs().then((ovs) => ovs.discover(lab)).catch((e: Error) => {
      skipped.push(`Open vSwitch not checked (${e.message.split('\n')[0]})`); return { bridges: [] as OvsObject[], ports: [] as OvsObject[] };
    }),
    discoverHostIfs(lab),
  ]);
  // A label is untrusted input: one that names no well-formed lab instance (`../../etc`, spaces …) is
  // never turned into a path, a lease or a removal; it is reported.
  const malformed: string[] = [];
  const wellFormed = <T extends { lab: string; name: string }>(what: string, xs: T[]): T[] => xs.filter((x) => {
    if (isInstanceName(x.lab)) return true;
    malformed.push(`${what} ${x.name} (label lab=${JSON.stringify(x.lab).slice(0, 60)})`);
    return false;
  });
  containers = wellFormed('container', containers);
  namespaces = wellFormed('namespace', namespaces);
  ovsFound.bridges = wellFormed('OVS bridge', ovsFound.bridges);
  ovsFound.ports = wellFormed('OVS port', ovsFound.ports);
  hostIfs = wellFormed('interface', hostIfs);
  const ledgers = Ledger.all().filter((l) => !lab || l.data.lab === lab);
  const machines = machinesToCheck(ledgers, lab);
  const remote = machines.length ? await discoverRemote(ctx, lab, machines) : { found: [], skipped: [] };
  skipped.push(...remote.skipped);
  const count = containers.length + namespaces.length + ovsFound.bridges.length + ovsFound.ports.length + hostIfs.length +
    remote.found.reduce((n, f) => n + remoteCount(f), 0);
  return { containers, namespaces, bridges: ovsFound.bridges, ports: ovsFound.ports, hostIfs, ledgers, remote: remote.found, count, skipped, malformed };
}

/** Lab names that have anything on this machine. */
export function labsIn(f: Found): string[] {
  const s = new Set<string>();
  for (const x of [...f.containers, ...f.namespaces, ...f.bridges, ...f.ports, ...f.hostIfs]) s.add(x.lab);
  for (const r of f.remote) for (const l of remoteLabs(r)) s.add(l);
  for (const l of f.ledgers) s.add(l.data.lab);
  return [...s].sort();
}
