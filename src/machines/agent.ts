// Owns the agent on another machine: one container per machine (NetworkMode host, PidMode host, NET_ADMIN …,
// image tsunagari/debian) that runs that machine's own Open vSwitch (ovsdb-server + userspace ovs-vswitchd)
// in the machine's network namespace, and through which tsunagari runs every host-side command there —
// veths into node containers (by their pid on that machine), OVS bridges and ports, VXLAN devices, addresses
// inside node namespaces (`nsenter --net=/proc/PID/ns/net` run ON that machine). Shared by all labs on the
// machine (one ovs-vswitchd per namespace); removed when no lab has anything left there (down.ts).
// Must not decide what to create; src/machines/lab.ts does.
import type Docker from 'dockerode';
import { UserError } from '../util/errors.js';
import { sleep, type RunResult } from '../util/exec.js';
import { Ovs } from '../fabric/ovs.js';
import { explainBatch, type HostIf } from '../fabric/host.js';
import { parseAlias } from '../lab/labels.js';
import { BUILTIN_IMAGES } from '../setup/images.js';
import { NODE_PATH } from '../runtime/types.js';
import { dockerExec } from './exec.js';
import { machineLabel, type Machine } from './machine.js';

export const AGENT_CONTAINER = 'tsunagari-agent';
export const AGENT_LABEL = 'tsunagari.agent';
export const AGENT_IMAGE = BUILTIN_IMAGES.debian;
const OVS_DB = 'unix:/run/openvswitch/db.sock';
const READY_MS = 30_000;

/**
 * PID 1 of the agent: refuses to start a second userspace ovs-vswitchd in the machine's namespace, starts
 * OVS (state inside the container: it goes with the agent), then idles like every tsunagari container.
 */
export const AGENT_SCRIPT = `set -e
me=$(readlink /proc/self/ns/net)
for p in /proc/[0-9]*; do
  [ "$(cat "$p/comm" 2>/dev/null)" = ovs-vswitchd ] || continue
  [ "$(readlink "$p/ns/net" 2>/dev/null)" = "$me" ] || continue
  echo "tsunagari-agent: another ovs-vswitchd (pid \${p#/proc/}) already runs in this machine's network namespace" >&2
  exit 3
done
command -v ovs-vswitchd >/dev/null || { echo "tsunagari-agent: ovs-vswitchd is not in image ${AGENT_IMAGE}" >&2; exit 4; }
mkdir -p /run/openvswitch /var/log/openvswitch /etc/openvswitch
ovsdb-tool create /etc/openvswitch/conf.db /usr/share/openvswitch/vswitch.ovsschema
ovsdb-server /etc/openvswitch/conf.db --remote=punix:/run/openvswitch/db.sock --pidfile=/run/openvswitch/ovsdb-server.pid \\
  --unixctl=/run/openvswitch/ovsdb-server.ctl --log-file=/var/log/openvswitch/ovsdb-server.log -vconsole:off --detach
ovs-vsctl --db=${OVS_DB} --timeout=10 --no-wait init
ovs-vswitchd ${OVS_DB} --pidfile=/run/openvswitch/ovs-vswitchd.pid --unixctl=/run/openvswitch/ovs-vswitchd.ctl \\
  --log-file=/var/log/openvswitch/ovs-vswitchd.log -vconsole:off --detach
exec /usr/local/sbin/tsunagari-init
`;

export class Agent {
  constructor(readonly docker: Docker, readonly machine: Machine, readonly id: string) {}

  /** The running agent of this engine, if any. */
  static async find(docker: Docker, machine: Machine): Promise<Agent | undefined> {
    const info = await docker.getContainer(AGENT_CONTAINER).inspect().catch(() => undefined);
    if (!info || info.Config.Labels?.[AGENT_LABEL] !== '1' || !info.State.Running) return undefined;
    return new Agent(docker, machine, info.Id);
  }

