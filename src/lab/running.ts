// Owns access to a lab that is up: finding it by name (ledger), its nodes' handles (re-reading a
// container's pid, which changes when Docker restarts it), and running commands inside nodes.
// Must not create or remove lab resources.
import { procStart } from '../util/proc.js';
import type { ExternalNode, Lab, Node } from '../topology/types.js';
import type { NodeHandle, Runtime } from '../runtime/types.js';
import { nodeRuntime, runOnMachine } from '../machines/lab.js';
import type { ProbeRunner } from '../probes/ping.js';
import type { RunOptions, RunResult } from '../util/exec.js';
import { UserError, knownList } from '../util/errors.js';
import { Ledger } from './ledger.js';
import { Journal } from './journal.js';
import type { Context } from './context.js';

export class RunningLab {
  /** Containers' handles as last inspected, with their init's start time (a cheap still-the-same check). */
  private live = new Map<string, { h: NodeHandle; start: string }>();

  /** Write-ahead record of this run's changes to the lab (journal.ts). */
  readonly journal: Journal;

  constructor(readonly ctx: Context, readonly ledger: Ledger, o: { run?: string } = {}) {
    this.journal = new Journal(ledger.data.lab, o.run ?? '');
  }

  get lab(): Lab { return this.ledger.data.topology; }
  get name(): string { return this.ledger.data.lab; }

  /** An external device of the lab's profile, or undefined. */
  external(name: string): ExternalNode | undefined {
    return this.lab.external?.find((x) => x.name === name);
  }

  node(name: string): Node {
    const n = this.lab.nodes.find((x) => x.name === name);
    const x = n ? undefined : this.external(name);
    if (x) {
      throw new UserError(`cannot do that on ${name} (it is an external device of profile ${this.lab.profile?.name ?? '?'}, reached over SSH at ${x.access.host}; tsunagari created no node for it)`,
        'steps that need a node tsunagari created (captures, DNS queries, probes from it …) run only in the emulated profile: tag the scenario, e.g. @ci');
    }
    if (!n) {
      throw new UserError(`unknown node ${name} in lab ${this.name}; known: ${knownList(this.lab.nodes.map((x) => x.name))}`);
    }
    return n;
  }

  /** The other machine a node runs on (docs/machines.md), or undefined for this machine. */
  machineOf(name: string): string | undefined {
    return this.node(name).machine;
  }

  /** The node's handle, with a container's current pid. Refused for a node on another machine: its pid
   *  and namespace are that machine's (exec and commandPrefix reach it through its engine). */
  async handle(name: string): Promise<NodeHandle> {
    const node = this.node(name);
    if (node.machine) {
      throw new UserError(`cannot use node ${name} of lab ${this.name} here (it runs on machine ${node.machine}, and this step needs its network namespace on this machine)`,
        `probe it from a node on this machine (e.g. \`… can reach ${name}\`), or run commands in it: \`tsunagari exec ${this.name} ${name} -- …\``);
    }
    const h = this.ledger.data.handles[name];
    if (!h) throw new UserError(`node ${name} of lab ${this.name} was never created (state ${this.ledger.data.state})`, `\`tsunagari down ${this.name}\` and up again`);
    if (h.runtime !== 'docker') return h;
    // A step asks for the handle every time (≈ 5–10 ms per `docker inspect`); the container's init still
    // running with the same start time means the same container, so the pid is still right.
    const known = this.live.get(name);
    if (known && known.h.pid !== undefined && procStart(known.h.pid) === known.start) return known.h;
    const docker = await this.ctx.docker();
    const info = await docker.getContainer(h.containerId ?? node.container).inspect().catch(() => undefined);
    if (!info || !info.State.Running || !info.State.Pid) {
      throw new UserError(`node ${name} of lab ${this.name} is not running (container ${node.container}: ${info ? info.State.Status : 'gone'})`,
        `\`tsunagari down ${this.name}\` and bring the lab up again`);
    }
    const pid = info.State.Pid;
    const fresh: NodeHandle = { ...h, pid, nsRef: String(pid), netnsPath: `/proc/${pid}/ns/net` };
    const start = procStart(pid);
    if (start !== undefined) this.live.set(name, { h: fresh, start });
    return fresh;
  }

  /** A node on another machine: its handle and that machine's runtime (commands go through its engine). */
  private async remote(name: string): Promise<{ h: NodeHandle; rt: Runtime }> {
    const node = this.node(name);
    const h = this.ledger.data.handles[name];
    if (!h) throw new UserError(`node ${name} of lab ${this.name} was never created (state ${this.ledger.data.state})`, `\`tsunagari down ${this.name}\` and up again`);
    return { h, rt: await nodeRuntime(this.ctx, this.ledger.data.machines?.map((r) => r.machine), node) };
  }

  /** Runs a program on another machine of the lab, through its agent: in that machine's namespace, or inside
   *  one of its nodes (`node`). A node that is gone reads as `nsenter: …` on stderr, like here. */
  async onMachine(machine: string, argv: string[], o: { node?: string; input?: string; timeoutMs?: number } = {}): Promise<RunResult> {
    const h = o.node ? this.ledger.data.handles[o.node] : undefined;
    return runOnMachine(this.ctx, this.ledger.data.machines?.map((r) => r.machine), machine, argv, { ...o, ...(h ? { handle: h } : {}) });
  }

  /** For a node on another machine: where ping probes run (inside it, through its machine's agent, with
   *  the agent's iputils ping); undefined for a node here (probe its handle's netnsPath). */
  probeRunner(name: string): ProbeRunner | undefined {
    const machine = this.node(name).machine;
    if (!machine) return undefined;
    return { label: `node ${name} on machine ${machine}`, run: (argv, timeoutMs) => this.onMachine(machine, argv, { node: name, timeoutMs }) };
  }

  async exec(name: string, argv: string[], opts?: RunOptions): Promise<RunResult> {
    if (this.node(name).machine) {
      const { h, rt } = await this.remote(name);
      return rt.exec(h, argv, opts);
    }
    const h = await this.handle(name);
    // A netns node has no environment of its own: its `env:` goes with every command run in it.
    const env = h.runtime === 'netns' && Object.keys(this.node(name).env).length ? { ...this.node(name).env, ...opts?.env } : opts?.env;
    return (await this.ctx.runtime(h.runtime)).exec(h, argv, { ...opts, ...(env ? { env } : {}) });
  }

  /** argv prefix that runs a command inside the node with the caller's terminal attached. */
  async commandPrefix(name: string): Promise<string[]> {
    if (this.node(name).machine) {
      const { h, rt } = await this.remote(name);
      return rt.commandPrefix(h);
    }
    const h = await this.handle(name);
    return (await this.ctx.runtime(h.runtime)).commandPrefix(h);
  }
}

export function openLab(ctx: Context, name: string, o: { run?: string } = {}): RunningLab {
  const ledger = Ledger.read(name);
  if (!ledger) {
    const known = Ledger.all().map((l) => l.data.lab);
    throw new UserError(`unknown lab ${name}; known: ${knownList(known)}`, known.length ? undefined : 'no lab is up; `tsunagari up topologies/<lab>.yaml`');
  }
  return new RunningLab(ctx, ledger, o);
}
