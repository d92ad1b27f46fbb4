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
function explainBatch(stderr: string, lines: string[]): string {
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

export async function hostIfNames(): Promise<Set<string>> {
  const out = await runOk('ip', ['-j', 'link', 'show']);
  return new Set((JSON.parse(out || '[]') as Array<{ ifname: string }>).map((l) => l.ifname));
}

/** Deletes host interfaces by name; absent ones are fine (deleting one veth end removes its peer). */
export async function deleteHostIfs(names: string[]): Promise<void> {
  for (const n of names) {
    const r = await run('ip', ['link', 'del', 'dev', n]);
    if (r.code !== 0 && !/Cannot find device|does not exist/.test(r.stderr)) {
      throw new Error(`cannot delete interface ${n}: ${r.stderr.trim()}`);
    }
  }
}
