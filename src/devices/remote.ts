// Owns running shell commands on a device over an SshSession exec channel: quoting, a checked run that
// turns a refusal into CommandRejected with the device's own words, writing a file on the device
// (base64, no stdin needed), and bounding any promise in time. Must not know about any config syntax.
import type { SshSession } from './types.js';
import { CommandRejected, CommandTimeout } from './errors.js';
import { sleep } from '../util/exec.js';

export { sleep };

/** Quotes a word for a POSIX shell. */
export function shq(s: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

export const DEFAULT_EXEC_TIMEOUT_MS = 30_000;

/** Runs a command; a non-zero exit becomes CommandRejected carrying stderr (or stdout) as the device's message. */
export async function runChecked(s: SshSession, command: string, o: { timeoutMs?: number; okCodes?: number[]; what?: string } = {}): Promise<string> {
  const r = await s.exec(command, { timeoutMs: o.timeoutMs ?? DEFAULT_EXEC_TIMEOUT_MS });
  if (!(o.okCodes ?? [0]).includes(r.code)) {
    const msg = deviceMessage(r.stderr, r.stdout);
    throw new CommandRejected(s.device, o.what ?? command, msg ? `${msg} (exit ${r.code})` : `exit ${r.code}`);
  }
  return r.stdout;
}

/** The lines a person would read: stderr first, without colour codes, log timestamps kept. */
export function deviceMessage(stderr: string, stdout: string): string {
  const text = `${stderr.trim()}${stderr.trim() && stdout.trim() ? '\n' : ''}${stdout.trim()}`;
  return stripAnsi(text).split('\n').map((l) => l.trimEnd()).filter(Boolean).slice(-12).join('\n');
}

export function stripAnsi(s: string): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/\x1b\[[0-9;?]*[ -/]*[@-~]/g, '');
}

/** Base64 characters per exec when writing a file (one argument stays far below the kernel's 128 KiB). */
const CHUNK = 64 * 1024;

/** Writes `content` to `path` on the device (parent directory must exist), in as few execs as possible. */
export async function writeDeviceFile(s: SshSession, path: string, content: string, o: { mode?: string } = {}): Promise<void> {
  const b64 = Buffer.from(content, 'utf8').toString('base64');
  const chunks = b64.length ? b64.match(new RegExp(`.{1,${CHUNK}}`, 'g')) as string[] : [''];
  for (let i = 0; i < chunks.length; i++) {
    await runChecked(s, `printf %s '${chunks[i]}' | base64 -d ${i === 0 ? '>' : '>>'} ${shq(path)}`, { what: `write ${path}` });
  }
  if (o.mode) await runChecked(s, `chmod ${o.mode} ${shq(path)}`);
}

/** The pattern writeDeviceFile's commands follow (test doubles recognise writes with it). */
export const WRITE_FILE_RE = /^printf %s '([A-Za-z0-9+/=]*)' \| base64 -d (>>?) (\S+|'[^']*')$/;

/** Resolves with p, or rejects with CommandTimeout after ms (p keeps running; its result is dropped). */
export function within<T>(p: Promise<T>, ms: number, device: string, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new CommandTimeout(device, what, ms, '')), ms); });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

