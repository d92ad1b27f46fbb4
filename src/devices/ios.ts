// Owns an IOS-like CLI driver, to prove a vendor driver is one small file: a CliProfile (prompts, pager,
// error lines) plus parsers for `show version`, `show ip interface brief`, `show running-config`,
// `show ip route`, `show ip ospf neighbor` and `show ip bgp summary`. Configuration is read-only (every
// config change fails with MissingCapability); a physical lab's scenarios can still ping from it, shut and
// re-enable an interface (`shutdown` / `no shutdown`) and run CLI commands. No silent drop (that would be
// an ACL). Tested only against hand-written output and a simulated CLI, no real IOS.
import { isIP } from 'node:net';
import type { Capability, Driver, Facts, Neighbour, PingResult, Route, SessionFactory, SshSession } from './types.js';
import { MissingCapability } from './types.js';
import { CliShell, type CliProfile, type ShellOptions } from './shell.js';
import { CommandRejected, DeviceError, DriverStateError, deviceName } from './errors.js';

export const IOS_PROFILE: CliProfile = {
  vendor: 'ios',
  prompts: {
    config: /^(?<host>[\w.\-/:]+)\(config[^)]*\)#\s*$/,
    privileged: /^(?<host>[\w.\-/:]+)#\s*$/,
    exec: /^(?<host>[\w.\-/:]+)>\s*$/,
  },
  pagers: [/\s*--More--\s*$/, /\s*-- ?[Mm]ore ?--\s*$/],
  disablePaging: ['terminal length 0'],
  errors: [/^% ?Invalid input detected/, /^% ?Incomplete command/, /^% ?Ambiguous command/, /^% ?Unknown command/, /^% ?Bad mask/, /^Error:/],
  config: { enter: 'configure terminal', exit: 'end', mode: 'config' },
};

export const IOS_COMMANDS = {
  version: 'show version',
  interfaces: 'show ip interface brief',
  running: 'show running-config',
  routes: 'show ip route',
  ospf: 'show ip ospf neighbor',
  bgp: 'show ip bgp summary',
} as const;

const CAPS: readonly Capability[] = ['facts', 'config', 'routes', 'ospf', 'bgp', 'interfaces', 'ping', 'exec'];

export class IosDriver implements Driver {
  readonly name = 'ios';
  readonly capabilities: ReadonlySet<Capability> = new Set(CAPS);
  private session?: SshSession;
  private sh?: CliShell;

  constructor(private readonly sessions: SessionFactory, private readonly o: ShellOptions = {}) {}

  async open(): Promise<void> {
    if (this.sh) return;
    this.session = await this.sessions();
    this.sh = await CliShell.open(this.session, IOS_PROFILE, this.o);
  }

  async close(): Promise<void> {
    await this.sh?.close();
    await this.session?.close();
    this.sh = undefined;
    this.session = undefined;
  }

  private cli(): CliShell {
    if (!this.sh) throw new DriverStateError(this.name, 'driver ios is not open', 'call open() first');
    return this.sh;
  }

  private need(c: Capability): void {
    if (!this.capabilities.has(c)) throw new MissingCapability(this.name, c);
  }

  async facts(): Promise<Facts> {
    this.need('facts');
    const v = await this.cli().run(IOS_COMMANDS.version);
    const ifs = await this.cli().run(IOS_COMMANDS.interfaces);
    return { ...parseIosVersion(v), interfaces: parseIosInterfaces(ifs) };
  }

  async runningConfig(): Promise<string> {
    this.need('config');
    return cleanIosConfig(await this.cli().run(IOS_COMMANDS.running, { timeoutMs: 60_000 }));
  }

  async routes(): Promise<Route[]> {
    this.need('routes');
    return parseIosRoutes(await this.cli().run(IOS_COMMANDS.routes, { timeoutMs: 60_000 }));
  }

  async neighbours(protocol: Neighbour['protocol']): Promise<Neighbour[]> {
    this.need(protocol);
    if (protocol === 'ospf') return parseIosOspf(await this.cli().run(IOS_COMMANDS.ospf));
    return parseIosBgp(await this.cli().run(IOS_COMMANDS.bgp));
  }

  async loadCandidate(_config: string, mode: 'replace' | 'merge'): Promise<void> { this.need(mode === 'replace' ? 'load-replace' : 'load-merge'); }
  async compare(): Promise<string> { this.need('compare'); return ''; }
  async commit(): Promise<void> { this.need('commit'); }
  async confirm(): Promise<void> { this.need('commit-confirm'); }
  async rollback(): Promise<void> { this.need('rollback'); }
  async discardCandidate(): Promise<void> { this.need('load-replace'); }

  // ---- operations for a physical lab's scenarios -----------------------------------------------------

  async interfaceUp(iface: string): Promise<boolean> {
    this.need('interfaces');
    const rows = parseIosInterfaceStates(await this.cli().run(IOS_COMMANDS.interfaces));
    const row = rows.find((r) => r.name === iface);
    if (!row) throw new DeviceError(this.cli().device, `no interface ${iface} on ${deviceName(this.cli().device)}; known: ${rows.map((r) => r.name).join(', ')}`);
    return row.adminUp;
  }

