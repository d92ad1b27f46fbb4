// Owns the `docker` runtime: one container per node through dockerode, NetworkMode none (tsunagari
// wires every interface itself), labelled with the lab and run. Commands run via nsenter into the
// container's namespaces (~4 ms) rather than `docker exec` (~80 ms). Never touches unlabelled containers.
import Docker from 'dockerode';
import { readFileSync, statSync } from 'node:fs';
import { run, mapLimit, type RunOptions, type RunResult } from '../util/exec.js';
import { tarFiles } from '../util/tar.js';
import { UserError } from '../util/errors.js';
import { DOCKER_LABEL, type Owner } from '../lab/labels.js';
import type { Node } from '../topology/types.js';
import type { DiscoveredNode, NodeHandle, Runtime } from './types.js';
import { NODE_PATH } from './types.js';

export class DockerRuntime implements Runtime {
  readonly name = 'docker' as const;
  /** `machine`: the other machine whose engine `docker` is (its containers are labelled with it). */
  constructor(readonly docker: Docker, readonly machine?: string) {}

  async create(node: Node, owner: Owner): Promise<NodeHandle> {
    const image = node.image as string;
    try {
      await this.docker.getImage(image).inspect();
    } catch {
      throw new UserError(`cannot create node ${node.name} (image ${image} is not in the local Docker engine)`,
        image.startsWith('tsunagari/') ? 'run `npx tsunagari setup` to build the built-in images'
          : `build or load ${image} locally (no image registry is used)`);
    }
    const mounts = node.files.filter((f) => f.mode === 'mount').map((f) => `${f.src}:${f.dst}:ro`);
    const container = await this.docker.createContainer({
      name: node.container,
      Image: image,
      Hostname: node.name,
      Env: Object.entries(node.env).map(([k, v]) => `${k}=${v}`),
      Labels: {
        [DOCKER_LABEL.lab]: owner.lab, [DOCKER_LABEL.run]: owner.run, [DOCKER_LABEL.node]: node.name, [DOCKER_LABEL.kind]: node.kind,
        ...(this.machine ? { [DOCKER_LABEL.machine]: this.machine } : {}),
      },
      HostConfig: {
        NetworkMode: 'none',
        // Never the machine's own resolver: a lookup inside a node must not leave for an address tsunagari
        // did not create (and must not hang 5 s on one the lab cannot reach). A node that needs a
        // resolver gets it from the lab (`files:` or `exec:`).
        Dns: ['127.0.0.1'],
        DnsSearch: ['.'],
        CapAdd: node.capabilities,
        Binds: mounts,
        Init: false,
        // IPv6 is on in every node; Docker may otherwise disable it in `none` namespaces.
        Sysctls: { 'net.ipv6.conf.all.disable_ipv6': '0', 'net.ipv6.conf.default.disable_ipv6': '0' },
      },
    });
    const copies = node.files.filter((f) => f.mode === 'copy');
    if (copies.length) {
      const tar = tarFiles(copies.map((f) => ({ path: f.dst, content: readFileSync(f.src), mode: statSync(f.src).mode & 0o777 })));
      await container.putArchive(tar, { path: '/' });
    }
    await container.start();
    const info = await container.inspect();
    const pid = info.State.Pid;
    if (!pid) throw new Error(`container ${node.container} of node ${node.name} did not start (state ${info.State.Status})`);
    if (this.machine) {
      return { node: node.name, runtime: 'docker', nsRef: String(pid), netnsPath: `machine:${this.machine}:/proc/${pid}/ns/net`, pid, containerId: info.Id, machine: this.machine };
    }
    return { node: node.name, runtime: 'docker', nsRef: String(pid), netnsPath: `/proc/${pid}/ns/net`, pid, containerId: info.Id };
  }

  /** Mount, UTS, IPC, network and PID namespaces of the container, and its root and working
   *  directory (`-r -w` without a value take the target's: a directory given by path would be opened
   *  in *our* mount namespace and leave the command with an invalid cwd). */
  commandPrefix(h: NodeHandle): string[] {
    return ['nsenter', '-t', String(h.pid), '-m', '-u', '-i', '-n', '-p', '-r', '-w', '--'];
  }

  exec(h: NodeHandle, argv: string[], opts: RunOptions = {}): Promise<RunResult> {
    const [file, ...pre] = this.commandPrefix(h) as [string, ...string[]];
    return run(file, [...pre, ...argv], { ...opts, env: { PATH: NODE_PATH, HOME: '/root', ...opts.env } });
  }

  async remove(d: { ref: string }): Promise<void> {
    try {
      await this.docker.getContainer(d.ref).remove({ force: true, v: true });
    } catch (e) {
      if ((e as { statusCode?: number }).statusCode !== 404) throw e;
    }
  }

  async discover(lab?: string): Promise<DiscoveredNode[]> {
    const filters = { label: [lab ? `${DOCKER_LABEL.lab}=${lab}` : DOCKER_LABEL.lab] };
    const list = await this.docker.listContainers({ all: true, filters: JSON.stringify(filters) });
    return list.map((c) => ({
      runtime: 'docker' as const, ref: c.Id, name: (c.Names[0] ?? c.Id).replace(/^\//, ''),
      lab: c.Labels[DOCKER_LABEL.lab] as string, run: c.Labels[DOCKER_LABEL.run] ?? '', node: c.Labels[DOCKER_LABEL.node],
    }));
  }

  /** Removes many containers with bounded parallelism. */
  async removeAll(refs: string[]): Promise<void> {
    await mapLimit(refs, 4, (ref) => this.remove({ ref }));
  }
}
