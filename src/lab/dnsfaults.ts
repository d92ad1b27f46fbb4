// Owns the DNS changes a scenario makes to a running lab, each returning its inverse (Undo): a router that
// rewrites zero UDP checksums of DNS replies to a wrong value (the broken consumer NAT of seed 001, one
// nftables table of ours in the router's namespace), and run-time behaviour of a responder node (through
// its control socket). Must not touch tables, nodes or settings it did not make.
import { existsSync } from 'node:fs';
import { connect } from 'node:net';
import { randomBytes } from 'node:crypto';
import type { RunningLab } from './running.js';
import { withJournal, type Undo } from './impair.js';
import { journaled, type Inverse } from './journal.js';
import type { Node } from '../topology/types.js';
import { parseIp, formatIp } from '../topology/address.js';
import { responderAddresses, responderControl } from '../topology/kinds.js';
import { RCODES, overridesProblems, type Behaviour, type RcodeName } from '../dns/fixture.mjs';
import { serviceEnv, waitReady } from './services.js';
import { run } from '../util/exec.js';
import { UserError, knownList } from '../util/errors.js';

// ------------------------------------------------------------------------------------------ broken NAT

export interface ZeroChecksumFault {
  /** The wrong checksum written into replies that carried 0 (default 0x1234). */
  value?: number;
  /** Only replies from this DNS server (IPv4); default: every UDP packet from port 53. */
  server?: string;
}

export const DEFAULT_BAD_CHECKSUM = 0x1234;

/** A table name of our own, unique per change: `tsunagari_zcsum_<6 hex>`. */
export function zeroChecksumTable(): string {
  return `tsunagari_zcsum_${randomBytes(3).toString('hex')}`;
}

/**
 * The nft script: one forward-chain rule at mangle priority that rewrites the UDP checksum 0 of DNS replies
 * (from `server`, sport 53) to `value` — what the consumer router of seed 001 did. Linux's own NAT keeps a
 * zero checksum zero; this rule does not recompute, so the client's kernel drops the reply (InCsumErrors).
 */
export function zeroChecksumScript(table: string, o: { value: number; server?: string }): string {
  const hex = `0x${o.value.toString(16).padStart(4, '0')}`;
  const from = o.server === undefined ? '' : `ip saddr ${o.server} `;
  return [
    `table ip ${table} {`,
    '  chain forward {',
    '    type filter hook forward priority mangle; policy accept;',
    `    ${from}udp sport 53 udp checksum 0 udp checksum set ${hex}`,
    '  }',
    '}',
  ].join('\n') + '\n';
}

/** Checks the options; returns the value and the canonical server address. */
export function zeroChecksumOptions(router: string, o: ZeroChecksumFault): { value: number; server?: string } {
  const value = o.value ?? DEFAULT_BAD_CHECKSUM;
  if (!Number.isInteger(value) || value < 1 || value > 0xffff) {
    throw new UserError(`cannot make router ${router} rewrite zero UDP checksums to ${String(value)} (must be 0x0001..0xffff; 0 would leave them correct)`);
  }
  if (o.server === undefined) return { value };
  const ip = parseIp(o.server);
  if (!ip || ip.family !== 4) {
    throw new UserError(`cannot make router ${router} rewrite zero UDP checksums of server ${o.server} (not an IPv4 address; a zero UDP checksum is legal only in IPv4)`);
  }
  return { value, server: formatIp(4, ip.value) };
}

