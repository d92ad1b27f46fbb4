// Owns the `netns` runtime: a node that is a bare named network namespace (`ip netns`), with the host's
// filesystem and tools. Costs a few ms where a container costs ~250 ms; for plain test hosts.
// Must not touch namespaces it did not label (the label is the ifalias of the namespace's `lo`).
import { mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { run, runOk, mapLimit, type RunOptions, type RunResult } from '../util/exec.js';
import { aliasFor, parseAlias, type Owner } from '../lab/labels.js';
import type { Node } from '../topology/types.js';
import type { DiscoveredNode, NodeHandle, Runtime } from './types.js';
import { NODE_PATH } from './types.js';

export async function listNetns(): Promise<string[]> {
  const r = await run('ip', ['-j', 'netns', 'list']);
  if (r.code !== 0 || !r.stdout.trim()) return [];
  return (JSON.parse(r.stdout) as Array<{ name: string }>).map((n) => n.name);
}

/** The label of a namespace we created, or undefined for foreign ones. */
export async function netnsOwner(name: string): Promise<(Owner & { what: string }) | undefined> {
  const r = await run('ip', ['-n', name, '-j', 'link', 'show', 'dev', 'lo']);
  if (r.code !== 0 || !r.stdout.trim()) return undefined;
  const links = JSON.parse(r.stdout) as Array<{ ifalias?: string }>;
  return parseAlias(links[0]?.ifalias);
}

/** Creates a labelled namespace with loopback up. The label goes on first thing after creation. */
export async function createLabelledNetns(name: string, owner: Owner, what: string): Promise<void> {
  await runOk('ip', ['netns', 'add', name]);
  await runOk('ip', ['-n', name, '-batch', '-'], {
    input: `link set dev lo alias "${aliasFor(owner, what)}"\nlink set dev lo up\n`,
  });
  // `ip netns exec` shows /etc/netns/<name>/resolv.conf as /etc/resolv.conf: commands in the node never
  // use the machine's resolver (an address tsunagari did not create).
  mkdirSync(netnsEtc(name), { recursive: true });
  writeFileSync(join(netnsEtc(name), 'resolv.conf'), '# tsunagari: no resolver outside the lab\nnameserver 127.0.0.1\n');
}

const netnsEtc = (name: string): string => join('/etc/netns', name);

export async function deleteNetns(name: string): Promise<void> {
  await deleteNetnsMany([name]);
}

/** Processes whose network namespace is one of `inodes` (read from /proc, no `ip netns pids` per namespace). */
function pidsInNamespaces(inodes: Set<number>): number[] {
  const pids: number[] = [];
  for (const ent of readdirSync('/proc')) {
    if (!/^\d+$/.test(ent)) continue;
    try { if (inodes.has(statSync(`/proc/${ent}/ns/net`).ino)) pids.push(Number(ent)); } catch { /* exited */ }
  }
  return pids;
}

/**
 * Deletes namespaces by name: kills the processes still in them (services, probe agents), then one
 * `ip -force -batch` of `netns del` lines. Absent namespaces are fine.
 */
export async function deleteNetnsMany(names: string[]): Promise<void> {
  if (!names.length) return;
  const inodes = new Set<number>();
  for (const n of names) {
    try { inodes.add(statSync(`/run/netns/${n}`).ino); } catch { /* already gone */ }
  }
  if (inodes.size) {
    for (const p of pidsInNamespaces(inodes)) {
      try { process.kill(p, 'SIGKILL'); } catch { /* already gone */ }
    }
  }
  const lines = names.map((n) => `netns del ${n}`);
  const r = await run('ip', ['-force', '-batch', '-'], { input: lines.join('\n') + '\n' });
  const real = r.stderr.split('\n').filter((l) => l.trim() && !/^Command failed -:\d+/.test(l) && !/No such file|not found|Cannot remove/.test(l));
  if (r.code !== 0 && real.length) throw new Error(`cannot delete network namespaces ${names.join(', ')}: ${real.join(' ').trim()}`);
  for (const n of names) rmSync(netnsEtc(n), { recursive: true, force: true });
}

export class NetnsRuntime implements Runtime {
  readonly name = 'netns' as const;

  async create(node: Node, owner: Owner): Promise<NodeHandle> {
    await createLabelledNetns(node.netns, owner, `node:${node.name}`);
    return { node: node.name, runtime: 'netns', nsRef: node.netns, netnsPath: `/run/netns/${node.netns}` };
  }

  /** `ip netns exec` also remounts /sys for the namespace, so tools reading sysfs see the node's view. */
  commandPrefix(h: NodeHandle): string[] {
    return ['ip', 'netns', 'exec', h.nsRef];
  }

  exec(h: NodeHandle, argv: string[], opts: RunOptions = {}): Promise<RunResult> {
    const [file, ...pre] = this.commandPrefix(h) as [string, ...string[]];
    // Only what a node needs, never tsunagari's own environment (secrets such as password_env values
    // live there): commands in a netns node see PATH, HOME, LANG and the node's own `env:`.
    return run(file, [...pre, ...argv], { ...opts, env: { PATH: NODE_PATH, HOME: '/root', LANG: 'C.UTF-8', ...opts.env } });
  }

  async remove(d: { ref: string }): Promise<void> {
    await deleteNetns(d.ref);
  }

  async discover(lab?: string): Promise<DiscoveredNode[]> {
    const names = await listNetns();
    const found = await mapLimit(names, 8, async (name) => ({ name, owner: await netnsOwner(name) }));
    const out: DiscoveredNode[] = [];
    for (const { name, owner } of found) {
      if (!owner || (lab && owner.lab !== lab)) continue;
      out.push({ runtime: 'netns', ref: name, name, lab: owner.lab, run: owner.run,
        node: owner.what.startsWith('node:') ? owner.what.slice(5) : undefined });
    }
    return out;
  }
}
