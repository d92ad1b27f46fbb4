// Owns `tsunagari doctor`: finds out (never changes) what this host offers — root, packages, Docker, OVS,
// kernel features, built-in images — and prints each with a fix. Kernel probes run only inside a throw-away
// netns `tsunagari-doctor-<pid>` that is always deleted; it must not touch host interfaces or start daemons.
import { existsSync } from 'node:fs';
import { run } from '../util/exec.js';
import { findDocker, findOvs, ownContainerdProblem } from './daemons.js';
import { imageStatus } from './images.js';
import { isRoot, missingPackages, REQUIRED_PACKAGES } from './packages.js';
import { paths } from './paths.js';
import { localDocker } from '../util/docker-client.js';

export type CheckStatus = 'present' | 'missing' | 'outdated' | 'unsupported' | 'unknown';
export type CheckGroup = 'system' | 'package' | 'engine' | 'kernel' | 'image';

export interface DoctorCheck {
  group: CheckGroup;
  name: string;
  status: CheckStatus;
  detail: string;
  /** What to do about it (for anything not present). */
  fix?: string;
  /** A required check that is not present makes the report not ok; optional ones only limit features. */
  required: boolean;
}

export interface DoctorReport { ok: boolean; checks: DoctorCheck[] }

const SETUP_FIX = 'run `sudo npx tsunagari setup`';
const ROOT_FIX = 'run as root (sudo npx tsunagari doctor)';

// ------------------------------------------------------------------------------------------ kernel probes

interface FeatureProbe {
  name: string;
  /** Commands run in the probe namespace NS (the token `NS` is replaced); the last one decides. */
  cmds: string[][];
  needs?: string;
  absent: string;
  config: string;
  required: boolean;
}

const ipLink = (...a: string[]): string[] => ['ip', '-n', 'NS', 'link', 'add', ...a];
const qdisc = (...a: string[]): string[] => ['tc', '-n', 'NS', 'qdisc', 'replace', 'dev', 'lo', 'root', ...a];

export const FEATURE_PROBES: FeatureProbe[] = [
  { name: 'veth', cmds: [ipLink('tdv0', 'type', 'veth', 'peer', 'name', 'tdv1')], absent: 'no links between nodes: tsunagari cannot work', config: 'CONFIG_VETH', required: true },
  { name: 'bridge', cmds: [ipLink('tdb0', 'type', 'bridge')], absent: 'Linux-bridge switches unavailable', config: 'CONFIG_BRIDGE', required: false },
  { name: 'vxlan', cmds: [ipLink('tdx0', 'type', 'vxlan', 'id', '42', 'dstport', '4789')], absent: 'VXLAN links unavailable', config: 'CONFIG_VXLAN', required: false },
  { name: '8021q', cmds: [ipLink('link', 'tdv0', 'name', 'tdv0.10', 'type', 'vlan', 'id', '10')], needs: 'veth', absent: 'VLAN sub-interfaces unavailable', config: 'CONFIG_VLAN_8021Q (module 8021q)', required: false },
  { name: 'dummy', cmds: [ipLink('tdd0', 'type', 'dummy')], absent: 'dummy interfaces unavailable', config: 'CONFIG_DUMMY', required: false },
  { name: 'vrf', cmds: [ipLink('tdr0', 'type', 'vrf', 'table', '100')], absent: 'VRF steps unavailable', config: 'CONFIG_NET_VRF', required: false },
  { name: 'netem', cmds: [qdisc('netem', 'delay', '1ms')], absent: 'delay steps unavailable', config: 'CONFIG_NET_SCH_NETEM (module sch_netem)', required: false },
  { name: 'tbf', cmds: [qdisc('tbf', 'rate', '1mbit', 'burst', '32kbit', 'latency', '400ms')], absent: 'rate-limit steps unavailable', config: 'CONFIG_NET_SCH_TBF', required: false },
  { name: 'htb', cmds: [qdisc('handle', '1:', 'htb')], absent: 'class-based shaping unavailable', config: 'CONFIG_NET_SCH_HTB', required: false },
  { name: 'nftables', cmds: [['ip', 'netns', 'exec', 'NS', 'nft', 'add', 'table', 'inet', 'tsunagari_doctor']], absent: 'loss and filter steps unavailable', config: 'CONFIG_NF_TABLES', required: false },
];

function lastLine(s: string): string {
  return s.trim().split('\n').filter(Boolean).pop() ?? '';
}

