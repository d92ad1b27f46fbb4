// Owns the registry of node kinds: what each kind defaults (image, capabilities, sysctls), which
// runtimes can run it, and the server it starts (command lines and a bounded health check, run by the
// lab engine). Pure data, lookup and string building; the schema, validator, engine and `tsunagari kinds`
// read it. Must not touch Docker, images or the network: a kind only describes, it never pulls or creates.
import type { Node, RuntimeName } from './types.js';
import { UserError, knownList } from '../util/errors.js';
import { FRR_SERVICE } from './frr.js';

export interface Kind {
  name: string;
  description: string;                      // one line, for `tsunagari kinds`
  image: string;                            // default image for the docker runtime
  runtimes: readonly RuntimeName[];         // runtimes able to run it; netns = no filesystem
  /** Runtime of a node that names none, whatever the lab's default (kinds that run in one runtime only). */
  runtime?: RuntimeName;
  capabilities: readonly string[];          // docker CapAdd
  sysctls: Readonly<Record<string, string>>; // defaults, overridden by the node's own sysctls
  /** A server the engine starts once addresses and routes are up, and waits for before the node's `exec:`. */
  service?: KindService;
  /** Managed: the node gets mgmt0 on the lab's management network, tsunagari's client key in
   *  /root/.ssh/authorized_keys before its service starts, and its ed25519 SSH host key pinned once the
   *  service is ready. The service must run sshd with that key (see frr.ts). */
  managed?: boolean;
}

/** What a service's command lines may refer to. */
export interface ServiceEnv {
  lab: string;
  node: Node;
  /** Where the service keeps its log, pid file and sockets: inside the node (docker), on the host (netns). */
  dir: string;
  /** The Node.js binary running tsunagari (a netns node shares the host's filesystem and programs). */
  nodeBin: string;
  /** tsunagari's package directory (src/dns/… live below it). */
  root: string;
}

export interface KindService {
  /** The program, named in messages ("node dns1: unbound did not answer …"). */
  server: string;
  /** Shell command lines run in order inside the node; the last one leaves the server running in the background. */
  start: (e: ServiceEnv) => string[];
  /** Bounded health check: `command` (a shell line run inside the node) exits 0 once the server answers. */
  ready: { what: string; command: (e: ServiceEnv) => string; timeoutMs: number; intervalMs: number };
  /** The server's log file (shown, last lines, when it fails) and pid file (to notice it died). */
  log: (e: ServiceEnv) => string;
  pidFile: (e: ServiceEnv) => string;
  /** Optional: a file whose first line says why the server stopped (e.g. which FRR daemon exited). */
  reason?: (e: ServiceEnv) => string;
}

