// Owns lab instances as data: the same resolved lab under another instance name (`home-nat` →
// `home-nat_2`), with every host-visible name (containers, namespaces, bridges, ports, VXLAN devices,
// management objects) re-derived from the instance name and its id (naming.ts). Pure: no side effects;
// which instance a run gets (leases, claims) is decided in src/lab/instance.ts.
import type { Lab } from './types.js';
import { labId, labOfInstance, isInstanceName } from './naming.js';

/** Keys of the resolved lab whose values are host-visible names built by naming.ts. */
const HOST_NAME_KEYS = new Set(['container', 'netns', 'underlayNs', 'bridge', 'hostIf', 'gatewayIf']);

/** The lab's own name (from its file), whatever instance this is. */
export function baseName(lab: Pick<Lab, 'name' | 'lab'>): string {
  return lab.lab ?? lab.name;
}

/**
 * The lab as instance `instance` (a name from naming.instanceName of this lab). Names are rewritten by
 * their construction prefixes: `tsunagari-<instance>.`/`tsunagari-<instance>._` and `t<id>`; anything
 * else (NIC names, user-chosen port names, addresses) is left as it is.
 */
export function instantiate(lab: Lab, instance: string): Lab {
  const base = baseName(lab);
  if (!isInstanceName(instance) || labOfInstance(instance) !== base) {
    throw new Error(`instance name ${JSON.stringify(instance)} is not an instance of lab ${base}`);
  }
  if (instance === lab.name) return lab;
  const id = labId(instance);
  const oldNs = `tsunagari-${lab.name}.`;
  const newNs = `tsunagari-${instance}.`;
  const oldIf = `t${lab.id}`;
  const newIf = `t${id}`;
  const rename = (v: string): string =>
    v.startsWith(oldNs) ? newNs + v.slice(oldNs.length) : v.startsWith(oldIf) ? newIf + v.slice(oldIf.length) : v;
  const walk = (v: unknown, key?: string): unknown => {
    if (typeof v === 'string') return key !== undefined && HOST_NAME_KEYS.has(key) ? rename(v) : v;
    if (Array.isArray(v)) return v.map((x) => walk(x));
    if (v && typeof v === 'object') {
      return Object.fromEntries(Object.entries(v as Record<string, unknown>).map(([k, x]) => [k, walk(x, k)]));
    }
    return v;
  };
  const out = walk(lab) as Lab;
  return { ...out, name: instance, id, ...(instance === base ? {} : { lab: base }) };
}

/** Every host-visible name of a lab (for collision checks and tests). */
export function hostVisibleNames(lab: Lab): string[] {
  const out: string[] = [];
  const walk = (v: unknown, key?: string): void => {
    if (typeof v === 'string') { if (key !== undefined && HOST_NAME_KEYS.has(key)) out.push(v); return; }
    if (Array.isArray(v)) { for (const x of v) walk(x); return; }
    if (v && typeof v === 'object') for (const [k, x] of Object.entries(v as Record<string, unknown>)) walk(x, k);
  };
  walk({ nodes: lab.nodes, switches: lab.switches, links: lab.links, management: lab.management });
  return [...new Set(out)];
}
