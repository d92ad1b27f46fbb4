// Owns the `docker` runtime on another machine: the same containers as src/runtime/docker.ts (same labels
// plus tsunagari.machine), created through that machine's engine after its image was copied there from this
// machine's engine. Commands in such a node run through that engine (Docker exec, ≈ tens of ms), never by
// nsenter here: its pid is a pid of the other machine. Must not touch unlabelled containers.
import type Docker from 'dockerode';
import { DockerRuntime } from '../runtime/docker.js';
import { NODE_PATH, type NodeHandle } from '../runtime/types.js';
import type { Node } from '../topology/types.js';
import type { Owner } from '../lab/labels.js';
import type { RunOptions, RunResult } from '../util/exec.js';
import { UserError } from '../util/errors.js';
import { dockerExec } from './exec.js';
import { dockerCliArgs } from './machine.js';
import type { RemoteMachine } from './engine.js';

export class RemoteDockerRuntime extends DockerRuntime {
  constructor(readonly remote: RemoteMachine, private readonly local: () => Promise<Docker>) {
    super(remote.docker, remote.name);
  }

  override async create(node: Node, owner: Owner): Promise<NodeHandle> {
    await this.remote.ping();
    await this.remote.ensureImage(await this.local(), node.image as string);
    return super.create(node, owner);
  }

  /** `docker --host … exec -i [-t] <container>`: the docker CLI must be installed here. */
  override commandPrefix(h: NodeHandle): string[] {
    if (!h.containerId) throw new UserError(`node ${h.node} on machine ${this.remote.name} has no container id`);
    return ['docker', ...dockerCliArgs(this.remote.machine), 'exec', '-i', ...(process.stdin.isTTY ? ['-t'] : []), '-e', `PATH=${NODE_PATH}`, h.containerId];
  }

  override exec(h: NodeHandle, argv: string[], opts: RunOptions = {}): Promise<RunResult> {
    if (!h.containerId) throw new UserError(`node ${h.node} on machine ${this.remote.name} has no container id`);
    return dockerExec(this.docker, h.containerId, argv, {
      ...(opts.input !== undefined ? { input: opts.input } : {}),
      ...(opts.timeoutMs !== undefined ? { timeoutMs: opts.timeoutMs } : {}),
      env: { PATH: NODE_PATH, HOME: '/root', ...(opts.env as Record<string, string | undefined> | undefined) },
    });
  }
}
