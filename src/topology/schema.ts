// Owns the shape of a raw topology file (docs/topology.md) as one zod schema, and the JSON Schema that
// editors use, generated from it. Checks here are per value (formats, ranges, unknown keys); rules that
// relate values to each other live in validate.ts. Must not touch the filesystem or the network.
import { z } from 'zod';
import { KIND_NAMES, KINDS } from './kinds.js';
import { cidrProblem, ipProblem, type Family } from './address.js';
import { LAB_NAME_RE } from './naming.js';

export const NAME_RE = LAB_NAME_RE;
export const NAME_RULE = "use 1..24 lowercase letters, digits and '-', starting with a letter";
export const LINK_NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$/;
export const MAC_RE = /^[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){5}$/;
export const IFNAME_RE = /^[A-Za-z0-9_.-]{1,15}$/;
const SYSCTL_RE = /^[A-Za-z0-9_][A-Za-z0-9_./-]*$/;
export const ENV_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** A value as messages show it: strings quoted. */
export const show = (v: unknown): string => (typeof v === 'string' ? `'${v}'` : String(v));

/** A lab, node or switch name. `what` is used in the message ("invalid node name"). */
function nameKey(what: string) {
  return z.string().regex(NAME_RE, { error: () => `invalid ${what} name; ${NAME_RULE}` });
}

/** A Linux interface name (also used for switch port names). */
function ifName(what: string) {
  return z.string().superRefine((v, ctx) => {
    if (v.length > 15) ctx.addIssue({ code: 'custom', message: `${what} name is ${v.length} chars long; Linux allows at most 15` });
    else if (!IFNAME_RE.test(v) || v === '.' || v === '..') {
      ctx.addIssue({ code: 'custom', message: `invalid ${what} name; use 1..15 letters, digits, '_', '.' or '-'` });
    }
  }).meta({ pattern: IFNAME_RE.source });
}

export function intRange(field: string, min: number, max: number) {
  const out = (iss: { input?: unknown }) => `${field} ${show(iss.input)} is out of range ${min}..${max}`;
  return z.number().int({ error: (iss) => `${field} ${show(iss.input)} must be a whole number` })
    .min(min, { error: out }).max(max, { error: out });
}

const IPV4_PATTERN = String.raw`^\d{1,3}(\.\d{1,3}){3}/\d{1,2}$`;
const IPV6_PATTERN = String.raw`^[0-9A-Fa-f:.]+/\d{1,3}$`;

function cidr(family: Family) {
  const other = family === 4 ? 'ipv6' : 'ipv4';
  return z.string().superRefine((v, ctx) => {
    const p = cidrProblem(v, family);
    if (!p) return;
    const hint = p.endsWith(' address') ? `; hint: put it under ${other}` : '';
    ctx.addIssue({ code: 'custom', message: `ipv${family} address ${p}${hint}` });
  }).meta({ pattern: family === 4 ? IPV4_PATTERN : IPV6_PATTERN });
}

function addresses(family: Family) {
  const one = cidr(family);
  const ex = family === 4 ? '10.0.1.10/24' : '2001:db8:1::10/64';
  return z.union([one, z.array(one)])
    .describe(`IPv${family} address with prefix length (e.g. ${ex}), or a list of them`);
}

export function ipAddress(field: string, family?: Family) {
  return z.string().superRefine((v, ctx) => {
    const p = ipProblem(v, family);
    if (p) ctx.addIssue({ code: 'custom', message: `${field} ${p}` });
  });
}

const scalar = z.union([z.string(), z.number(), z.boolean()]);

export const InterfaceSchema = z.strictObject({
  ipv4: addresses(4).optional(),
  ipv6: addresses(6).optional(),
  mtu: intRange('mtu', 68, 65535).optional().describe('MTU in bytes (68..65535)'),
  mac: z.string().regex(MAC_RE, { error: (iss) => `mac ${show(iss.input)} is not a valid MAC address (xx:xx:xx:xx:xx:xx)` })
    .optional().describe('MAC address, e.g. 02:00:00:00:01:10 (locally administered unicast)'),
  tx_checksum_offload: z.boolean().optional()
    .describe('false = `ethtool -K tx off`, for tests that look at checksums'),
}).meta({ title: 'Interface', description: 'An interface inside the node. Every interface except `lo` must be used by exactly one link.' });

