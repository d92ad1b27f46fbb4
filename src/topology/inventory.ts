// Owns profile inventories (docs/profiles.md): `topologies/<lab>.<profile>.yaml` beside a topology says
// which of its nodes are external devices (reached over SSH, never created or torn down) and how the
// segments tsunagari creates join the physical lab (VXLAN to a VTEP, or an OVS port on a NIC with a VLAN
// tag). Applying it to a resolved Lab is pure: the feature files and the topology stay as they are.
// Must not connect anywhere, read secrets, or touch Docker/OVS.
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { z } from 'zod';
import { UserError, UserErrors, knownList } from '../util/errors.js';
import { isFingerprint } from '../devices/hostkey.js';
import { ENV_RE, IFNAME_RE, NAME_RE, NAME_RULE, intRange, ipAddress, show, topologyJsonSchema } from './schema.js';
import { Positions, parseYaml, schemaProblems, type SchemaShape } from './load.js';
import type { Problem, YamlPath } from './validate.js';
import { bridgeName, portName, vxlanPortName } from './naming.js';
import { DEFAULT_DSTPORT } from './resolve.js';
import { MachinesSchema, PlacementSchema, applyMachines } from '../machines/inventory.js';
import type {
  DeviceAccess, ExternalLink, ExternalNode, Lab, Link, NicLink, Node, Switch, SwitchLink, VxlanLink,
} from './types.js';

/** The profile that needs no inventory: everything is created on this machine. */
export const EMULATED = 'emulated';

/** Drivers by kind when the inventory names none (src/devices/index.ts has the drivers). */
export const DEFAULT_DRIVER: Record<string, string> = { frr: 'frr', router: 'linux', linux: 'linux', host: 'linux', dns: 'linux', resolver: 'linux', authoritative: 'linux' };
export const DRIVER_NAMES = ['frr', 'linux', 'ios'] as const;


const envName = (field: string) => z.string().regex(ENV_RE, { error: (iss) => `${field} ${show(iss.input)} is not an environment variable name` });

export const DeviceSchema = z.strictObject({
  host: z.string().min(1, { error: 'host must not be empty' }).describe('Management address or DNS name the device answers SSH on'),
  port: intRange('port', 1, 65535).optional().describe('SSH port, default 22'),
  username: z.string().min(1, { error: 'username must not be empty' }).describe('SSH user'),
  driver: z.enum(DRIVER_NAMES).optional().describe('Device driver: frr, linux or ios; default from the node\'s kind (frr → frr, others → linux)'),
  host_key: z.union([z.string(), z.array(z.string())]).optional()
    .describe('Pinned host key fingerprint(s), SHA256:… as `ssh-keygen -lf` prints them'),
  known_hosts: z.string().min(1).optional().describe('An OpenSSH known_hosts file with the device\'s key (paths may use ~ and ${VAR})'),
  private_key_file: z.string().min(1).optional().describe('Private key file (~ and ${VAR} allowed)'),
  private_key_env: envName('private_key_env').optional().describe('Environment variable holding a private key'),
  passphrase_env: envName('passphrase_env').optional().describe('Environment variable holding the key\'s passphrase'),
  password_env: envName('password_env').optional().describe('Environment variable holding the password'),
  agent: z.boolean().optional().describe('true = authenticate with the SSH agent at $SSH_AUTH_SOCK'),
  connect_timeout_ms: intRange('connect_timeout_ms', 100, 120000).optional().describe('TCP connect timeout, default 5000'),
  interfaces: z.record(z.string(), z.string().regex(/^\S{1,64}$/, { error: 'a device interface name is 1..64 characters without spaces' })).optional()
    .describe('Topology interface name → the device\'s own name (e.g. eth2: GigabitEthernet0/2); unnamed ones are the same'),
}).meta({ title: 'Device', description: 'A node of the topology that exists outside tsunagari, reached over SSH.' });

export const VxlanAttachSchema = z.strictObject({
  vni: intRange('vni', 1, 16777215).describe('VXLAN network identifier of the segment in the lab'),
  remote: ipAddress('remote').describe('VTEP address of the lab (the switch or router terminating the VNI)'),
  local: ipAddress('local').optional().describe('Source address on this machine (default: chosen by the kernel)'),
  dstport: intRange('dstport', 1, 65535).optional().describe('UDP port, default 4789'),
  udp_checksum: z.boolean().optional().describe('outer UDP checksums, default false'),
});

