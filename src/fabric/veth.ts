// Owns node↔node links: one veth pair created directly inside both node namespaces (no host end).
// Must not configure addresses (node-config.ts does) or touch the host namespace.
import type { VethLink } from '../topology/types.js';
import type { NodeHandle } from '../runtime/types.js';

export function vethLines(link: VethLink, a: NodeHandle, b: NodeHandle): string[] {
  return [`link add ${link.a.iface} netns ${a.nsRef} type veth peer name ${link.b.iface} netns ${b.nsRef}`];
}
