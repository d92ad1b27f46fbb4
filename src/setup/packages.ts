// Owns checking and installing the Debian packages tsunagari needs on the host (dpkg-query, apt-get).
// Installs only what is missing, and runs `apt-get update` only then. It must not remove, upgrade or
// configure any other package, nor touch apt's sources.
import { run } from '../util/exec.js';
import { UserError } from '../util/errors.js';
import type { Log } from './paths.js';

export const REQUIRED_PACKAGES = [
  'docker.io', 'openvswitch-switch', 'iproute2', 'iputils-ping', 'fping', 'tcpdump', 'nftables', 'ethtool',
  'debootstrap', 'busybox-static', 'util-linux', 'procps', 'kmod', 'ca-certificates', 'openssl', 'openssh-client',
] as const;

export function isRoot(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

export function requireRoot(): void {
  if (!isRoot()) {
    throw new UserError('cannot set up tsunagari (not running as root)', 'run as root (sudo npm test)');
  }
}

/**
 * Which of `wanted` are not installed, from the output of
 * `dpkg-query -W -f='${Package}\t${db:Status-Abbrev}\n' PKG…` (packages dpkg never heard of are absent
 * from stdout; removed-but-not-purged ones show as `rc`). Only status `ii` counts as installed.
 */
export function parseMissingPackages(dpkgQueryStdout: string, wanted: readonly string[]): string[] {
  const installed = new Set<string>();
  for (const line of dpkgQueryStdout.split('\n')) {
    const [name, status] = line.split('\t');
    if (!name || status === undefined) continue;
    if (status.trim() === 'ii') installed.add(name.split(':')[0]!.trim());
  }
  return wanted.filter((p) => !installed.has(p));
}

/** Packages of `wanted` that are missing on this host (needs dpkg-query; not root). */
export async function missingPackages(wanted: readonly string[] = REQUIRED_PACKAGES): Promise<string[]> {
  const r = await run('dpkg-query', ['-W', '-f=${Package}\t${db:Status-Abbrev}\n', ...wanted], { timeoutMs: 30_000 });
  if (r.code === 127) {
    throw new UserError('cannot check host packages (dpkg-query not found: tsunagari setup supports Debian and Ubuntu hosts)',
      `install these packages yourself: ${wanted.join(' ')}`);
  }
  // Exit 1 only means "some package unknown"; the known ones are still listed on stdout.
  return parseMissingPackages(r.stdout, wanted);
}

/** Names apt complained about ("Unable to locate package X", "Package 'X' has no installation candidate"). */
export function aptFailedPackages(aptOutput: string, candidates: readonly string[]): string[] {
  const named = new Set<string>();
  for (const m of aptOutput.matchAll(/Unable to locate package (\S+)|Package '?([^\s']+)'? has no installation candidate|(\S+) : Depends:/g)) {
    const n = m[1] ?? m[2] ?? m[3];
    if (n) named.add(n);
  }
  const hits = candidates.filter((c) => named.has(c));
  return hits.length ? hits : [...named];
}

function lastLines(text: string, n = 8): string {
  return text.trim().split('\n').slice(-n).join('\n  ');
}

/** Installs whichever of `wanted` (default REQUIRED_PACKAGES) are missing; returns the ones it installed. */
export async function ensurePackages(log: Log, wanted: readonly string[] = REQUIRED_PACKAGES): Promise<string[]> {
  requireRoot();
  const missing = await missingPackages(wanted);
  if (!missing.length) {
    log(`✓ packages: all ${wanted.length} present`);
    return [];
  }
  log(`… packages: installing ${missing.join(' ')}`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive', LC_ALL: 'C' };
  const update = await run('apt-get', ['update'], { env, timeoutMs: 10 * 60_000 });
  if (update.code !== 0) {
    throw new Error(`cannot install packages ${missing.join(', ')} (apt-get update failed, exit ${update.code}); ` +
      `last lines:\n  ${lastLines(update.stdout + update.stderr)}`);
  }
  const install = await run('apt-get', ['install', '-y', '--no-install-recommends', ...missing], { env, timeoutMs: 30 * 60_000 });
  if (install.code !== 0) {
    const out = install.stdout + '\n' + install.stderr;
    const culprits = aptFailedPackages(out, missing);
    const which = culprits.length ? `package ${culprits.join(', ')}` : `packages ${missing.join(', ')}`;
    throw new Error(`cannot install ${which} (apt-get install failed, exit ${install.code}); last lines:\n  ${lastLines(out)}`);
  }
  const still = await missingPackages(missing);
  if (still.length) {
    throw new Error(`cannot install package ${still.join(', ')} (apt-get install succeeded but dpkg does not list it as installed)`);
  }
  log(`✓ packages: installed ${missing.join(' ')}`);
  return missing;
}
