// The naming scheme, written down once. Every host-visible name tsunagari creates comes from here.
//
// A lab *instance* is one copy of a lab on this machine (docs/instances.md): `home-nat` (what
// `tsunagari up` brings up) or `home-nat_2` (a test run's own copy). Lab and node names are
// [a-z][a-z0-9-]*, so '_' and '.' never occur in them and every name below is injective:
//
//   lab id              6 hex chars of sha256(instance name); unique among the instances of this machine
//                       (checked when an instance is claimed)
//   container           tsunagari-<instance>.<node>                 (docker runtime)
//   network namespace   tsunagari-<instance>.<node>                 (netns runtime, `ip netns`)
//   underlay namespace  tsunagari-<instance>._vx<i><a|b>            (local switch↔switch VXLAN, link i)
//   management netns    tsunagari-<instance>._mgmt                  (labs with managed nodes, e.g. kind frr)
//   OVS bridge          t<labid>b<i>      e.g. t3f9a1cb0             (switch i in file order)
//   switch port (veth)  t<labid>p<i>      e.g. t3f9a1cp12            (host end of link i)
//   VXLAN port          t<labid>x<i><a|b>                           (VXLAN link i, side a or b)
//   management bridge   t<labid>m         e.g. t3f9a1cm              (OVS, one per lab)
//   management port     t<labid>m<i>      e.g. t3f9a1cm2             (host end of node i's mgmt0)
//   management gw port  t<labid>mg                                  (host end of the namespace's gw0)
//   stretch VXLAN port  t<labid>s<i>m<j>                            (switch i stretched to machine j, on both machines)
//
// Namespaces and containers: the instance contains no '.', so the first '.' after the prefix splits
// instance and node; node names never start with '_', so node and infrastructure namespaces differ.
// Host interfaces: the id is fixed-length and the suffixes (b, p, x, m, mg, s…m…) parse uniquely; at most
// 15 chars (IFNAMSIZ-1) with i < 1000. Ownership is never read from these names: it is carried by labels
// (Docker labels, OVS external_ids, ifalias).
import { createHash } from 'node:crypto';

export const LABEL_PREFIX = 'tsunagari';

export function labId(labName: string): string {
  return createHash('sha256').update(labName).digest('hex').slice(0, 6);
}
export const containerName = (instance: string, node: string): string => `tsunagari-${instance}.${node}`;
export const netnsName = (instance: string, node: string): string => `tsunagari-${instance}.${node}`;
export const underlayNs = (instance: string, linkIndex: number, side: 'a' | 'b'): string => `tsunagari-${instance}._vx${linkIndex}${side}`;
export const bridgeName = (id: string, switchIndex: number): string => `t${id}b${switchIndex}`;
export const portName = (id: string, linkIndex: number): string => `t${id}p${linkIndex}`;
export const vxlanPortName = (id: string, linkIndex: number, side: 'a' | 'b'): string => `t${id}x${linkIndex}${side}`;
export const mgmtNetnsName = (instance: string): string => `tsunagari-${instance}._mgmt`;
export const mgmtBridgeName = (id: string): string => `t${id}m`;
export const mgmtPortName = (id: string, nodeIndex: number): string => `t${id}m${nodeIndex}`;
export const mgmtGatewayPortName = (id: string): string => `t${id}mg`;
export const stretchPortName = (id: string, switchIndex: number, machineIndex: number): string => `t${id}s${switchIndex}m${machineIndex}`;

/** Linux interface names: 1..15 chars, no '/', ':', whitespace; not '.' or '..'. */
export function isValidIfName(name: string): boolean {
  return name.length >= 1 && name.length <= 15 && /^[A-Za-z0-9_.-]+$/.test(name) && name !== '.' && name !== '..';
}

/** Lab names (topology `name:`): 1..24 lowercase letters, digits and '-', starting with a letter. */
export const LAB_NAME_RE = /^[a-z][a-z0-9-]{0,23}$/;
/** Instance names: a lab name, or a lab name + `_<n>` (a test run's own copy, n ≥ 1). */
export const INSTANCE_RE = /^[a-z][a-z0-9-]{0,23}(?:_[1-9][0-9]{0,3})?$/;

/** The instance name of copy n of a lab (n = 0: the lab's own name, as `tsunagari up` uses). */
export function instanceName(lab: string, n: number): string {
  return n === 0 ? lab : `${lab}_${n}`;
}

/** The lab an instance name belongs to (`home-nat_2` → `home-nat`). */
export function labOfInstance(instance: string): string {
  const i = instance.indexOf('_');
  return i < 0 ? instance : instance.slice(0, i);
}

/**
 * Is this a well-formed instance name? Names read back from Docker labels, ifalias, OVS external_ids,
 * ledger files or the command line are untrusted: only names passing this check become paths or names.
 */
export function isInstanceName(name: unknown): name is string {
  return typeof name === 'string' && INSTANCE_RE.test(name);
}
