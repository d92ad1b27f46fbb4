// Owns running one command in a container of another machine's engine through the Docker API (exec), with
// bounded time and captured output, like src/util/exec.ts does for local programs. Input is handed to the
// command as an argument (`printf %s "$1" | cmd`), not over a hijacked stdin (whose half-close does not
// survive every transport). Must not decide what runs.
import { PassThrough } from 'node:stream';
import type Docker from 'dockerode';
import type { RunResult } from '../util/exec.js';
import { sleep } from '../util/exec.js';

export interface RemoteExecOptions {
  input?: string;
  timeoutMs?: number;          // default 60 s; the stream is dropped after it (see killAfter)
  env?: Record<string, string | undefined>;
  /** Wrap the command in `timeout -s KILL` so it dies on the machine too (coreutils or busybox `timeout`). */
  killAfter?: boolean;
}

/** argv that feeds `input` to the command's stdin on the machine. */
export function withInput(argv: string[], input: string | undefined): string[] {
  if (input === undefined) return argv;
  return ['sh', '-c', 'printf "%s" "$1" | { shift; exec "$@"; }', 'sh', input, ...argv];
}

export async function dockerExec(docker: Docker, container: string, argv: string[], o: RemoteExecOptions = {}): Promise<RunResult> {
  const timeoutMs = o.timeoutMs ?? 60_000;
  let cmd = withInput(argv, o.input);
  if (o.killAfter) cmd = ['timeout', '-s', 'KILL', String(Math.max(1, Math.ceil(timeoutMs / 1000))), ...cmd];
  const env = Object.entries(o.env ?? {}).filter(([, v]) => v !== undefined).map(([k, v]) => `${k}=${v}`);
  const exec = await docker.getContainer(container).exec({ Cmd: cmd, AttachStdout: true, AttachStderr: true, ...(env.length ? { Env: env } : {}) });
  const stream = await exec.start({ hijack: true, stdin: false });
  let stdout = '';
  let stderr = '';
  const out = new PassThrough().setEncoding('utf8');
  const err = new PassThrough().setEncoding('utf8');
  out.on('data', (d: string) => { stdout += d; });
  err.on('data', (d: string) => { stderr += d; });
  docker.modem.demuxStream(stream, out, err);
  let timedOut = false;
  await new Promise<void>((resolve) => {
    const timer = setTimeout(() => { timedOut = true; stream.destroy(); resolve(); }, timeoutMs);
    const done = (): void => { clearTimeout(timer); resolve(); };
    stream.on('end', done);
    stream.on('close', done);
    stream.on('error', done);
  });
  if (timedOut) return { code: 137, stdout, stderr: `${stderr}\n(killed after ${timeoutMs} ms)` };
  // The exit code is there once the process is gone; the stream may end a moment before.
  const deadline = Date.now() + 5000;   // by time: a loaded engine can take a while to record the exit
  while (Date.now() < deadline) {
    const info = await exec.inspect();
    if (!info.Running && info.ExitCode !== null && info.ExitCode !== undefined) return { code: info.ExitCode, stdout, stderr };
    await sleep(20);
  }
  return { code: 1, stdout, stderr: `${stderr}\n(exit code unknown: the exec did not finish)` };
}
