// Owns the connection to the machine's engines for lab operations: the Docker engine (only when a lab
// has docker nodes) and Open vSwitch (only when it has switches). Starts them through set-up when they
// are not running, reusing running ones. Must not create lab resources.
import type Docker from 'dockerode';
import { ensureDocker, ensureOvs } from '../setup/daemons.js';
import { Ovs } from '../fabric/ovs.js';
import { DockerRuntime } from '../runtime/docker.js';
import { NetnsRuntime } from '../runtime/netns.js';
import type { Runtime } from '../runtime/types.js';
import type { RuntimeName } from '../topology/types.js';
import { localDocker } from '../util/docker-client.js';

export type Log = (line: string) => void;

export class Context {
  private dockerP?: Promise<Docker>;
  private ovsP?: Promise<Ovs>;
  readonly netns = new NetnsRuntime();
  private dockerRt?: DockerRuntime;
  constructor(readonly log: Log = () => {}) {}

  docker(): Promise<Docker> {
    this.dockerP ??= ensureDocker(this.log).then((d) => localDocker(d.socketPath));
    return this.dockerP;
  }

  ovs(): Promise<Ovs> {
    this.ovsP ??= ensureOvs(this.log).then((o) => new Ovs(o.db));
    return this.ovsP;
  }

  async runtime(name: RuntimeName): Promise<Runtime> {
    if (name === 'netns') return this.netns;
    this.dockerRt ??= new DockerRuntime(await this.docker());
    return this.dockerRt;
  }

  async dockerRuntime(): Promise<DockerRuntime> {
    return (await this.runtime('docker')) as DockerRuntime;
  }
}
