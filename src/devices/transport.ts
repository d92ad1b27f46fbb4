// Owns SSH sessions (ssh2) that drivers talk through: to a managed node of a lab that is up — over a TCP
// connection made INSIDE the lab's management namespace by a small forwarder (forward.mjs, like OpenSSH's
// ProxyCommand), so the session really crosses the node's mgmt0 — and to external devices by address.
// Host keys are always verified (the lab's pinned key, a fingerprint, or known_hosts); credentials come from
// the lab's own key, the environment or an SSH agent, live only inside the connect call, and are never printed.
import { addSecret } from '../util/redact.js';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import net from 'node:net';
import { Duplex } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { inspect } from 'node:util';
import ssh2 from 'ssh2';
import type { ClientChannel, ConnectConfig } from 'ssh2';
import type { ExecResult, SessionFactory, SshSession } from './types.js';
import {
  HostKeyRefused, checkHostKey, hostKeyAlgorithms, isFingerprint, parseKnownHosts, type HostKeyPolicy, type Verdict,
} from './hostkey.js';
import type { RunningLab } from '../lab/running.js';
import { readClientKey } from '../lab/management.js';
import { isManagedKind } from '../topology/kinds.js';
import { expandPath } from '../topology/inventory.js';
import type { DeviceAccess } from '../topology/types.js';
import { UserError, knownList } from '../util/errors.js';

const { Client } = ssh2;

export const DEFAULT_CONNECT_TIMEOUT_MS = 5_000;
export const DEFAULT_READY_TIMEOUT_MS = 10_000;
export const DEFAULT_EXEC_TIMEOUT_MS = 60_000;
/** The forwarder (plain JS, run by this Node.js inside the management namespace). */
export const FORWARDER = fileURLToPath(new URL('./forward.mjs', import.meta.url));

export interface SessionTimeouts {
  /** TCP connect (default 5 s). A node whose mgmt0 is down fails here. */
  connectTimeoutMs?: number;
  /** SSH handshake and authentication after the TCP connection (default 10 s). */
  readyTimeoutMs?: number;
}

