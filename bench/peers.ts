// Owns running the peer baselines of ../shared/bench-peers (ovs-docker, Mininet, the netns and docker-run
// floors) on tsunagari's own Docker engine and Open vSwitch, and reading their `RESULT …` lines into
// per-repetition sums. Never copies or edits those scripts; they clean up only their own `pb*` objects.
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { spawn } from 'node:child_process';
import { stat, type Stat } from './lib.js';

export const PEERS_DIR = process.env.TSUNAGARI_BENCH_PEERS ?? resolve(process.cwd(), '..', 'shared', 'bench-peers');

export function peersAvailable(): string | undefined {
  return existsSync(join(PEERS_DIR, 'lib.sh')) ? undefined : `no peer scripts at ${PEERS_DIR} (set TSUNAGARI_BENCH_PEERS)`;
}

export interface PeerResult { bench: string; mode: string; n: number; rep: number; phase: string; secs: number; kv: Record<string, string>; }

/** `RESULT bench=X mode=M n=N rep=R phase=P secs=S k=v …` → fields; other lines → undefined. */
export function parseResultLine(line: string): PeerResult | undefined {
  if (!line.startsWith('RESULT ')) return undefined;
  const kv: Record<string, string> = {};
  for (const part of line.slice(7).trim().split(/\s+/)) {
    const eq = part.indexOf('=');
    if (eq > 0) kv[part.slice(0, eq)] = part.slice(eq + 1);
  }
  const n = Number(kv.n); const rep = Number(kv.rep); const secs = Number(kv.secs);
  if (!kv.bench || !kv.phase || !Number.isFinite(n) || !Number.isFinite(rep) || !Number.isFinite(secs)) return undefined;
  return { bench: kv.bench, mode: kv.mode ?? '-', n, rep, phase: kv.phase, secs, kv };
}

export interface PeerRun { script: string; code: number; results: PeerResult[]; skips: string[]; tail: string; seconds: number; }

/** Runs one bench-*.sh with the given environment; bounded by timeoutMs (then TERM: its trap cleans up). */
export function runPeer(script: string, env: Record<string, string>, timeoutMs: number, log: (l: string) => void): Promise<PeerRun> {
  return new Promise((res) => {
    const t0 = Date.now();
    const child = spawn(join(PEERS_DIR, script), [], { cwd: PEERS_DIR, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    const results: PeerResult[] = []; const skips: string[] = [];
    let tail: string[] = [];
    let buf = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      buf += d;
      let i;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i); buf = buf.slice(i + 1);
        const r = parseResultLine(line);
        if (r) results.push(r);
        else if (line.startsWith('SKIP ')) skips.push(line);
      }
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      for (const l of d.split('\n').filter(Boolean)) {
        tail = [...tail.slice(-11), l];
        if (/\] (N=|mode=)/.test(l)) log(`    ${script}: ${l.replace(/^\S+ \[[^\]]+\] /, '')}`);
      }
    });
    // TERM first: the scripts' EXIT trap removes their pb* objects; KILL only if that hangs.
    const timer = setTimeout(() => {
      child.kill('SIGTERM');
      setTimeout(() => child.kill('SIGKILL'), 60_000).unref();
    }, timeoutMs);
    child.on('error', (e) => { clearTimeout(timer); res({ script, code: 127, results, skips, tail: e.message, seconds: (Date.now() - t0) / 1000 }); });
    child.on('close', (code) => {
      clearTimeout(timer);
      res({ script, code: code ?? 1, results, skips, tail: tail.join('\n'), seconds: (Date.now() - t0) / 1000 });
    });
  });
}

/** A peer's lifecycle (or another composite) per repetition: the sum of the listed phases. */
export function sumPhases(results: PeerResult[], bench: string, mode: string, n: number, phases: string[]): Stat | undefined {
  const reps = new Map<number, Map<string, number>>();
  for (const r of results) {
    if (r.bench !== bench || r.mode !== mode || r.n !== n || !phases.includes(r.phase)) continue;
    const m = reps.get(r.rep) ?? new Map<string, number>();
    m.set(r.phase, r.secs);
    reps.set(r.rep, m);
  }
  const sums = [...reps.values()].filter((m) => phases.every((p) => m.has(p)))
    .map((m) => phases.reduce((a, p) => a + (m.get(p) as number), 0));
  return sums.length ? stat(sums) : undefined;
}

/** Pings that failed in a peer's mesh phases (a peer that did not reach every host is not a fair baseline). */
export function peerPingFailures(results: PeerResult[], bench: string, mode: string, n: number): number {
  return results.filter((r) => r.bench === bench && r.mode === mode && r.n === n && r.kv.fail !== undefined && r.kv.ok !== undefined)
    .reduce((a, r) => a + Number(r.kv.fail), 0);
}

/** The peers: which script, which phases make up "lifecycle" and "mesh", and what they are called in the table. */
export interface PeerDef { name: string; script: string; bench: string; mode: string; lifecycle: string[]; mesh?: string; }

export const PEERS: Record<'ovsDocker' | 'ovsDockerNsenter' | 'mnLxbr' | 'mnOvs' | 'floorLxbr' | 'floorOvs' | 'dockerPar' | 'dockerSeq', PeerDef> = {
  ovsDocker: { name: 'ovs-docker (naive: run, add-port, docker exec mesh)', script: 'bench-ovs-docker.sh', bench: 'ovs-docker', mode: 'netdev',
    lifecycle: ['containers_up', 'bridge_up', 'links_up', 'mesh_exec_seq', 'teardown'], mesh: 'mesh_exec_seq' },
  ovsDockerNsenter: { name: 'ovs-docker + nsenter mesh -P8', script: 'bench-ovs-docker.sh', bench: 'ovs-docker', mode: 'netdev',
    lifecycle: ['containers_up', 'bridge_up', 'links_up', 'mesh_nsenter_par', 'teardown'], mesh: 'mesh_nsenter_par' },
  mnLxbr: { name: 'Mininet --switch lxbr', script: 'bench-mininet.sh', bench: 'mininet', mode: 'lxbr', lifecycle: ['total'], mesh: 'pingall' },
  mnOvs: { name: 'Mininet --switch ovs (userspace)', script: 'bench-mininet.sh', bench: 'mininet', mode: 'ovs-netdev', lifecycle: ['total'], mesh: 'pingall' },
  floorLxbr: { name: 'netns floor, Linux bridge', script: 'bench-netns-floor.sh', bench: 'netns-floor', mode: 'lxbr',
    lifecycle: ['hosts_up', 'switch_up', 'links_up', 'mesh_par', 'teardown'], mesh: 'mesh_par' },
  floorOvs: { name: 'netns floor, OVS userspace', script: 'bench-netns-floor.sh', bench: 'netns-floor', mode: 'ovs',
    lifecycle: ['hosts_up', 'switch_up', 'links_up', 'mesh_par', 'teardown'], mesh: 'mesh_par' },
  dockerPar: { name: 'docker-run floor (run -P4, one rm)', script: 'bench-docker-floor.sh', bench: 'docker-floor', mode: '-', lifecycle: ['run_par', 'rm_one_call'] },
  dockerSeq: { name: 'docker-run floor (run seq, one rm)', script: 'bench-docker-floor.sh', bench: 'docker-floor', mode: '-', lifecycle: ['run_seq', 'rm_one_call'] },
};
