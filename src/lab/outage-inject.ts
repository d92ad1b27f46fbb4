// Owns cutting a link without telling anyone: a silent drop of everything in both directions (nftables at
// the link's ends, no carrier change, so protocol timers — not carrier loss — must notice; undone by its
// Undo) and a precise outage of T ms (one `nft -i` process inside one namespace adds the drop and deletes
// it T ms later, timed there: outage-inject.mjs). Must not touch tables other than its own
// (tsunagari_cut_*, tsunagari_blip_*), nor links, addresses or routes.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Link, Lab } from '../topology/types.js';
import type { RunningLab } from './running.js';
import { resolveLink } from './targets.js';
import { lossPlan, LOST_ETHERTYPE, placeCommand, withJournal, type Place, type Undo, type Where } from './impair.js';
import { run, type RunResult } from '../util/exec.js';
import { UserError } from '../util/errors.js';
import { realtimePrefix } from '../util/realtime.js';

export const INJECT_PATH = fileURLToPath(new URL('./outage-inject.mjs', import.meta.url));

/** One chain of a cut: where it hooks and what it does to every packet. */
export interface CutChain { name: 'ingress' | 'egress' | 'input' | 'output'; device?: string; action: string; }

/** A table of drop rules at one place of a link. */
export interface CutPlace extends Place { family: 'netdev' | 'inet'; table: string; chains: CutChain[]; }

/** nft table name: `<prefix>_<dev>` with characters nft does not take replaced. */
export function cutTable(prefix: 'tsunagari_cut' | 'tsunagari_blip', dev: string): string {
  return `${prefix}_${dev.replace(/[^A-Za-z0-9_]/g, '_')}`;
}

function netdevChains(dev: string, egress: boolean): CutChain[] {
  // Frames leaving get an unknown EtherType instead of a drop: a drop in the egress hook is reported to
  // the sending socket (ENOBUFS), and ping, BFD or OSPF would notice; the receiver discards these unseen.
  const chains: CutChain[] = [{ name: 'ingress', device: dev, action: 'drop' }];
  if (egress) chains.push({ name: 'egress', device: dev, action: `ether type set ${LOST_ETHERTYPE}` });
  return chains;
}

function inetChains(link: Link): CutChain[] {
  if (link.type !== 'vxlan' || link.b.kind !== 'remote') throw new Error(`link ${link.name}: no remote VXLAN peer`);
  const peer = link.b.address;
  const ip = peer.includes(':') ? 'ip6' : 'ip';
  return [
    { name: 'input', action: `${ip} saddr ${peer} udp dport ${link.dstport} drop` },
    { name: 'output', action: `${ip} daddr ${peer} udp dport ${link.dstport} drop` },
  ];
}

/**
 * Where a silent drop goes: the places of a 100 % loss (impair.ts lossPlan) — a veth: both node ends
 * (ingress); a switch link: the node end (ingress drop, egress EtherType rewrite); switch↔switch VXLAN:
 * both ends of its underlay; switch↔remote VXLAN: the outer UDP packets in our namespace.
 */
export function silentDropPlan(lab: Lab, link: Link): CutPlace[] {
  return lossPlan(lab, link, 100).map((p): CutPlace => ({
    where: p.where, dev: p.dev, label: p.label, family: p.family, table: cutTable('tsunagari_cut', p.dev),
    chains: p.family === 'inet' ? inetChains(link) : netdevChains(p.dev, p.withoutEgress !== undefined),
  }));
}

/** Where a timed outage goes: ONE place cutting both directions (its first end when the link has two). */
export function injectPlan(lab: Lab, link: Link): CutPlace {
  const [p] = lossPlan(lab, link, 100);
  if (!p) throw new Error(`link ${link.name} has no place to cut`);
  return {
    where: p.where, dev: p.dev, label: p.label, family: p.family, table: cutTable('tsunagari_blip', p.dev),
    chains: p.family === 'inet' ? inetChains(link) : netdevChains(p.dev, true),
  };
}

const HOOK: Record<CutChain['name'], string> = { ingress: 'ingress', egress: 'egress', input: 'input', output: 'output' };

function chainHead(c: CutChain): string {
  return `type filter hook ${HOOK[c.name]}${c.device ? ` device "${c.device}"` : ''} priority -100; policy accept;`;
}

/** An nft -f script (re)creating the table atomically (declare, delete, create). */
export function cutScript(p: CutPlace): string {
  return [
    `table ${p.family} ${p.table} {}`,
    `delete table ${p.family} ${p.table}`,
    `table ${p.family} ${p.table} {`,
    ...p.chains.map((c) => `  chain ${c.name} { ${chainHead(c)} ${c.action}; }`),
    '}',
  ].join('\n') + '\n';
}