/** A credential that cannot be printed by accident: inspect, String() and JSON show `[secret]`. */
export class Secret {
  readonly #value: string | Buffer;
  constructor(value: string | Buffer) {
    this.#value = value;
    // Never in a report or a log: every occurrence is shown as *** (util/redact.ts).
    if (typeof value === 'string') addSecret(value);
  }
  reveal(): string | Buffer { return this.#value; }
  toString(): string { return '[secret]'; }
  toJSON(): string { return '[secret]'; }
  [inspect.custom](): string { return '[secret]'; }
}

// ---- external devices ----------------------------------------------------------------------------

/**
 * An SSH device outside the lab (the physical-lab inventory). One host key source (a pinned fingerprint or
 * a known_hosts file) and at least one credential source; secrets come from the environment, a key file or
 * an SSH agent, never as literals in a topology or inventory file.
 */
export interface ExternalDeviceOptions extends SessionTimeouts {
  /** How messages name the device (default `host` or `host:port`). */
  name?: string;
  host: string;
  port?: number;
  username: string;
  /** `SHA256:…` as `ssh-keygen -lf` prints it; several when the device may present one of several keys. */
  hostKeyFingerprint?: string | string[];
  /** An OpenSSH known_hosts file (plain, [host]:port, hashed, wildcard, @revoked entries). */
  knownHostsFile?: string;
  /** Host key algorithms to offer (ssh2 names), e.g. ['ssh-ed25519'] so the pinned key is the one presented. */
  hostKeyAlgorithms?: string[];
  /** Private key content, for programmatic use (tsunagari never writes one into a file it reports). */
  privateKey?: string | Buffer;
  /** Path of a private key file (OpenSSH or PEM). */
  privateKeyFile?: string;
  /** Name of an environment variable holding a private key. */
  privateKeyEnv?: string;
  /** Name of an environment variable holding the private key's passphrase. */
  passphraseEnv?: string;
  /** SSH agent socket, usually `process.env.SSH_AUTH_SOCK`. */
  agent?: string;
  /** Name of an environment variable holding the password. */
  passwordEnv?: string;
}

/** Checked options: what connect() needs. Secrets are wrapped (printing this object shows no credential). */
export interface ResolvedDevice {
  device: string;
  host: string;
  port: number;
  username: string;
  policy: HostKeyPolicy;
  algorithms?: string[];
  auth: { privateKey?: Secret; passphrase?: Secret; agent?: string; password?: Secret };
  connectTimeoutMs: number;
  readyTimeoutMs: number;
}

export interface ResolveEnv {
  env: Record<string, string | undefined>;
  readFile: (path: string) => Buffer;
  /** Is there a unix socket (or any file) at this path? */
  exists: (path: string) => boolean;
}

const realEnv = (): ResolveEnv => ({ env: process.env, readFile: (p) => readFileSync(p), exists: (p) => existsSync(p) });

/**
 * Checks external-device options and gathers their secrets. Every problem is reported at once, naming
 * variables and files but never their contents.
 */
export function resolveDeviceOptions(o: ExternalDeviceOptions, e: ResolveEnv = realEnv()): ResolvedDevice {
  const problems: string[] = [];
  const port = o.port ?? 22;
  const device = o.name ?? (port === 22 ? o.host : `${o.host}:${port}`);
  if (!o.host || /\s/.test(o.host)) problems.push('host is empty or has spaces');
  if (!Number.isInteger(port) || port < 1 || port > 65535) problems.push(`port ${String(o.port)} is out of range 1..65535`);
  if (!o.username) problems.push('username is empty');
  for (const [k, v] of [['connectTimeoutMs', o.connectTimeoutMs], ['readyTimeoutMs', o.readyTimeoutMs]] as const) {
    if (v !== undefined && !(Number.isFinite(v) && v > 0)) problems.push(`${k} ${String(v)} must be a positive number of milliseconds`);
  }

  // host key: exactly one source
  let policy: HostKeyPolicy | undefined;
  const fps = o.hostKeyFingerprint === undefined ? [] : Array.isArray(o.hostKeyFingerprint) ? o.hostKeyFingerprint : [o.hostKeyFingerprint];
  if (o.hostKeyFingerprint !== undefined && o.knownHostsFile !== undefined) {
    problems.push('give hostKeyFingerprint or knownHostsFile, not both');
  } else if (o.hostKeyFingerprint !== undefined) {
    const bad = fps.filter((f) => !isFingerprint(f));
    if (!fps.length) problems.push('hostKeyFingerprint lists no fingerprint');
    else if (bad.length) problems.push(`hostKeyFingerprint ${JSON.stringify(bad[0])} is not a SHA256 fingerprint (SHA256: and 43 base64 characters, as \`ssh-keygen -lf\` prints it)`);
    else policy = { kind: 'fingerprint', fingerprints: fps, source: 'hostKeyFingerprint' };
  } else if (o.knownHostsFile !== undefined) {
    let text: string | undefined;
    try { text = e.readFile(o.knownHostsFile).toString('utf8'); } catch (err) {
      problems.push(`cannot read knownHostsFile ${o.knownHostsFile} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
    }
    if (text !== undefined) {
      const p: HostKeyPolicy = { kind: 'known-hosts', file: o.knownHostsFile, host: o.host, port, entries: parseKnownHosts(text) };
      if (!p.entries.some((x) => !x.marker && checkEntry(p, x))) problems.push(`knownHostsFile ${o.knownHostsFile} has no key for ${port === 22 ? o.host : `[${o.host}]:${port}`}`);
      else policy = p;
    }
  } else {
    problems.push('no host key to verify against: give hostKeyFingerprint (SHA256:…) or knownHostsFile (unverified connections are not offered)');
  }

  // credentials: at least one source; each one must really be there
  const auth: ResolvedDevice['auth'] = {};
  const fromEnv = (field: string, name: string | undefined): string | undefined => {
    if (name === undefined) return undefined;
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) { problems.push(`${field} ${JSON.stringify(name)} is not an environment variable name`); return undefined; }
    const v = e.env[name];
    if (v === undefined || v === '') { problems.push(`${field}: environment variable ${name} is not set`); return undefined; }
    return v;
  };
  const keySources = [o.privateKey !== undefined, o.privateKeyFile !== undefined, o.privateKeyEnv !== undefined].filter(Boolean).length;
  if (keySources > 1) problems.push('give one of privateKey, privateKeyFile, privateKeyEnv');
  if (o.privateKey !== undefined) {
    if (!o.privateKey.length) problems.push('privateKey is empty');
    else auth.privateKey = new Secret(o.privateKey);
  } else if (o.privateKeyFile !== undefined) {
    try { auth.privateKey = new Secret(e.readFile(o.privateKeyFile)); } catch (err) {
      problems.push(`cannot read privateKeyFile ${o.privateKeyFile} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
    }
  } else {
    const k = fromEnv('privateKeyEnv', o.privateKeyEnv);
    if (k !== undefined) auth.privateKey = new Secret(k);
  }
  const pass = fromEnv('passphraseEnv', o.passphraseEnv);
  if (pass !== undefined) {
    if (!keySources) problems.push('passphraseEnv needs a private key (privateKey, privateKeyFile or privateKeyEnv)');
    auth.passphrase = new Secret(pass);
  }
  if (o.agent !== undefined) {
    if (!o.agent) problems.push('agent socket path is empty (is SSH_AUTH_SOCK set?)');
    else if (!e.exists(o.agent)) problems.push(`agent socket ${o.agent} does not exist (is the SSH agent running?)`);
    else auth.agent = o.agent;
  }
  const pw = fromEnv('passwordEnv', o.passwordEnv);
  if (pw !== undefined) auth.password = new Secret(pw);
  if (!keySources && o.agent === undefined && o.passwordEnv === undefined) {
    problems.push('no credentials: give privateKeyFile, privateKeyEnv, agent (e.g. process.env.SSH_AUTH_SOCK) or passwordEnv');
  }

  if (problems.length || !policy) {
    throw new UserError(`cannot open SSH session to ${device || '(no host)'} (${problems.join('; ')})`);
  }
  const algorithms = o.hostKeyAlgorithms ?? hostKeyAlgorithms(policy);
  return {
    device, host: o.host, port, username: o.username, policy, ...(algorithms ? { algorithms } : {}), auth,
    connectTimeoutMs: o.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS, readyTimeoutMs: o.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS,
  };
}

function checkEntry(p: Extract<HostKeyPolicy, { kind: 'known-hosts' }>, x: { blob: Buffer }): boolean {
  return checkHostKey(p, x.blob).ok;
}

/** Opens a session to an external device (TCP from this machine's own namespace). */
export async function openSession(o: ExternalDeviceOptions): Promise<SshSession> {
  const d = resolveDeviceOptions(o);
  const sock = await tcpConnect(d.host, d.port, d.connectTimeoutMs, d.device);
  return connect(d, { sock, close: () => sock.destroy() });
}

function tcpConnect(host: string, port: number, timeoutMs: number, device: string): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host, port });
    const timer = setTimeout(() => { s.destroy(); reject(new UserError(`cannot open SSH session to ${device} (no TCP connection to ${host}:${port} within ${timeoutMs} ms)`)); }, timeoutMs);
    s.once('connect', () => { clearTimeout(timer); s.setNoDelay(true); resolve(s); });
    s.once('error', (e: NodeJS.ErrnoException) => { clearTimeout(timer); reject(new UserError(`cannot open SSH session to ${device} (no TCP connection to ${host}:${port}: ${e.code ?? e.message})`)); });
  });
}

