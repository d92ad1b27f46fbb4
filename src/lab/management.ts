// Owns a lab's management network on this machine — its OVS bridge, the management namespace holding the
// gateway address (gw0), every managed node's mgmt0 — and the lab's SSH trust: tsunagari's client key pair
// (state dir, 0600), its installation into managed nodes, and their pinned host keys (read through the
// container). Must not touch data-plane links, switches or addresses; up.ts records names in the ledger first.
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ed25519KeyPair } from '../devices/keygen.js';
import type { Lab, Node } from '../topology/types.js';
import type { NodeHandle, Runtime } from '../runtime/types.js';
import type { PortSpec, BridgeSpec } from '../fabric/ovs.js';
import { nsBatch, nsRun } from '../fabric/host.js';
import { createLabelledNetns } from '../runtime/netns.js';
import { MANAGEMENT_GATEWAY_IFACE, MANAGEMENT_IFACE } from '../topology/management.js';
import { SSH_HOST_KEY } from '../topology/frr.js';
import { parsePublicKey } from '../devices/hostkey.js';
import { aliasFor, type Owner } from './labels.js';
import { labFilesDir } from './services.js';
import { UserError } from '../util/errors.js';


/** What the ledger keeps about a lab's SSH trust (never the private key itself: only where it is). */
export interface ManagementState {
  clientKeyFile: string;                       // private key, mode 0600, below the lab's state directory
  clientPublicKey: string;                     // OpenSSH line installed into managed nodes
  hostKeys: Record<string, PinnedHostKey>;     // node → its host key, read through the container
}

export interface PinnedHostKey { type: string; key: string; fingerprint: string; }

export const LABEL = 'management';

/** Directory of the lab's SSH material (0700); `_` keeps it apart from netns node directories. */
export function sshDir(lab: string): string {
  return join(labFilesDir(lab), '_ssh');
}

export const managedNodes = (lab: Lab): Node[] => lab.nodes.filter((n) => n.management);

/** Host interfaces the management network adds (OVS ports): the gateway's, then one per managed node. */
export function managementHostIfs(lab: Lab): string[] {
  if (!lab.management) return [];
  return [lab.management.gatewayIf, ...managedNodes(lab).map((n) => n.management!.hostIf)];
}

export function managementBridge(lab: Lab): BridgeSpec[] {
  return lab.management ? [{ bridge: lab.management.bridge, name: LABEL }] : [];
}

export function managementPorts(lab: Lab): PortSpec[] {
  const m = lab.management;
  if (!m) return [];
  return [
    { bridge: m.bridge, port: m.gatewayIf, name: `${LABEL}:gateway` },
    ...managedNodes(lab).map((n) => ({ bridge: m.bridge, port: n.management!.hostIf, name: `${LABEL}:${n.name}` })),
  ];
}

/** `ip -batch` lines (host namespace) creating the veths: gw0 into the management namespace, mgmt0 into each node. */
export function managementLinkLines(lab: Lab, handles: Record<string, NodeHandle>, owner: Owner): string[] {
  const m = lab.management;
  if (!m) return [];
  const pair = (inner: string, ns: string, hostIf: string, what: string): string[] => [
    `link add ${inner} netns ${ns} type veth peer name ${hostIf}`,
    `link set dev ${hostIf} alias "${aliasFor(owner, what)}"`,
    `link set dev ${hostIf} up`,
  ];
  return [
    ...pair(MANAGEMENT_GATEWAY_IFACE, m.netns, m.gatewayIf, `${LABEL}:gateway`),
    ...managedNodes(lab).flatMap((n) => pair(MANAGEMENT_IFACE, handles[n.name]!.nsRef, n.management!.hostIf, `${LABEL}:${n.name}`)),
  ];
}

/**
 * Lines inside a managed node: its address (the subnet's connected route, never a default route), link up,
 * and three policy rules so the management network is no transit: the node itself (iif lo) and packets
 * arriving on mgmt0 use the main table for the subnet; packets forwarded from the data plane towards it
 * are refused (prohibit → ICMP unreachable). Forwarding of packets arriving on mgmt0 is off (sysctl).
 */
export function nodeManagementLines(node: Node, subnet: string): string[] {
  const m = node.management;
  if (!m) return [];
  return [
    `addr add ${m.address} dev ${m.iface}`,
    `link set dev ${m.iface} up`,
    `rule add pref ${RULE_PREF} to ${subnet} iif lo lookup main`,
    `rule add pref ${RULE_PREF + 1} to ${subnet} iif ${m.iface} lookup main`,
    `rule add pref ${RULE_PREF + 2} to ${subnet} prohibit`,
  ];
}

