// The naming scheme, written down once. Every host-visible name tsunagari creates comes from here.
//
//   lab id              6 hex chars of sha256(lab name): stable, so `down <lab>` needs no state
//   container           tsunagari-<lab>-<node>                      (docker runtime)
//   network namespace   tsunagari-<lab>-<node>                      (netns runtime, `ip netns`)
//   underlay namespace  tsunagari-<lab>-vx<i><a|b>                  (local switch↔switch VXLAN, link i)
//   OVS bridge          t<labid>b<i>      e.g. t3f9a1cb0             (switch i in file order)
//   switch port (veth)  t<labid>p<i>      e.g. t3f9a1cp12            (host end of link i)
//   VXLAN port          t<labid>x<i><a|b>                           (VXLAN link i, side a or b)
//   management netns    tsunagari-<lab>-mgmt                        (labs with managed nodes, e.g. kind frr)
//   management bridge   t<labid>m         e.g. t3f9a1cm              (OVS, one per lab)
//   management port     t<labid>m<i>      e.g. t3f9a1cm2             (host end of node i's mgmt0)
//   management gw port  t<labid>mg                                  (host end of the namespace's gw0)
//   stretch VXLAN port  t<labid>s<i>m<j>                            (switch i stretched to machine j, on both machines)
//
// Host interfaces are at most 15 chars (IFNAMSIZ-1); with i < 1000 every name above fits. Ownership is
// never read from these names: it is carried by labels (Docker labels, OVS external_ids, ifalias).
import { createHash } from 'node:crypto';

export const LABEL_PREFIX = 'tsunagari';

export function labId(labName: string): string {
  return createHash('sha256').update(labName).digest('hex').slice(0, 6);
}
export const containerName = (lab: string, node: string): string => `tsunagari-${lab}-${node}`;
export const netnsName = (lab: string, node: string): string => `tsunagari-${lab}-${node}`;
export const underlayNs = (lab: string, linkIndex: number, side: 'a' | 'b'): string => `tsunagari-${lab}-vx${linkIndex}${side}`;
export const bridgeName = (id: string, switchIndex: number): string => `t${id}b${switchIndex}`;
export const portName = (id: string, linkIndex: number): string => `t${id}p${linkIndex}`;
export const vxlanPortName = (id: string, linkIndex: number, side: 'a' | 'b'): string => `t${id}x${linkIndex}${side}`;
export const mgmtNetnsName = (lab: string): string => `tsunagari-${lab}-mgmt`;
export const mgmtBridgeName = (id: string): string => `t${id}m`;
export const mgmtPortName = (id: string, nodeIndex: number): string => `t${id}m${nodeIndex}`;
export const mgmtGatewayPortName = (id: string): string => `t${id}mg`;
export const stretchPortName = (id: string, switchIndex: number, machineIndex: number): string => `t${id}s${switchIndex}m${machineIndex}`;

/** Linux interface names: 1..15 chars, no '/', ':', whitespace; not '.' or '..'. */
export function isValidIfName(name: string): boolean {
  return name.length >= 1 && name.length <= 15 && /^[A-Za-z0-9_.-]+$/.test(name) && name !== '.' && name !== '..';
}