export const NicAttachSchema = z.strictObject({
  device: z.string().regex(IFNAME_RE, { error: (iss) => `device ${show(iss.input)} is not an interface name` }).describe('A NIC of this machine cabled to the lab'),
  vlan: intRange('vlan', 1, 4094).optional().describe('VLAN tag of the segment on that NIC (access port towards the segment)'),
});

export const AttachSchema = z.strictObject({
  vxlan: VxlanAttachSchema.optional(),
  nic: NicAttachSchema.optional(),
}).meta({ title: 'Attachment', description: 'How a segment tsunagari creates joins the lab: `vxlan:` or `nic:`.' });

export const InventorySchema = z.strictObject({
  profile: z.string().regex(NAME_RE, { error: (iss) => `profile ${show(iss.input)} is invalid; ${NAME_RULE}` })
    .describe('Profile name, as in the file name topologies/<lab>.<profile>.yaml'),
  lab: z.string().regex(NAME_RE, { error: (iss) => `lab ${show(iss.input)} is invalid; ${NAME_RULE}` }).optional()
    .describe('The topology\'s name: (checked)'),
  description: z.string().optional(),
  devices: z.record(z.string(), DeviceSchema).optional().describe('External devices by node name'),
  attach: z.record(z.string(), AttachSchema).optional()
    .describe('Segments joined to the lab, by switch name or by the name of a link from a local node to an external device'),
  machines: MachinesSchema.optional(),
  placement: PlacementSchema.optional(),
}).meta({ title: 'tsunagari profile inventory', description: 'Which nodes of a lab are external devices and how its segments reach them (docs/profiles.md)' });

/** A profile written into the topology (`profiles: { lab: … }`): an inventory without profile: and lab:. */
export const InlineProfileSchema = InventorySchema.omit({ profile: true, lab: true })
  .meta({ title: 'Profile', description: 'What topologies/<lab>.<profile>.yaml would hold, written into the topology (docs/profiles.md)' });

export type RawInventory = z.output<typeof InventorySchema>;
type RawDevice = z.output<typeof DeviceSchema>;
type RawAttach = z.output<typeof AttachSchema>;

/** The JSON Schema of an inventory file (draft-07, for editors). */
export function inventoryJsonSchemaText(): string {
  return `${JSON.stringify(z.toJSONSchema(InventorySchema, { target: 'draft-7', io: 'input', unrepresentable: 'any' }), null, 2)}\n`;
}

/**
 * The topology file's JSON Schema with `profiles:` described in full (schema.ts cannot import this module:
 * it would be a cycle); what `npm run schema` writes to schema/topology.schema.json and `tsunagari schema` prints.
 */
