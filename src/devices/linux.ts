// Owns the plain-Linux driver (iproute2, nftables, sysctl): facts, routes (`ip -j route`), a normalised
// running-config dump (links, addresses, routes, nft ruleset), and candidates that are scripts of known
// command forms, each with an inverse, so a commit can be undone by inverse commands (commit-confirm
// emulated by ExecDriver). Capabilities are honestly limited: no OSPF/BGP/BFD, no load-replace.
import type { Capability, Facts, Neighbour, Route } from './types.js';
import { ExecDriver, type RestorePoint } from './exec-driver.js';
import { CommandRejected } from './errors.js';
import { shq, writeDeviceFile } from './remote.js';
import { unifiedDiff, splitLines } from './diff.js';
import {
  KNOWN_FORMS, classify, configRoutes, globalAddresses, linuxDump, linuxRoutes, parseJson, routeSpec,
  type IpAddr, type IpLink, type IpRoute, type LinuxState, type ScriptStep,
} from './linux-parse.js';

export const LINUX_COMMANDS = {
  hostname: 'hostname',
  osRelease: 'cat /etc/os-release',
  kernel: 'uname -r',
  uptime: 'cat /proc/uptime',
  links: 'ip -j link show',
  addrs: 'ip -j addr show',
  routes4: 'ip -j -4 route show table main',
  routes6: 'ip -j -6 route show table main',
  nft: 'nft list ruleset',
} as const;

const CAPS: readonly Capability[] = ['facts', 'config', 'routes', 'load-merge', 'compare', 'commit', 'commit-confirm', 'rollback',
  'interfaces', 'ping', 'exec'];

export class LinuxDriver extends ExecDriver {
  readonly name = 'linux';
  readonly capabilities: ReadonlySet<Capability> = new Set(CAPS);
  protected readonly liveness = 'true';
  private steps: ScriptStep[] = [];
  private appliedFile = '';

