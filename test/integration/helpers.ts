// Shared helpers for integration tests on the real engine: a snapshot of everything on the machine
// that a lab could leave behind (containers, OVS bridges, host interfaces, namespaces), and a bounded
// reachability probe run from inside a node's namespace.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { run, runOk, sleep } from '../../src/util/exec.js';
import type { Context } from '../../src/lab/context.js';
import { discoverLab } from '../../src/lab/discover.js';
import { Ledger } from '../../src/lab/ledger.js';
import { labFilesDir } from '../../src/lab/services.js';
import { labId, labOfInstance } from '../../src/topology/naming.js';

export interface MachineSnapshot { containers: string[]; bridges: string[]; links: string[]; netns: string[]; }

/**
 * Whether a host-visible name looks like another tsunagari run's (so a test on a shared machine must not
 * compare it): `tsunagari-<instance>.…` or `tsunagari-…` (doctor probes), and `t<6 hex>…` interfaces and
 * bridges, unless they belong to one of `mine` (instance names).
 */
export function othersName(name: string, mine: string[]): boolean {
  const ids = new Set(mine.map(labId));
  const m = /^tsunagari-([^.]+)\./.exec(name);
  if (m) return !mine.includes(m[1] as string);
  if (name.startsWith('tsunagari-')) return true;
  const i = /^t([0-9a-f]{6})[bpxms]/.exec(name);
  if (i) return !ids.has(i[1] as string);
  return false;
}

/** Everything a lab could leave on this machine, except what other tsunagari runs (not `mine`) have:
 *  the machine is shared, and their labs come and go while a test runs. */
export async function snapshot(ctx: Context, mine: string[]): Promise<MachineSnapshot> {
  const docker = await ctx.docker();
  const ovs = await ctx.ovs();
  const keep = (names: string[]): string[] => names.filter((n) => !n.split(',').some((x) => othersName(x.replace(/^\//, ''), mine))).sort();
  const containers = keep((await docker.listContainers({ all: true })).map((c) => c.Names.join(',')));
  const bridges = keep((await ovs.vsctl(['list-br'])).split('\n').filter(Boolean));
  const links = keep((JSON.parse(await runOk('ip', ['-j', 'link', 'show'])) as Array<{ ifname: string }>).map((l) => l.ifname));
  const netns = keep((await run('ip', ['netns', 'list'])).stdout.split('\n').filter(Boolean).map((l) => l.split(' ')[0] as string));
  return { containers, bridges, links, netns };
}

/** ping from inside a namespace: up to `tries` single probes (1 s each); true on the first reply. */
export async function pings(nsPath: string, target: string, tries = 3): Promise<boolean> {
  for (let i = 0; i < tries; i++) {
    const r = await run('nsenter', [`--net=${nsPath}`, 'ping', '-n', '-c', '1', '-W', '1', target], { timeoutMs: 5000 });
    if (r.code === 0) return true;
  }
  return false;
}

/** What these labs could still hold on this machine: labelled resources, lab files, ledgers, namespaces,
 *  and processes whose command line matches `processes` (e.g. a responder, an SSH forwarder). Only these
 *  labs: other people's labs may run alongside. */
export async function labLeftovers(ctx: Context, labs: string[], processes?: (cmdline: string) => boolean): Promise<string[]> {
  const out: string[] = [];
  for (const lab of labs) {
    const found = await discoverLab(ctx, lab);
    if (found.count) out.push(`${lab}: ${found.count} labelled resources`);
    if (existsSync(labFilesDir(lab))) out.push(`${lab}: ${labFilesDir(lab)}`);
    if (Ledger.read(lab)) out.push(`${lab}: ledger`);
  }
  const ns = (await run('ip', ['netns', 'list'])).stdout.split('\n').filter((l) => labs.some((lab) => l.startsWith(`tsunagari-${lab}.`)));
  out.push(...ns.map((n) => `namespace ${n}`));
  if (processes) {
    for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
      let cmd = '';
      try { cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8'); } catch { continue; }
      if (processes(cmd)) out.push(`process ${pid}: ${cmd.replace(/\0/g, ' ')}`);
    }
  }
  return out;
}

/** Polls fn every 250 ms until it returns a value, for at most ms; fails naming what and the last error. */
export async function until<T>(what: string, ms: number, fn: () => Promise<T | undefined>): Promise<T> {
  const t0 = Date.now();
  let last: unknown;
  while (Date.now() - t0 < ms) {
    try { const v = await fn(); if (v !== undefined) return v; } catch (e) { last = e; }
    await sleep(250);
  }
  throw new Error(`${what} not within ${ms} ms${last ? ` (last error: ${(last as Error).message})` : ''}`);
}

/** Labelled resources and ledgers of every instance of a lab (`mini`, `mini_1`, `mini_2` …): what runs of
 *  `tsunagari test`, which bring up copies of their own, could leave. */
export async function instanceLeftovers(ctx: Context, lab: string): Promise<string[]> {
  const found = await discoverLab(ctx, undefined, { docker: true, ovs: true });
  const of = (x: { lab: string }): boolean => labOfInstance(x.lab) === lab;
  const out: string[] = [];
  for (const x of [...found.containers, ...found.namespaces, ...found.bridges, ...found.ports, ...found.hostIfs]) if (of(x)) out.push(`${x.lab}: ${x.name}`);
  for (const l of found.ledgers) if (labOfInstance(l.data.lab) === lab) out.push(`${l.data.lab}: ledger (${l.data.state})`);
  return out;
}
