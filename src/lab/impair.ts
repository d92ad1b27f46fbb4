// Owns the changes a scenario makes to the links of a running lab — down/up, loss (nftables), rate (tbf),
// delay (netem, where the kernel has it) — each returning its inverse (Undo), idempotent and quiet once
// the lab is gone. Must not create or delete links, nodes or addresses, nor touch anything not of this link.
import { existsSync } from 'node:fs';
import type { Link, NicLink, Node, Route } from '../topology/types.js';
import type { RunningLab } from './running.js';
import { resolveLink } from './targets.js';
import { parseCidr, parseIp, inSubnet } from '../topology/address.js';
import { run, type RunResult } from '../util/exec.js';
import { UserError } from '../util/errors.js';
import { probeKernel } from '../setup/doctor.js';
import { journaled, type Inverse, type PlaceCommand } from './journal.js';

/** The inverse of a change; safe to call twice and after the lab went down. */
export type Undo = () => Promise<void>;

// ------------------------------------------------------------------------------------------ places

/** Where a link end lives: inside a node, in our own namespace (switch ports), or in a VXLAN underlay namespace;
 *  or on another machine (docs/machines.md): in its namespace, or inside a node there (run through its agent). */
export type Where = { kind: 'node'; node: string } | { kind: 'host' } | { kind: 'netns'; name: string }
  | { kind: 'machine'; machine: string; node?: string };

/** One device of a link that an impairment acts on. */
export interface Place { where: Where; dev: string; label: string; mtu?: number; }

const machineOfNode = (lab: { nodes: Node[] }, node: string): string | undefined => lab.nodes.find((n) => n.name === node)?.machine;
const nodeEnd = (lab: { nodes: Node[] }, node: string, iface: string): Place => {
  const machine = machineOfNode(lab, node);
  return {
    where: machine ? { kind: 'machine', machine, node } : { kind: 'node', node }, dev: iface, label: `${node}:${iface}`,
    mtu: lab.nodes.find((n) => n.name === node)?.interfaces.find((i) => i.name === iface)?.mtu,
  };
};
const hostPort = (dev: string, what: string, mtu?: number, machine?: string): Place =>
  ({ where: machine ? { kind: 'machine', machine } : { kind: 'host' }, dev, label: `${what} ${dev}${machine ? ` on ${machine}` : ''}`, mtu });
/** The node a place is inside of (here or on another machine), if any. */
const nodeOf = (w: Where): string | undefined => (w.kind === 'node' || w.kind === 'machine' ? w.node : undefined);

/** A NIC of this machine joined to a switch (profile attachment) is never changed by tsunagari. */
function nicUntouched(link: NicLink): UserError {
  return new UserError(`cannot change link ${link.name} (it is this machine's NIC ${link.device}, which tsunagari only adds to switch ${link.switch})`,
    'name a link of the topology instead');
}

/** Devices that go down for linkDown: the switch side when there is one (the node keeps its routes). */
export function downPlaces(lab: { nodes: Node[] }, link: Link): Place[] {
  switch (link.type) {
    case 'nic': throw nicUntouched(link);
    case 'switch': return [hostPort(link.hostIf, `port of switch ${link.switch}`, undefined, machineOfNode(lab, link.node.node))];
    case 'veth': return [nodeEnd(lab, link.a.node, link.a.iface), nodeEnd(lab, link.b.node, link.b.iface)];
    case 'vxlan': {
      const sw = [link.a, link.b].flatMap((s) => (s.kind === 'switch' ? [hostPort(s.hostIf, `VXLAN port of switch ${s.switch}`, undefined, s.machine)] : []));
      if (sw.length) return sw;
      return [link.a, link.b].flatMap((s) => (s.kind === 'node' ? [nodeEnd(lab, s.node, s.iface)] : []));
    }
  }
}

/**
 * Devices whose egress carries each direction of the link once: tbf/netem go on each of them.
 * A switch link: the node end (node → switch) and the host-side port (switch → node; OVS's userspace
 * datapath sends through the port's qdisc). Switch↔switch VXLAN: the two ends of the private underlay.
 * Switch↔remote VXLAN: only our side's device (the remote machine shapes its own direction).
 */
