// Owns the network configuration inside one node once its interfaces exist: MAC, MTU, addresses,
// link up, routes (one `ip -batch` in the node's namespace), sysctls and checksum offload.
// Must not create links or touch other namespaces.
import type { Node } from '../topology/types.js';
import { nsBatch, nsRun } from './host.js';

export function nodeConfigLines(node: Node): string[] {
  const lines: string[] = ['link set dev lo up'];
  for (const i of node.interfaces) {
    if (i.name !== 'lo') {
      if (i.mac) lines.push(`link set dev ${i.name} address ${i.mac}`);
      if (i.mtu) lines.push(`link set dev ${i.name} mtu ${i.mtu}`);
    }
    // nodad: IPv6 addresses are usable at once instead of after duplicate address detection (~2 s).
    for (const a of i.addresses) lines.push(`addr add ${a} dev ${i.name}${a.includes(':') ? ' nodad' : ''}`);
    if (i.name !== 'lo') lines.push(`link set dev ${i.name} up`);
  }
  for (const r of node.routes) {
    const to = r.to === 'default' ? (r.family === 6 ? '::/0' : '0.0.0.0/0') : r.to;
    lines.push(`route add ${to}${r.via ? ` via ${r.via}` : ''}${r.dev ? ` dev ${r.dev}` : ''}`);
  }
  return lines;
}

/** Applies net.* sysctls inside the node's namespace (they are per namespace). */
export async function applySysctls(node: Node, nsPath: string): Promise<void> {
  const entries = Object.entries(node.sysctls);
  if (!entries.length) return;
  const bad = entries.filter(([k]) => !k.startsWith('net.'));
  if (bad.length) throw new Error(`node ${node.name}: sysctl ${bad[0]?.[0]} is not per network namespace (only net.* can be set per node)`);
  const r = await nsRun(nsPath, ['sysctl', '-q', '-w', ...entries.map(([k, v]) => `${k}=${v}`)]);
  if (r.code !== 0) throw new Error(`node ${node.name}: cannot set sysctls: ${r.stderr.trim()}`);
}

/** Interfaces whose transmit checksum offload is turned off: those the topology asks for, and by
 *  default those attached to an OVS switch. The userspace datapath forwards the frames a veth hands
 *  it with the TCP/UDP checksum still unfilled, and the receiving node drops them: without this, TCP
 *  across a switch times out while ping works. `tx_checksum_offload: true` keeps it on. */
export function offloadOffInterfaces(node: Node, switchIfaces: ReadonlySet<string>): string[] {
  return node.interfaces
    .filter((i) => i.txChecksumOffload === false || (i.txChecksumOffload === undefined && switchIfaces.has(i.name)))
    .map((i) => i.name);
}

export async function applyOffloads(node: Node, nsPath: string, switchIfaces: ReadonlySet<string> = new Set()): Promise<void> {
  for (const name of offloadOffInterfaces(node, switchIfaces)) {
    const r = await nsRun(nsPath, ['ethtool', '-K', name, 'tx', 'off']);
    if (r.code !== 0) throw new Error(`node ${node.name}: cannot turn tx checksum offload off on ${name}: ${r.stderr.trim()}`);
  }
}

export async function configureNode(node: Node, nsPath: string, extraFirst: string[] = []): Promise<void> {
  await nsBatch(nsPath, [...extraFirst, ...nodeConfigLines(node)], `configure the interfaces of node ${node.name}`);
}
