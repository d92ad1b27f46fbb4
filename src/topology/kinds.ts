// Owns the registry of node kinds: what each kind defaults (image, capabilities, sysctls) and which
// runtimes can run it. Pure data plus lookup; the schema, validator and `tsunagari kinds` read it.
// Must not touch Docker, images or the network: a kind only describes, it never pulls or creates.
import type { RuntimeName } from './types.js';
import { UserError, knownList } from '../util/errors.js';

export interface Kind {
  name: string;
  description: string;                      // one line, for `tsunagari kinds`
  image: string;                            // default image for the docker runtime
  runtimes: readonly RuntimeName[];         // runtimes able to run it; netns = no filesystem
  capabilities: readonly string[];          // docker CapAdd
  sysctls: Readonly<Record<string, string>>; // defaults, overridden by the node's own sysctls
}

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
} satisfies Record<string, Kind>);

/** Kind names in registry order: host, router, dns, linux. */
export const KIND_NAMES = Object.keys(KINDS) as [string, ...string[]];

export function isKind(name: string): boolean {
  return Object.hasOwn(KINDS, name);
}

export function getKind(name: string): Kind {
  if (!isKind(name)) throw new UserError(`unknown kind '${name}'; known: ${knownList(KIND_NAMES)}`);
  return KINDS[name]!;
}

/** Kinds that a runtime can run, e.g. netns → ['host']. */
export function kindsForRuntime(runtime: RuntimeName): string[] {
  return KIND_NAMES.filter((k) => KINDS[k]!.runtimes.includes(runtime));
}