export function egressPlaces(lab: { nodes: Node[] }, link: Link): Place[] {
  switch (link.type) {
    case 'nic': throw nicUntouched(link);
    case 'switch': {
      const end = nodeEnd(lab, link.node.node, link.node.iface);
      return [end, hostPort(link.hostIf, `port of switch ${link.switch}`, end.mtu, machineOfNode(lab, link.node.node))];
    }
    case 'veth': return [nodeEnd(lab, link.a.node, link.a.iface), nodeEnd(lab, link.b.node, link.b.iface)];
    case 'vxlan': {
      const { a, b } = link;
      if (a.kind === 'switch' && b.kind === 'switch' && link.underlay && a.underlayNs && b.underlayNs) {
        return [
          { where: { kind: 'netns', name: a.underlayNs }, dev: link.underlay.veth[0], label: `underlay ${link.underlay.veth[0]} of ${link.name}` },
          { where: { kind: 'netns', name: b.underlayNs }, dev: link.underlay.veth[1], label: `underlay ${link.underlay.veth[1]} of ${link.name}` },
        ];
      }
      return [a, b].flatMap((s): Place[] => (s.kind === 'node' ? [nodeEnd(lab, s.node, s.iface)]
        : s.kind === 'switch' ? [hostPort(s.hostIf, `VXLAN port of switch ${s.switch}`, undefined, s.machine)] : []));
    }
  }
}

// ------------------------------------------------------------------------------------------ running commands

const GONE = Symbol('gone');

/** The namespace file of a place (undefined = our own namespace), or GONE when the node/namespace no longer exists. */
async function nsOf(running: RunningLab, where: Exclude<Where, { kind: 'machine' }>): Promise<string | undefined | typeof GONE> {
  if (where.kind === 'host') return undefined;
  if (where.kind === 'netns') {
    const p = `/run/netns/${where.name}`;
    return existsSync(p) ? p : GONE;
  }
  let path: string;
  try {
    path = (await running.handle(where.node)).netnsPath;
  } catch {
    return GONE;
  }
  return existsSync(path) ? path : GONE;
}

function runIn(ns: string | undefined, argv: string[], input?: string): Promise<RunResult> {
  const [file, ...args] = argv as [string, ...string[]];
  return ns === undefined
    ? run(file, args, { input, timeoutMs: 30_000 })
    : run('nsenter', [`--net=${ns}`, file, ...args], { input, timeoutMs: 30_000 });
}

/** The telling line of a failed command: nft prints `Error: …` above the offending line and its carets. */
function lastErr(r: RunResult): string {
  const lines = (r.stderr || r.stdout).trim().split('\n').map((l) => l.trim()).filter(Boolean);
  return lines.find((l) => /\bError\b/.test(l)) ?? lines.pop() ?? `exit ${r.code}`;
}
const DEVICE_GONE = /Cannot find device|does not exist|No such device|nsenter: /;

/** A command in a place failed; `stderr` in full for callers that look for a cause. */
class PlaceError extends Error {
  constructor(message: string, readonly stderr: string) { super(message); }
}

/** Runs in the place; in `tolerant` mode (undo) a vanished node, namespace or device is success. */
async function inPlace(running: RunningLab, place: Place, argv: string[], o: { tolerant: boolean; input?: string; okIf?: RegExp }): Promise<RunResult | undefined> {
  let r: RunResult;
  if (place.where.kind === 'machine') {
    // Another machine: through its agent (inside a node there: nsenter by the node's pid on that machine).
    r = await running.onMachine(place.where.machine, argv, { ...(place.where.node ? { node: place.where.node } : {}), ...(o.input !== undefined ? { input: o.input } : {}) });
  } else {
    const ns = await nsOf(running, place.where);
    if (ns === GONE) {
      if (o.tolerant) return undefined;
      throw new Error(`${place.label} is gone (${place.where.kind === 'node' ? `node ${place.where.node} is not running` : 'namespace removed'})`);
    }
    r = await runIn(ns, argv, o.input);
  }
  if (r.code === 0 || o.okIf?.test(r.stderr)) return r;
  if (o.tolerant && DEVICE_GONE.test(r.stderr)) return undefined;
  throw new PlaceError(`${place.label}: \`${argv.join(' ')}\`: ${lastErr(r)}`, r.stderr);
}