// ---- lab nodes -----------------------------------------------------------------------------------

export interface LabSessionOptions extends SessionTimeouts {
  /** Default root (the user whose authorized_keys tsunagari wrote). */
  username?: string;
}

/**
 * Opens a session to a managed node of a lab that is up: TCP from inside the lab's management namespace
 * to the node's mgmt0 address, the node's host key checked against the one pinned when it started, the
 * lab's own client key. A node whose management access is broken fails within connectTimeoutMs.
 */
export async function openLabSession(running: RunningLab, node: string, opts: LabSessionOptions = {}): Promise<SshSession> {
  const n = running.node(node);
  const lab = running.name;
  const m = running.lab.management;
  const state = running.ledger.data.management;
  if (!n.management || !m) {
    const managed = running.lab.nodes.filter((x) => x.management).map((x) => x.name);
    throw new UserError(`cannot open SSH session to node ${node} of lab ${lab} (kind ${n.kind} is not managed${isManagedKind(n.kind) ? ' in this lab' : ''}); managed nodes: ${knownList(managed)}`,
      'managed kinds (frr) get mgmt0, sshd and a pinned host key');
  }
  const pinned = state?.hostKeys[node];
  if (!state || !pinned) {
    throw new UserError(`cannot open SSH session to node ${node} of lab ${lab} (no pinned host key: the lab is ${running.ledger.data.state}${state ? '' : ' and has no SSH state'})`,
      `wait until \`tsunagari up\` finished, or \`tsunagari down ${lab}\` and bring it up again`);
  }
  const device = `node ${node} of lab ${lab}`;
  const address = n.management.address.split('/')[0]!;
  const d: ResolvedDevice = {
    device, host: address, port: 22, username: opts.username ?? 'root',
    policy: { kind: 'fingerprint', fingerprints: [pinned.fingerprint], source: `the ledger of lab ${lab}, read from ${node} when it started` },
    algorithms: [pinned.type],
    auth: { privateKey: new Secret(readClientKey(state, lab)) },
    connectTimeoutMs: opts.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
    readyTimeoutMs: opts.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS,
  };
  const fwd = await forwardFrom(`/run/netns/${m.netns}`, address, 22, d.connectTimeoutMs, device,
    `is ${n.management.iface} of ${node} up with ${n.management.address}? (\`tsunagari exec ${lab} ${node} -- ip -br addr show ${n.management.iface}\`)`);
  return connect(d, fwd, `if ${node} was re-created outside tsunagari, bring the lab down and up again; otherwise something else answers at ${address}`);
}