  async setInterfaceUp(iface: string, up: boolean): Promise<void> {
    this.need('interfaces');
    if (!/^[\w./:-]{1,64}$/.test(iface)) throw new DeviceError(this.cli().device, `invalid interface name ${JSON.stringify(iface)}`);
    await this.cli().configure([`interface ${iface}`, up ? 'no shutdown' : 'shutdown']);
  }

  async ping(address: string, o: { count: number; timeoutMs: number }): Promise<PingResult> {
    this.need('ping');
    if (!isIP(address)) throw new DeviceError(this.cli().device, `cannot ping ${JSON.stringify(address)} from ${deviceName(this.cli().device)}: not an IP address`);
    const count = Math.max(1, Math.min(100, Math.floor(o.count)));
    const seconds = Math.max(1, Math.min(3600, Math.ceil(o.timeoutMs / 1000)));
    const output = await this.cli().run(`ping ${address} repeat ${count} timeout ${seconds}`, { timeoutMs: count * seconds * 1000 + 10_000 });
    const r = parseIosPing(output);
    if (!r) throw new DeviceError(this.cli().device, `cannot read the ping result from ${deviceName(this.cli().device)}: ${JSON.stringify(output.slice(-200))}`);
    return { ...r, output };
  }

  /** A CLI command (the device has no shell): its output, or code 1 with the device's refusal. */
  async exec(command: string, o: { timeoutMs?: number } = {}): Promise<{ code: number; stdout: string; stderr: string }> {
    this.need('exec');
    if (/[\r\n]/.test(command)) throw new DeviceError(this.cli().device, 'one CLI command per step: the command has a line break');
    try {
      return { code: 0, stdout: await this.cli().run(command, o), stderr: '' };
    } catch (e) {
      if (e instanceof CommandRejected) return { code: 1, stdout: '', stderr: e.deviceMessage };
      throw e;
    }
  }
}

/** `show ip interface brief`: each interface and whether it is administratively up (Status ≠ "administratively down"). */
export function parseIosInterfaceStates(text: string): Array<{ name: string; adminUp: boolean; protocolUp: boolean }> {
  const out: Array<{ name: string; adminUp: boolean; protocolUp: boolean }> = [];
  for (const l of text.split('\n')) {
    const m = /^(\S+)\s+\S+\s+(?:YES|NO)\s+\S+\s+(administratively down|up|down|deleted)\s+(up|down)\s*$/.exec(l);
    if (m) out.push({ name: m[1]!, adminUp: m[2] === 'up' || m[2] === 'down', protocolUp: m[3] === 'up' });
  }
  return out;
}

/** `Success rate is 66 percent (2/3), …` → sent and received. */
export function parseIosPing(text: string): { sent: number; received: number } | undefined {
  const m = /Success rate is \d+ percent \((\d+)\/(\d+)\)/.exec(text);
  return m ? { sent: Number(m[2]), received: Number(m[1]) } : undefined;
}

// ---- parsers (pure) ------------------------------------------------------------------------------