/** A command of a journal inverse for a place (journal.ts). */
export function placeCommand(p: Place, argv: string[], o: { input?: string; okIf?: RegExp } = {}): PlaceCommand {
  return { where: p.where, label: p.label, argv, ...(o.input !== undefined ? { input: o.input } : {}), ...(o.okIf ? { okIf: o.okIf.source } : {}) };
}

/** Runs a journal inverse's commands (tolerant: a vanished node, namespace or device is success). All are
 *  tried; the first failure is thrown after the rest ran. */
export async function runInverse(running: RunningLab, inv: Inverse): Promise<void> {
  if (inv.kind !== 'commands') throw new Error(`not a command inverse: ${inv.kind}`);
  let first: Error | undefined;
  for (const c of inv.commands) {
    try {
      await inPlace(running, { where: c.where, dev: '', label: c.label }, c.argv, { tolerant: true, ...(c.input !== undefined ? { input: c.input } : {}), ...(c.okIf ? { okIf: new RegExp(c.okIf) } : {}) });
    } catch (e) { first ??= e as Error; }
  }
  if (first) throw first;
}

/** Write-ahead for a change of this module: the inverse commands are recorded before `apply` runs. */
export function withJournal(running: RunningLab, what: string, commands: PlaceCommand[], apply: () => Promise<Undo>): Promise<Undo> {
  const inv: Inverse = { kind: 'commands', commands };
  return journaled(running.journal, what, inv, (i) => runInverse(running, i), apply);
}

/** Runs fn over the places in turn; an error reads `cannot <what> (<place>: <cause>)`. */
async function each<P extends Place>(what: string, places: P[], fn: (p: P) => Promise<unknown>): Promise<void> {
  for (const p of places) {
    try {
      await fn(p);
    } catch (e) {
      throw e instanceof UserError ? e : new Error(`cannot ${what} (${(e as Error).message})`);
    }
  }
}

function asLink(running: RunningLab, link: Link | string): Link {
  return typeof link === 'string' ? resolveLink(running.lab, link) : link;
}

// ------------------------------------------------------------------------------------------ down / up

const KEEP_ADDR = 'net.ipv6.conf.all.keep_addr_on_down';

/** `ip route replace` lines restoring a node's static routes through `iface` (same syntax as nodeConfigLines). */
export function routeRestoreLines(node: Node, iface: string): string[] {
  const subnets = (node.interfaces.find((i) => i.name === iface)?.addresses ?? []).map(parseCidr).filter((c) => c !== null);
  const through = (r: Route): boolean => {
    if (r.dev) return r.dev === iface;
    const via = r.via ? parseIp(r.via) : null;
    return via !== null && subnets.some((c) => inSubnet(via, c));
  };
  return node.routes.filter(through).map((r) => {
    const to = r.to === 'default' ? (r.family === 6 ? '::/0' : '0.0.0.0/0') : r.to;
    return `route replace ${to}${r.via ? ` via ${r.via}` : ''}${r.dev ? ` dev ${r.dev}` : ''}`;
  });
}

/**
 * Takes a link down. A switch link (or a VXLAN with a switch side): the host-side port goes down, so the
 * node sees NO-CARRIER and keeps its addresses and routes — like a cable pulled at the switch. A veth
 * between nodes, or a VXLAN between nodes: both ends go down inside the nodes (Linux then drops their
 * static routes, which linkUp re-adds). The Undo brings the link up again and restores the sysctl.
 */