/**
 * The three nft -i lines of a timed outage. `ready` creates the table and its chains with no rule, so the
 * slow part (registering hooks: the kernel patches static keys) happens before the outage; `start` adds
 * the rules and `end` flushes them, each a small fast transaction. Every rule also carries
 * `meta time < untilEpochS`: should the injecting process die before the flush, they stop matching then.
 */
export function injectLines(p: CutPlace, untilEpochS: number): { ready: string; start: string; end: string } {
  const t = `${p.family} ${p.table}`;
  const ready = [`add table ${t}`, `delete table ${t}`, `add table ${t}`, ...p.chains.map((c) => `add chain ${t} ${c.name} { ${chainHead(c)} }`)].join('; ');
  const start = p.chains.map((c) => `add rule ${t} ${c.name} meta time < ${Math.ceil(untilEpochS)} ${c.action}`).join('; ');
  return { ready, start, end: `flush table ${t}` };
}

// ------------------------------------------------------------------------------------------ places

async function nsPathOf(running: RunningLab, where: Where): Promise<string | undefined | null> {
  if (where.kind === 'host') return undefined;
  if (where.kind === 'machine') {
    throw new UserError(`cannot cut a link end on machine ${where.machine}${where.node ? ` (node ${where.node})` : ''} silently (the timed injector runs only on this machine)`,
      'cut a link whose ends are on this machine, or take the link down instead');
  }
  if (where.kind === 'netns') {
    const p = `/run/netns/${where.name}`;
    return existsSync(p) ? p : null;
  }
  try {
    const p = (await running.handle(where.node)).netnsPath;
    return existsSync(p) ? p : null;
  } catch {
    return null;
  }
}

function runAt(ns: string | undefined, argv: string[], o: { input?: string; timeoutMs?: number } = {}): Promise<RunResult> {
  const [file, ...args] = argv as [string, ...string[]];
  return ns === undefined ? run(file, args, { input: o.input, timeoutMs: o.timeoutMs ?? 30_000 })
    : run('nsenter', [`--net=${ns}`, file, ...args], { input: o.input, timeoutMs: o.timeoutMs ?? 30_000 });
}

const errLine = (r: RunResult): string => (r.stderr || r.stdout).trim().split('\n').map((l) => l.trim()).find((l) => /Error/.test(l))
  ?? (r.stderr || r.stdout).trim().split('\n').pop() ?? `exit ${r.code}`;

/** Deletes our table at a place; a vanished node, namespace or table is success. */
async function dropTable(running: RunningLab, p: CutPlace): Promise<void> {
  const ns = await nsPathOf(running, p.where);
  if (ns === null) return;
  const r = await runAt(ns, ['nft', 'delete', 'table', p.family, p.table]);
  if (r.code !== 0 && !/No such file or directory|nsenter: /.test(r.stderr)) {
    throw new Error(`cannot remove the silent drop at ${p.label} (nft delete table ${p.family} ${p.table}: ${errLine(r)})`);
  }
}

function asLink(running: RunningLab, link: Link | string): Link {
  return typeof link === 'string' ? resolveLink(running.lab, link) : link;
}

// ------------------------------------------------------------------------------------------ silent drop

/**
 * Drops everything on the link in both directions without a carrier change. The Undo deletes exactly
 * the tables this call created (idempotent, quiet once the lab is gone).
 */
const TABLE_GONE = /No such file or directory|nsenter: /;

export async function linkSilentDrop(running: RunningLab, linkOrName: Link | string): Promise<Undo> {
  const link = asLink(running, linkOrName);
  const plan = silentDropPlan(running.lab, link);
  return withJournal(running, `silent drop on link ${link.name}`,
    plan.map((p) => placeCommand(p, ['nft', 'delete', 'table', p.family, p.table], { okIf: TABLE_GONE })),
    () => applySilentDrop(running, link, plan));
}

