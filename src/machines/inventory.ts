// Owns the two keys a profile inventory (src/topology/inventory.ts) gains for other machines:
// `machines:` (each one's Docker engine, TLS or SSH access, underlay address) and `placement:` (nodes and
// switches by name → machine). Checks them and applies them to the lab through placement.ts; every problem
// at its path in the inventory. Paths may hold ~ and ${VAR}: they are expanded at `up` (expandMachine), so a
// profile validates without the variables set. Must not connect anywhere.
import * as path from 'node:path';
import { z } from 'zod';
import { ENV_RE, NAME_RE, NAME_RULE, intRange, ipAddress, show } from '../topology/schema.js';
import { isFingerprint } from '../devices/hostkey.js';
import type { Lab, Machine } from '../topology/types.js';
import { UserError } from '../util/errors.js';
import { applyPlacement } from './placement.js';
import { machineLabel, missingFiles, parseDockerUrl } from './machine.js';

const file = (what: string) => z.string().min(1, { error: `${what} must not be empty` }).describe(`${what} (absolute, relative to the inventory, ~ or \${VAR})`);

export const MachineSchema = z.strictObject({
  docker: z.string().min(1).describe('The machine\'s Docker engine: tcp://host:2376 (with tls:) or ssh://user@host[:port] (needs `docker system dial-stdio` there)'),
  tls: z.strictObject({ ca: file('CA certificate'), cert: file('client certificate'), key: file('client key') }).optional()
    .describe('Client side of the engine\'s mutual TLS (dockerd --tlsverify)'),
  ssh: z.strictObject({
    known_hosts: file('known_hosts file').optional(),
    host_key: z.union([z.string(), z.array(z.string())]).optional().describe('Pinned host key fingerprint(s), SHA256:…'),
    private_key_file: file('private key file').optional(),
    private_key_env: z.string().regex(ENV_RE, { error: (i) => `private_key_env ${show(i.input)} is not an environment variable name` }).optional(),
    passphrase_env: z.string().regex(ENV_RE, { error: (i) => `passphrase_env ${show(i.input)} is not an environment variable name` }).optional(),
    agent: z.boolean().optional().describe('true = the SSH agent at $SSH_AUTH_SOCK'),
  }).optional().describe('SSH access for ssh:// engines: a host key source and a credential source'),
  vtep: ipAddress('vtep').describe('The machine\'s underlay address: VXLAN between the machines goes to it'),
  local_vtep: ipAddress('local_vtep').optional().describe('This machine\'s address towards it (default: the source address of the route to vtep)'),
  connect_timeout_ms: intRange('connect_timeout_ms', 500, 120000).optional()
    .describe('How long the engine may take to answer (default 5000 for tcp://, 20000 for ssh://: SSH plus starting `docker system dial-stdio` there)'),
}).meta({ title: 'Machine', description: 'Another machine whose Docker engine runs placed nodes and switches (docs/machines.md)' });

export const MachinesSchema = z.record(z.string().regex(NAME_RE, { error: (i) => `machine name ${show(i.input)} is invalid; ${NAME_RULE}` }), MachineSchema)
  .describe('Other machines by name (docs/machines.md)');
export const PlacementSchema = z.record(z.string(), z.string())
  .describe('Nodes and switches by name → machine name; unplaced ones stay on this machine');

export type RawMachine = z.output<typeof MachineSchema>;
type Add = (p: (string | number)[], object: string, message: string, key?: boolean) => void;