export async function linkDown(running: RunningLab, linkOrName: Link | string): Promise<Undo> {
  const link = asLink(running, linkOrName);
  const places = downPlaces(running.lab, link);
  // Read first (keep_addr_on_down as it is, per node), so the journal knows the whole inverse before any change.
  const restore = new Map<string, { place: Place; value: string }>();
  await each(`set link ${link.name} down`, places, async (p) => {
    const node = nodeOf(p.where);
    if (!node || restore.has(node)) return;
    const cur = await inPlace(running, p, ['sysctl', '-n', KEEP_ADDR], { tolerant: false });
    restore.set(node, { place: p, value: (cur?.stdout ?? '').trim() });
  });
  const changed = [...restore.values()].filter((r) => r.value !== '1');
  const inverse = [
    ...places.map((p) => placeCommand(p, ['ip', 'link', 'set', 'dev', p.dev, 'up'])),
    ...places.flatMap((p) => {
      const node = nodeOf(p.where);
      const lines = node ? routeRestoreLines(running.node(node), p.dev) : [];
      return lines.length ? [placeCommand(p, ['ip', '-batch', '-'], { input: lines.join('\n') + '\n' })] : [];
    }),
    ...changed.map((r) => placeCommand(r.place, ['sysctl', '-q', '-w', `${KEEP_ADDR}=${r.value}`])),
  ];
  return withJournal(running, `link ${link.name} down`, inverse, async () => {
    let done = false;
    const undo: Undo = async () => {
      if (done) return;
      await bringUp(running, link, true);
      for (const r of changed) await inPlace(running, r.place, ['sysctl', '-q', '-w', `${KEEP_ADDR}=${r.value}`], { tolerant: true });
      done = true;
    };
    try {
      // An administratively downed interface loses its IPv6 addresses, and they do not come back on up
      // (IPv4 addresses stay). keep_addr_on_down=1 keeps them; `all` covers every interface of the node.
      for (const r of changed) await inPlace(running, r.place, ['sysctl', '-q', '-w', `${KEEP_ADDR}=1`], { tolerant: false });
      await each(`set link ${link.name} down`, places, (p) => inPlace(running, p, ['ip', 'link', 'set', 'dev', p.dev, 'down'], { tolerant: false }));
    } catch (e) {
      await undo().catch(() => { /* the first error is the one to show */ });
      throw e;
    }
    return undo;
  });
}

/** Brings a link up (the inverse of linkDown) and re-adds the static routes Linux dropped inside nodes. */
export async function linkUp(running: RunningLab, linkOrName: Link | string): Promise<void> {
  await bringUp(running, asLink(running, linkOrName), false);
}

async function bringUp(running: RunningLab, link: Link, tolerant: boolean): Promise<void> {
  const places = downPlaces(running.lab, link);
  const what = `set link ${link.name} up`;
  await each(what, places, (p) => inPlace(running, p, ['ip', 'link', 'set', 'dev', p.dev, 'up'], { tolerant }));
  // Routes only after every end is up: a gateway is accepted only through an interface that is up.
  await each(what, places, async (p) => {
    const node = nodeOf(p.where);
    if (!node) return;
    const lines = routeRestoreLines(running.node(node), p.dev);
    if (lines.length) await inPlace(running, p, ['ip', '-batch', '-'], { tolerant, input: lines.join('\n') + '\n' });
  });
}

// ------------------------------------------------------------------------------------------ loss

/** Marker EtherType (IEEE 802 local experimental) given to frames "lost" on their way out: see lossPlan. */
export const LOST_ETHERTYPE = '0x88b5';

/** The nft condition selecting `percent` % of packets ('' = all). */
export function lossCondition(percent: number): string {
  if (!(percent > 0 && percent <= 100)) throw new UserError(`cannot set loss ${percent}% (must be more than 0 and at most 100)`);
  if (percent === 100) return '';
  if (Number.isInteger(percent)) return `numgen random mod 100 < ${percent} `;
  const n = Math.round(percent * 100);
  if (n < 1) throw new UserError(`cannot set loss ${percent}% (the finest step is 0.01%)`);
  return `numgen random mod 10000 < ${n} `;
}

