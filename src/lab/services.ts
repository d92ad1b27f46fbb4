// Owns running a kind's service (kinds.ts `service`: unbound, nsd, the responder) inside a node of a lab
// that is coming up or is up: its start lines, then a bounded health check that also notices a server that
// died, and an error naming the node, the server and the last lines of its log. Must not create or remove
// nodes, links or addresses; the host-side directories of netns services are removed by down.ts.
import { isInstanceName } from '../topology/naming.js';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Node } from '../topology/types.js';
import type { NodeHandle, Runtime } from '../runtime/types.js';
import { KINDS, shq, type KindService, type ServiceEnv } from '../topology/kinds.js';
import { paths } from '../setup/paths.js';
import { UserError } from '../util/errors.js';

/** tsunagari's package directory (this file is src/lab/services.ts). */
export const PACKAGE_ROOT = fileURLToPath(new URL('../../', import.meta.url)).replace(/\/$/, '');

/** Where a docker node's services keep their logs and pid files (inside the container). */
export const CONTAINER_SERVICE_DIR = '/var/log/tsunagari';

/** Host directory of one lab's netns-node services (logs, pid files, control sockets); removed by down. */
export function labFilesDir(lab: string): string {
  return join(paths.labs, `${lab}.d`);
}

export function removeLabFiles(lab: string): void {
  // A lab name may come from a label read back from Docker/OVS: only a well-formed one becomes a path.
  if (!isInstanceName(lab)) return;
  rmSync(labFilesDir(lab), { recursive: true, force: true });
}

export function serviceEnv(lab: string, node: Node): ServiceEnv {
  return {
    lab, node,
    dir: node.runtime === 'docker' ? CONTAINER_SERVICE_DIR : join(labFilesDir(lab), node.name),
    nodeBin: process.execPath,
    root: PACKAGE_ROOT,
  };
}

export function serviceOf(node: Node): KindService | undefined {
  return KINDS[node.kind]?.service;
}

export interface ServiceTiming { server: string; startMs: number; readyMs: number; checks: number; }

/** Runs the kind's start lines in the node, then waits until it is ready (see waitReady). */
export async function startService(rt: Runtime, h: NodeHandle, lab: string, node: Node): Promise<ServiceTiming | undefined> {
  const svc = serviceOf(node);
  if (!svc) return undefined;
  const env = serviceEnv(lab, node);
  if (node.runtime === 'netns') mkdirSync(env.dir, { recursive: true, mode: 0o755 });
  const t0 = Date.now();
  for (const line of svc.start(env)) {
    const r = await rt.exec(h, ['sh', '-c', line], { timeoutMs: 30_000 });
    if (r.code !== 0) {
      const out = (r.stderr || r.stdout).trim().split('\n').slice(-3).join(' | ');
      throw new UserError(`node ${node.name}: cannot start ${svc.server} (\`${line}\` exited ${r.code}${out ? `: ${out}` : ''})`);
    }
  }
  const startMs = Date.now() - t0;
  const ready = await waitReady(rt, h, lab, node);
  return { server: svc.server, startMs, readyMs: startMs + ready.ms, checks: ready.checks };
}

/**
 * Polls the kind's health check until it passes, the server's process is gone, or the deadline. One
 * command per poll: `READY && exit 0; ALIVE || exit 3; exit 1`. Failing, the error names the node, the
 * server, what was checked and the last lines of the server's log.
 */
export async function waitReady(rt: Runtime, h: NodeHandle, lab: string, node: Node, o: { timeoutMs?: number } = {}): Promise<{ ms: number; checks: number }> {
  const svc = serviceOf(node);
  if (!svc) return { ms: 0, checks: 0 };
  const env = serviceEnv(lab, node);
  const timeoutMs = o.timeoutMs ?? svc.ready.timeoutMs;
  const pid = shq(svc.pidFile(env));
  const alive = `p=$(cat ${pid} 2>/dev/null) && [ -n "$p" ] && kill -0 "$p" 2>/dev/null && ! grep -q '^[0-9]* ([^)]*) Z' /proc/"$p"/stat 2>/dev/null`;
  const line = `${svc.ready.command(env)} && exit 0; ${alive} || exit 3; exit 1`;
  const t0 = Date.now();
  let checks = 0;
  let died = false;
  let last = '';
  for (;;) {
    checks++;
    const r = await rt.exec(h, ['sh', '-c', line], { timeoutMs: 10_000 });
    if (r.code === 0) return { ms: Date.now() - t0, checks };
    last = (r.stderr || r.stdout).trim().split('\n').pop() ?? '';
    if (r.code === 3) { died = true; break; }
    if (Date.now() - t0 + svc.ready.intervalMs > timeoutMs) break;
    await new Promise((res) => setTimeout(res, svc.ready.intervalMs));
  }
  const tail = await logTail(rt, h, svc.log(env), 12);
  const reason = died && svc.reason ? await firstLine(rt, h, svc.reason(env)) : '';
  const why = died ? `${svc.server} exited${reason ? `: ${reason}` : ''}` : `${svc.ready.what}: none within ${(timeoutMs / 1000).toFixed(0)} s (${checks} checks${last ? `; last: ${last}` : ''})`;
  throw new UserError(`node ${node.name}: ${svc.server} is not ready (${why}); last lines of ${svc.log(env)}:\n${tail || '  (empty)'}`,
    `fix the ${svc.server} configuration of node ${node.name} (its files: or responder: in the topology)`);
}

/** First line of a small file in the node ('' when absent). */
async function firstLine(rt: Runtime, h: NodeHandle, file: string): Promise<string> {
  const r = await rt.exec(h, ['head', '-n', '1', file], { timeoutMs: 5000 }).catch(() => undefined);
  return r && r.code === 0 ? r.stdout.trim() : '';
}

async function logTail(rt: Runtime, h: NodeHandle, file: string, lines: number): Promise<string> {
  const r = await rt.exec(h, ['tail', '-n', String(lines), file], { timeoutMs: 5000 }).catch(() => undefined);
  if (!r || r.code !== 0) return `  (cannot read ${file}${r ? `: ${r.stderr.trim()}` : ''})`;
  return r.stdout.trimEnd().split('\n').filter(Boolean).map((l) => `  ${l}`).join('\n');
}
