// Owns the router steps of a scenario: config pushes over SSH (snapshot first, commit-confirm, rolled back
// and compared with the snapshot after the scenario), routing-table and neighbour checks polled with a
// deadline (protocols converge), and the management-session check. Must not import Cucumber.
import { readFileSync, existsSync } from 'node:fs';
import { resolve, relative } from 'node:path';
import { MissingCapability, type Driver, type Neighbour, type PingResult, type Route } from '../devices/types.js';
import { createDriver } from '../devices/index.js';
import { CommitReverted } from '../devices/errors.js';
import { snapshotAndPush, diffFromSnapshot } from '../devices/snapshot.js';
import { nodeSessionFactory } from '../devices/transport.js';
import { canonicalIp } from '../probes/dns.js';
import { UserError, knownList } from '../util/errors.js';
import { CheckFailed } from './check.js';
import { formatMs, unquote } from './params.js';
import type { Scenario } from './session.js';
import type { Target } from '../lab/targets.js';
import type { DeviceAccess } from '../topology/types.js';

/** Seconds a pushed config waits for its confirmation before the device reverts it by itself. */
export const CONFIRM_SECONDS = Number(process.env.TSUNAGARI_CONFIRM_SECONDS) || 10;
/** How long route and neighbour checks wait for the protocols to converge. */
export const CONVERGE_MS = 30_000;

const DRIVER_OF_KIND: Record<string, string> = { frr: 'frr' };

export class RouterSteps {
  private drivers = new Map<string, Driver>();
  constructor(private readonly s: Scenario) {}

  private async driver(host: string): Promise<Driver> {
    const known = this.drivers.get(host);
    if (known) return known;
    const lab = this.s.requireLab();
    const x = lab.external(host);
    if (x) {
      const d = createDriver(x.driver, nodeSessionFactory(lab, host));
      await d.open();
      this.drivers.set(host, d);
      return d;
    }
    const node = lab.node(host);
    const name = DRIVER_OF_KIND[node.kind];
    if (!name) {
      const managed = [...lab.lab.nodes.filter((n) => DRIVER_OF_KIND[n.kind]).map((n) => n.name), ...(lab.lab.external ?? []).map((n) => n.name)];
      throw new UserError(`cannot manage ${host} over SSH (kind ${node.kind} has no device driver); managed routers in lab ${lab.name}: ${knownList(managed)}`,
        'use kind frr for routers whose configuration the scenario changes');
    }
    const d = createDriver(name, nodeSessionFactory(lab, host));
    await d.open();
    this.drivers.set(host, d);
    return d;
  }

  /** A config file (relative to the project) replaces the router's configuration. */
  async pushFile(host: string, file: string): Promise<void> {
    const path = resolve(this.s.pool.opts.projectDir, unquote(file));
    if (!existsSync(path)) throw new UserError(`cannot read configuration ${unquote(file)} (no such file in ${this.s.pool.opts.projectDir})`, 'paths are relative to the project folder, e.g. fixtures/frr/r1.conf');
    await this.push(host, readFileSync(path, 'utf8'), 'replace', relative(process.cwd(), path));
  }

  /** Lines merged into the router's running configuration. */
  async pushLines(host: string, lines: string): Promise<void> {
    await this.push(host, lines, 'merge', 'lines');
  }

  private async push(host: string, config: string, mode: 'replace' | 'merge', what: string): Promise<void> {
    const d = await this.driver(host);
    const lab = this.s.requireLab();
    const u = await snapshotAndPush(d, config, mode, nodeSessionFactory(lab, host), { lab: lab.name, node: host, confirmSeconds: CONFIRM_SECONDS, ...this.access(host) });
    this.s.undo.push(u.what, u.fn);
    await this.s.attach(`${host}: ${what} pushed (${mode}), confirmed through a new management session\n` +
      `snapshot ${formatMs(u.timing.snapshotMs)}, load+compare ${formatMs(u.timing.loadMs)}, commit ${formatMs(u.timing.commitMs)}\n${u.diff || '(no difference)'}`, 'text/plain');
  }

  /** The push must be reverted by commit-confirm (e.g. it cuts management), leaving the router as it was. */
  async pushReverted(host: string, lines: string): Promise<void> {
    const d = await this.driver(host);
    const lab = this.s.requireLab();
    const before = await d.runningConfig();
    let u;
    try {
      u = await snapshotAndPush(d, lines, 'merge', nodeSessionFactory(lab, host), { lab: lab.name, node: host, confirmSeconds: CONFIRM_SECONDS, ...this.access(host) });
    } catch (e) {
      if (!(e instanceof CommitReverted)) throw e;
      if (!e.reverted) throw e;
      // the old session may have died with management: look again through a fresh driver
      this.drivers.delete(host);
      await d.close().catch(() => undefined);
      const fresh = await this.driver(host);
      const left = await diffFromSnapshot(fresh, before);
      if (left) throw new CheckFailed(`${host} reverted, but its configuration differs from before the push:\n${left}`);
      await this.s.attach(`${host}: ${e.message}`, 'text/plain');
      return;
    }
    this.s.undo.push(u.what, u.fn);
    throw new CheckFailed(`${host} accepted the configuration and kept it (management still worked after the commit):\n${u.diff}`);
  }