/** Runs the kernel probes (only the named ones when given, e.g. ['netem'] for a step that needs it). */
export async function probeKernel(only?: readonly string[]): Promise<DoctorCheck[]> {
  const kernelCheck = (p: FeatureProbe, status: CheckStatus, detail: string, fix?: string): DoctorCheck =>
    ({ group: 'kernel', name: p.name, status, detail, fix, required: p.required });
  const probes = only ? FEATURE_PROBES.filter((p) => only.includes(p.name)) : FEATURE_PROBES;
  if (!isRoot()) {
    return probes.map((p) => kernelCheck(p, 'unknown', 'not probed (needs root)', ROOT_FIX));
  }
  const ns = `tsunagari-doctor-${process.pid}`;
  const add = await run('ip', ['netns', 'add', ns], { timeoutMs: 10_000 });
  if (add.code !== 0) {
    const why = add.code === 127 ? 'ip not found' : lastLine(add.stderr);
    return probes.map((p) => kernelCheck(p, 'unknown', `not probed (cannot create a network namespace: ${why})`, SETUP_FIX));
  }
  const out: DoctorCheck[] = [];
  const ok = new Set<string>();
  try {
    for (const p of probes) {
      if (p.needs && !ok.has(p.needs)) {
        out.push(kernelCheck(p, 'unknown', `not probed (needs ${p.needs})`));
        continue;
      }
      let r = { code: 0, stdout: '', stderr: '' };
      for (const c of p.cmds) {
        const argv = c.map((a) => (a === 'NS' ? ns : a));
        r = await run(argv[0]!, argv.slice(1), { timeoutMs: 10_000 });
        if (r.code !== 0) break;
      }
      if (r.code === 0) {
        ok.add(p.name);
        out.push(kernelCheck(p, 'present', 'works'));
      } else if (r.code === 127) {
        out.push(kernelCheck(p, 'unknown', `not probed (${lastLine(r.stderr)})`, SETUP_FIX));
      } else {
        out.push(kernelCheck(p, 'unsupported', `${p.absent} (${lastLine(r.stderr) || `exit ${r.code}`})`,
          `use a kernel with ${p.config}`));
      }
    }
  } finally {
    await run('ip', ['netns', 'del', ns], { timeoutMs: 10_000 });
  }
  return out;
}

/** Is the openvswitch kernel datapath loaded (or loadable)? Absent is fine: tsunagari uses datapath_type=netdev. */
async function probeOvsModule(): Promise<DoctorCheck> {
  const base = { group: 'kernel' as const, name: 'openvswitch module', required: false };
  if (existsSync('/sys/module/openvswitch')) return { ...base, status: 'present', detail: 'loaded (tsunagari still uses the userspace datapath, datapath_type=netdev)' };
  const r = await run('modprobe', ['-n', 'openvswitch'], { timeoutMs: 10_000 });
  if (r.code === 0) return { ...base, status: 'present', detail: 'loadable (tsunagari uses the userspace datapath, datapath_type=netdev)' };
  return { ...base, status: 'unsupported', detail: 'absent, so bridges use the userspace datapath (datapath_type=netdev)' };
}

// ------------------------------------------------------------------------------------------ the report

async function probePackages(): Promise<DoctorCheck[]> {
  try {
    const missing = new Set(await missingPackages());
    return REQUIRED_PACKAGES.map((p) => missing.has(p)
      ? { group: 'package', name: p, status: 'missing', detail: 'not installed', fix: `${SETUP_FIX} (installs it)`, required: true }
      : { group: 'package', name: p, status: 'present', detail: 'installed', required: true });
  } catch (e) {
    return [{ group: 'package', name: 'packages', status: 'unknown', detail: (e as Error).message, fix: `install: ${REQUIRED_PACKAGES.join(' ')}`, required: true }];
  }
}

