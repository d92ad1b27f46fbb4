// Owns running host programs (ip, ovs-vsctl, nsenter, nft …) with bounded time and captured output.
// Never uses a shell: arguments go to execve as given, so names from topologies cannot inject commands.
import { spawn } from 'node:child_process';

export interface RunResult { code: number; stdout: string; stderr: string; }
export interface RunOptions {
  input?: string;
  timeoutMs?: number;          // default 60 s; the process is killed (SIGKILL) after it
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

export class CommandError extends Error {
  constructor(readonly argv: string[], readonly result: RunResult) {
    const detail = (result.stderr || result.stdout).trim().split('\n').slice(-5).join(' | ');
    super(`command failed (exit ${result.code}): ${argv.join(' ')}${detail ? `: ${detail}` : ''}`);
    this.name = 'CommandError';
  }
}

/** Runs a program and resolves with its exit code and output; never rejects for a non-zero exit. */
export function run(file: string, args: string[], opts: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { env: opts.env ?? process.env, cwd: opts.cwd, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => { stdout += d; });
    child.stderr.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
    const timer = setTimeout(() => { stderr += `\n(killed after ${opts.timeoutMs ?? 60000} ms)`; child.kill('SIGKILL'); },
      opts.timeoutMs ?? 60000);
    child.on('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      if (err.code === 'ENOENT') resolve({ code: 127, stdout, stderr: `${file}: not found` });
      else reject(err);
    });
    // A command may leave a daemon behind that inherited our pipes (`httpd`, `nsd`): settle on 'exit'
    // after a short grace for the last output, instead of waiting for pipes that never close.
    let settled = false;
    const finish = (code: number | null, signal: NodeJS.Signals | null): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve({ code: code ?? (signal ? 128 : 1), stdout, stderr });
    };
    child.on('close', finish);
    child.on('exit', (code, signal) => {
      setTimeout(() => { finish(code, signal); child.stdout.destroy(); child.stderr.destroy(); }, 200).unref();
    });
    child.stdin.on('error', () => { /* the program may exit before reading its input */ });
    child.stdin.end(opts.input ?? '');
  });
}

/** Like run, but rejects with a CommandError naming the command and its last stderr lines. */
export async function runOk(file: string, args: string[], opts: RunOptions = {}): Promise<string> {
  const r = await run(file, args, opts);
  if (r.code !== 0) throw new CommandError([file, ...args], r);
  return r.stdout;
}

/** Runs fn over items with at most `limit` in flight; rejects with the first error after all settle. */
export async function mapLimit<T, R>(items: T[], limit: number, fn: (item: T, i: number) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  const errors: unknown[] = [];
  let next = 0;
  async function worker(): Promise<void> {
    while (next < items.length) {
      const i = next++;
      try { results[i] = await fn(items[i] as T, i); } catch (e) { errors.push(e); }
    }
  }
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  if (errors.length) throw errors[0];
  return results;
}

/** Waits ms milliseconds (negative = no wait). For bounded polling loops, never to "let things settle". */
export const sleep = (ms: number): Promise<void> => new Promise((res) => setTimeout(res, Math.max(0, ms)));