/** nft table name for a device: `tsunagari_impair_<dev>` with characters nft does not take replaced. */
export function impairTable(dev: string): string {
  return `tsunagari_impair_${dev.replace(/[^A-Za-z0-9_]/g, '_')}`;
}

export interface LossPlace extends Place {
  family: 'netdev' | 'inet';
  table: string;
  script: string;
  /** The same table without its egress chain: tells "no egress hook here" from other failures. */
  withoutEgress?: string;
}

/**
 * An nft script (re)creating one table atomically: declare, delete, create — so a second loss on the same
 * link replaces the first instead of adding rules. `egress` rewrites the EtherType instead of dropping.
 */
export function netdevLossScript(table: string, dev: string, percent: number, o: { egress: boolean }): string {
  const cond = lossCondition(percent);
  const lines = [
    `table netdev ${table} {}`,
    `delete table netdev ${table}`,
    `table netdev ${table} {`,
    `  chain ingress { type filter hook ingress device "${dev}" priority -100; policy accept; ${cond}drop; }`,
  ];
  if (o.egress) lines.push(`  chain egress { type filter hook egress device "${dev}" priority -100; policy accept; ${cond}ether type set ${LOST_ETHERTYPE}; }`);
  lines.push('}');
  return lines.join('\n') + '\n';
}

/** Loss on a VXLAN's outer packets to and from `peer` (in the namespace of the local VXLAN device). */
export function udpLossScript(table: string, peer: string, dstport: number, percent: number): string {
  const cond = lossCondition(percent);
  const ip = peer.includes(':') ? 'ip6' : 'ip';
  return [
    `table inet ${table} {}`,
    `delete table inet ${table}`,
    `table inet ${table} {`,
    `  chain input { type filter hook input priority -100; policy accept; ${ip} saddr ${peer} udp dport ${dstport} ${cond}drop; }`,
    `  chain output { type filter hook output priority -100; policy accept; ${ip} daddr ${peer} udp dport ${dstport} ${cond}drop; }`,
    '}',
  ].join('\n') + '\n';
}

/**
 * Where loss goes, each direction once:
 * - veth between nodes, VXLAN between nodes: a netdev ingress drop at both ends (silent, like a wire).
 * - switch link: at the node end only. Ingress drop for switch → node. For node → switch, ingress on the
 *   host-side port does not work (OVS's userspace datapath reads the port through an AF_PACKET tap, which
 *   sees frames before netfilter's ingress hook), and a `drop` in the node's egress hook is reported to
 *   the sending socket (ENOBUFS: ping then resends instead of counting a loss). So the egress hook rewrites
 *   the frame's EtherType to LOST_ETHERTYPE: the switch forwards it and the receiver discards it unseen.
 * - switch↔switch VXLAN: ingress drop on both ends of its private underlay.
 * - switch↔remote VXLAN: the outer UDP packets to/from the remote, in our namespace (inet input/output).
 */
export function lossPlan(lab: { nodes: Node[] }, link: Link, percent: number): LossPlace[] {
  const netdev = (p: Place, egress: boolean): LossPlace => {
    const table = impairTable(p.dev);
    return { ...p, family: 'netdev', table, script: netdevLossScript(table, p.dev, percent, { egress }) };
  };
  switch (link.type) {
    case 'nic': throw nicUntouched(link);
    case 'veth': return egressPlaces(lab, link).map((p) => netdev(p, false));
    case 'switch': {
      const p = netdev(nodeEnd(lab, link.node.node, link.node.iface), true);
      return [{ ...p, withoutEgress: netdevLossScript(p.table, p.dev, percent, { egress: false }) }];
    }
    case 'vxlan': {
      const { a, b } = link;
      if (a.kind === 'switch' && b.kind === 'remote') {
        const table = impairTable(a.hostIf);
        return [{ ...hostPort(a.hostIf, `VXLAN port of switch ${a.switch}`, undefined, a.machine), family: 'inet', table, script: udpLossScript(table, b.address, link.dstport, percent) }];
      }
      return egressPlaces(lab, link).map((p) => netdev(p, false));
    }
  }
}