  async facts(): Promise<Facts> {
    this.require('facts');
    const [hostname, os, kernel, uptime, links] = await Promise.all([
      this.run(LINUX_COMMANDS.hostname), this.run(LINUX_COMMANDS.osRelease), this.run(LINUX_COMMANDS.kernel),
      this.run(LINUX_COMMANDS.uptime), this.run(LINUX_COMMANDS.links),
    ]);
    const pretty = /^PRETTY_NAME="?([^"\n]*)"?$/m.exec(os)?.[1] ?? 'Linux';
    return {
      hostname: hostname.trim(), vendor: 'Linux', model: 'linux', os: pretty, version: kernel.trim(),
      uptimeSeconds: Math.floor(Number(uptime.trim().split(/\s+/)[0])),
      interfaces: parseJson<IpLink[]>(links, 'ip -j link').map((l) => l.ifname),
    };
  }

  private async state(): Promise<LinuxState> {
    const [hostname, links, addrs, r4, r6, nft] = await Promise.all([
      this.run(LINUX_COMMANDS.hostname), this.run(LINUX_COMMANDS.links), this.run(LINUX_COMMANDS.addrs),
      this.run(LINUX_COMMANDS.routes4), this.run(LINUX_COMMANDS.routes6),
      this.s.exec(LINUX_COMMANDS.nft, { timeoutMs: 30_000 }),
    ]);
    if (nft.code !== 0 && nft.code !== 127 && !/not found/.test(nft.stderr)) {
      throw new CommandRejected(this.device, LINUX_COMMANDS.nft, nft.stderr || nft.stdout);
    }
    return {
      hostname,
      links: parseJson<IpLink[]>(links, 'ip -j link'),
      addrs: parseJson<IpAddr[]>(addrs, 'ip -j addr'),
      routes4: parseJson<IpRoute[]>(r4, 'ip -j route'),
      routes6: parseJson<IpRoute[]>(r6, 'ip -j -6 route'),
      nft: nft.code === 0 ? nft.stdout : undefined,
    };
  }

  async runningConfig(): Promise<string> {
    this.require('config');
    return linuxDump(await this.state());
  }

  async routes(): Promise<Route[]> {
    this.require('routes');
    const [r4, r6] = await Promise.all([this.run(LINUX_COMMANDS.routes4), this.run(LINUX_COMMANDS.routes6)]);
    return [...linuxRoutes(parseJson<IpRoute[]>(r4, 'ip -j route'), 4), ...linuxRoutes(parseJson<IpRoute[]>(r6, 'ip -j -6 route'), 6)];
  }

  async neighbours(protocol: Neighbour['protocol']): Promise<Neighbour[]> {
    this.require(protocol);
    return [];
  }

  // ---- candidate: a script of known forms --------------------------------------------------------
  protected async stage(config: string, _mode: 'replace' | 'merge'): Promise<string> {
    const lines = splitLines(config).map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
    const steps: ScriptStep[] = [];
    for (const line of lines) {
      let st: ScriptStep | undefined;
      try { st = classify(line); } catch (e) { throw new CommandRejected(this.device, line, (e as Error).message); }
      if (!st) {
        throw new CommandRejected(this.device, line, 'no inverse known for this command, so it could not be rolled back',
          `known forms: ${KNOWN_FORMS}`);
      }
      steps.push(st);
    }
    if (!steps.length) throw new CommandRejected(this.device, 'load candidate', 'the candidate has no commands');
    this.steps = steps;
    return `${lines.join('\n')}\n`;
  }

  async compare(): Promise<string> {
    this.require('compare');
    const cand = this.requireCandidate();
    return unifiedDiff('', cand.config, { from: `${this.device} running`, to: `${this.device} candidate (commands to run)` });
  }

  // ---- commit hooks --------------------------------------------------------------------------------
  /** Inverse commands for the staged steps, computed against the state right before applying. */
  protected async restorePoint(): Promise<RestorePoint> {
    const st = await this.state();
    const keys = [...new Set(this.steps.filter((s) => s.kind === 'sysctl').map((s) => s.target))];
    const old = new Map<string, string>();
    for (const k of keys) old.set(k, (await this.run(`sysctl -n ${shq(k)}`)).trim());
    // which lines ran, per commit (a later commit must not change what an earlier rollback undoes)
    this.appliedFile = `${this.dir}/applied.${Date.now()}`;
    const applied = shq(this.appliedFile);
    const ran = (i: number, cmd: string): string => `if grep -qx ${i} ${applied} 2>/dev/null; then ${cmd} || echo ${shq(`rollback: \`${cmd}\` failed`)} >&2; fi`;
    const inv: string[] = [];
    const hasRoute = (fam: 4 | 6, dst: string): boolean =>
      (fam === 4 ? st.routes4 : st.routes6).some((r) => r.dst === dst || (dst.endsWith('/32') || dst.endsWith('/128')) && r.dst === dst.split('/')[0]);
    this.steps.forEach((s, i) => {
      const ip = `ip${s.family === 6 ? ' -6' : ''}`;
      if (s.kind === 'addr-add') inv.push(ran(i, `${ip} addr del ${shq(s.target)} dev ${shq(s.dev!)}`));
      else if (s.kind === 'route-add') inv.push(ran(i, `${ip} route del ${(s.args ?? []).map(shq).join(' ')}`));
      else if (s.kind === 'route-replace' && !hasRoute(s.family, s.target)) inv.push(ran(i, `${ip} route del ${shq(s.target)}`));
      else if (s.kind === 'link') {
        const l = st.links.find((x) => x.ifname === s.target);
        if (l) inv.push(ran(i, `ip link set dev ${shq(l.ifname)}${l.mtu ? ` mtu ${l.mtu}` : ''} ${l.flags?.includes('UP') ? 'up' : 'down'}`));
      } else if (s.kind === 'sysctl') inv.push(ran(i, `sysctl -q -w ${shq(`${s.target}=${old.get(s.target) ?? ''}`)}`));
    });
    const script = [
      '#!/bin/sh',
      '# Written by tsunagari: undoes a linux-driver commit (run by the revert timer or a rollback).',
      '# 1. inverse commands of the lines that ran, last first',
      ...inv.reverse(),
      '# 2. the snapshot\'s addresses and routes (a route deleted or replaced, or lost with a link going down, comes back)',
      ...globalAddresses(st.addrs).map((a) => `ip${a.family === 6 ? ' -6' : ''} addr replace ${a.cidr} dev ${shq(a.dev)} 2>/dev/null || true`),
      ...configRoutes(st.routes4, 4).filter((r) => r.protocol !== 'kernel').map((r) => `ip route replace ${routeSpec(r)} 2>/dev/null || echo ${shq(`rollback: route ${r.dst} not restored`)} >&2`),
      ...configRoutes(st.routes6, 6).filter((r) => r.protocol !== 'kernel').map((r) => `ip -6 route replace ${routeSpec(r)} 2>/dev/null || echo ${shq(`rollback: route ${r.dst} not restored`)} >&2`),
      ...(this.steps.some((s) => s.kind === 'nft') && st.nft !== undefined
        ? ['# 3. the nftables ruleset as it was (atomically)', "nft -f - <<'TSUNAGARI_NFT_EOF'", 'flush ruleset', st.nft.replace(/\n?$/, ''), 'TSUNAGARI_NFT_EOF']
        : []),
      'exit 0',
      '',
    ].join('\n');
    return { kind: 'script', script, snapshot: linuxDump(st) };
  }

  protected revertScript(p: RestorePoint): string {
    if (p.kind !== 'script') throw new Error(`linux driver cannot restore a ${p.kind} restore point`);
    return p.script;
  }

  protected async applyCommand(): Promise<string> {
    const cand = this.requireCandidate();
    const applied = shq(this.appliedFile);
    const lines = splitLines(cand.config);
    const script = [
      '#!/bin/sh',
      '# Written by tsunagari: the candidate, one command per line, stopping at the first that fails.',
      `: > ${applied}`,
      ...lines.map((l, i) => `${l} && echo ${i} >> ${applied} || { echo ${shq(`line ${i + 1} failed: ${l}`)} >&2; exit 1; }`),
      '',
    ].join('\n');
    const file = `${this.dir}/candidate.sh`;
    await writeDeviceFile(this.s, file, script);
    return `sh ${shq(file)}`;
  }
}