async function probeEngines(): Promise<{ checks: DoctorCheck[]; dockerSocket?: string }> {
  const [d, o] = await Promise.all([findDocker(), findOvs()]);
  const checks: DoctorCheck[] = [];
  const broken = d.socketPath ? ownContainerdProblem(d.socketPath) : undefined;
  if (d.socketPath && broken) {
    checks.push({ group: 'engine', name: 'docker engine', status: 'missing', required: true, detail: broken, fix: SETUP_FIX });
  } else if (d.socketPath) {
    const ours = d.socketPath === paths.docker.socket;
    let extra = '';
    try {
      const info = await localDocker(d.socketPath, 5000).info() as { ServerVersion?: string; Driver?: string };
      extra = `, docker ${info.ServerVersion}, storage ${info.Driver}`;
    } catch { /* version is a nicety */ }
    checks.push({ group: 'engine', name: 'docker engine', status: 'present', required: true,
      detail: `reachable at ${d.socketPath} (${ours ? 'tsunagari\'s own dockerd' : 'foreign engine'}${extra})` });
  } else {
    checks.push({ group: 'engine', name: 'docker engine', status: 'missing', required: true,
      detail: `not reachable (${d.tried.join('; ')})`, fix: d.tried.some((t) => t.endsWith('permission denied')) && !isRoot() ? ROOT_FIX : SETUP_FIX });
  }
  if (o.ok) {
    const ours = o.ok.rundir === paths.ovs.rundir;
    checks.push({ group: 'engine', name: 'open vswitch', status: 'present', required: true,
      detail: `reachable at ${o.ok.db} (${ours ? 'tsunagari\'s own' : 'foreign'}; vswitchd ${o.ok.vswitchdCtl})` });
  } else {
    checks.push({ group: 'engine', name: 'open vswitch', status: 'missing', required: true,
      detail: `not reachable (${o.tried.join('; ')})`, fix: !isRoot() ? ROOT_FIX : SETUP_FIX });
  }
  return { checks, dockerSocket: d.socketPath };
}

async function probeImages(dockerSocket: string | undefined): Promise<DoctorCheck[]> {
  if (!dockerSocket) {
    return [{ group: 'image', name: 'built-in images', status: 'unknown', detail: 'not checked (no Docker engine)', fix: SETUP_FIX, required: true }];
  }
  try {
    const st = await imageStatus(localDocker(dockerSocket, 10_000));
    return st.map((s): DoctorCheck => ({
      group: 'image', name: s.tag, status: s.state, required: true,
      detail: s.state === 'present' ? `recipe ${s.expected.slice(0, 12)}, ${((s.sizeBytes ?? 0) / 1e6).toFixed(0)} MB`
        : s.state === 'outdated' ? `built from an older recipe (${(s.actual ?? 'unlabelled').slice(0, 12)}, now ${s.expected.slice(0, 12)})`
          : 'not built',
      fix: s.state === 'present' ? undefined : `${SETUP_FIX} (builds it locally)`,
    }));
  } catch (e) {
    return [{ group: 'image', name: 'built-in images', status: 'unknown', detail: (e as Error).message, required: true }];
  }
}

export async function doctor(): Promise<DoctorReport> {
  const root: DoctorCheck = isRoot()
    ? { group: 'system', name: 'root', status: 'present', detail: 'running as root', required: true }
    : { group: 'system', name: 'root', status: 'missing', detail: 'not running as root', fix: ROOT_FIX, required: true };
  const [packages, engines, kernel, ovsModule] = await Promise.all([probePackages(), probeEngines(), probeKernel(), probeOvsModule()]);
  const images = await probeImages(engines.dockerSocket);
  const checks = [root, ...packages, ...engines.checks, ovsModule, ...kernel, ...images];
  return { ok: checks.every((c) => !c.required || c.status === 'present'), checks };
}

// ------------------------------------------------------------------------------------------ formatting

const MARK: Record<CheckStatus, string> = { present: '✓', missing: '✗', outdated: '!', unsupported: '–', unknown: '?' };
const GROUP_TITLE: Record<CheckGroup, string> = {
  system: 'system', package: 'packages', engine: 'engines', kernel: 'kernel features', image: 'built-in images',
};

/** Human-readable report: one line per check, grouped, with the fix for anything not present. */
export function formatDoctor(report: DoctorReport): string {
  const width = Math.max(...report.checks.map((c) => c.name.length), 4);
  const lines: string[] = ['tsunagari doctor'];
  let group: CheckGroup | undefined;
  for (const c of report.checks) {
    if (c.group !== group) {
      group = c.group;
      lines.push('', `${GROUP_TITLE[group]}:`);
    }
    const what = c.status === 'present' ? c.detail : `${c.status}: ${c.detail}`;
    lines.push(`  ${MARK[c.status]} ${c.name.padEnd(width)}  ${what}${c.fix && c.status !== 'present' ? `; fix: ${c.fix}` : ''}`);
  }
  const problems = report.checks.filter((c) => c.required && c.status !== 'present');
  const limited = report.checks.filter((c) => !c.required && c.status !== 'present');
  lines.push('');
  if (problems.length) {
    lines.push(`not ready: ${problems.length} problem${problems.length === 1 ? '' : 's'} (${problems.map((p) => p.name).join(', ')})`);
  } else {
    lines.push(`ready${limited.length ? ` (unavailable here: ${limited.map((l) => l.name).join(', ')})` : ''}`);
  }
  return lines.join('\n');
}