  async routeVia(host: string, prefix: string, via: Target): Promise<void> {
    const want = unquote(prefix);
    let last: Route[] = [];
    const ok = await this.poll(async () => {
      last = await (await this.driver(host)).routes();
      return last.some((r) => r.selected && samePrefix(r.prefix, want) && r.nexthops.some((n) => n.via && canonicalIp(n.via) === canonicalIp(via.address)));
    });
    if (!ok) {
      const mine = last.filter((r) => samePrefix(r.prefix, want));
      throw new CheckFailed(`${host} has no route to ${want} via ${via.label} after ${formatMs(CONVERGE_MS)}; ` +
        (mine.length ? `it has: ${mine.map(routeText).join('; ')}` : `no route to ${want} at all; routes: ${last.map((r) => r.prefix).join(', ')}`));
    }
  }

  async neighbour(host: string, protocol: string, address: Target, state: string): Promise<void> {
    const p = protocol.toLowerCase() as Neighbour['protocol'];
    if (!['ospf', 'bgp', 'bfd'].includes(p)) throw new UserError(`unknown routing protocol ${protocol}; known: OSPF, BGP, BFD`);
    let last: Neighbour[] = [];
    const ok = await this.poll(async () => {
      last = await (await this.driver(host)).neighbours(p);
      return last.some((n) => canonicalIp(n.address) === canonicalIp(address.address) && n.state.toLowerCase().startsWith(state.toLowerCase()));
    });
    if (!ok) {
      const n = last.find((x) => canonicalIp(x.address) === canonicalIp(address.address));
      throw new CheckFailed(`${host}: ${protocol} neighbour ${address.label} ${n ? `is ${n.state}` : 'is not there'}, not ${state}, after ${formatMs(CONVERGE_MS)}; ` +
        `neighbours: ${last.map((x) => `${x.address} ${x.state}`).join(', ') || '(none)'}`);
    }
  }

  /** A new SSH session over the management network works (and runs a command). */
  async managementReachable(host: string): Promise<void> {
    const lab = this.s.requireLab();
    this.s.host(host);
    const t0 = Date.now();
    try {
      const session = await nodeSessionFactory(lab, host)();
      try {
        const r = await session.exec('true', { timeoutMs: 5000 });
        if (r.code !== 0) throw new Error(`\`true\` exited ${r.code}`);
      } finally {
        await session.close().catch(() => undefined);
      }
    } catch (e) {
      throw new CheckFailed(`${host} is not reachable for management: ${(e as Error).message}`);
    }
    await this.s.attach(`${host}: new management session and command in ${Date.now() - t0} ms`, 'text/plain');
  }

  /** An external device's access, for records that must outlive the lab (empty for lab nodes). */
  private access(host: string): { access?: DeviceAccess } {
    const x = this.s.requireLab().external(host);
    return x ? { access: x.access } : {};
  }

  /** A ping from a device (external, or a managed lab router), through its driver. */
  async ping(host: string, address: string, count: number): Promise<PingResult> {
    const d = await this.driver(host);
    if (!d.ping || !d.capabilities.has('ping')) throw new UserError(`cannot ping from ${host} (${new MissingCapability(d.name, 'ping').message})`);
    return d.ping(address, { count, timeoutMs: 1000 });
  }

  /** A shell command on a device, through its driver's SSH session. */
  async exec(host: string, command: string): Promise<{ code: number; stdout: string; stderr: string }> {
    const d = await this.driver(host);
    if (!d.exec || !d.capabilities.has('exec')) throw new UserError(`cannot run commands on ${host} (${new MissingCapability(d.name, 'exec').message})`);
    return d.exec(command, { timeoutMs: 60_000 });
  }

  private async poll(check: () => Promise<boolean>): Promise<boolean> {
    const deadline = Date.now() + CONVERGE_MS;
    for (let i = 0; ; i++) {
      if (await check()) return true;
      if (Date.now() > deadline) return false;
      await new Promise((r) => setTimeout(r, Math.min(200 + i * 100, 1000)));
    }
  }

  async close(): Promise<void> {
    for (const d of this.drivers.values()) await d.close().catch(() => undefined);
    this.drivers.clear();
  }
}

function samePrefix(a: string, b: string): boolean {
  const [ai, al] = a.split('/');
  const [bi, bl] = b.split('/');
  return canonicalIp(ai ?? '') === canonicalIp(bi ?? '') && (al ?? '') === (bl ?? (b.includes(':') ? '128' : '32'));
}

function routeText(r: Route): string {
  return `${r.prefix} ${r.protocol}${r.selected ? ' (selected)' : ''} via ${r.nexthops.map((n) => n.via ?? n.dev).join(', ')}`;
}
