// Owns the connection to another machine's Docker engine (dockerode over TCP+TLS or SSH): a bounded
// reachability check with one clear error naming the machine and the fix, getting tsunagari's images there
// (streamed from this machine's engine: `docker save` here → load there; never a registry), and its agent.
// Must not create lab resources.
import type Docker from 'dockerode';
import { join } from 'node:path';
import { UserError } from '../util/errors.js';
import { paths } from '../setup/paths.js';
import { withLock } from '../setup/lock.js';
import { Agent, AGENT_IMAGE } from './agent.js';
import { dockerOptions, machineKey, machineLabel, parseDockerUrl, type Machine } from './machine.js';
import { dockerClient } from '../util/docker-client.js';

/** How long an engine may take to answer by default: over SSH that includes the handshake and starting
 *  `docker system dial-stdio` on the machine, which takes seconds on a busy host. */
export const PING_TIMEOUT_MS = { tcp: 5_000, ssh: 20_000 } as const;

/** The machine's `connect_timeout_ms`, else the default of its kind of engine URL. */
export function pingTimeoutMs(m: Machine): number {
  const url = parseDockerUrl(m.docker);
  return m.connectTimeoutMs ?? (typeof url !== 'string' && url.kind === 'ssh' ? PING_TIMEOUT_MS.ssh : PING_TIMEOUT_MS.tcp);
}
const LOAD_TIMEOUT_MS = 10 * 60_000;

function reason(e: unknown, ms: number): string {
  const err = e as NodeJS.ErrnoException & { reason?: string; statusCode?: number; level?: string };
  const code = err?.code;
  if (code === 'ECONNREFUSED') return 'connection refused: no engine listens there';
  if (code === 'EHOSTUNREACH' || code === 'ENETUNREACH') return 'no route to the host';
  if (code === 'ETIMEDOUT' || code === 'ESOCKETTIMEDOUT' || /timeout|timed out/i.test(err?.message ?? '')) return `no answer within ${ms / 1000} s`;
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return 'the host name does not resolve';
  if (/certificate|self.signed|unable to verify|SSL|TLS|alert/i.test(`${code ?? ''} ${err?.message ?? ''}`)) return `TLS handshake failed (${err.message})`;
  if (err?.level === 'client-authentication') return 'SSH authentication failed';
  if (/handshake|host key|hostVerifier|verification/i.test(err?.message ?? '')) return `SSH: ${err.message}`;
  return err?.message ?? String(e);
}

export class RemoteMachine {
  readonly docker: Docker;
  private agentP?: Promise<Agent>;
  private reachable?: Promise<void>;

  constructor(readonly machine: Machine) {
    this.docker = dockerClient(dockerOptions(machine));
  }

  get name(): string { return this.machine.name; }
  get label(): string { return machineLabel(this.machine); }

  /** Resolves when the engine answers within ms; else one UserError naming the machine and the fix. An answer
   *  is remembered for a few seconds (one lab start-up pings once), a failure not at all. */
  ping(ms = pingTimeoutMs(this.machine)): Promise<void> {
    if (this.reachable && Date.now() - this.pingedAt < 10_000) return this.reachable;
    this.pingedAt = Date.now();
    const p = this.pingOnce(ms);
    this.reachable = p;
    p.catch(() => { if (this.reachable === p) this.reachable = undefined; });
    return p;
  }
  private pingedAt = 0;