export function parseIosVersion(text: string): Omit<Facts, 'interfaces'> {
  const version = /Version ([^\s,]+)/.exec(text)?.[1] ?? 'unknown';
  const up = /^(\S+) uptime is (.+)$/m.exec(text);
  const model = /^[Cc]isco (\S+) .*processor/m.exec(text)?.[1] ?? /^(?:cisco|Cisco) (\S+) \(/m.exec(text)?.[1] ?? 'unknown';
  const os = /^(Cisco IOS[^,]*|IOS[^,]*)/m.exec(text)?.[1]?.trim() ?? 'IOS';
  return { hostname: up?.[1] ?? 'unknown', vendor: 'Cisco', model, os, version, ...(up ? { uptimeSeconds: iosUptime(up[2]!) } : {}) };
}

/** "1 week, 2 days, 3 hours, 4 minutes" → seconds. */
export function iosUptime(s: string): number {
  const unit: Record<string, number> = { year: 31_536_000, week: 604_800, day: 86_400, hour: 3600, minute: 60, second: 1 };
  let total = 0;
  for (const m of s.matchAll(/(\d+) (year|week|day|hour|minute|second)s?/g)) total += Number(m[1]) * unit[m[2]!]!;
  return total;
}

export function parseIosInterfaces(text: string): string[] {
  return text.split('\n').filter((l) => l && !/^Interface\s+IP-Address/.test(l) && !/^\s/.test(l)).map((l) => l.split(/\s+/)[0]!);
}

/** `show running-config` without its header ("Building configuration…", "Current configuration : N bytes"). */
export function cleanIosConfig(text: string): string {
  const lines = text.split('\n');
  const start = lines.findIndex((l) => /^Current configuration :/.test(l));
  return `${lines.slice(start >= 0 ? start + 1 : 0).join('\n').replace(/^\n+/, '').replace(/\n+$/, '')}\n`;
}

const IOS_PROTO: Record<string, string> = {
  C: 'connected', L: 'local', S: 'static', O: 'ospf', 'O IA': 'ospf', 'O E1': 'ospf', 'O E2': 'ospf', 'O N1': 'ospf', 'O N2': 'ospf',
  B: 'bgp', R: 'rip', D: 'eigrp', 'D EX': 'eigrp', i: 'isis', 'i L1': 'isis', 'i L2': 'isis',
};

function maskLen(mask: string): number {
  return mask.split('.').reduce((n, o) => n + (Number(o) >>> 0).toString(2).replace(/0/g, '').length, 0);
}

/**
 * `show ip route`: codes, optional `*` (candidate default), prefix (with or without length — classful
 * headers "10.0.0.0/8 is variably subnetted" give the length for lines without one), next hops on the
 * same or following lines (ECMP).
 */
export function parseIosRoutes(text: string): Route[] {
  const out: Route[] = [];
  let cur: Route | undefined;
  let classLen: number | undefined;
  for (const raw of text.split('\n')) {
    const line = raw.replace(/\s+$/, '');
    const hdr = /^\s+(\d+\.\d+\.\d+\.\d+)\/(\d+) is (?:variably )?subnetted/.exec(line);
    if (hdr) { classLen = Number(hdr[2]); continue; }
    const m = /^([A-Za-z][A-Za-z0-9]*(?: (?:IA|E1|E2|N1|N2|EX|L1|L2|su|ia))?)\*?\s+(\d+\.\d+\.\d+\.\d+)(?:\/(\d+))?(?:\s+(\d+\.\d+\.\d+\.\d+))?\s*(.*)$/.exec(line);
    if (m && IOS_PROTO[m[1]!.trim()] !== undefined) {
      const len = m[3] ? Number(m[3]) : m[4] ? maskLen(m[4]) : classLen ?? 32;
      cur = { prefix: `${m[2]}/${len}`, protocol: IOS_PROTO[m[1]!.trim()]!, nexthops: [], selected: true };
      out.push(cur);
      addHop(cur, m[5] ?? '');
      continue;
    }
    const cont = /^\s+\[\d+\/\d+\] via .*/.exec(line);
    if (cont && cur) addHop(cur, line.trim());
  }
  return out;
}

function addHop(r: Route, rest: string): void {
  const via = /via (\d+\.\d+\.\d+\.\d+)(?:,\s*[\dwdhms:]+)?(?:,\s*(\S+))?/.exec(rest);
  if (via) { r.nexthops.push({ via: via[1]!, ...(via[2] ? { dev: via[2] } : {}) }); return; }
  const conn = /is directly connected, (\S+)/.exec(rest);
  if (conn) r.nexthops.push({ dev: conn[1]! });
  const null0 = /is a summary, .*, (Null0)/.exec(rest);
  if (null0) r.nexthops.push({ dev: null0[1]! });
}

const IOS_OSPF_STATES: Record<string, string> = {
  FULL: 'Full', '2WAY': '2-Way', INIT: 'Init', DOWN: 'Down', ATTEMPT: 'Attempt', EXSTART: 'ExStart', EXCHANGE: 'Exchange', LOADING: 'Loading',
};

/** `show ip ospf neighbor`: Neighbor ID, Pri, State (`FULL/DR`, `FULL/  -` → Full), Dead Time, Address, Interface. */
export function parseIosOspf(text: string): Neighbour[] {
  const out: Neighbour[] = [];
  for (const l of text.split('\n')) {
    const m = /^(\d+\.\d+\.\d+\.\d+)\s+\d+\s+(.+?)\s+(\d+:\d+:\d+|-)\s+(\d+\.\d+\.\d+\.\d+)\s+(\S+)\s*$/.exec(l);
    if (!m) continue;
    const st = m[2]!.split('/')[0]!.trim().toUpperCase();
    out.push({ protocol: 'ospf', address: m[4]!, id: m[1]!, state: IOS_OSPF_STATES[st] ?? st, iface: m[5]! });
  }
  return out;
}

/** `show ip bgp summary`: the neighbour table; a number in State/PfxRcd means Established. */
export function parseIosBgp(text: string): Neighbour[] {
  const out: Neighbour[] = [];
  let inTable = false;
  for (const l of text.split('\n')) {
    if (/^Neighbor\s+V\s+AS/.test(l)) { inTable = true; continue; }
    if (!inTable) continue;
    const m = /^(\d+\.\d+\.\d+\.\d+)\s+\d+\s+(\d+)\s+\d+\s+\d+\s+\d+\s+\d+\s+\d+\s+\S+\s+(\S+(?: \(Admin\))?)\s*$/.exec(l);
    if (!m) continue;
    const s = m[3]!;
    out.push({ protocol: 'bgp', address: m[1]!, id: m[2]!, state: /^\d+$/.test(s) ? 'Established' : s.replace(/ \(Admin\)$/, '') });
  }
  return out;
}