/** How messages name an external device: `device r1 (192.0.2.1)`. */
export function deviceLabel(name: string, a: Pick<DeviceAccess, 'host' | 'port'>): string {
  return `device ${name} (${a.host}${a.port === 22 ? '' : `:${a.port}`})`;
}

/** Connect options of an external device from a profile inventory: `~` and `${VAR}` expanded now, secrets read by resolveDeviceOptions. */
export function externalDeviceOptions(name: string, a: DeviceAccess, env: Record<string, string | undefined> = process.env): ExternalDeviceOptions {
  const device = deviceLabel(name, a);
  return {
    name: device, host: a.host, port: a.port, username: a.username,
    ...(a.hostKeyFingerprints ? { hostKeyFingerprint: a.hostKeyFingerprints } : {}),
    ...(a.knownHostsFile !== undefined ? { knownHostsFile: expandPath(a.knownHostsFile, 'known_hosts', device, env) } : {}),
    ...(a.privateKeyFile !== undefined ? { privateKeyFile: expandPath(a.privateKeyFile, 'private_key_file', device, env) } : {}),
    ...(a.privateKeyEnv !== undefined ? { privateKeyEnv: a.privateKeyEnv } : {}),
    ...(a.passphraseEnv !== undefined ? { passphraseEnv: a.passphraseEnv } : {}),
    ...(a.passwordEnv !== undefined ? { passwordEnv: a.passwordEnv } : {}),
    ...(a.agent ? { agent: env.SSH_AUTH_SOCK ?? '' } : {}),
    ...(a.connectTimeoutMs !== undefined ? { connectTimeoutMs: a.connectTimeoutMs } : {}),
  };
}