  /**
   * The machine's agent, started if needed (the image must already be on the machine) and waited for until
   * its OVS answers. A stopped or broken agent container is replaced.
   */
  static async ensure(docker: Docker, machine: Machine): Promise<Agent> {
    const existing = await docker.getContainer(AGENT_CONTAINER).inspect().catch(() => undefined);
    if (existing && existing.Config.Labels?.[AGENT_LABEL] !== '1') {
      throw new UserError(`cannot start tsunagari's agent on ${machineLabel(machine)} (a container named ${AGENT_CONTAINER} exists that tsunagari did not create)`,
        `remove or rename that container on ${machine.name}`);
    }
    if (existing?.State.Running) {
      const a = new Agent(docker, machine, existing.Id);
      await a.waitReady();
      return a;
    }
    if (existing) await docker.getContainer(existing.Id).remove({ force: true }).catch(() => undefined);
    let id: string;
    try {
      const c = await docker.createContainer({
        name: AGENT_CONTAINER,
        Image: AGENT_IMAGE,
        Hostname: 'tsunagari-agent',
        Cmd: ['sh', '-c', AGENT_SCRIPT],
        Labels: { [AGENT_LABEL]: '1' },
        HostConfig: {
          NetworkMode: 'host', PidMode: 'host', Init: false, AutoRemove: false,
          // What it needs rather than Privileged (which fails where the engine's bounding set lacks a
          // capability, e.g. CAP_SYS_RESOURCE in some VMs): interfaces and OVS, setns into node namespaces
          // by pid, raw sockets; writable /proc/sys (node sysctls through nsenter); tap devices for OVS.
          CapAdd: ['NET_ADMIN', 'SYS_ADMIN', 'SYS_PTRACE', 'NET_RAW'],
          SecurityOpt: ['seccomp=unconfined', 'apparmor=unconfined'],
          MaskedPaths: [], ReadonlyPaths: [],   // = --security-opt systempaths=unconfined
          Devices: [{ PathOnHost: '/dev/net/tun', PathInContainer: '/dev/net/tun', CgroupPermissions: 'rwm' }],
        },
      });
      await c.start();
      id = c.id;
    } catch (e) {
      // Another tsunagari process started it a moment ago.
      if ((e as { statusCode?: number }).statusCode !== 409) throw e;
      const info = await docker.getContainer(AGENT_CONTAINER).inspect();
      id = info.Id;
    }
    const a = new Agent(docker, machine, id);
    await a.waitReady();
    return a;
  }

  private async waitReady(): Promise<void> {
    const t0 = Date.now();
    let last = '';
    for (;;) {
      const info = await this.docker.getContainer(this.id).inspect();
      if (!info.State.Running) {
        const logs = await this.logs();
        throw new UserError(`cannot start tsunagari's agent on ${machineLabel(this.machine)} (it exited with ${info.State.ExitCode}): ${logs || '(no output)'}`,
          /another ovs-vswitchd/.test(logs) ? `stop that ovs-vswitchd on ${this.machine.name} (one userspace Open vSwitch per network namespace)`
            : /not in image/.test(logs) ? 'run `tsunagari setup` here (tsunagari/debian gains openvswitch-switch), then up again' : undefined);
      }
      const r = await this.run(['sh', '-c', `ovs-vsctl --db=${OVS_DB} --timeout=2 show >/dev/null && ovs-appctl -t /run/openvswitch/ovs-vswitchd.ctl --timeout=2 version >/dev/null`],
        { timeoutMs: 10_000 }).catch((e: Error) => ({ code: -1, stdout: '', stderr: e.message }));
      if (r.code === 0) return;
      last = (r.stderr || r.stdout).trim().split('\n').pop() ?? '';
      if (Date.now() - t0 > READY_MS) {
        throw new Error(`tsunagari's agent on ${machineLabel(this.machine)}: Open vSwitch did not answer within ${READY_MS / 1000} s (${last}); ` +
          `its logs: ${await this.logs()}`);
      }
      await sleep(200);
    }
  }