async function nsPathOf(running: RunningLab, node: string): Promise<string | undefined> {
  try {
    const p = (await running.handle(node)).netnsPath;
    return existsSync(p) ? p : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Makes `router` rewrite the zero UDP checksum of DNS replies it forwards to `value` (default 0x1234), as
 * the broken consumer NAT of seed 001 did. The Undo deletes exactly the table this call created; it is
 * idempotent and quiet once the lab is gone.
 */
export async function breakZeroChecksums(running: RunningLab, router: string, o: ZeroChecksumFault = {}): Promise<Undo> {
  running.node(router); // unknown node → error listing the known ones
  const opts = zeroChecksumOptions(router, o);
  const ns = await nsPathOf(running, router);
  if (!ns) throw new UserError(`cannot make router ${router} rewrite zero UDP checksums (node ${router} of lab ${running.name} is not running)`);
  const table = zeroChecksumTable();
  return withJournal(running, `router ${router} rewrites zero UDP checksums`,
    [{ where: { kind: 'node', node: router }, label: `router ${router}`, argv: ['nft', 'delete', 'table', 'ip', table], okIf: 'No such file or directory|does not exist' }],
    () => applyZeroChecksumRule(running, router, ns, table, opts));
}

async function applyZeroChecksumRule(running: RunningLab, router: string, ns: string, table: string, opts: { value: number; server?: string }): Promise<Undo> {
  const r = await run('nsenter', [`--net=${ns}`, 'nft', '-f', '-'], { input: zeroChecksumScript(table, opts), timeoutMs: 30_000 });
  if (r.code !== 0) {
    const err = r.stderr.trim().split('\n').find((l) => /Error/.test(l)) ?? r.stderr.trim().split('\n').pop() ?? `exit ${r.code}`;
    throw new Error(`cannot make router ${router} rewrite zero UDP checksums (nft: ${err})`);
  }
  let done = false;
  return async () => {
    if (done) return;
    const path = await nsPathOf(running, router);
    if (path) {
      const d = await run('nsenter', [`--net=${path}`, 'nft', 'delete', 'table', 'ip', table], { timeoutMs: 30_000 });
      if (d.code !== 0 && !/No such file or directory|does not exist/.test(d.stderr)) {
        throw new Error(`cannot remove table ${table} from router ${router} (${d.stderr.trim()})`);
      }
    }
    done = true;
  };
}

// ------------------------------------------------------------------------------------------ responder

/** Behaviour for every answer of a responder, over whatever its fixture's rules say; null clears a field. */
export type ResponderOverrides = { [K in keyof Behaviour]?: Behaviour[K] | null };

export interface ResponderState {
  overrides: Behaviour;
  stats: { queries: number; replies: number; dropped: number; udp: number; tcp: number; zeroChecksum: number; truncated: number };
}

const CONTROL_TIMEOUT_MS = 3000;
const OVERRIDE_KEYS = ['zeroChecksum', 'drop', 'delayMs', 'truncate', 'rcode', 'replyFrom'] as const;

function responderNode(running: RunningLab, node: string) {
  const n = running.node(node);
  if (n.kind !== 'responder') {
    const responders = running.lab.nodes.filter((x) => x.kind === 'responder').map((x) => x.name);
    throw new UserError(`node ${node} is kind ${n.kind}, not a responder; responders in lab ${running.name}: ${knownList(responders)}`);
  }
  return n;
}

/** One request on the responder's control socket (one JSON line each way), bounded in time. */
export function controlRequest(socket: string, req: unknown, timeoutMs = CONTROL_TIMEOUT_MS): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const c = connect(socket);
    let buf = '';
    const timer = setTimeout(() => { c.destroy(); reject(new Error(`no answer on ${socket} within ${timeoutMs} ms`)); }, timeoutMs);
    c.setEncoding('utf8');
    c.on('connect', () => c.write(`${JSON.stringify(req)}\n`));
    c.on('data', (d: string) => {
      buf += d;
      const nl = buf.indexOf('\n');
      if (nl < 0) return;
      clearTimeout(timer);
      c.end();
      try { resolve(JSON.parse(buf.slice(0, nl)) as Record<string, unknown>); } catch { reject(new Error(`bad answer on ${socket}: ${buf.slice(0, 200)}`)); }
    });
    c.on('error', (e) => { clearTimeout(timer); reject(e); });
  });
}

function controlSocket(running: RunningLab, node: string): string {
  return responderControl(serviceEnv(running.name, running.node(node)).dir);
}

/** The responder's current overrides and counters. */
export async function responderState(running: RunningLab, node: string): Promise<ResponderState> {
  responderNode(running, node);
  const a = await controlRequest(controlSocket(running, node), { op: 'get' }).catch((e: Error) => {
    throw new UserError(`cannot read the state of responder ${node} (${e.message})`);
  });
  if (a.ok !== true) throw new Error(`cannot read the state of responder ${node} (${String(a.error)})`);
  return { overrides: a.overrides as Behaviour, stats: a.stats as ResponderState['stats'] };
}

/**
 * Changes how a running responder answers, on top of its fixture's rules (e.g. `{ zeroChecksum: true }`:
 * every UDP answer with checksum 0; `null` clears an override). No restart: the responder keeps its sockets.
 * Readiness is re-checked (a DNS query to 127.0.0.1 gets a reply) unless every answer is dropped or delayed
 * by 800 ms or more. The Undo
 * restores the overrides as they were; it is idempotent and quiet once the lab is gone.
 */
