// Owns the network configuration inside one node once its interfaces exist: MAC, MTU, addresses,
// link up, routes (an `ip -batch`), sysctls and checksum offload — all in one process started in the
// node's namespace (configureNode: one `nsenter … sh` per node instead of one per tool).
// Must not create links or touch other namespaces.
import type { Node } from '../topology/types.js';
import { run, type RunResult } from '../util/exec.js';
import { explainBatch } from './host.js';

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

/** Interfaces whose transmit checksum offload is turned off: those the topology asks for, and by
 *  default those attached to an OVS switch. The userspace datapath forwards the frames a veth hands
 *  it with the TCP/UDP checksum still unfilled, and the receiving node drops them: without this, TCP
 *  across a switch times out while ping works. `tx_checksum_offload: true` keeps it on. */
export function offloadOffInterfaces(node: Node, switchIfaces: ReadonlySet<string>): string[] {
  return node.interfaces
    .filter((i) => i.txChecksumOffload === false || (i.txChecksumOffload === undefined && switchIfaces.has(i.name)))
    .map((i) => i.name);
}

/** net.* sysctls of the node as `key=value` (they are per namespace; anything else is refused). */
export function nodeSysctls(node: Node): string[] {
  const entries = Object.entries(node.sysctls);
  const bad = entries.filter(([k]) => !k.startsWith('net.'));
  if (bad.length) throw new Error(`node ${node.name}: sysctl ${bad[0]?.[0]} is not per network namespace (only net.* can be set per node)`);
  return entries.map(([k, v]) => `${k}=${v}`);
}

/**
 * The configuration script run inside the node: `ip -batch` from stdin, then each argument —
 * `sysctl=K=V` or `txoff=IFACE` — announced on stderr (`@ARG`) before it runs, so a failure names its
 * step. Arguments are data to the script (positional parameters), never parsed as shell code.
 */
const CONFIG_SCRIPT = `ip -batch - || exit 101
for a; do
  printf '@%s\\n' "$a" >&2
  case $a in
    sysctl=*) sysctl -q -w "\${a#sysctl=}" || exit 102 ;;
    txoff=*) ethtool -K "\${a#txoff=}" tx off || exit 103 ;;
  esac
done`;

/** Addresses, routes, sysctls and offloads of one node, in one process in its namespace. */
export async function configureNode(node: Node, nsPath: string, extraFirst: string[] = [], switchIfaces: ReadonlySet<string> = new Set(),
  /** Runs `nsenter --net=<nsPath> …` elsewhere (another machine's agent); default: here. */
  runner: (argv: string[], input: string) => Promise<RunResult> = (argv, input) => run(argv[0] as string, argv.slice(1), { input, timeoutMs: 30_000 })): Promise<void> {
  const lines = [...extraFirst, ...nodeConfigLines(node)];
  const args = [...nodeSysctls(node).map((kv) => `sysctl=${kv}`), ...offloadOffInterfaces(node, switchIfaces).map((i) => `txoff=${i}`)];
  const r = await runner(['nsenter', `--net=${nsPath}`, 'sh', '-c', CONFIG_SCRIPT, 'tsunagari-config', ...args], lines.join('\n') + '\n');
  if (r.code === 0) return;
  const err = r.stderr.split('\n');
  const mark = err.map((l, i) => (l.startsWith('@') ? i : -1)).filter((i) => i >= 0).pop();
  const step = mark === undefined ? '' : (err[mark] as string).slice(1);
  const why = (mark === undefined ? err : err.slice(mark + 1)).join(' ').trim();
  if (r.code === 102) throw new Error(`node ${node.name}: cannot set sysctls: ${why || step}`);
  if (r.code === 103) throw new Error(`node ${node.name}: cannot turn tx checksum offload off on ${step.slice('txoff='.length)}: ${why}`);
  if (r.code === 101) throw new Error(`cannot configure the interfaces of node ${node.name}: ${explainBatch(r.stderr, lines)}`);
  throw new Error(`cannot configure node ${node.name} (exit ${r.code}): ${r.stderr.trim().split('\n').slice(-3).join(' | ')}`);
}