export function topologyWithProfilesJsonSchema(): Record<string, unknown> {
  const schema = topologyJsonSchema();
  const profiles = (schema.properties as Record<string, Record<string, unknown>>).profiles!;
  const body = z.toJSONSchema(InlineProfileSchema, { target: 'draft-7', io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
  delete body.$schema;
  profiles.additionalProperties = body;
  return schema;
}

export function topologyWithProfilesJsonSchemaText(): string {
  return `${JSON.stringify(topologyWithProfilesJsonSchema(), null, 2)}\n`;
}

/** topologies/<lab>.<profile>.yaml (or .yml) beside the topology file. */
export function inventoryCandidates(topologyFile: string, profile: string): string[] {
  const dir = path.dirname(topologyFile);
  const base = path.basename(topologyFile).replace(/\.ya?ml$/, '');
  return ['.yaml', '.yml'].map((e) => path.join(dir, `${base}.${profile}${e}`));
}

/** Is this file name an inventory (`x.<profile>.yaml`) rather than a topology? */
export function looksLikeInventory(file: string): boolean {
  return /^[^.]+\.[a-z][a-z0-9-]*\.ya?ml$/.test(path.basename(file));
}

/** Profile name: the option, else TSUNAGARI_PROFILE, else emulated. */
export function chosenProfile(given?: string): string {
  const p = (given ?? process.env.TSUNAGARI_PROFILE ?? '').trim() || EMULATED;
  if (p !== EMULATED && !NAME_RE.test(p)) throw new UserError(`invalid profile ${JSON.stringify(p)}; ${NAME_RULE}`);
  return p;
}

/** The lab as the profile has it: unchanged for emulated, else with its inventory applied. */
export function applyProfile(lab: Lab, profile: string, exists: (f: string) => boolean): Lab {
  if (profile === EMULATED) return lab;
  if (!lab.file) throw new UserError(`cannot apply profile ${profile} to lab ${lab.name} (it was not loaded from a file)`);
  const candidates = inventoryCandidates(lab.file, profile);
  const file = candidates.find(exists);
  const inline = lab.profiles?.includes(profile) ?? false;
  if (file && inline) {
    throw new UserError(`lab ${lab.name} has profile ${profile} twice: profiles.${profile} in ${rel(lab.file)} and ${rel(file)}`, 'keep one of the two');
  }
  if (inline) return loadInlineProfile(lab, profile);
  if (!file) {
    throw new UserError(`lab ${lab.name} has no inventory for profile ${profile} (no ${rel(candidates[0]!)}, no profiles.${profile} in ${rel(lab.file)})`,
      `write ${rel(candidates[0]!)} (docs/profiles.md), or select only scenarios that have one (e.g. --tags @${profile === 'lab' ? 'nightly' : profile})`);
  }
  return loadInventory(file, lab);
}

/** Applies `profiles.<profile>` of the lab's own topology file; problems point into that file. */
export function loadInlineProfile(lab: Lab, profile: string): Lab {
  const shown = rel(lab.file);
  const { doc, lines, raw } = parseYaml(readText(lab.file, `topology ${shown}`), shown);
  const where = new Positions(doc, lines, shown);
  const body = (raw as { profiles?: Record<string, unknown> }).profiles?.[profile];
  if (body === undefined) throw new UserError(`lab ${lab.name} has no profiles.${profile} in ${shown} (the file changed while it was read)`);
  const inProfile = (ps: Problem[]): Problem[] => ps.map((p) => ({
    ...p, path: ['profiles', profile, ...p.path], object: p.object === 'inventory' ? `profile ${profile}` : p.object,
  }));
  const parsed = InlineProfileSchema.safeParse(body);
  if (!parsed.success) throw where.errors(inProfile(schemaProblems(parsed.error.issues, body, { ...INVENTORY_SHAPE, schema: InlineProfileSchema })));
  const { lab: out, problems } = applyInventory(lab, { ...parsed.data, profile }, { file: path.resolve(lab.file), inline: true });
  if (problems.length) throw where.errors(inProfile(problems));
  return out;
}

function rel(p: string): string {
  const r = path.relative(process.cwd(), p);
  return r && !r.startsWith('..') ? r : p;
}

/** Reads and checks an inventory file and applies it to the lab; every problem as `file:line:col: …`. */
export function loadInventory(file: string, lab: Lab): Lab {
  const shown = rel(file);
  return parseInventory(readText(file, `inventory ${shown}`), shown, lab, path.resolve(file));
}

/** A file's text, or one clear error naming `what` and the reason. */
function readText(file: string, what: string): string {
  try { return readFileSync(file, 'utf8'); } catch (e) {
    throw new UserError(`cannot read ${what} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
}

export function parseInventory(text: string, fileName: string, lab: Lab, absFile = path.resolve(fileName)): Lab {
  const { doc, lines, raw } = parseYaml(text, fileName, 'inventory');
  const where = new Positions(doc, lines, fileName);
  const parsed = InventorySchema.safeParse(raw);
  if (!parsed.success) throw where.errors(schemaProblems(parsed.error.issues, raw, INVENTORY_SHAPE));
  const { lab: out, problems } = applyInventory(lab, parsed.data, { file: absFile });
  if (problems.length) throw where.errors(problems);
  return out;
}

const INVENTORY_SHAPE: SchemaShape = {
  schema: InventorySchema,
  describe: (p) => {
    const [top, a] = p;
    if (top === 'devices' && a !== undefined) return { object: `device ${a}`, rest: p.slice(2) };
    if (top === 'attach' && a !== undefined) return { object: `attachment ${a}`, rest: p.slice(2) };
    if (top === 'machines' && a !== undefined) return { object: `machine ${a}`, rest: p.slice(2) };
    return { object: 'inventory', rest: p };
  },
};

// ---- applying -------------------------------------------------------------------------------------

interface Where { file: string; inline?: boolean }

/**
 * The lab with the inventory applied: external nodes leave `nodes` for `external`; links between two
 * external ends (or an external node and a segment) become `externalLinks`; a link from a local node to an
 * external device becomes a switch of its own; every attached segment gets its uplink (VXLAN or NIC).
 */
export function applyInventory(given: Lab, inv: RawInventory, w: Where): { lab: Lab; problems: Problem[] } {
  const problems: Problem[] = [];
  const add = (p: YamlPath, object: string, message: string, key = false): void => { problems.push({ path: p, object, message, key }); };
  if (inv.lab !== undefined && inv.lab !== given.name) add(['lab'], 'inventory', `lab ${inv.lab} does not match the topology's name ${given.name}`);
  const fileProfile = w.inline ? undefined : /\.([a-z][a-z0-9-]*)\.ya?ml$/.exec(path.basename(w.file))?.[1];
  if (fileProfile && fileProfile !== inv.profile) add(['profile'], 'inventory', `profile ${inv.profile} does not match the file name (…${fileProfile}.yaml)`);

  const devices = inv.devices ?? {};
  const attach = inv.attach ?? {};
  const byName = new Map(given.nodes.map((n) => [n.name, n]));
  const external: ExternalNode[] = [];
  for (const [name, d] of Object.entries(devices)) {
    const node = byName.get(name);
    if (!node) { add(['devices', name], `device ${name}`, `is not a node of lab ${given.name}; nodes: ${knownList([...byName.keys()])}`, true); continue; }
    // problems of the whole device point at its name (as node problems in a topology do)
    const x = externalNode(node, d, (p, m) => add(['devices', name, ...p], `device ${name}`, m, p.length === 0));
    if (x) external.push(x);
  }
  const isExt = (n: string): boolean => Object.hasOwn(devices, n);
  const switches = new Map(given.switches.map((s) => [s.name, s]));

  // A switch needs an attachment when it has both local members and external ones.
  const members = new Map<string, { local: string[]; ext: string[] }>(given.switches.map((s) => [s.name, { local: [], ext: [] }]));
  for (const l of given.links) {
    if (l.type === 'switch') (isExt(l.node.node) ? members.get(l.switch)!.ext : members.get(l.switch)!.local).push(l.node.node);
  }

  const links: Link[] = [];
  const externalLinks: ExternalLink[] = [];
  const newSwitches: Switch[] = [];
  const usedAttach = new Set<string>();
  const linkAttach = new Map<string, { sw: Switch; link: string }>();
  given.links.forEach((l, i) => {
    if (l.type === 'veth') {
      const ea = isExt(l.a.node); const eb = isExt(l.b.node);
      if (!ea && !eb) { links.push(l); return; }
      if (ea && eb) { externalLinks.push({ type: 'external', name: l.name, a: l.a, b: l.b }); return; }
      const local = ea ? l.b : l.a;
      const ext = ea ? l.a : l.b;
      if (!Object.hasOwn(attach, l.name)) {
        add(['attach'], 'inventory', `link ${l.name} joins local node ${local.node} to external device ${ext.node}: add \`attach: { "${l.name}": { vxlan: { vni: …, remote: … } } }\` (or nic:) saying how ${local.node}:${local.iface} reaches it`, true);
        return;
      }
      usedAttach.add(l.name);
      const sw: Switch = { name: `link:${l.name}`, bridge: bridgeName(given.id, given.switches.length + newSwitches.length), ports: {} };
      newSwitches.push(sw);
      linkAttach.set(l.name, { sw, link: l.name });
      const sl: SwitchLink = { type: 'switch', name: l.name, node: local, switch: sw.name, port: `${local.node}-${local.iface}`, hostIf: portName(given.id, i) };
      links.push(sl);
      externalLinks.push({ type: 'external', name: `${l.name} (device side)`, a: ext, segment: sw.name });
      return;
    }
    if (l.type === 'switch') {
      if (!isExt(l.node.node)) { links.push(l); return; }
      externalLinks.push({ type: 'external', name: l.name, a: l.node, segment: l.switch });
      return;
    }
    if (l.type === 'vxlan') {
      const ends = [l.a, l.b].filter((s) => s.kind === 'node' && isExt(s.node)) as Array<{ node: string }>;
      if (ends.length) { add(['devices', ends[0]!.node], `device ${ends[0]!.node}`, `is an end of VXLAN link ${l.name}; VXLAN links between nodes must have both ends local (attach the device's segment instead)`, true); return; }
      links.push(l);
      return;
    }
    links.push(l);
  });

  // Uplinks of attached segments (after every link, so names and indexes do not collide).
  const uplinks: Link[] = [];
  let next = given.links.length;
  for (const [key, a] of Object.entries(attach)) {
    const at = (p: YamlPath, m: string, k = false): void => add(['attach', key, ...p], `attachment ${key}`, m, k);
    const viaLink = linkAttach.get(key);
    const sw = viaLink?.sw ?? switches.get(key);
    if (!sw) {
      if (!usedAttach.has(key)) {
        const names = [...switches.keys(), ...given.links.filter((l) => l.type === 'veth' && (isExt(l.a.node) !== isExt(l.b.node))).map((l) => l.name)];
        at([], `names no switch of lab ${given.name} and no link from a local node to an external device; known: ${knownList(names)}`, true);
      }
      continue;
    }
    const m = members.get(key);
    if (m && !m.local.length) { at([], `switch ${key} has no local member to join to the lab (its members are external: ${knownList(m.ext)})`, true); continue; }
    const kinds = [a.vxlan, a.nic].filter(Boolean).length;
    if (kinds !== 1) { at([], kinds ? 'give vxlan: or nic:, not both' : 'give vxlan: { vni, remote } or nic: { device, vlan }'); continue; }
    const i = next++;
    if (a.vxlan) {
      const v = a.vxlan;
      const vx: VxlanLink = {
        type: 'vxlan', name: `uplink:${key}`, vni: v.vni, dstport: v.dstport ?? DEFAULT_DSTPORT, udpChecksum: v.udp_checksum ?? false,
        a: { kind: 'switch', switch: sw.name, hostIf: vxlanPortName(given.id, i, 'a'), local: v.local ?? '' },
        b: { kind: 'remote', address: v.remote },
      };
      uplinks.push(vx);
    } else if (a.nic) {
      const nic: NicLink = { type: 'nic', name: `uplink:${key}`, switch: sw.name, device: a.nic.device, ...(a.nic.vlan !== undefined ? { vlan: { vlan: a.nic.vlan } } : {}) };
      uplinks.push(nic);
    }
  }
  for (const [name, m] of members) {
    if (m.local.length && m.ext.length && !Object.hasOwn(attach, name)) {
      add(['attach'], 'inventory', `switch ${name} joins local ${knownList(m.local)} to external ${knownList(m.ext)}: add \`attach: { ${name}: { vxlan: { vni: …, remote: … } } }\` (or nic:) saying how it reaches the lab`, true);
    }
  }

  // Switches: those with a local member or an uplink are created; the rest are the lab's own.
  const keep = new Set<string>([...links.flatMap((l) => (l.type === 'switch' ? [l.switch] : l.type === 'vxlan' ? [l.a, l.b].flatMap((s) => (s.kind === 'switch' ? [s.switch] : [])) : [])),
    ...uplinks.map((u) => (u.type === 'nic' ? u.switch : (u as VxlanLink).a.kind === 'switch' ? ((u as VxlanLink).a as { switch: string }).switch : ''))]);
  const outSwitches = [...given.switches, ...newSwitches].filter((s) => keep.has(s.name));

  const nodes = given.nodes.filter((n) => !isExt(n.name));
  const lab: Lab = {
    ...given,
    nodes,
    switches: outSwitches,
    links: [...links, ...uplinks],
    profile: { name: inv.profile, file: w.file, ...(w.inline ? { inline: true } : {}), ...(inv.description !== undefined ? { description: inv.description } : {}) },
    external,
    externalLinks,
  };
  if (!nodes.some((n) => n.management)) delete lab.management;
  // Other machines (docs/machines.md): placement of nodes and switches, stretched switches.
  return { lab: applyMachines(lab, inv, path.dirname(w.file), add), problems };
}

function externalNode(node: Node, d: RawDevice, add: (p: YamlPath, m: string) => void): ExternalNode | undefined {
  let ok = true;
  const bad = (p: YamlPath, m: string): void => { ok = false; add(p, m); };
  if (/\s/.test(d.host)) bad(['host'], `host ${show(d.host)} has spaces`);
  const fps = d.host_key === undefined ? [] : Array.isArray(d.host_key) ? d.host_key : [d.host_key];
  fps.forEach((f, i) => { if (!isFingerprint(f)) bad(Array.isArray(d.host_key) ? ['host_key', i] : ['host_key'], `host_key ${show(f)} is not a SHA256 fingerprint (SHA256: and 43 base64 characters, as \`ssh-keygen -lf\` prints it)`); });
  if (d.host_key !== undefined && !fps.length) bad(['host_key'], 'host_key lists no fingerprint');
  if (d.host_key !== undefined && d.known_hosts !== undefined) bad(['known_hosts'], 'give host_key or known_hosts, not both');
  if (d.host_key === undefined && d.known_hosts === undefined) bad([], 'no host key to verify against: give host_key (SHA256:…) or known_hosts (unverified connections are not offered)');
  const keys = [d.private_key_file, d.private_key_env].filter((x) => x !== undefined).length;
  if (keys > 1) bad(['private_key_env'], 'give private_key_file or private_key_env, not both');
  if (!keys && !d.agent && d.password_env === undefined) bad([], 'no credentials: give private_key_file, private_key_env, agent: true or password_env');
  if (d.passphrase_env !== undefined && !keys) bad(['passphrase_env'], 'passphrase_env needs private_key_file or private_key_env');
  const ifnames: Record<string, string> = {};
  for (const [topo, dev] of Object.entries(d.interfaces ?? {})) {
    if (!node.interfaces.some((i) => i.name === topo)) bad(['interfaces', topo], `node ${node.name} has no interface ${topo} in the topology; known: ${knownList(node.interfaces.map((i) => i.name))}`);
    else ifnames[topo] = dev;
  }
  const driver = d.driver ?? DEFAULT_DRIVER[node.kind];
  if (!driver) bad([], `no default driver for kind ${node.kind}; give driver: (${DRIVER_NAMES.join(', ')})`);
  if (!ok || !driver) return undefined;
  const access: DeviceAccess = {
    host: d.host, port: d.port ?? 22, username: d.username,
    ...(fps.length ? { hostKeyFingerprints: fps } : {}),
    ...(d.known_hosts !== undefined ? { knownHostsFile: d.known_hosts } : {}),
    ...(d.private_key_file !== undefined ? { privateKeyFile: d.private_key_file } : {}),
    ...(d.private_key_env !== undefined ? { privateKeyEnv: d.private_key_env } : {}),
    ...(d.passphrase_env !== undefined ? { passphraseEnv: d.passphrase_env } : {}),
    ...(d.password_env !== undefined ? { passwordEnv: d.password_env } : {}),
    ...(d.agent ? { agent: true } : {}),
    ...(d.connect_timeout_ms !== undefined ? { connectTimeoutMs: d.connect_timeout_ms } : {}),
  };
  return { name: node.name, kind: node.kind, driver, access, interfaces: node.interfaces, ifnames };
}

/** `~/x` and `${VAR}` in a path from an inventory; a missing variable is a clear error. */
export function expandPath(p: string, field: string, device: string, env: Record<string, string | undefined> = process.env): string {
  let out = p.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_, v: string) => {
    const val = env[v];
    // `device` is a node name (r1) or already a label (`device r1 (192.0.2.1)`, from transport.ts)
    if (val === undefined || val === '') throw new UserError(`cannot reach ${device.startsWith('device ') ? device : `device ${device}`} (${field} ${p}: environment variable ${v} is not set)`, `export ${v}=… before the run`);
    return val;
  });
  if (out === '~' || out.startsWith('~/')) out = path.join(env.HOME ?? '/root', out.slice(1));
  return out;
}

/** The access with `~` and `${VAR}` in its file paths expanded where possible (records that must work
 *  later, e.g. from `sudo tsunagari cleanup` without the run's environment). Never reads the files. */
export function expandedAccess(a: DeviceAccess, env: Record<string, string | undefined> = process.env): DeviceAccess {
  const tryExpand = (p: string | undefined, field: string): string | undefined => {
    if (p === undefined) return undefined;
    try { return expandPath(p, field, 'device', env); } catch { return p; }
  };
  const k = tryExpand(a.knownHostsFile, 'known_hosts');
  const f = tryExpand(a.privateKeyFile, 'private_key_file');
  return { ...a, ...(k !== undefined ? { knownHostsFile: k } : {}), ...(f !== undefined ? { privateKeyFile: f } : {}) };
}

/** For validate/unit tests: inventory problems as one UserErrors (empty = fine). */
export function inventoryErrors(text: string, fileName: string, lab: Lab): string[] {
  try { parseInventory(text, fileName, lab); return []; } catch (e) {
    if (e instanceof UserErrors) return e.errors;
    if (e instanceof UserError) return [e.message];
    throw e;
  }
}