  private async logs(): Promise<string> {
    const buf = await this.docker.getContainer(this.id).logs({ stdout: true, stderr: true, tail: 20 }).catch(() => undefined);
    // Multiplexed frames: 8-byte headers before each chunk.
    if (!buf) return '';
    const b = Buffer.isBuffer(buf) ? buf : Buffer.from(String(buf));
    const parts: string[] = [];
    for (let i = 0; i + 8 <= b.length;) {
      const n = b.readUInt32BE(i + 4);
      parts.push(b.subarray(i + 8, i + 8 + n).toString('utf8'));
      i += 8 + n;
    }
    return (parts.length ? parts.join('') : b.toString('utf8')).trim().split('\n').slice(-8).join(' | ');
  }

  /** Runs a program in the agent (the machine's network namespace; its pids are the machine's). */
  run(argv: string[], o: { input?: string; timeoutMs?: number } = {}): Promise<RunResult> {
    return dockerExec(this.docker, this.id, argv, { ...o, killAfter: true, env: { PATH: NODE_PATH } });
  }

  async runOk(argv: string[], o: { input?: string; timeoutMs?: number } = {}): Promise<string> {
    const r = await this.run(argv, o);
    if (r.code !== 0) {
      const detail = (r.stderr || r.stdout).trim().split('\n').slice(-5).join(' | ');
      throw new Error(`on ${this.machine.name}: command failed (exit ${r.code}): ${argv.join(' ')}${detail ? `: ${detail}` : ''}`);
    }
    return r.stdout;
  }

  /** The machine's Open vSwitch (the agent's), with the same operations as ours. */
  ovs(): Ovs {
    return new Ovs(OVS_DB, (argv) => this.runOk(argv, { timeoutMs: 40_000 }));
  }

  /** `ip -batch` in the machine's own namespace; the error names the failing line and the machine. */
  async hostBatch(lines: string[], what: string): Promise<void> {
    if (!lines.length) return;
    const r = await this.run(['ip', '-batch', '-'], { input: lines.join('\n') + '\n', timeoutMs: 60_000 });
    if (r.code !== 0) throw new Error(`cannot ${what} on ${this.machine.name}: ${explainBatch(r.stderr, lines)}`);
  }

  /** `ip -batch` (and anything else) inside a node's namespace on that machine, by the node's pid there. */
  nsArgv(pid: number, argv: string[]): string[] {
    return ['nsenter', `--net=/proc/${pid}/ns/net`, ...argv];
  }

  /** Host interfaces of the machine, with their tsunagari label if they carry one. */
  async hostIfs(): Promise<Array<{ name: string; kind?: string; peerElsewhere: boolean; owner?: HostIf }>> {
    const out = await this.runOk(['ip', '-j', '-d', 'link', 'show'], { timeoutMs: 30_000 });
    const links = JSON.parse(out || '[]') as Array<{ ifname: string; ifalias?: string; link_netnsid?: number; linkinfo?: { info_kind?: string } }>;
    return links.map((l) => {
      const o = parseAlias(l.ifalias);
      return { name: l.ifname, kind: l.linkinfo?.info_kind, peerElsewhere: l.link_netnsid !== undefined, ...(o ? { owner: { name: l.ifname, ...o } } : {}) };
    });
  }

  /** Deletes interfaces of the machine by name (absent ones are fine). */
  async deleteHostIfs(names: string[]): Promise<void> {
    if (!names.length) return;
    const lines = names.map((n) => `link del dev ${n}`);
    const r = await this.run(['ip', '-force', '-batch', '-'], { input: lines.join('\n') + '\n', timeoutMs: 60_000 });
    const real = r.stderr.split('\n').filter((l) => l.trim() && !/^Command failed -:\d+/.test(l) && !/Cannot find device|does not exist/.test(l));
    if (r.code !== 0 && real.length) throw new Error(`cannot delete interfaces ${names.join(', ')} on ${this.machine.name}: ${explainBatch(r.stderr, lines)}`);
  }

  async remove(): Promise<void> {
    await this.docker.getContainer(this.id).remove({ force: true }).catch((e: { statusCode?: number }) => {
      if (e.statusCode !== 404) throw e;
    });
  }
}