/** Preference of the first management policy rule (before the main table's 32766). */
export const RULE_PREF = 1000;

export async function createManagementNetns(lab: Lab, owner: Owner): Promise<void> {
  if (lab.management) await createLabelledNetns(lab.management.netns, owner, LABEL);
}

/**
 * Addresses and settings: gw0 in the management namespace, mgmt0 in every managed node. Transmit checksum
 * offload off on both ends (the userspace OVS datapath forwards unfilled checksums: TCP would fail), and
 * no forwarding of packets that arrive on mgmt0 (the management network is no transit into the lab).
 */
export async function configureManagement(lab: Lab, handles: Record<string, NodeHandle>): Promise<void> {
  const m = lab.management;
  if (!m) return;
  const gwNs = `/run/netns/${m.netns}`;
  await nsBatch(gwNs, [`addr add ${m.gateway} dev ${MANAGEMENT_GATEWAY_IFACE}`, `link set dev ${MANAGEMENT_GATEWAY_IFACE} up`],
    `configure the management namespace ${m.netns}`);
  await offloadOff(gwNs, MANAGEMENT_GATEWAY_IFACE, `management namespace ${m.netns}`);
  for (const n of managedNodes(lab)) {
    const path = handles[n.name]!.netnsPath;
    await nsBatch(path, nodeManagementLines(n, m.subnet), `configure ${MANAGEMENT_IFACE} of node ${n.name}`);
    await offloadOff(path, MANAGEMENT_IFACE, `node ${n.name}`);
    const r = await nsRun(path, ['sysctl', '-q', '-w', `net.ipv4.conf.${MANAGEMENT_IFACE}.forwarding=0`]);
    if (r.code !== 0) throw new Error(`node ${n.name}: cannot turn forwarding off on ${MANAGEMENT_IFACE}: ${r.stderr.trim()}`);
  }
}

async function offloadOff(nsPath: string, dev: string, where: string): Promise<void> {
  const r = await nsRun(nsPath, ['ethtool', '-K', dev, 'tx', 'off']);
  if (r.code !== 0) throw new Error(`${where}: cannot turn tx checksum offload off on ${dev}: ${r.stderr.trim()}`);
}

/** Generates the lab's client key pair; the private key goes to sshDir (0600), never anywhere else. */
export function createClientKey(lab: string): Omit<ManagementState, 'hostKeys'> {
  const dir = sshDir(lab);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
  const pair = ed25519KeyPair(`tsunagari-${lab}`);
  const file = join(dir, 'id_ed25519');
  writeFileSync(file, pair.private, { mode: 0o600 });
  chmodSync(file, 0o600);
  return { clientKeyFile: file, clientPublicKey: pair.public.trim() };
}

/** The private key, for a session (read at connect time, kept in no object that could be printed). */
export function readClientKey(state: ManagementState, lab: string): Buffer {
  try {
    return readFileSync(state.clientKeyFile);
  } catch (e) {
    throw new UserError(`cannot read the SSH client key of lab ${lab} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}: ${state.clientKeyFile})`,
      `\`tsunagari down ${lab}\` and bring it up again`);
  }
}

/** Writes the lab's public key as root's only authorized key (before the node's sshd starts). */
export async function installClientKey(rt: Runtime, h: NodeHandle, node: Node, publicKey: string): Promise<void> {
  const r = await rt.exec(h, ['sh', '-c', 'umask 077 && mkdir -p /root/.ssh && cat >/root/.ssh/authorized_keys && chmod 700 /root /root/.ssh'],
    { input: `${publicKey}\n`, timeoutMs: 15_000 });
  if (r.code !== 0) throw new Error(`node ${node.name}: cannot install tsunagari's SSH key (${r.stderr.trim() || `exit ${r.code}`})`);
}

/** Reads the node's host key through the container (not over the network), for pinning. */
export async function readHostKey(rt: Runtime, h: NodeHandle, node: Node): Promise<PinnedHostKey> {
  const r = await rt.exec(h, ['cat', `${SSH_HOST_KEY}.pub`], { timeoutMs: 15_000 });
  const k = r.code === 0 ? parsePublicKey(r.stdout) : undefined;
  if (!k) throw new Error(`node ${node.name}: cannot read its SSH host key ${SSH_HOST_KEY}.pub (${r.stderr.trim() || 'not an OpenSSH public key'})`);
  return { type: k.type, key: k.blob.toString('base64'), fingerprint: k.fingerprint };
}
