// Owns SSH host key checking: OpenSSH fingerprints (SHA256:…), public key lines, known_hosts files (plain
// names, [host]:port, hashed |1| entries, wildcard and negated patterns, @revoked; @cert-authority lines are
// not supported and skipped), and the verdict a session's hostVerifier acts on. Pure: the caller reads files.
// Never accepts an unknown key: no policy means no session.
import { createHash, createHmac } from 'node:crypto';
import { UserError } from '../util/errors.js';

/** OpenSSH's fingerprint of a public key blob: `SHA256:` + unpadded base64 of its SHA-256. */
export function fingerprint(blob: Buffer): string {
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
}

export const FINGERPRINT_RE = /^SHA256:[A-Za-z0-9+/]{43}$/;

export function isFingerprint(s: string): boolean {
  return FINGERPRINT_RE.test(s);
}

/** The key type written inside a public key blob (its first SSH string), or undefined if malformed. */
export function blobType(blob: Buffer): string | undefined {
  if (blob.length < 4) return undefined;
  const n = blob.readUInt32BE(0);
  if (n === 0 || n > 64 || 4 + n > blob.length) return undefined;
  return blob.subarray(4, 4 + n).toString('latin1');
}

export interface PublicKey { type: string; blob: Buffer; fingerprint: string; }

/** `ssh-ed25519 AAAA… comment` (an OpenSSH .pub line) → type, blob, fingerprint; undefined if malformed. */
export function parsePublicKey(line: string): PublicKey | undefined {
  const [type, b64] = line.trim().split(/\s+/);
  if (!type || !b64 || !/^[A-Za-z0-9+/]+={0,2}$/.test(b64)) return undefined;
  const blob = Buffer.from(b64, 'base64');
  if (blobType(blob) !== type) return undefined;
  return { type, blob, fingerprint: fingerprint(blob) };
}

// ---- known_hosts ---------------------------------------------------------------------------------

export interface KnownHost {
  line: number;                              // 1-based line in the file
  marker?: 'revoked';
  hosts: string;                             // the host field as written (patterns or a |1| hash)
  type: string;
  blob: Buffer;
}

/** Parses known_hosts text; comments, blank lines, @cert-authority lines and malformed lines are skipped. */
export function parseKnownHosts(text: string): KnownHost[] {
  const out: KnownHost[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (!line || line.startsWith('#')) return;
    const f = line.split(/\s+/);
    let marker: 'revoked' | undefined;
    if (f[0]!.startsWith('@')) {
      if (f[0] === '@revoked') marker = 'revoked';
      else return; // @cert-authority (certificates are not supported) and unknown markers
      f.shift();
    }
    const [hosts, type, b64] = f;
    if (!hosts || !type || !b64) return;
    const blob = Buffer.from(b64, 'base64');
    if (blobType(blob) !== type) return;
    out.push({ line: i + 1, ...(marker ? { marker } : {}), hosts, type, blob });
  });
  return out;
}