async function applySilentDrop(running: RunningLab, link: Link, plan: CutPlace[]): Promise<Undo> {
  const made: CutPlace[] = [];
  const undo: Undo = async () => {
    for (const p of made.splice(0).reverse()) await dropTable(running, p);
  };
  try {
    for (const p of plan) {
      const ns = await nsPathOf(running, p.where);
      if (ns === null) throw new Error(`${p.label} is gone`);
      const r = await runAt(ns, ['nft', '-f', '-'], { input: cutScript(p) });
      if (r.code !== 0) {
        if (/egress/.test(r.stderr) && p.chains.some((c) => c.name === 'egress')) {
          throw new UserError(`not available on this kernel: nftables netdev egress hook (silent drop on link ${link.name} towards the switch)`,
            'use a kernel ≥ 5.16 with CONFIG_NETFILTER_EGRESS and nftables ≥ 1.0.1');
        }
        throw new Error(`${p.label}: nft: ${errLine(r)}`);
      }
      made.push(p);
    }
  } catch (e) {
    await undo().catch(() => { /* the first error is the one to show */ });
    if (e instanceof UserError) throw e;
    throw new Error(`cannot drop all traffic on link ${link.name} (${(e as Error).message})`);
  }
  return undo;
}

// ------------------------------------------------------------------------------------------ timed outage

export interface InjectedOutage {
  link: string;
  /** Where the drop was (one place cuts both directions). */
  at: string;
  requestedMs: number;
  /** CLOCK_MONOTONIC ms (process.hrtime) of the estimated start and end (midpoints of write and acknowledgement). */
  startMono: number;
  endMono: number;
  durationMs: number;
  /** The true start and end lie within ± this of the estimates' difference. */
  uncertaintyMs: number;
  raw: { addSent: number; addAck: number; delSent: number; delAck: number };
}

/**
 * Drops all traffic on the link for `ms` (1..60000), timed by one process inside the namespace of the
 * place (injectPlan). Resolves after the drop was removed again, with when it really was in force.
 */
export async function injectOutage(running: RunningLab, linkOrName: Link | string, ms: number): Promise<InjectedOutage> {
  const link = asLink(running, linkOrName);
  if (!(Number.isFinite(ms) && ms >= 1 && ms <= 60_000)) throw new UserError(`cannot cut link ${link.name} for ${ms} ms (must be 1..60000 ms)`);
  const p = injectPlan(running.lab, link);
  const ns = await nsPathOf(running, p.where);
  if (ns === null) throw new Error(`cannot cut link ${link.name} for ${ms} ms (${p.label} is gone)`);
  // Safety net in wall-clock seconds: 3 s after the intended end, rounded up.
  const lines = injectLines(p, Date.now() / 1000 + ms / 1000 + 3);
  const req = JSON.stringify({ table: p.table, family: p.family, ...lines, ms });
  // Real-time scheduling (when allowed) for the injector and its nft: a busy machine does not delay them.
  const argv = [...await realtimePrefix(20), 'setpriv', '--pdeathsig', 'KILL', '--', process.execPath, INJECT_PATH, req];
  let r!: RunResult;
  // Journalled like every change (its rules also expire by themselves, `meta time`), removed right after.
  const undo = await withJournal(running, `${ms} ms outage on link ${link.name}`, [placeCommand(p, ['nft', 'delete', 'table', p.family, p.table], { okIf: TABLE_GONE })], async () => {
    try {
      r = await runAt(ns, argv, { timeoutMs: ms + 20_000 });
    } finally {
      await dropTable(running, p).catch(() => { /* reported below if the run failed */ });
    }
    return () => dropTable(running, p);
  });
  await undo().catch(() => { /* the table is gone already, or the run's result says why */ });
  let a: { addSent?: number; addAck?: number; delSent?: number; delAck?: number; error?: string } | undefined;
  try { a = JSON.parse(r.stdout.trim().split('\n').pop() ?? ''); } catch { /* below */ }
  if (!a || a.error || a.addSent === undefined || a.addAck === undefined || a.delSent === undefined || a.delAck === undefined) {
    const why = a?.error ?? (r.stderr.trim().split('\n').pop() || `exit ${r.code}`);
    if (/egress/.test(why)) {
      throw new UserError(`not available on this kernel: nftables netdev egress hook (outage on link ${link.name})`, 'use a kernel ≥ 5.16 with CONFIG_NETFILTER_EGRESS');
    }
    throw new Error(`cannot cut link ${link.name} for ${ms} ms at ${p.label} (${why})`);
  }
  const startMono = (a.addSent + a.addAck) / 2;
  const endMono = (a.delSent + a.delAck) / 2;
  const r3 = (x: number): number => Math.round(x * 1000) / 1000;
  return {
    link: link.name, at: p.label, requestedMs: ms, startMono, endMono, durationMs: r3(endMono - startMono),
    uncertaintyMs: r3(((a.addAck - a.addSent) + (a.delAck - a.delSent)) / 2),
    raw: { addSent: a.addSent, addAck: a.addAck, delSent: a.delSent, delAck: a.delAck },
  };
}
