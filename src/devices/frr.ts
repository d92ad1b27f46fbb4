// Owns the FRR driver: vtysh getters (running config, facts, IPv4+IPv6 routes, OSPF/BGP/BFD neighbours
// normalised to the contract), candidates as files on the device validated by `frr-reload.py --test`,
// commit by `frr-reload.py --reload`, and rollback by reloading the saved running config. Commit-confirm
// is emulated by ExecDriver (FRR 8.4 has none). Parsing lives in frr-parse.ts, config text in frr-config.ts.
import type { Capability, Facts, Neighbour, Route, SessionFactory } from './types.js';
import { ExecDriver, type ExecDriverOptions, type RestorePoint } from './exec-driver.js';
import { CommandRejected } from './errors.js';
import { shq, writeDeviceFile } from './remote.js';
import { privateDirCommand } from './confirm.js';
import { unifiedDiff } from './diff.js';
import { cleanFrrConfig, frrReloadError, mergeFrrConfig, normalFrrConfig } from './frr-config.js';
import { parseFrrBfdPeers, parseFrrBgpSummary, parseFrrInterfaces, parseFrrOspfNeighbours, parseFrrRoutes, parseFrrVersion } from './frr-parse.js';

export const FRR_RELOAD = '/usr/lib/frr/frr-reload.py';

export interface FrrOptions extends ExecDriverOptions {
  /** frr-reload.py on the device (Debian/Ubuntu packages: /usr/lib/frr/frr-reload.py). */
  reload?: string;
}

/** The exact commands the driver runs for its getters (fixtures are recorded under these). */
export const FRR_COMMANDS = {
  running: `vtysh -c 'show running-config'`,
  version: `vtysh -c 'show version'`,
  interfaces: `vtysh -c 'show interface brief'`,
  routes4: `vtysh -c 'show ip route json'`,
  routes6: `vtysh -c 'show ipv6 route json'`,
  ospf: `vtysh -c 'show ip ospf neighbor json'`,
  bgp: `vtysh -c 'show bgp summary json'`,
  bfd: `vtysh -c 'show bfd peers json'`,
} as const;

const ALL: readonly Capability[] = ['facts', 'config', 'routes', 'ospf', 'bgp', 'bfd', 'load-replace', 'load-merge', 'compare', 'commit', 'commit-confirm', 'rollback',
  'interfaces', 'ping', 'exec'];

export class FrrDriver extends ExecDriver {
  readonly name = 'frr';
  readonly capabilities: ReadonlySet<Capability> = new Set(ALL);
  protected readonly liveness = FRR_COMMANDS.version;
  private readonly reload: string;

  constructor(sessions: SessionFactory, opts: FrrOptions = {}) {
    super(sessions, opts);
    this.reload = opts.reload ?? FRR_RELOAD;
  }

  private get candidateFile(): string { return `${this.dir}/candidate.conf`; }

  // ---- getters ---------------------------------------------------------------------------------
  async runningConfig(): Promise<string> {
    this.require('config');
    return cleanFrrConfig(await this.run(FRR_COMMANDS.running));
  }

  async facts(): Promise<Facts> {
    this.require('facts');
    const [version, brief] = await Promise.all([this.run(FRR_COMMANDS.version), this.run(FRR_COMMANDS.interfaces)]);
    const v = parseFrrVersion(version);
    return { hostname: v.hostname, vendor: 'FRRouting', model: 'frr', os: `FRR on ${v.platform}`, version: v.version, interfaces: parseFrrInterfaces(brief) };
  }

  async routes(): Promise<Route[]> {
    this.require('routes');
    const [v4, v6] = await Promise.all([this.run(FRR_COMMANDS.routes4), this.run(FRR_COMMANDS.routes6)]);
    return [...parseFrrRoutes(v4), ...parseFrrRoutes(v6)];
  }

  async neighbours(protocol: Neighbour['protocol']): Promise<Neighbour[]> {
    this.require(protocol);
    if (protocol === 'ospf') return parseFrrOspfNeighbours(await this.run(FRR_COMMANDS.ospf));
    if (protocol === 'bgp') return parseFrrBgpSummary(await this.run(FRR_COMMANDS.bgp));
    return parseFrrBfdPeers(await this.run(FRR_COMMANDS.bfd));
  }

  // ---- candidate ---------------------------------------------------------------------------------
  protected async stage(config: string, mode: 'replace' | 'merge'): Promise<string> {
    const text = mode === 'replace' ? cleanFrrConfig(config) : mergeFrrConfig(await this.runningConfig(), config);
    await this.run(privateDirCommand(this.dir));
    await writeDeviceFile(this.s, this.candidateFile, text);
    // vtysh parses the whole file (`vtysh -m -f`): a typo is refused now, with vtysh's words, not at commit.
    const r = await this.s.exec(`${this.reload} --test ${shq(this.candidateFile)}`, { timeoutMs: 60_000 });
    if (r.code !== 0) {
      throw new CommandRejected(this.device, `load candidate (${mode})`, frrReloadError(`${r.stderr}\n${r.stdout}`),
        'fix the configuration; nothing was changed on the device');
    }
    return text;
  }

  async compare(): Promise<string> {
    this.require('compare');
    const cand = this.requireCandidate();
    return unifiedDiff(normalFrrConfig(await this.runningConfig()), normalFrrConfig(cand.config),
      { from: `${this.device} running`, to: `${this.device} candidate` });
  }

  // ---- commit hooks ------------------------------------------------------------------------------
  protected async restorePoint(): Promise<RestorePoint> {
    const config = await this.runningConfig();
    await writeDeviceFile(this.s, `${this.dir}/rollback.conf.next`, config);
    return { kind: 'config', config };
  }

  protected revertScript(p: RestorePoint): string {
    if (p.kind !== 'config') throw new Error(`frr driver cannot restore a ${p.kind} restore point`);
    const file = shq(`${this.dir}/rollback.conf`);
    const eof = 'TSUNAGARI_FRR_CONFIG_EOF';
    return [
      '#!/bin/sh',
      '# Written by tsunagari: puts back the FRR config saved before a commit (run by the revert timer or a rollback).',
      `cat > ${file} <<'${eof}'`,
      p.config.replace(/\n?$/, ''),
      eof,
      `${this.reload} --reload ${file} || exit $?`,
      '# frr-reload.py sometimes needs a second pass (dependent lines); one more when anything is left',
      `if ${this.reload} --test ${file} 2>/dev/null | grep -q '^Lines To'; then ${this.reload} --reload ${file}; fi`,
      '',
    ].join('\n');
  }

  protected async applyCommand(): Promise<string> {
    return `${this.reload} --reload ${shq(this.candidateFile)}`;
  }

  protected applyFailure(output: string): string { return frrReloadError(output); }

  protected normalize(config: string): string { return normalFrrConfig(config); }
}