/** Every call opens a NEW session to the external device. */
export function externalSessionFactory(name: string, a: DeviceAccess): SessionFactory {
  return () => openSession(externalDeviceOptions(name, a));
}

/** Sessions to a node that has SSH: an external device of the lab's profile, else a managed lab node. */
export function nodeSessionFactory(running: RunningLab, node: string, opts: LabSessionOptions = {}): SessionFactory {
  const x = running.lab.external?.find((e) => e.name === node);
  if (x) return externalSessionFactory(x.name, x.access);
  return labSessionFactory(running, node, opts);
}

/** A SessionFactory for drivers: every call opens a NEW session to the node (commit-confirm relies on it). */
export function labSessionFactory(running: RunningLab, node: string, opts: LabSessionOptions = {}): SessionFactory {
  return () => openLabSession(running, node, opts);
}

interface Transport { sock: Duplex; close: () => void; }

/**
 * Starts the forwarder inside a network namespace and waits (bounded) until it has its TCP connection;
 * its stdio becomes the session's socket. The child is killed when the session ends.
 */
export function forwardFrom(nsPath: string, host: string, port: number, connectTimeoutMs: number, device: string, hint?: string): Promise<Transport> {
  const env = { ...process.env };
  delete env.NODE_OPTIONS; // the test runner's --import hooks would only slow the forwarder down
  const child: ChildProcess = spawn('nsenter', [`--net=${nsPath}`, process.execPath, FORWARDER, host, String(port), String(connectTimeoutMs)],
    { stdio: ['pipe', 'pipe', 'pipe'], env });
  const kill = (): void => { if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL'); };
  const where = `${host}:${port} from ${nsPath.replace(/^\/run\/netns\//, 'namespace ')}`;
  return new Promise((resolve, reject) => {
    let err = '';
    let done = false;
    const finish = (e?: Error): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      if (e) { kill(); reject(e); return; }
      child.stderr!.removeAllListeners('data');
      child.stderr!.resume();
      const sock = Duplex.from({ readable: child.stdout!, writable: child.stdin! });
      child.stdin!.on('error', () => { /* the forwarder went away; ssh2 notices the closed stream */ });
      child.once('exit', () => { if (!sock.destroyed) sock.destroy(); });
      resolve({ sock, close: () => { sock.destroy(); kill(); } });
    };
    // Node's start-up under load comes on top of the forwarder's own connect timeout.
    const timer = setTimeout(() => finish(new UserError(`cannot open SSH session to ${device} (no TCP connection to ${where} within ${connectTimeoutMs} ms)`, hint)),
      connectTimeoutMs + 3000);
    child.stderr!.setEncoding('utf8').on('data', (d: string) => {
      err += d;
      const line = err.split('\n')[0]!;
      if (!err.includes('\n')) return;
      if (line === 'connected') finish();
      else finish(new UserError(`cannot open SSH session to ${device} (no TCP connection to ${where}: ${line.replace(/^error /, '')})`, hint));
    });
    child.on('error', (e) => finish(new Error(`cannot start the SSH forwarder for ${device}: ${e.message}`)));
    child.on('exit', (code) => {
      if (!done) finish(new UserError(`cannot open SSH session to ${device} (forwarder exited ${code}${err.trim() ? `: ${err.trim().split('\n')[0]}` : ''})`, hint));
    });
  });
}

// ---- the session ---------------------------------------------------------------------------------