/** Checks `machines:`/`placement:` and applies them; problems go to `add`. `dir`: the inventory's folder. */
export function applyMachines(lab: Lab, raw: { machines?: Record<string, RawMachine> | undefined; placement?: Record<string, string> | undefined },
  dir: string, add: Add): Lab {
  const entries = Object.entries(raw.machines ?? {});
  if (!entries.length && !raw.placement) return lab;
  if (!entries.length) { add(['placement'], 'inventory', 'placement: needs machines: (each machine\'s docker engine and vtep)'); return lab; }
  const machines: Machine[] = [];
  for (const [name, m] of entries) {
    const at = (p: (string | number)[], msg: string): void => add(['machines', name, ...p], `machine ${name}`, msg);
    const url = parseDockerUrl(m.docker);
    if (typeof url === 'string') { at(['docker'], url); continue; }
    const abs = (p: string): string => (p.startsWith('~') || p.startsWith('${') || path.isAbsolute(p) ? p : path.resolve(dir, p));
    if (url.kind === 'tcp' && !m.tls) at([], 'a tcp:// engine needs tls: { ca, cert, key } (plain TCP would give root on that machine to anyone who reaches the port)');
    if (url.kind === 'tcp' && m.ssh) at(['ssh'], 'ssh: is for ssh:// engines');
    if (url.kind === 'ssh' && m.tls) at(['tls'], 'tls: is for tcp:// engines');
    if (url.kind === 'ssh') {
      const s = m.ssh ?? {};
      const fps = s.host_key === undefined ? [] : Array.isArray(s.host_key) ? s.host_key : [s.host_key];
      fps.forEach((f) => { if (!isFingerprint(f)) at(['ssh', 'host_key'], `host_key ${show(f)} is not a SHA256 fingerprint`); });
      if (!fps.length && !s.known_hosts) at(['ssh'], 'no host key to verify against: give ssh: { host_key: SHA256:… } or ssh: { known_hosts: … }');
      if (fps.length && s.known_hosts) at(['ssh', 'known_hosts'], 'give host_key or known_hosts, not both');
      if (!s.private_key_file && !s.private_key_env && !s.agent) at(['ssh'], 'no credentials: give private_key_file, private_key_env or agent: true');
    }
    machines.push({
      name, docker: m.docker, vtep: m.vtep,
      ...(m.local_vtep !== undefined ? { localVtep: m.local_vtep } : {}),
      ...(m.connect_timeout_ms !== undefined ? { connectTimeoutMs: m.connect_timeout_ms } : {}),
      ...(m.tls ? { tls: { ca: abs(m.tls.ca), cert: abs(m.tls.cert), key: abs(m.tls.key) } } : {}),
      ...(m.ssh ? {
        ssh: {
          ...(m.ssh.known_hosts ? { knownHosts: abs(m.ssh.known_hosts) } : {}),
          ...(m.ssh.host_key ? { hostKey: Array.isArray(m.ssh.host_key) ? m.ssh.host_key : [m.ssh.host_key] } : {}),
          ...(m.ssh.private_key_file ? { privateKeyFile: abs(m.ssh.private_key_file) } : {}),
          ...(m.ssh.private_key_env ? { privateKeyEnv: m.ssh.private_key_env } : {}),
          ...(m.ssh.passphrase_env ? { passphraseEnv: m.ssh.passphrase_env } : {}),
          ...(m.ssh.agent ? { agent: true } : {}),
        },
      } : {}),
    });
  }
  const { lab: placed, problems } = applyPlacement(lab, { machines, placement: raw.placement ?? {} });
  for (const p of problems) add(p.path, p.object, p.message, p.path[0] === 'placement' && p.path.length === 2 && p.message.startsWith('unknown'));
  return placed;
}

/** ~ and ${VAR} in a machine's paths, expanded (at `up`); a missing variable or file is one clear error. */
export function expandMachine(m: Machine, env: Record<string, string | undefined> = process.env): Machine {
  const x = (p: string, field: string): string => {
    let out = p.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_, v: string) => {
      const val = env[v];
      if (val === undefined || val === '') {
        throw new UserError(`cannot reach ${machineLabel(m)} (${field} ${p}: environment variable ${v} is not set)`, `export ${v}=… before the run`);
      }
      return val;
    });
    if (out === '~' || out.startsWith('~/')) out = path.join(env.HOME ?? '/root', out.slice(1));
    return out;
  };
  const e: Machine = {
    ...m,
    ...(m.tls ? { tls: { ca: x(m.tls.ca, 'tls.ca'), cert: x(m.tls.cert, 'tls.cert'), key: x(m.tls.key, 'tls.key') } } : {}),
    ...(m.ssh ? {
      ssh: {
        ...m.ssh,
        ...(m.ssh.knownHosts ? { knownHosts: x(m.ssh.knownHosts, 'ssh.known_hosts') } : {}),
        ...(m.ssh.privateKeyFile ? { privateKeyFile: x(m.ssh.privateKeyFile, 'ssh.private_key_file') } : {}),
      },
    } : {}),
  };
  const missing = missingFiles(e);
  if (missing.length) {
    throw new UserError(`cannot reach ${machineLabel(m)} (${missing.join(', ')}: no such file)`, 'fix the paths under machines: in the profile');
  }
  return e;
}
