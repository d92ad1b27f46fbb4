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
  private socketP?: Promise<string>;
  /** `dockerSocket`: use this engine (a ledger records the engine each lab lives on) instead of finding one. */
  constructor(readonly log: Log = () => {}, o: { dockerSocket?: string } = {}) {
    if (o.dockerSocket) this.socketP = Promise.resolve(o.dockerSocket);
  }

  /** The socket of the Docker engine labs are created on (started through set-up when none runs). */
  dockerSocket(): Promise<string> {
    this.socketP ??= ensureDocker(this.log).then((d) => d.socketPath);
    return this.socketP;
  }

  docker(): Promise<Docker> {
    this.dockerP ??= this.dockerSocket().then((s) => localDocker(s));
    return this.dockerP;
  }

  /** The same context on another Docker engine (OVS and namespaces are this machine's either way). */
  onEngine(dockerSocket: string): Context {
    const c = new Context(this.log, { dockerSocket });
    c.ovsP = this.ovsP;
    return c;
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