  private async pingOnce(ms: number): Promise<void> {
    // A client of its own with a socket timeout: nothing lingers after a host that never answers.
    const probe = dockerClient(dockerOptions(this.machine, { timeoutMs: ms }));
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        probe.ping(),
        new Promise((_, rej) => { timer = setTimeout(() => rej(Object.assign(new Error('timeout'), { code: 'ETIMEDOUT' })), ms); }),
      ]);
    } catch (e) {
      const url = parseDockerUrl(this.machine.docker);
      if (/Host denied|verification failed/i.test((e as Error)?.message ?? '')) {
        const src = this.machine.ssh?.knownHosts ? `the key for it in ${this.machine.ssh.knownHosts}` : 'a pinned host_key';
        throw new UserError(`cannot reach ${this.label} (its SSH host key is not ${src}; the connection was refused)`,
          'if the machine\'s host key really changed, update known_hosts or host_key; otherwise something else answers at that address');
      }
      const how = typeof url !== 'string' && url.kind === 'ssh'
        ? `check that ${url.user}@${url.host} accepts this SSH key and runs \`docker system dial-stdio\` (docs/machines.md)`
        : 'check that its dockerd listens there with --tlsverify and these certificates (docs/machines.md), or fix the machines: entry of the profile';
      throw new UserError(`cannot reach ${this.label} (${reason(e, ms)})`, how);
    } finally {
      if (timer) clearTimeout(timer);
    }
  }

  /**
   * Makes `image` present on the machine with the same image id as here: streamed from this machine's
   * engine (`docker save` → load) when missing or different. Never pulls.
   */
  async ensureImage(local: Docker, image: string): Promise<'present' | 'loaded'> {
    const here = await local.getImage(image).inspect().catch(() => undefined);
    if (!here) {
      throw new UserError(`cannot place a node with image ${image} on ${this.label} (the image is not in this machine's engine either)`,
        image.startsWith('tsunagari/') ? 'run `tsunagari setup` (builds the built-in images here; they are copied from here)' : `build or load ${image} here first`);
    }
    const same = async (): Promise<boolean> => (await this.docker.getImage(image).inspect().catch(() => undefined))?.Id === here.Id;
    if (await same()) return 'present';
    return withLock(join(paths.run, `machine-${machineKey(this.machine)}.image.lock`), `copy ${image} to ${this.label}`, LOAD_TIMEOUT_MS, async () => {
      if (await same()) return 'present';
      const tar = await local.getImage(image).get();
      let timer: NodeJS.Timeout | undefined;
      try {
        const res = await Promise.race([
          (async () => {
            const stream = await this.docker.loadImage(tar, { quiet: true });
            return new Promise<Array<Record<string, unknown>>>((resolve, reject) => {
              this.docker.modem.followProgress(stream, (err: Error | null, out: Array<Record<string, unknown>>) => (err ? reject(err) : resolve(out)));
            });
          })(),
          new Promise<never>((_, rej) => { timer = setTimeout(() => rej(new Error(`not done within ${LOAD_TIMEOUT_MS / 60000} min`)), LOAD_TIMEOUT_MS); }),
        ]);
        const bad = res.find((x) => x.error || x.errorDetail);
        if (bad) throw new Error(String(bad.error ?? JSON.stringify(bad.errorDetail)));
      } catch (e) {
        (tar as NodeJS.ReadableStream & { destroy?: () => void }).destroy?.();
        throw new Error(`cannot copy image ${image} to ${this.label} (${(e as Error).message})`);
      } finally {
        if (timer) clearTimeout(timer);
      }
      if (!(await same())) throw new Error(`copied image ${image} to ${this.label}, but its id there differs from ${here.Id}`);
      return 'loaded';
    });
  }

  /** The machine's agent (started once per process; the agent image is copied there first). */
  agent(local: () => Promise<Docker>): Promise<Agent> {
    this.agentP ??= (async () => {
      await this.ping();
      await this.ensureImage(await local(), AGENT_IMAGE);
      return Agent.ensure(this.docker, this.machine);
    })();
    this.agentP.catch(() => { this.agentP = undefined; });
    return this.agentP;
  }

  /** The running agent, without starting one (undefined when there is none). */
  async runningAgent(): Promise<Agent | undefined> {
    return Agent.find(this.docker, this.machine);
  }

  /** Forgets the agent (after it was removed). */
  forgetAgent(): void { this.agentP = undefined; }
}