/** Does this kernel/nft take netdev egress chains? Learnt from the first attempt, then cached. */
let egressHook: boolean | undefined;

/**
 * Drops `percent` % of the packets in each direction of the link (nftables numgen). The Undo deletes
 * exactly the tables this call created.
 */
export async function linkLoss(running: RunningLab, linkOrName: Link | string, percent: number): Promise<Undo> {
  const link = asLink(running, linkOrName);
  const plan = lossPlan(running.lab, link, percent);
  return withJournal(running, `${percent}% loss on link ${link.name}`,
    plan.map((p) => placeCommand(p, ['nft', 'delete', 'table', p.family, p.table], { okIf: /No such file or directory/ })),
    () => applyLoss(running, link, plan, percent));
}

async function applyLoss(running: RunningLab, link: Link, plan: LossPlace[], percent: number): Promise<Undo> {
  const made: LossPlace[] = [];
  const undo: Undo = async () => {
    for (const p of made.splice(0).reverse()) {
      await inPlace(running, p, ['nft', 'delete', 'table', p.family, p.table], { tolerant: true, okIf: /No such file or directory/ });
    }
  };
  try {
    await each(`add ${percent}% loss to link ${link.name}`, plan, async (p) => {
      if (p.withoutEgress && egressHook === false) throw egressMissing(link);
      try {
        await inPlace(running, p, ['nft', '-f', '-'], { tolerant: false, input: p.script });
        if (p.withoutEgress) egressHook = true;
      } catch (e) {
        // Learn once whether the egress chain was the problem: the same table without it must then work.
        if (p.withoutEgress && egressHook === undefined && e instanceof PlaceError
          && await inPlace(running, p, ['nft', '-f', '-'], { tolerant: false, input: p.withoutEgress }).then(() => true, () => false)) {
          await inPlace(running, p, ['nft', 'delete', 'table', p.family, p.table], { tolerant: true, okIf: /No such file or directory/ });
          egressHook = false;
          throw egressMissing(link);
        }
        throw e;
      }
      made.push(p);
    });
  } catch (e) {
    await undo().catch(() => { /* the first error is the one to show */ });
    throw e;
  }
  return undo;
}

function egressMissing(link: Link): UserError {
  return new UserError(`not available on this kernel: nftables netdev egress hook (loss on link ${link.name} towards the switch)`,
    'use a kernel ≥ 5.16 with CONFIG_NETFILTER_EGRESS and nftables ≥ 1.0.1, or impair a veth link');
}

// ------------------------------------------------------------------------------------------ rate and delay

/** Our qdisc handle ("ts"): undo deletes a root qdisc only when it is ours. */
export const QDISC_HANDLE = '7473:';

export interface TbfParams { rate: string; burstBytes: number; latencyMs: number; args: string[]; }

/**
 * tbf for a rate: burst = 10 ms worth of traffic but at least two full frames (tbf drops a frame larger
 * than its bucket); queue (latency) 50 ms, longer at low rates so it holds at least four full frames.
 */
export function tbfParams(bitsPerSecond: number, mtu = 1500): TbfParams {
  if (!(Number.isFinite(bitsPerSecond) && bitsPerSecond >= 8000 && bitsPerSecond <= 100e9)) {
    throw new UserError(`cannot set rate ${bitsPerSecond} bit/s (must be 8 kbit/s .. 100 Gbit/s)`);
  }
  const bps = Math.round(bitsPerSecond);
  const frame = mtu + 14;
  const burstBytes = Math.max(Math.ceil(bps / 8 / 100), 2 * frame);
  const latencyMs = Math.min(10_000, Math.max(50, Math.ceil((4 * frame * 8 * 1000) / bps)));
  const rate = `${bps}bit`;
  return { rate, burstBytes, latencyMs, args: ['tbf', 'rate', rate, 'burst', String(burstBytes), 'latency', `${latencyMs}ms`] };
}

