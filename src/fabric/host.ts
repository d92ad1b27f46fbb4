// Owns commands in the host's (tsunagari process's) network namespace and inside node namespaces by
// path: `ip -batch` runs, interface discovery by ifalias label. Deletes only interfaces named to it.
// Must not decide what to create; the fabric files (veth, switchport, vxlan) do.
import { run, runOk } from '../util/exec.js';
import { parseAlias, type Owner } from '../lab/labels.js';

/** Runs `ip -batch -` in our namespace; the error names the failing line. */
export async function hostBatch(lines: string[], what: string): Promise<void> {
  if (!lines.length) return;
  const r = await run('ip', ['-batch', '-'], { input: lines.join('\n') + '\n' });
  if (r.code !== 0) throw new Error(`cannot ${what}: ${explainBatch(r.stderr, lines)}`);
}

/** Runs `ip -batch -` inside the network namespace at nsPath (a node). */
export async function nsBatch(nsPath: string, lines: string[], what: string): Promise<void> {
  if (!lines.length) return;
  const r = await run('nsenter', [`--net=${nsPath}`, 'ip', '-batch', '-'], { input: lines.join('\n') + '\n' });
  if (r.code !== 0) throw new Error(`cannot ${what}: ${explainBatch(r.stderr, lines)}`);
}

/** Runs a host program inside a node's network namespace (host binaries: ip, ping, ethtool, sysctl…). */
export function nsRun(nsPath: string, argv: string[], timeoutMs = 30000): ReturnType<typeof run> {
  return run('nsenter', [`--net=${nsPath}`, ...argv], { timeoutMs });
}

/** iproute2 reports "Command failed -:N"; show that line with the error. */
export function explainBatch(stderr: string, lines: string[]): string {
  const m = /Command failed -:(\d+)/.exec(stderr);
  const err = stderr.split('\n').filter((l) => l && !l.startsWith('Command failed')).join(' ').trim();
  if (m) return `\`ip ${lines[Number(m[1]) - 1]}\`: ${err || 'failed'}`;
  return err || 'ip -batch failed';
}

export interface HostIf extends Owner { name: string; what: string; }

/** Host interfaces carrying a tsunagari ifalias (optionally of one lab). */
export async function discoverHostIfs(lab?: string): Promise<HostIf[]> {
  const out = await runOk('ip', ['-j', 'link', 'show']);
  const links = JSON.parse(out || '[]') as Array<{ ifname: string; ifalias?: string }>;
  const found: HostIf[] = [];
  for (const l of links) {
    const o = parseAlias(l.ifalias);
    if (o && (!lab || o.lab === lab)) found.push({ name: l.ifname, ...o });
  }
  return found;
}

/** Host interfaces by name, with what `ip -d` says of them: their kind, and whether a veth's peer is in
 *  another namespace (then deleting that namespace deletes both ends). */
export async function hostIfDetails(): Promise<Map<string, { kind?: string; peerElsewhere: boolean; owner?: Owner }>> {
  const out = await runOk('ip', ['-j', '-d', 'link', 'show']);
  const links = JSON.parse(out || '[]') as Array<{ ifname: string; ifalias?: string; link_netnsid?: number; linkinfo?: { info_kind?: string } }>;
  return new Map(links.map((l) => {
    const o = parseAlias(l.ifalias);
    return [l.ifname, { kind: l.linkinfo?.info_kind, peerElsewhere: l.link_netnsid !== undefined, ...(o ? { owner: { lab: o.lab, run: o.run } } : {}) }];
  }));
}

/** Polls (every 20 ms, at most `ms`) until none of `names` exists; returns the ones still there. */
export async function waitHostIfsGone(names: string[], ms: number): Promise<string[]> {
  const deadline = Date.now() + ms;
  let left = names;
  while (left.length) {
    const present = await hostIfNames();
    left = left.filter((n) => present.has(n));
    if (!left.length || Date.now() >= deadline) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  return left;
}

export async function hostIfNames(): Promise<Set<string>> {
  const out = await runOk('ip', ['-j', 'link', 'show']);
  return new Set((JSON.parse(out || '[]') as Array<{ ifname: string }>).map((l) => l.ifname));
}

/** Deletes host interfaces by name, all in one `ip -force -batch`; absent ones are fine (deleting one
 *  veth end removes its peer, so a later line may find its device gone). */
export async function deleteHostIfs(names: string[]): Promise<void> {
  if (!names.length) return;
  const lines = names.map((n) => `link del dev ${n}`);
  const r = await run('ip', ['-force', '-batch', '-'], { input: lines.join('\n') + '\n' });
  if (r.code === 0) return;
  const real = r.stderr.split('\n').filter((l) => l.trim() && !/^Command failed -:\d+/.test(l) && !/Cannot find device|does not exist/.test(l));
  if (real.length) throw new Error(`cannot delete interfaces ${names.join(', ')}: ${explainBatch(r.stderr, lines)}`);
}