/** SSH handshake and authentication over an established transport. */
function connect(d: ResolvedDevice, t: Transport, mismatchHint?: string): Promise<SshSession> {
  const client = new Client();
  let refused: Extract<Verdict, { ok: false }> | undefined;
  const cfg: ConnectConfig = {
    sock: t.sock as unknown as ConnectConfig['sock'],
    username: d.username,
    readyTimeout: d.readyTimeoutMs,
    keepaliveInterval: 5000,
    keepaliveCountMax: 3,
    hostVerifier: (key: Buffer): boolean => {
      const v = checkHostKey(d.policy, key);
      if (!v.ok) refused = v;
      return v.ok;
    },
    ...(d.algorithms ? { algorithms: { serverHostKey: d.algorithms as NonNullable<ConnectConfig['algorithms']>['serverHostKey'] } } : {}),
    ...(d.auth.privateKey ? { privateKey: d.auth.privateKey.reveal() } : {}),
    ...(d.auth.passphrase ? { passphrase: d.auth.passphrase.reveal() as string } : {}),
    ...(d.auth.agent ? { agent: d.auth.agent } : {}),
    ...(d.auth.password ? { password: d.auth.password.reveal() as string, tryKeyboard: true } : {}),
  };
  // Devices that ask for the password by keyboard-interactive get the same password for each prompt.
  if (d.auth.password) {
    const pw = d.auth.password;
    client.on('keyboard-interactive', (_n, _i, _l, prompts, finish) => finish(prompts.map(() => pw.reveal() as string)));
  }
  return new Promise((resolve, reject) => {
    let ready = false;
    const fail = (e: Error): void => {
      if (ready) return;
      ready = true;
      client.removeAllListeners('ready');
      try { client.end(); } catch { /* already closed */ }
      t.close();
      reject(e);
    };
    client.once('ready', () => {
      if (ready) return;
      ready = true;
      resolve(new Ssh2Session(d.device, client, t));
    });
    client.on('error', (e: Error & { level?: string }) => {
      if (refused) return fail(new HostKeyRefused(d.device, refused, mismatchHint));
      if (e.level === 'client-authentication') return fail(new UserError(`cannot open SSH session to ${d.device} (authentication as ${d.username} failed: every offered credential was refused)`));
      if (e.level === 'client-timeout') return fail(new UserError(`cannot open SSH session to ${d.device} (no SSH handshake within ${d.readyTimeoutMs} ms after the TCP connection)`));
      return fail(new UserError(`cannot open SSH session to ${d.device} (${e.message})`));
    });
    client.on('close', () => fail(refused ? new HostKeyRefused(d.device, refused, mismatchHint)
      : new UserError(`cannot open SSH session to ${d.device} (the connection closed during the SSH handshake)`)));
    client.connect(cfg);
  });
}

type Ssh2Client = InstanceType<typeof Client>;

/** Channels one session runs at once; more wait. Below OpenSSH's MaxSessions (10) and what routers commonly allow. */
const MAX_CHANNELS = 4;
/** How many times a channel the server refused is asked for before the command fails. */
const CHANNEL_ATTEMPTS = 4;
class ChannelRefused extends Error {}

class Ssh2Session implements SshSession {
  #closed = false;
  #why = '';
  readonly #pending = new Set<(e: Error) => void>();

  // ES private fields: util.inspect and JSON never show them (ssh2 keeps the credentials in client.config).
  readonly #client: Ssh2Client;
  readonly #transport: Transport;