/** stderr of `tc qdisc del … root handle 7473:` when the root qdisc is not (or no longer) ours, or gone. */
const QDISC_NOT_OURS = /handle of zero|No such file|Invalid handle|Cannot find|Cannot delete qdisc with handle of zero/;

async function withRootQdisc(running: RunningLab, what: string, places: Place[], argsFor: (p: Place) => string[]): Promise<Undo> {
  // The kernel deletes the root qdisc only when its handle is the one given: never one that is not ours.
  return withJournal(running, what, places.map((p) => placeCommand(p, ['tc', 'qdisc', 'del', 'dev', p.dev, 'root', 'handle', QDISC_HANDLE], { okIf: QDISC_NOT_OURS })),
    () => applyRootQdisc(running, what, places, argsFor));
}

async function applyRootQdisc(running: RunningLab, what: string, places: Place[], argsFor: (p: Place) => string[]): Promise<Undo> {
  const made: Place[] = [];
  const undo: Undo = async () => {
    for (const p of made.splice(0).reverse()) {
      const r = await inPlace(running, p, ['tc', '-j', 'qdisc', 'show', 'dev', p.dev, 'root'], { tolerant: true });
      if (!r) continue;
      const root = (JSON.parse(r.stdout || '[]') as Array<{ handle?: string; root?: boolean }>).find((q) => q.root);
      if (root?.handle !== QDISC_HANDLE) continue; // replaced or removed by someone else since
      await inPlace(running, p, ['tc', 'qdisc', 'del', 'dev', p.dev, 'root'], { tolerant: true, okIf: /handle of zero|No such file|Invalid handle/ });
    }
  };
  try {
    await each(what, places, async (p) => {
      await inPlace(running, p, ['tc', 'qdisc', 'replace', 'dev', p.dev, 'root', 'handle', QDISC_HANDLE, ...argsFor(p)], { tolerant: false });
      made.push(p);
    });
  } catch (e) {
    await undo().catch(() => { /* the first error is the one to show */ });
    throw e;
  }
  return undo;
}

/**
 * Limits the link to `bitsPerSecond` in each direction with tbf on the egress of each end (see
 * egressPlaces). Replaces a rate or delay set before on the same link; the Undo removes our qdisc.
 */
export async function linkRate(running: RunningLab, linkOrName: Link | string, bitsPerSecond: number): Promise<Undo> {
  const link = asLink(running, linkOrName);
  tbfParams(bitsPerSecond); // validate before touching anything
  return withRootQdisc(running, `limit the rate of link ${link.name}`, egressPlaces(running.lab, link), (p) => tbfParams(bitsPerSecond, p.mtu).args);
}

let netemCheck: Promise<{ ok: boolean; detail: string }> | undefined;

/** Is netem available? Asked once per process through doctor's kernel probe (a throw-away namespace). */
export function netemAvailable(): Promise<{ ok: boolean; detail: string }> {
  netemCheck ??= probeKernel(['netem']).then(([c]) => ({ ok: c?.status === 'present', detail: c?.detail ?? 'not probed' }));
  return netemCheck;
}

/** Delays every packet by `ms` in each direction (netem on the egress of each end; round trip + 2 × ms). */
export async function linkDelay(running: RunningLab, linkOrName: Link | string, ms: number): Promise<Undo> {
  const link = asLink(running, linkOrName);
  if (!(Number.isFinite(ms) && ms >= 0 && ms <= 60_000)) throw new UserError(`cannot set delay ${ms} ms on link ${link.name} (must be 0..60000 ms)`);
  const netem = await netemAvailable();
  if (!netem.ok) {
    throw new UserError(`not available on this kernel: netem (delay) for link ${link.name} (${netem.detail})`,
      'use a kernel with CONFIG_NET_SCH_NETEM (module sch_netem); `tsunagari doctor` lists what this machine has');
  }
  return withRootQdisc(running, `delay link ${link.name}`, egressPlaces(running.lab, link), () => ['netem', 'delay', `${ms}ms`]);
}