export async function setResponder(running: RunningLab, node: string, overrides: ResponderOverrides): Promise<Undo> {
  const n = responderNode(running, node);
  const unknown = Object.keys(overrides).filter((k) => !(OVERRIDE_KEYS as readonly string[]).includes(k));
  if (unknown.length) throw new UserError(`cannot change responder ${node} (unknown setting ${unknown[0]}; known: ${OVERRIDE_KEYS.join(', ')})`);
  const problems: string[] = [];
  const set = Object.fromEntries(Object.entries(overrides).filter(([, v]) => v !== null && v !== undefined));
  overridesProblems(set, { addresses: responderAddresses(n), node: `node ${node}` }, (_k, m) => problems.push(m));
  if (problems.length) throw new UserError(`cannot change responder ${node} (${problems.join('; ')})`);
  const socket = controlSocket(running, node);
  const given = Object.fromEntries(Object.entries(overrides).filter(([, v]) => v !== undefined));
  // Write-ahead: the overrides as they are now are the inverse, recorded before the change.
  const before = await controlRequest(socket, { op: 'get' }).catch((e: Error) => {
    throw new UserError(`cannot change responder ${node} (control socket ${socket}: ${e.message})`, 'is the lab up? `tsunagari status`');
  });
  if (before.ok !== true) throw new UserError(`cannot change responder ${node} (${String(before.error)})`);
  const inverse: Inverse = { kind: 'responder', node, overrides: (before.overrides ?? {}) as Record<string, unknown> };
  return journaled(running.journal, `responder ${node}: ${JSON.stringify(given)}`, inverse, (i: Inverse) => restoreResponder(running, i),
    () => applyResponder(running, n, node, socket, given));
}

/** Puts a responder's overrides back as a journal inverse says (quiet when the responder is gone). */
export async function restoreResponder(running: RunningLab, inv: Inverse): Promise<void> {
  if (inv.kind !== 'responder') throw new Error(`not a responder inverse: ${inv.kind}`);
  const socket = controlSocket(running, inv.node);
  if (!existsSync(socket)) return;
  const b = await controlRequest(socket, { op: 'replace', overrides: inv.overrides }).catch((e: NodeJS.ErrnoException): Record<string, unknown> => {
    if (e.code === 'ENOENT' || e.code === 'ECONNREFUSED') return { ok: true };
    throw new Error(`cannot restore responder ${inv.node} (${e.message})`);
  });
  if (b.ok !== true) throw new Error(`cannot restore responder ${inv.node} (${String(b.error)})`);
}

async function applyResponder(running: RunningLab, n: Node, node: string, socket: string, given: Record<string, unknown>): Promise<Undo> {
  const a = await controlRequest(socket, { op: 'set', overrides: given }).catch((e: Error) => {
    throw new UserError(`cannot change responder ${node} (control socket ${socket}: ${e.message})`, 'is the lab up? `tsunagari status`');
  });
  if (a.ok !== true) throw new UserError(`cannot change responder ${node} (${String(a.error)})`);
  const previous = a.previous as Behaviour;
  let done = false;
  const undo: Undo = async () => {
    if (done) return;
    if (existsSync(socket)) {
      const b = await controlRequest(socket, { op: 'replace', overrides: previous }).catch((e: NodeJS.ErrnoException): Record<string, unknown> => {
        if (e.code === 'ENOENT' || e.code === 'ECONNREFUSED') return { ok: true };
        throw new Error(`cannot restore responder ${node} (${e.message})`);
      });
      if (b.ok !== true) throw new Error(`cannot restore responder ${node} (${String(b.error)})`);
    }
    done = true;
  };
  // The health query (1 s timeout) cannot pass while every answer is dropped or late.
  const now = a.overrides as Behaviour;
  if (now.drop !== true && (now.delayMs ?? 0) < 800) {
    try {
      const h = await running.handle(node);
      await waitReady(await running.ctx.runtime(h.runtime), h, running.name, n, { timeoutMs: 5000 });
    } catch (e) {
      await undo().catch(() => { /* the first error is the one to show */ });
      throw e;
    }
  }
  return undo;
}

export { RCODES, type Behaviour, type RcodeName };