  constructor(readonly device: string, client: Ssh2Client, transport: Transport) {
    this.#client = client;
    this.#transport = transport;
    client.on('error', (e: Error) => { this.#why ||= e.message; });
    client.on('close', () => {
      this.#closed = true;
      this.#why ||= 'the connection closed';
      transport.close();
      for (const r of [...this.#pending]) r(this.closedError('the session ended'));
    });
  }

  private closedError(what: string): UserError {
    return new UserError(`${what} on ${this.device}: the SSH session is closed (${this.#why || 'closed by tsunagari'})`);
  }

  /**
   * Runs one command on its own channel. At most MAX_CHANNELS run at once on a session (sshd's MaxSessions is 10,
   * many routers allow fewer): the rest wait their turn. A channel the server refuses ("Channel open failure",
   * typically while it is still closing earlier ones) is asked for again, a bounded number of times.
   */
  async exec(command: string, opts: { timeoutMs?: number } = {}): Promise<ExecResult> {
    if (this.#closed) throw this.closedError(`cannot run \`${clip(command)}\``);
    await this.#slot();
    try {
      for (let attempt = 1; ; attempt++) {
        try {
          return await this.#execOnce(command, opts.timeoutMs ?? DEFAULT_EXEC_TIMEOUT_MS);
        } catch (e) {
          if (!(e instanceof ChannelRefused) || attempt >= CHANNEL_ATTEMPTS || this.#closed) {
            throw e instanceof ChannelRefused ? new UserError(`cannot run \`${clip(command)}\` on ${this.device} (${e.message}, ${attempt} attempts)`) : e;
          }
          await new Promise((r) => setTimeout(r, 100 * attempt));
        }
      }
    } finally {
      this.#release();
    }
  }

  #active = 0;
  readonly #waiting: Array<() => void> = [];
  #slot(): Promise<void> {
    if (this.#active < MAX_CHANNELS) { this.#active++; return Promise.resolve(); }
    return new Promise((r) => this.#waiting.push(() => { this.#active++; r(); }));
  }
  #release(): void {
    this.#active--;
    this.#waiting.shift()?.();
  }

  #execOnce(command: string, timeoutMs: number): Promise<ExecResult> {
    if (this.#closed) return Promise.reject(this.closedError(`cannot run \`${clip(command)}\``));
    return new Promise((resolve, reject) => {
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      let code: number | undefined;
      let channel: ClientChannel | undefined;
      let settled = false;
      const settle = (e?: Error): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        this.#pending.delete(onClosed);
        if (e) { reject(e); return; }
        resolve({ code: code ?? 255, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') });
      };
      const onClosed = (e: Error): void => settle(e);
      this.#pending.add(onClosed);
      const timer = setTimeout(() => {
        try { channel?.close(); } catch { /* gone */ }
        const partial = Buffer.concat([...err, ...out]).toString('utf8').trim();
        settle(new UserError(`no answer to \`${clip(command)}\` on ${this.device} within ${timeoutMs} ms${partial ? ` (last output: ${JSON.stringify(partial.slice(-200))})` : ' (no output)'}`));
      }, timeoutMs);
      this.#client.exec(command, (e, stream) => {
        if (e) { settle(/open failure/i.test(e.message) ? new ChannelRefused(e.message) : new UserError(`cannot run \`${clip(command)}\` on ${this.device} (${e.message})`)); return; }
        channel = stream;
        stream.on('data', (b: Buffer) => out.push(b));
        stream.stderr.on('data', (b: Buffer) => err.push(b));
        stream.on('exit', (c: number | null, signal?: string) => { code = c ?? (signal ? 128 : 255); });
        stream.on('close', () => settle());
      });
    });
  }

  shell(opts: { cols?: number; rows?: number } = {}): Promise<NodeJS.ReadWriteStream & { close?: () => void }> {
    if (this.#closed) return Promise.reject(this.closedError('cannot open a shell'));
    return new Promise((resolve, reject) => {
      this.#client.shell({ term: 'vt100', cols: opts.cols ?? 200, rows: opts.rows ?? 50 }, (e, stream) => {
        if (e) reject(new UserError(`cannot open a shell on ${this.device} (${e.message})`));
        else resolve(stream as unknown as NodeJS.ReadWriteStream & { close: () => void });
      });
    });
  }

  async close(): Promise<void> {
    if (this.#closed) { this.#transport.close(); return; }
    const closed = new Promise<void>((res) => this.#client.once('close', () => res()));
    try { this.#client.end(); } catch { /* already gone */ }
    const t = setTimeout(() => { this.#transport.close(); }, 2000);
    await Promise.race([closed, new Promise<void>((res) => setTimeout(res, 2500).unref())]);
    clearTimeout(t);
    this.#closed = true;
    this.#why ||= 'closed by tsunagari';
    this.#transport.close();
  }

  toJSON(): { device: string; closed: boolean } { return { device: this.device, closed: this.#closed }; }
}

function clip(s: string, max = 120): string {
  return s.length > max ? `${s.slice(0, max)}…` : s;
}
