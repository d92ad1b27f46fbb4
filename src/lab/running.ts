// Owns access to a lab that is up: finding it by name (ledger), its nodes' handles (re-reading a
// container's pid, which changes when Docker restarts it), and running commands inside nodes.
// Must not create or remove lab resources.
import type { Lab, Node } from '../topology/types.js';
import type { NodeHandle } from '../runtime/types.js';
import type { RunOptions, RunResult } from '../util/exec.js';
import { UserError, knownList } from '../util/errors.js';
import { Ledger } from './ledger.js';
import type { Context } from './context.js';

export class RunningLab {
  constructor(readonly ctx: Context, readonly ledger: Ledger) {}

  get lab(): Lab { return this.ledger.data.topology; }
  get name(): string { return this.ledger.data.lab; }

  node(name: string): Node {
    const n = this.lab.nodes.find((x) => x.name === name);
    if (!n) {
      throw new UserError(`unknown node ${name} in lab ${this.name}; known: ${knownList(this.lab.nodes.map((x) => x.name))}`);
    }
    return n;
  }

  /** The node's handle, with a container's current pid. */
  async handle(name: string): Promise<NodeHandle> {
    const node = this.node(name);
    const h = this.ledger.data.handles[name];
    if (!h) throw new UserError(`node ${name} of lab ${this.name} was never created (state ${this.ledger.data.state})`, `\`tsunagari down ${this.name}\` and up again`);
    if (h.runtime !== 'docker') return h;
    const docker = await this.ctx.docker();
    const info = await docker.getContainer(h.containerId ?? node.container).inspect().catch(() => undefined);
    if (!info || !info.State.Running || !info.State.Pid) {
      throw new UserError(`node ${name} of lab ${this.name} is not running (container ${node.container}: ${info ? info.State.Status : 'gone'})`,
        `\`tsunagari down ${this.name}\` and bring the lab up again`);
    }
    const pid = info.State.Pid;
    return { ...h, pid, nsRef: String(pid), netnsPath: `/proc/${pid}/ns/net` };
  }

  async exec(name: string, argv: string[], opts?: RunOptions): Promise<RunResult> {
    const h = await this.handle(name);
    return (await this.ctx.runtime(h.runtime)).exec(h, argv, opts);
  }

  /** argv prefix that runs a command inside the node with the caller's terminal attached. */
  async commandPrefix(name: string): Promise<string[]> {
    const h = await this.handle(name);
    return (await this.ctx.runtime(h.runtime)).commandPrefix(h);
  }
}

export function openLab(ctx: Context, name: string): RunningLab {
  const ledger = Ledger.read(name);
  if (!ledger) {
    const known = Ledger.all().map((l) => l.data.lab);
    throw new UserError(`unknown lab ${name}; known: ${knownList(known)}`, known.length ? undefined : 'no lab is up; `tsunagari up topologies/<lab>.yaml`');
  }
  return new RunningLab(ctx, ledger);
}
