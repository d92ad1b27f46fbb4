// Owns running runner.mjs inside a node's network namespace: a persistent probe agent per namespace
// (started on first use, JSON lines over its stdio, several requests in flight), with the one-shot
// `nsenter … node runner.mjs '<json>'` as fallback. The path is resolved next to this module
// (import.meta.url), so it also works from node_modules. Must not interpret probe answers (tcp.ts,
// http.ts, dns.ts do) or run anything but the runner.
//
// Why an agent: Node's start-up is ≈ 80 ms per probe on a 2-core machine, ≈ 100× the probe itself.
// Lifetime: an agent never outlives its lab or our process — it exits when its stdin closes (we exited),
// setpriv --pdeathsig KILLs it if we die abruptly, it exits by itself within 0.5 s once its namespace
// is gone (container removed, pid reused), deleting a netns kills it with the namespace's processes, and
// teardown closes the agents of the lab's nodes first (closeProbeAgents).
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { statSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { run } from '../util/exec.js';

export const RUNNER_PATH = fileURLToPath(new URL('./runner.mjs', import.meta.url));

/** Node's start-up plus nsenter, on a busy 2-core machine: the margin above the probe's own timeout. */
const START_MARGIN_MS = 5000;

type Request = { op: string; timeoutMs: number } & Record<string, unknown>;
type Answer = Record<string, unknown> & { error?: string };

/** TSUNAGARI_PROBE_AGENT=0 turns the agents off (every probe starts its own runner, as before). */
function agentsEnabled(): boolean {
  return process.env.TSUNAGARI_PROBE_AGENT !== '0';
}

/**
 * Runs one probe request; rejects only when the runner itself could not run or answer. `budgetMs` is
 * the longest the probe itself may take (default its timeoutMs; more when it makes several exchanges).
 */
export async function runProbe<T>(nsPath: string, request: Request, budgetMs = request.timeoutMs): Promise<T> {
  if (agentsEnabled()) {
    let answer: Answer | undefined;
    try {
      answer = await agentFor(nsPath).ask(request, budgetMs + START_MARGIN_MS);
    } catch (e) {
      if (!(e instanceof AgentUnavailable)) throw e;
      // The agent could not start or died under this request: the one-shot runner says why, or works.
    }
    if (answer) {
      if (answer.error?.startsWith('bad request')) throw new Error(`cannot run ${request.op} probe in ${nsPath} (${answer.error})`);
      return answer as T;
    }
  }
  return runOnce<T>(nsPath, request, budgetMs);
}

async function runOnce<T>(nsPath: string, request: Request, budgetMs: number): Promise<T> {
  const r = await run('nsenter', [`--net=${nsPath}`, process.execPath, RUNNER_PATH, JSON.stringify(request)],
    { timeoutMs: budgetMs + START_MARGIN_MS });
  const line = r.stdout.trim().split('\n').pop() ?? '';
  let answer: (T & { error?: string }) | undefined;
  try { answer = JSON.parse(line) as T & { error?: string }; } catch { /* reported below */ }
  if (!answer || r.code !== 0) {
    const why = answer?.error ?? (r.stderr.trim().split('\n').pop() || `exit ${r.code}`);
    throw new Error(`cannot run ${request.op} probe in ${nsPath} (${why})`);
  }
  return answer;
}

// ---- agents ----------------------------------------------------------------------------------------

class AgentUnavailable extends Error {}

interface Pending { resolve: (a: Answer) => void; reject: (e: Error) => void; timer: NodeJS.Timeout; }

class Agent {
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private stderr = '';
  dead?: string;
  readonly exited: Promise<void>;

  constructor(readonly nsPath: string, readonly nsInode: number | undefined) {
    // setpriv sets the parent-death signal, then execs nsenter, which execs node: it survives both execs.
    this.child = spawn('setpriv', ['--pdeathsig', 'KILL', '--', 'nsenter', `--net=${nsPath}`, process.execPath, RUNNER_PATH, '--agent', nsPath],
      { stdio: ['pipe', 'pipe', 'pipe'] });
    // An idle agent must not keep our process alive (pending requests do, through their timers).
    this.child.unref();
    for (const s of [this.child.stdin, this.child.stdout, this.child.stderr]) (s as unknown as { unref?: () => void }).unref?.();
    this.child.stdin.on('error', () => { /* the agent died; 'exit' reports it */ });
    this.child.stderr.setEncoding('utf8').on('data', (d: string) => { this.stderr = (this.stderr + d).slice(-2000); });
    createInterface({ input: this.child.stdout, crlfDelay: Infinity }).on('line', (line) => this.onLine(line));
    this.exited = new Promise((res) => {
      this.child.on('error', (e: NodeJS.ErrnoException) => { this.fail(e.code === 'ENOENT' ? 'setpriv or nsenter not found' : e.message); res(); });
      this.child.on('exit', (code, signal) => {
        this.fail(`agent exited (${signal ?? `exit ${code}`})${this.stderr.trim() ? `: ${this.stderr.trim().split('\n').pop()}` : ''}`);
        res();
      });
    });
  }

  ask(request: Request, timeoutMs: number): Promise<Answer> {
    if (this.dead) return Promise.reject(new AgentUnavailable(this.dead));
    const id = this.nextId++;
    return new Promise<Answer>((resolve, reject) => {
      // A ref'd timer: our process stays up while a request is in flight.
      const timer = setTimeout(() => {
        this.pending.delete(id);
        // The probe bounds itself; no answer by now means the agent is wedged: replace it.
        this.kill();
        reject(new Error(`cannot run ${request.op} probe in ${this.nsPath} (the probe agent gave no answer within ${timeoutMs} ms)`));
      }, timeoutMs);
      this.pending.set(id, { resolve, reject, timer });
      this.child.stdin.write(`${JSON.stringify({ ...request, id })}\n`);
    });
  }

  private onLine(line: string): void {
    let a: Answer & { id?: number };
    try { a = JSON.parse(line) as Answer & { id?: number }; } catch { return; }
    const p = typeof a.id === 'number' ? this.pending.get(a.id) : undefined;
    if (!p) return;
    this.pending.delete(a.id as number);
    clearTimeout(p.timer);
    delete a.id;
    p.resolve(a);
  }

  private fail(why: string): void {
    this.dead ??= why;
    if (agents.get(this.nsPath) === this) agents.delete(this.nsPath);
    for (const [id, p] of this.pending) {
      clearTimeout(p.timer);
      p.reject(new AgentUnavailable(why));
      this.pending.delete(id);
    }
  }

  kill(): void {
    this.fail('stopped');
    this.child.ref();          // whoever awaits `exited` keeps our process up until it came
    this.child.kill('SIGKILL');
  }
}

const agents = new Map<string, Agent>();

function inodeOf(path: string): number | undefined {
  try { return statSync(path).ino; } catch { return undefined; }
}

function agentFor(nsPath: string): Agent {
  const ino = inodeOf(nsPath);
  let a = agents.get(nsPath);
  // Same path, another namespace (a netns re-created under its name, a reused pid): a new agent.
  if (a && a.nsInode !== ino) { a.kill(); a = undefined; }
  if (!a) {
    if (ino === undefined) throw new AgentUnavailable(`no such namespace ${nsPath}`);
    a = new Agent(nsPath, ino);
    agents.set(nsPath, a);
  }
  return a;
}

/**
 * Stops the agents of the given namespace files (all when none are given) and waits until they exited.
 * Matches by namespace identity as well as by path, so a container's old /proc/PID path still finds it.
 */
export async function closeProbeAgents(nsPaths?: string[]): Promise<void> {
  const inodes = new Set((nsPaths ?? []).map(inodeOf).filter((x): x is number => x !== undefined));
  const paths = new Set(nsPaths ?? []);
  const doomed = [...agents.values()].filter((a) => !nsPaths || paths.has(a.nsPath) || (a.nsInode !== undefined && inodes.has(a.nsInode)));
  for (const a of doomed) a.kill();
  await Promise.all(doomed.map((a) => a.exited));
}

/** Agents running now (for tests and the benchmark). */
export function probeAgentCount(): number {
  return agents.size;
}