export const RouteSchema = z.strictObject({
  to: z.string().superRefine((v, ctx) => {
    const p4 = cidrProblem(v, 4); const p6 = cidrProblem(v, 6);
    if (p4 && p6) ctx.addIssue({ code: 'custom', message: v.includes(':') ? `to ${p6}` : `to ${p4}` });
  }).describe('Destination prefix, IPv4 or IPv6 (e.g. 10.0.2.0/24)'),
  via: ipAddress('via').optional().describe('Next hop; must lie inside a subnet of one of the node\'s interfaces'),
  dev: ifName('dev').optional().describe('Outgoing interface (one of the node\'s interfaces)'),
}).meta({ title: 'Route', description: 'A static route; give `via`, `dev` or both.' });

export const FileSchema = z.strictObject({
  src: z.string().min(1, { error: 'src must not be empty' })
    .describe('Host path, relative to the topology file\'s folder or to its parent'),
  dst: z.string().regex(/^\//, { error: (iss) => `dst ${show(iss.input)} must be an absolute path inside the node` })
    .describe('Absolute path inside the node'),
  mode: z.enum(['copy', 'mount']).optional()
    .describe('copy (default) or mount (read-only bind mount)'),
}).meta({ title: 'File', description: 'A file put into the node before it starts (docker nodes only).' });

export const NodeSchema = z.strictObject({
  kind: z.enum(KIND_NAMES).describe(`Node kind: ${KIND_NAMES.map((k) => `${k} (${KINDS[k]!.description})`).join('; ')}`),
  runtime: z.enum(['docker', 'netns']).optional()
    .describe('docker (container) or netns (bare network namespace, no filesystem; kinds host and responder). Defaults to the lab\'s runtime (netns for kind responder).'),
  image: z.string().min(1, { error: 'image must not be empty' }).optional()
    .describe('Container image (docker only); defaulted from the kind'),
  interfaces: z.record(ifName('interface'), z.union([InterfaceSchema, z.null()])).optional()
    .describe('Interfaces by name (<= 15 chars); `lo` takes extra loopback addresses and needs no link'),
  gateway: ipAddress('gateway', 4).optional().describe('IPv4 default route via this address'),
  gateway6: ipAddress('gateway6', 6).optional().describe('IPv6 default route via this address'),
  routes: z.array(RouteSchema).optional().describe('Static routes, after the default routes'),
  sysctls: z.record(z.string().regex(SYSCTL_RE, { error: (iss) => `invalid sysctl name ${show(iss.input)}` }), scalar).optional()
    .describe('sysctls, e.g. net.ipv4.ip_forward: 1; merged over the kind\'s defaults'),
  files: z.array(FileSchema).optional().describe('Files copied or mounted into the node (docker only)'),
  exec: z.array(z.string().min(1, { error: 'exec command must not be empty' })).optional()
    .describe('Shell command lines run in order once links and addresses are up'),
  env: z.record(z.string().regex(ENV_RE, { error: (iss) => `invalid environment variable name ${show(iss.input)}` }), scalar).optional()
    .describe('Environment variables'),
  responder: z.string().min(1, { error: 'responder must not be empty' }).optional()
    .describe('Kind responder only: its behaviour fixture (docs/responder.md), a path like files.src (e.g. fixtures/dns/edge.yaml)'),
}).meta({ title: 'Node', description: 'A container or network namespace.' });

const vlan = (field: string) => intRange(field, 1, 4094);
const trunk = z.array(vlan('trunk vlan')).min(1, { error: 'trunk must list at least one vlan' })
  .describe('Trunk port: the allowed VLANs (1..4094)');

export const PortSchema = z.strictObject({
  vlan: vlan('vlan').optional().describe('Access port VLAN tag (1..4094)'),
  trunk: trunk.optional(),
}).meta({ title: 'Port', description: 'VLAN settings of a switch port; use `vlan` or `trunk`, not both.' });

export const SwitchSchema = z.strictObject({
  ports: z.record(ifName('port'), z.union([PortSchema, z.null()])).optional()
    .describe('Per-port VLAN settings by port name; link to a port with `switch:port`'),
}).meta({ title: 'Switch', description: 'An Open vSwitch bridge.' });

export const LinkSchema = z.strictObject({
  name: z.string().regex(LINK_NAME_RE, { error: (iss) => `link name ${show(iss.input)} is invalid; use up to 64 letters, digits, '_', '.', ':' or '-'` })
    .optional().describe('Link name; default "a:eth1--b:eth1" from the endpoints'),
  type: z.enum(['veth', 'vxlan']).optional()
    .describe('veth (default: node↔node, or node↔switch port) or vxlan (kernel VXLAN)'),
  endpoints: z.array(z.string())
    .min(1, { error: 'endpoints must list one or two endpoints' })
    .max(2, { error: 'endpoints must list one or two endpoints' })
    .describe('`node:iface`, `switch` or `switch:port`'),
  vlan: vlan('vlan').optional().describe('Access VLAN tag of the switch port (node↔switch links)'),
  trunk: trunk.optional(),
  vni: intRange('vni', 1, 16777215).optional().describe('VXLAN network identifier (1..16777215)'),
  dstport: intRange('dstport', 1, 65535).optional().describe('VXLAN UDP port, default 4789'),
  udp_checksum: z.boolean().optional().describe('VXLAN outer UDP checksums; default false (zero checksum, RFC 7348 and the Linux default)'),
  underlay: z.union([z.string(), z.array(z.string())]).optional()
    .describe('switch↔switch VXLAN: private underlay prefix (default 169.254.<i>.0/30); node↔node VXLAN: [node:iface, node:iface] whose first IPv4 address is the VTEP'),
  remote: ipAddress('remote').optional().describe('VXLAN with one switch: the address of the other machine'),
  local: ipAddress('local').optional().describe('VXLAN with one switch: source address on this machine'),
}).meta({ title: 'Link', description: 'A veth (node↔node, node↔switch) or a VXLAN tunnel.' });

export const ManagementSchema = z.strictObject({
  subnet: z.string().superRefine((v, ctx) => {
    const p = cidrProblem(v, 4);
    if (p) ctx.addIssue({ code: 'custom', message: `subnet ${p}${p.endsWith('IPv6 address') ? ' (the management network is IPv4)' : ''}` });
  }).meta({ pattern: IPV4_PATTERN }).optional()
    .describe('IPv4 prefix of the management network (e.g. 172.31.255.0/24); the first host is the management namespace\'s gateway, managed nodes get the next ones in file order. Default: a free /24 of 172.16.0.0/12 chosen per lab'),
}).meta({ title: 'Management', description: 'The lab\'s management network: mgmt0 of every managed node (kind frr) on an OVS bridge with a namespace of its own, from which tsunagari opens SSH sessions. Created only when the lab has managed nodes.' });

export const TopologySchema = z.strictObject({
  name: z.string().regex(NAME_RE, { error: (iss) => `name ${show(iss.input)} is invalid; ${NAME_RULE}` })
    .describe('Lab name: 1..24 lowercase letters, digits and \'-\', starting with a letter'),
  description: z.string().optional().describe('One line about the lab'),
  allow_host_files: z.boolean().optional()
    .describe('Let files: and responder: name files outside the project (the topology\'s repository, or its folder and the folder above). Off by default: a topology is code that runs as root (README, security model)'),
  runtime: z.enum(['docker', 'netns']).optional()
    .describe('Default runtime of every node: docker (default) or netns'),
  nodes: z.record(nameKey('node'), NodeSchema).describe('Nodes by name'),
  switches: z.record(nameKey('switch'), z.union([SwitchSchema, z.null()])).optional()
    .describe('Open vSwitch bridges by name'),
  links: z.array(LinkSchema).optional().describe('Links: veth pairs and VXLAN tunnels'),
  management: z.union([ManagementSchema, z.null()]).optional()
    .describe('Management network of the managed nodes (kind frr): `subnet:`; optional'),
  profiles: z.record(
    z.string().regex(NAME_RE, { error: () => `invalid profile name; ${NAME_RULE}` })
      .refine((v) => v !== 'emulated', { error: 'profile emulated is the topology itself and takes no inventory' }),
    z.record(z.string(), z.unknown()),
  ).optional()
    .describe('Profiles written into the topology instead of an inventory file beside it: profile name → what topologies/<lab>.<profile>.yaml would hold (devices, attach, machines, placement; docs/profiles.md)'),
}).meta({ title: 'tsunagari topology', description: 'A tsunagari lab (docs/topology.md)' });

export type RawTopology = z.output<typeof TopologySchema>;
export type RawNode = z.output<typeof NodeSchema>;
export type RawInterface = z.output<typeof InterfaceSchema>;
export type RawSwitch = z.output<typeof SwitchSchema>;
export type RawPort = z.output<typeof PortSchema>;
export type RawLink = z.output<typeof LinkSchema>;
export type RawManagement = z.output<typeof ManagementSchema>;
export type RawRoute = z.output<typeof RouteSchema>;

/** The JSON Schema of a topology file (draft-07, the dialect yaml-language-server handles best). */
export function topologyJsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(TopologySchema, { target: 'draft-7', io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
}

/** The committed form of schema/topology.schema.json: 2-space JSON and a trailing newline. */
export function topologyJsonSchemaText(): string {
  return `${JSON.stringify(topologyJsonSchema(), null, 2)}\n`;
}