/** Quotes a word for sh. */
export function shq(s: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/** A DNS query to 127.0.0.1:53 over UDP gets any reply (dig: exit 0 for every rcode, 9 for no reply). */
const DIG_READY = 'dig +time=1 +tries=1 +norec -p 53 @127.0.0.1 id.server CH TXT >/dev/null 2>&1';
const READY_TIMEOUT_MS = 20_000;

/** A server in a Debian container: `PROGRAM -d -c CONF` in the background, stdout and stderr to its log. */
function containerDnsServer(server: string, conf: string): KindService {
  const log = (e: ServiceEnv) => `${e.dir}/${server}.log`;
  const pidFile = (e: ServiceEnv) => `${e.dir}/${server}.pid`;
  return {
    server,
    start: (e) => [
      `mkdir -p ${shq(e.dir)}`,
      `${server} -d -c ${conf} >${shq(log(e))} 2>&1 </dev/null & echo $! >${shq(pidFile(e))}`,
    ],
    ready: { what: 'a DNS query to 127.0.0.1:53 over UDP gets a reply', command: () => DIG_READY, timeoutMs: READY_TIMEOUT_MS, intervalMs: 100 },
    log,
    pidFile,
  };
}

/** Addresses the responder listens on: every address of the node, and loopback (for the health check). */
export function responderAddresses(node: Pick<Node, 'interfaces'>): string[] {
  const out = ['127.0.0.1', '::1'];
  for (const i of node.interfaces) {
    for (const a of i.addresses) {
      const ip = a.split('/')[0] as string;
      if (!out.includes(ip)) out.push(ip);
    }
  }
  return out;
}

export const RESPONDER_LAUNCHER = 'src/dns/launch.pl';
export const RESPONDER_PROGRAM = 'src/dns/responder.mjs';

/** The responder's control socket (setResponder). */
export function responderControl(dir: string): string {
  return `${dir}/control.sock`;
}

const RESPONDER_SERVICE: KindService = {
  server: 'responder',
  start: (e) => {
    const fixture = e.node.responder;
    if (fixture === undefined) throw new Error(`node ${e.node.name}: kind responder without a responder fixture (validation missed it)`);
    const launch = [shq(`${e.root}/${RESPONDER_LAUNCHER}`), ...responderAddresses(e.node).map(shq)].join(' ');
    const serve = [shq(e.nodeBin), shq(`${e.root}/${RESPONDER_PROGRAM}`), 'serve', '--fixture', shq(fixture),
      '--node', shq(e.node.name), '--control', shq(responderControl(e.dir))].join(' ');
    return [
      `mkdir -p ${shq(e.dir)}`,
      // setsid: out of the caller's process group, so a Ctrl-C of `tsunagari up` does not reach it.
      `setsid perl ${launch} -- ${serve} >${shq(`${e.dir}/responder.log`)} 2>&1 </dev/null & echo $! >${shq(`${e.dir}/responder.pid`)}`,
    ];
  },
  ready: {
    what: 'a DNS query to 127.0.0.1:53 over UDP gets a reply',
    command: (e) => `${shq(e.nodeBin)} ${shq(`${e.root}/${RESPONDER_PROGRAM}`)} probe 127.0.0.1 53 >/dev/null 2>&1`,
    timeoutMs: READY_TIMEOUT_MS,
    intervalMs: 50,
  },
  log: (e) => `${e.dir}/responder.log`,
  pidFile: (e) => `${e.dir}/responder.pid`,
};

const HOST_IMAGE = 'tsunagari/host:latest';
const DEBIAN_IMAGE = 'tsunagari/debian:latest';

export const KINDS: Readonly<Record<string, Kind>> = Object.freeze({
  host: {
    name: 'host',
    description: 'test host: a busybox container, or a bare network namespace using the machine\'s own tools',
    image: HOST_IMAGE,
    runtimes: ['docker', 'netns'],
    capabilities: ['NET_ADMIN', 'NET_RAW'],
    sysctls: {},
  },
  router: {
    name: 'router',
    description: 'Linux router (iproute2, nftables) with IPv4 and IPv6 forwarding on',
    image: DEBIAN_IMAGE,
    runtimes: ['docker'],
    capabilities: ['NET_ADMIN', 'NET_RAW', 'SYS_ADMIN'],
    sysctls: { 'net.ipv4.ip_forward': '1', 'net.ipv6.conf.all.forwarding': '1' },
  },
  dns: {
    name: 'dns',
    description: 'DNS server container; configure it with files (e.g. unbound.conf) and exec',
    image: DEBIAN_IMAGE,
    runtimes: ['docker'],
    capabilities: ['NET_ADMIN', 'NET_RAW'],
    sysctls: {},
  },
  linux: {
    name: 'linux',
    description: 'general-purpose Debian container for anything else',
    image: DEBIAN_IMAGE,
    runtimes: ['docker'],
    capabilities: ['NET_ADMIN', 'NET_RAW'],
    sysctls: {},
  },
  resolver: {
    name: 'resolver',
    description: 'recursive resolver: unbound, configured by files (/etc/unbound/unbound.conf), started and health-checked',
    image: DEBIAN_IMAGE,
    runtimes: ['docker'],
    capabilities: ['NET_ADMIN', 'NET_RAW'],
    sysctls: {},
    service: containerDnsServer('unbound', '/etc/unbound/unbound.conf'),
  },
  authoritative: {
    name: 'authoritative',
    description: 'authoritative DNS server: nsd, configured by files (/etc/nsd/nsd.conf and zones), started and health-checked',
    image: DEBIAN_IMAGE,
    runtimes: ['docker'],
    capabilities: ['NET_ADMIN', 'NET_RAW'],
    sysctls: {},
    service: containerDnsServer('nsd', '/etc/nsd/nsd.conf'),
  },
  responder: {
    name: 'responder',
    description: 'tsunagari\'s programmable DNS responder (zero checksums, drops, delays, truncation, rcodes, other source) in a bare network namespace, driven by responder: <fixture>',
    image: DEBIAN_IMAGE,
    runtimes: ['netns'],
    runtime: 'netns',
    capabilities: ['NET_ADMIN', 'NET_RAW'],
    sysctls: {},
    service: RESPONDER_SERVICE,
  },
  frr: {
    name: 'frr',
    description: 'FRR router (zebra, staticd, ospfd, bgpd, bfdd per /etc/frr/daemons; config /etc/frr/frr.conf from files:) with sshd on the lab\'s management network (mgmt0), started and health-checked',
    image: DEBIAN_IMAGE,
    runtimes: ['docker'],
    capabilities: ['NET_ADMIN', 'NET_RAW', 'SYS_ADMIN'],
    sysctls: { 'net.ipv4.ip_forward': '1', 'net.ipv6.conf.all.forwarding': '1' },
    service: FRR_SERVICE,
    managed: true,
  },
} satisfies Record<string, Kind>);

/** Kind names in registry order: host, router, dns, linux, resolver, authoritative, responder, frr. */
export const KIND_NAMES = Object.keys(KINDS) as [string, ...string[]];

export function isKind(name: string): boolean {
  return Object.hasOwn(KINDS, name);
}

export function getKind(name: string): Kind {
  if (!isKind(name)) throw new UserError(`unknown kind '${name}'; known: ${knownList(KIND_NAMES)}`);
  return KINDS[name]!;
}

/** Is a node of this kind managed (mgmt0, SSH with a pinned host key)? */
export function isManagedKind(name: string): boolean {
  return KINDS[name]?.managed === true;
}

/** Kinds that a runtime can run, e.g. netns → ['host']. */
export function kindsForRuntime(runtime: RuntimeName): string[] {
  return KIND_NAMES.filter((k) => KINDS[k]!.runtimes.includes(runtime));
}