/** The name known_hosts uses for a host: `host` on port 22, `[host]:port` otherwise. */
export function knownHostName(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

function globMatch(pattern: string, s: string): boolean {
  const re = new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`, 'i');
  return re.test(s);
}

/** Does a known_hosts host field name this host and port? (OpenSSH rules: a negated match wins.) */
export function hostMatches(hosts: string, host: string, port: number): boolean {
  const name = knownHostName(host, port);
  if (hosts.startsWith('|1|')) {
    const [, , salt, hash] = hosts.split('|');
    if (!salt || !hash) return false;
    return createHmac('sha1', Buffer.from(salt, 'base64')).update(name).digest('base64') === hash;
  }
  let positive = false;
  for (const p of hosts.split(',')) {
    const neg = p.startsWith('!');
    const pat = neg ? p.slice(1) : p;
    if (globMatch(pat, name)) {
      if (neg) return false;
      positive = true;
    }
  }
  return positive;
}

// ---- policy and verdict --------------------------------------------------------------------------

/** What a session accepts: pinned fingerprints, or the entries of a known_hosts file for one host. */
export type HostKeyPolicy =
  | { kind: 'fingerprint'; fingerprints: string[]; source: string }
  | { kind: 'known-hosts'; file: string; host: string; port: number; entries: KnownHost[] };

export type Verdict =
  | { ok: true; fingerprint: string }
  | { ok: false; received: string; expected: string[]; reason: string };

/** Host key algorithms (ssh2 `algorithms.serverHostKey`) for each key type known_hosts may hold. */
const ALGORITHMS: Record<string, string[]> = {
  'ssh-ed25519': ['ssh-ed25519'],
  'ecdsa-sha2-nistp256': ['ecdsa-sha2-nistp256'],
  'ecdsa-sha2-nistp384': ['ecdsa-sha2-nistp384'],
  'ecdsa-sha2-nistp521': ['ecdsa-sha2-nistp521'],
  'ssh-rsa': ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'],
};

/** known_hosts entries for this host, revoked ones included (they refuse a key). */
export function entriesFor(entries: KnownHost[], host: string, port: number): KnownHost[] {
  return entries.filter((e) => hostMatches(e.hosts, host, port));
}

/**
 * The host key algorithms to offer so the server presents a key the policy can check: the types
 * known_hosts lists for the host (undefined = ssh2's defaults, e.g. for a bare fingerprint).
 */
export function hostKeyAlgorithms(policy: HostKeyPolicy): string[] | undefined {
  if (policy.kind !== 'known-hosts') return undefined;
  const types = [...new Set(entriesFor(policy.entries, policy.host, policy.port).filter((e) => !e.marker).map((e) => e.type))];
  const algs = types.flatMap((t) => ALGORITHMS[t] ?? []);
  return algs.length ? algs : undefined;
}

export function checkHostKey(policy: HostKeyPolicy, blob: Buffer): Verdict {
  const received = fingerprint(blob);
  if (policy.kind === 'fingerprint') {
    if (policy.fingerprints.includes(received)) return { ok: true, fingerprint: received };
    return { ok: false, received, expected: policy.fingerprints, reason: `host key mismatch (pinned in ${policy.source})` };
  }
  const mine = entriesFor(policy.entries, policy.host, policy.port);
  const name = knownHostName(policy.host, policy.port);
  const revoked = mine.find((e) => e.marker === 'revoked' && e.blob.equals(blob));
  if (revoked) return { ok: false, received, expected: [], reason: `host key is marked @revoked in ${policy.file}:${revoked.line}` };
  const valid = mine.filter((e) => !e.marker);
  if (valid.some((e) => e.blob.equals(blob))) return { ok: true, fingerprint: received };
  if (!valid.length) return { ok: false, received, expected: [], reason: `${name} is not in ${policy.file}` };
  return {
    ok: false, received, expected: valid.map((e) => `${fingerprint(e.blob)} (${e.type}, ${policy.file}:${e.line})`),
    reason: `host key mismatch (known in ${policy.file})`,
  };
}

/** A host key the policy refuses: the session is never used. */
export class HostKeyRefused extends UserError {
  /** Fingerprints the policy accepts (empty: the host is unknown or its key revoked) and the one received. */
  readonly expected: string[];
  readonly received: string;
  constructor(readonly device: string, readonly verdict: Extract<Verdict, { ok: false }>, hint?: string) {
    const expected = verdict.expected.length ? `expected ${verdict.expected.join(' or ')}, ` : '';
    super(`cannot open SSH session to ${device} (${verdict.reason}: ${expected}received ${verdict.received}); the connection was refused`,
      hint ?? 'if the device was really replaced, update the pinned key; otherwise something else answers at its address');
    this.name = 'HostKeyRefused';
    this.expected = verdict.expected;
    this.received = verdict.received;
  }
}
