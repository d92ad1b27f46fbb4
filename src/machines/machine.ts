// Owns what tsunagari knows about another machine (docs/machines.md): its Docker engine address (TCP with
// TLS, or SSH), its underlay address for VXLAN between machines, and how to turn that into dockerode options
// or `docker` CLI arguments. Only paths are kept (certificates, keys, known_hosts): never secrets, so a
// Machine can go into the ledger and the machine registry as is. Must not connect anywhere.
import { readFileSync, existsSync } from 'node:fs';
import { createHash } from 'node:crypto';
import type Docker from 'dockerode';
import { UserError } from '../util/errors.js';
import { resolveDeviceOptions, type ResolveEnv } from '../devices/transport.js';
import { checkHostKey } from '../devices/hostkey.js';

import type { Machine } from '../topology/types.js';

export type { Machine, MachineSsh } from '../topology/types.js';

export type DockerUrl =
  | { kind: 'tcp'; host: string; port: number }
  | { kind: 'ssh'; user: string; host: string; port: number };

/** Parses `tcp://host:port` / `ssh://user@host[:port]`; a string is the problem. */
export function parseDockerUrl(text: string): DockerUrl | string {
  let u: URL;
  try { u = new URL(text); } catch { return `docker ${JSON.stringify(text)} is not a URL (tcp://host:2376 or ssh://user@host)`; }
  if (u.protocol !== 'tcp:' && u.protocol !== 'ssh:') {
    return `docker ${text}: the scheme must be tcp:// (with tls:) or ssh:// (a unix socket is this machine's own engine)`;
  }
  const host = u.hostname.replace(/^\[|\]$/g, '');
  if (!host) return `docker ${text} names no host`;
  if (u.pathname && u.pathname !== '/') return `docker ${text}: no path is allowed after the host`;
  if (u.protocol === 'tcp:') {
    if (!u.port) return `docker ${text} needs a port (the TLS port is usually 2376)`;
    return { kind: 'tcp', host, port: Number(u.port) };
  }
  if (u.protocol === 'ssh:') {
    if (!u.username) return `docker ${text} needs a user (ssh://user@host)`;
    return { kind: 'ssh', user: decodeURIComponent(u.username), host, port: u.port ? Number(u.port) : 22 };
  }
  return `docker ${text}: the scheme must be tcp:// (with tls:) or ssh:// (unix sockets are this machine's engine)`;
}

/** A file name for the machine in the registry: its name and a hash of where its engine is. */
export function machineKey(m: Pick<Machine, 'name' | 'docker'>): string {
  return `${m.name}-${createHash('sha256').update(m.docker).digest('hex').slice(0, 8)}`;
}

/** `machine m2 (tcp://198.18.253.2:2376)`, for messages. */
export function machineLabel(m: Pick<Machine, 'name' | 'docker'>): string {
  return `machine ${m.name} (${m.docker})`;
}

const readable = (what: string, p: string): Buffer => {
  try { return readFileSync(p); } catch (e) {
    throw new UserError(`cannot read ${what} ${p} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
};

/** dockerode options for the machine's engine; reads certificate or key files now (named in errors). */
export function dockerOptions(m: Machine, o: { timeoutMs?: number; env?: ResolveEnv } = {}): Docker.DockerOptions {
  const url = parseDockerUrl(m.docker);
  if (typeof url === 'string') throw new UserError(`cannot use ${machineLabel(m)} (${url})`);
  const timeout = o.timeoutMs !== undefined ? { timeout: o.timeoutMs } : {};
  if (url.kind === 'tcp') {
    if (!m.tls) {
      throw new UserError(`cannot use ${machineLabel(m)} (a TCP engine needs tls: { ca, cert, key }; plain TCP gives root on that machine to anyone who can reach the port)`,
        'give tls: with the client certificate, or use ssh://');
    }
    try {
      return {
        host: url.host, port: url.port, protocol: 'https',
        ca: readable('the CA certificate', m.tls.ca), cert: readable('the client certificate', m.tls.cert), key: readable('the client key', m.tls.key),
        ...timeout,
      };
    } catch (e) {
      throw new UserError(`cannot use ${machineLabel(m)} (${(e as Error).message.replace(/^cannot /, 'cannot ')})`, 'fix tls: in the machines: entry of the profile');
    }
  }
  const s = m.ssh ?? {};
  const agentSock = s.agent ? process.env.SSH_AUTH_SOCK : undefined;
  const d = resolveDeviceOptions({
    name: machineLabel(m), host: url.host, port: url.port, username: url.user,
    ...(s.hostKey ? { hostKeyFingerprint: s.hostKey } : {}),
    ...(s.knownHosts ? { knownHostsFile: s.knownHosts } : {}),
    ...(s.privateKeyFile ? { privateKeyFile: s.privateKeyFile } : {}),
    ...(s.privateKeyEnv ? { privateKeyEnv: s.privateKeyEnv } : {}),
    ...(s.passphraseEnv ? { passphraseEnv: s.passphraseEnv } : {}),
    ...(s.agent ? { agent: agentSock ?? '' } : {}),
  }, o.env);
  const sshOptions: Record<string, unknown> = {
    readyTimeout: d.readyTimeoutMs,
    hostVerifier: (key: Buffer) => checkHostKey(d.policy, key).ok,
    ...(d.algorithms ? { algorithms: { serverHostKey: d.algorithms } } : {}),
    ...(d.auth.privateKey ? { privateKey: d.auth.privateKey.reveal() } : {}),
    ...(d.auth.passphrase ? { passphrase: d.auth.passphrase.reveal() } : {}),
    ...(d.auth.agent ? { agent: d.auth.agent } : {}),
    ...(d.auth.password ? { password: d.auth.password.reveal() } : {}),
  };
  // No socket timeout over SSH (an ssh2 channel has none; the handshake is bounded by readyTimeout).
  return { protocol: 'ssh', host: url.host, port: url.port, username: url.user, sshOptions } as Docker.DockerOptions;
}

/** `docker` CLI arguments that reach the machine's engine (for `tsunagari exec` with a terminal). */
export function dockerCliArgs(m: Machine): string[] {
  const url = parseDockerUrl(m.docker);
  if (typeof url === 'string') throw new UserError(`cannot use ${machineLabel(m)} (${url})`);
  if (url.kind === 'ssh') return ['--host', m.docker];
  if (!m.tls) throw new UserError(`cannot use ${machineLabel(m)} (a TCP engine needs tls:)`);
  return ['--host', m.docker, '--tlsverify', '--tlscacert', m.tls.ca, '--tlscert', m.tls.cert, '--tlskey', m.tls.key];
}

/** Files a machine entry names that do not exist (checked when the profile is loaded). */
export function missingFiles(m: Machine): string[] {
  const files = [...(m.tls ? [m.tls.ca, m.tls.cert, m.tls.key] : []), ...(m.ssh?.knownHosts ? [m.ssh.knownHosts] : []),
    ...(m.ssh?.privateKeyFile ? [m.ssh.privateKeyFile] : [])];
  return files.filter((f) => !existsSync(f));
}
