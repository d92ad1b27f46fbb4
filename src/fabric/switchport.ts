// Owns node↔switch links: a veth whose node end goes into the node and whose host end (labelled by
// ifalias) becomes an OVS port with an optional VLAN access tag or trunk.
// Must not touch bridges (ovs.ts creates them) or node addresses.
import type { SwitchLink, Switch } from '../topology/types.js';
import type { NodeHandle } from '../runtime/types.js';
import { aliasFor, type Owner } from '../lab/labels.js';
import type { PortSpec } from './ovs.js';

export function switchPortLines(link: SwitchLink, node: NodeHandle, owner: Owner, mtu?: number): string[] {
  const lines = [
    `link add ${link.node.iface} netns ${node.nsRef} type veth peer name ${link.hostIf}`,
    `link set dev ${link.hostIf} alias "${aliasFor(owner, `link:${link.name}`)}"`,
  ];
  if (mtu) lines.push(`link set dev ${link.hostIf} mtu ${mtu}`);
  lines.push(`link set dev ${link.hostIf} up`);
  return lines;
}

export function switchPortSpec(link: SwitchLink, sw: Switch): PortSpec {
  return { bridge: sw.bridge, port: link.hostIf, name: link.name, vlan: link.vlan ?? sw.ports[link.port] };
}
