// TEST FIXTURE — never used by product code. A stand-in "physical lab" for the lab profile: the routers r1
// and r2 of topologies/dual-path.yaml as plain Docker containers running FRR + sshd (the frr kind's own
// supervisor and start lines), a "lab switch" network namespace `standin-sw` with Linux bridges, kernel
// VXLAN towards this machine (VNI 1001 → r1:eth1, VNI 1002 → r2:eth1) and a management bridge, and two
// direct veth "cables" (primary eth2, backup eth3) between the routers. Reached like a real lab: SSH from
// the host namespace with a key and a known_hosts file, test hosts joined through VXLAN over the underlay
// sl-up0 (198.18.255.1/30) ↔ up0 (198.18.255.2/30); this machine sits on the management LAN with
// sl-mgmt0 (198.18.254.250/24), as a test server on a lab's management VLAN does.
//
// Built OUTSIDE tsunagari's lab engine on purpose: no ledger, no `tsunagari.*` labels of its own, no OVS,
// no `tsunagari ` ifalias, so `tsunagari cleanup` neither finds nor removes it. Containers carry only
// `org.tsunagari-standin.lab=dual-path` (plus the labels Docker copies from the image itself,
// tsunagari.image/tsunagari.recipe, which Docker cannot drop and no discovery looks at). standinDown()
// removes exactly what standinUp() creates, found by that label and by fixed names.
import { spawnSync } from 'node:child_process';
import { createConnection } from 'node:net';
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type Docker from 'dockerode';
import { ed25519KeyPair } from '../../src/devices/keygen.js';
import { ensureDocker } from '../../src/setup/daemons.js';
import { STATE_DIR, type Log } from '../../src/setup/paths.js';
import { FRR_CONFIG_FILE, FRR_SERVICE, SSH_HOST_KEY } from '../../src/topology/frr.js';
import type { ServiceEnv } from '../../src/topology/kinds.js';
import type { Node } from '../../src/topology/types.js';
import { CONTAINER_SERVICE_DIR, PACKAGE_ROOT } from '../../src/lab/services.js';
import { parsePublicKey } from '../../src/devices/hostkey.js';
import { parseFrrOspfNeighbours } from '../../src/devices/frr-parse.js';
import { NODE_PATH } from '../../src/runtime/types.js';
import { tarFiles } from '../../src/util/tar.js';
import { run, sleep, type RunOptions, type RunResult } from '../../src/util/exec.js';
import { UserError } from '../../src/util/errors.js';
import { hostBatch, nsBatch } from '../../src/fabric/host.js';
import { localDocker } from '../../src/util/docker-client.js';

// ---- what the stand-in is ----------------------------------------------------------------------------

export const STANDIN_LAB = 'dual-path';
export const STANDIN_LABEL = 'org.tsunagari-standin.lab';
export const STANDIN_IMAGE = 'tsunagari/debian:latest';
export const SWITCH_NETNS = 'standin-sw';
export const HOST_UNDERLAY_IF = 'sl-up0';
export const SWITCH_UNDERLAY_IF = 'up0';
export const HOST_UNDERLAY_ADDR = '198.18.255.1';
export const SWITCH_UNDERLAY_ADDR = '198.18.255.2';
export const UNDERLAY_SUBNET = '198.18.255.0/30';
export const MGMT_SUBNET = '198.18.254.0/24';
export const MGMT_GATEWAY = '198.18.254.1';
/** The test machine's own leg on the management LAN (on-link: the routers need no route back, so a
 *  scenario that shuts mgmt0 and is reverted gets management back as a real lab's management VLAN does). */
export const HOST_MGMT_IF = 'sl-mgmt0';
export const HOST_MGMT_ADDR = '198.18.254.250';
export const VXLAN_PORT = 4789;
/** Underlay MTU: room for VXLAN's 50 bytes so the LANs keep 1500 (a physical lab's underlay would too). */
const UNDERLAY_MTU = 1550;
const CAPS = ['NET_ADMIN', 'NET_RAW', 'SYS_ADMIN'];
const READY_MS = 30_000;

export type RouterName = 'r1' | 'r2';
export const ROUTERS: readonly RouterName[] = ['r1', 'r2'];

interface RouterSpec {
  mgmt: string; eth1: string; eth2: string; eth3: string; lo: string;
  vni: number; bridge: string; vxlan: string; lan: string; conf: string;
}

const SPEC: Record<RouterName, RouterSpec> = {
  r1: { mgmt: '198.18.254.11/24', eth1: '10.1.0.1/24', eth2: '10.12.0.1/30', eth3: '10.12.1.1/30', lo: '10.255.0.1/32',
    vni: 1001, bridge: 'br1001', vxlan: 'vxlan1001', lan: '10.1.0.0/24', conf: 'fixtures/frr/dual-path/r1.conf' },
  r2: { mgmt: '198.18.254.12/24', eth1: '10.2.0.1/24', eth2: '10.12.0.2/30', eth3: '10.12.1.2/30', lo: '10.255.0.2/32',
    vni: 1002, bridge: 'br1002', vxlan: 'vxlan1002', lan: '10.2.0.0/24', conf: 'fixtures/frr/dual-path/r2.conf' },
};

const addr = (cidr: string): string => cidr.split('/')[0]!;
export const containerName = (r: RouterName): string => `standin-${STANDIN_LAB}-${r}`;
export const standinDir = (): string => join(STATE_DIR, 'standin', STANDIN_LAB);

export interface StandinRouter {
  container: string;
  mgmtAddress: string;                // SSH target from the host namespace
  loopback: string;
  lan: { iface: 'eth1'; address: string; subnet: string; vni: number };
  /** SHA256 fingerprint of its ed25519 host key (once up; read from known_hosts). */
  hostKeyFingerprint?: string;
}

export interface StandinInfo {
  lab: string;
  dir: string;
  username: 'root';
  keyFile: string;                    // ed25519, OpenSSH format, 0600
  publicKeyFile: string;
  knownHostsFile: string;             // `198.18.254.11 ssh-ed25519 AAAA…`, one line per router
  wrongKnownHostsFile: string;        // same addresses, a key neither router has (host-key fault tests)
  switchNetns: string;
  underlay: { hostIf: string; hostAddress: string; switchIf: string; switchAddress: string; mtu: number };
  vxlan: { dstport: number; remote: string; local: string };
  mgmtSubnet: string;
  routers: Record<RouterName, StandinRouter>;
  /** `export TSUNAGARI_LAB_KEY=…` and `export TSUNAGARI_LAB_KNOWN_HOSTS=…`. */
  env: string[];
  upMs?: number;
}

/** Paths and addresses (no side effects; host key fingerprints when known_hosts exists). */
export function standinInfo(): StandinInfo {
  const dir = standinDir();
  const knownHostsFile = join(dir, 'known_hosts');
  const fps = new Map<string, string>();
  try {
    for (const line of readFileSync(knownHostsFile, 'utf8').split('\n')) {
      const [host, ...rest] = line.trim().split(/\s+/);
      const k = host ? parsePublicKey(rest.join(' ')) : undefined;
      if (host && k) fps.set(host, k.fingerprint);
    }
  } catch { /* not up */ }
  const routers = Object.fromEntries(ROUTERS.map((r) => {
    const s = SPEC[r];
    const fp = fps.get(addr(s.mgmt));
    return [r, {
      container: containerName(r), mgmtAddress: addr(s.mgmt), loopback: addr(s.lo),
      lan: { iface: 'eth1', address: addr(s.eth1), subnet: s.lan, vni: s.vni },
      ...(fp ? { hostKeyFingerprint: fp } : {}),
    } satisfies StandinRouter];
  })) as Record<RouterName, StandinRouter>;
  const keyFile = join(dir, 'id_ed25519');
  return {
    lab: STANDIN_LAB, dir, username: 'root', keyFile, publicKeyFile: `${keyFile}.pub`, knownHostsFile,
    wrongKnownHostsFile: join(dir, 'known_hosts.wrong'), switchNetns: SWITCH_NETNS,
    underlay: { hostIf: HOST_UNDERLAY_IF, hostAddress: HOST_UNDERLAY_ADDR, switchIf: SWITCH_UNDERLAY_IF, switchAddress: SWITCH_UNDERLAY_ADDR, mtu: UNDERLAY_MTU },
    vxlan: { dstport: VXLAN_PORT, remote: SWITCH_UNDERLAY_ADDR, local: HOST_UNDERLAY_ADDR },
    mgmtSubnet: MGMT_SUBNET,
    routers,
    env: [`export TSUNAGARI_LAB_KEY=${keyFile}`, `export TSUNAGARI_LAB_KNOWN_HOSTS=${knownHostsFile}`],
  };
}

// ---- small helpers ---------------------------------------------------------------------------------

function requireRoot(): void {
  if (process.getuid?.() !== 0) {
    throw new UserError('the stand-in lab needs root (it creates network namespaces, veths, VXLAN and containers)',
      'run it as root, e.g. `sudo node --import tsx scripts/standin-lab.ts up`');
  }
}

async function dockerClient(log: Log): Promise<Docker> {
  const { socketPath } = await ensureDocker(log);
  return localDocker(socketPath);
}

async function must(what: string, file: string, args: string[], opts: RunOptions = {}): Promise<string> {
  const r = await run(file, args, { timeoutMs: 30_000, ...opts });
  if (r.code !== 0) throw new Error(`stand-in lab: cannot ${what} (\`${[file, ...args].join(' ')}\` exited ${r.code}: ${(r.stderr || r.stdout).trim().split('\n').slice(-3).join(' | ')})`);
  return r.stdout;
}

/** `ip -batch -` here or inside a namespace (the fabric's own runner: the error names the failing line). */
async function ipBatch(what: string, lines: string[], nsPath?: string): Promise<void> {
  try {
    await (nsPath ? nsBatch(nsPath, lines, what) : hostBatch(lines, what));
  } catch (e) {
    throw new Error(`stand-in lab: ${(e as Error).message}`);
  }
}

const swNs = `/run/netns/${SWITCH_NETNS}`;

/** A command inside a router's container (its mount, UTS, IPC, net and PID namespaces), like the docker runtime. */
function inRouter(pid: number, argv: string[], opts: RunOptions = {}): Promise<RunResult> {
  return run('nsenter', ['-t', String(pid), '-m', '-u', '-i', '-n', '-p', '-r', '-w', '--', ...argv],
    { timeoutMs: 15_000, ...opts, env: { PATH: NODE_PATH, HOME: '/root', ...opts.env } });
}

async function routerPid(docker: Docker, r: RouterName): Promise<number> {
  let info: Docker.ContainerInspectInfo;
  try { info = await docker.getContainer(containerName(r)).inspect(); } catch {
    throw new UserError(`stand-in lab: router ${r} (container ${containerName(r)}) does not exist`, 'run `node --import tsx scripts/standin-lab.ts up`');
  }
  if (!info.State.Running || !info.State.Pid) throw new Error(`stand-in lab: router ${r} (container ${containerName(r)}) is ${info.State.Status}`);
  return info.State.Pid;
}

/** Runs a command in a router of the stand-in that is up (nsenter, not SSH: for fixtures and fault tests). */
export async function standinExec(r: RouterName, argv: string[], opts: RunOptions = {}): Promise<RunResult> {
  const docker = await dockerClient(() => {});
  return inRouter(await routerPid(docker, r), argv, opts);
}

async function hostLinkExists(name: string): Promise<boolean> {
  return (await run('ip', ['link', 'show', 'dev', name])).code === 0;
}

async function netnsExists(name: string): Promise<boolean> {
  return existsSync(`/run/netns/${name}`);
}

/** The frr kind's node description, so FRR_SERVICE's start and ready lines are exactly the kind's own. */
function frrNode(r: RouterName): Node {
  return {
    name: r, kind: 'frr', runtime: 'docker', image: STANDIN_IMAGE, container: containerName(r), netns: '',
    interfaces: [], routes: [], sysctls: {}, exec: [], env: {}, capabilities: [...CAPS],
    files: [{ src: join(PACKAGE_ROOT, SPEC[r].conf), dst: FRR_CONFIG_FILE, mode: 'copy' }],
  };
}

function serviceEnv(r: RouterName): ServiceEnv {
  return { lab: `standin-${STANDIN_LAB}`, node: frrNode(r), dir: CONTAINER_SERVICE_DIR, nodeBin: process.execPath, root: PACKAGE_ROOT };
}

// ---- up ----------------------------------------------------------------------------------------------

export interface StandinOptions { log?: Log; }

/** Removes a previous stand-in, then builds it and waits (≤ 30 s) until SSH and OSPF (both paths) are up.
 *  On failure removes what it built and rethrows. */
export async function standinUp(o: StandinOptions = {}): Promise<StandinInfo> {
  const log = o.log ?? (() => {});
  requireRoot();
  const t0 = Date.now();
  const docker = await dockerClient(log);
  try { await docker.getImage(STANDIN_IMAGE).inspect(); } catch {
    throw new UserError(`stand-in lab: image ${STANDIN_IMAGE} is not in the Docker engine`, 'run `npx tsunagari setup`');
  }
  await removeAll(docker, log);
  try {
    await build(docker, log);
  } catch (e) {
    log(`stand-in lab: building failed, removing what was built`);
    await removeAll(docker, log).catch((d: Error) => log(`stand-in lab: removing failed too: ${d.message}`));
    throw e;
  }
  const info = standinInfo();
  info.upMs = Date.now() - t0;
  log(`stand-in lab ${STANDIN_LAB} up in ${(info.upMs / 1000).toFixed(1)} s`);
  return info;
}

async function build(docker: Docker, log: Log): Promise<void> {
  const info = standinInfo();
  const pub = createKeys(info);

  // the lab switch
  await must(`create network namespace ${SWITCH_NETNS}`, 'ip', ['netns', 'add', SWITCH_NETNS]);
  await must(`turn forwarding on in ${SWITCH_NETNS}`, 'nsenter', [`--net=${swNs}`, 'sysctl', '-q', '-w', 'net.ipv4.ip_forward=1']);

  // the routers (FRR is started once their interfaces exist, as the lab engine does)
  // allSettled: a failure of one must not leave the other still being created while the rest is removed
  const created = await Promise.allSettled(ROUTERS.map((r) => createRouter(docker, r)));
  const failed = created.find((c): c is PromiseRejectedResult => c.status === 'rejected');
  if (failed) throw failed.reason;
  const pids = Object.fromEntries(ROUTERS.map((r, i) => [r, (created[i] as PromiseFulfilledResult<number>).value])) as Record<RouterName, number>;
  log(`stand-in lab: containers ${ROUTERS.map(containerName).join(', ')} started`);

  // cables: created directly in their namespaces, never under these names in the host namespace
  const [p1, p2] = [pids.r1, pids.r2];
  await ipBatch('create the underlay, LAN, management and cable veths', [
    `link add ${HOST_UNDERLAY_IF} mtu ${UNDERLAY_MTU} type veth peer name ${SWITCH_UNDERLAY_IF} mtu ${UNDERLAY_MTU} netns ${SWITCH_NETNS}`,
    ...ROUTERS.flatMap((r) => [
      `link add eth1 netns ${pids[r]} type veth peer name ${r}-eth1 netns ${SWITCH_NETNS}`,
      `link add mgmt0 netns ${pids[r]} type veth peer name ${r}-mgmt0 netns ${SWITCH_NETNS}`,
    ]),
    `link add eth2 netns ${p1} type veth peer name eth2 netns ${p2}`,
    `link add eth3 netns ${p1} type veth peer name eth3 netns ${p2}`,
    `addr add ${HOST_UNDERLAY_ADDR}/30 dev ${HOST_UNDERLAY_IF}`,
    `link set dev ${HOST_UNDERLAY_IF} up`,
    `link add ${HOST_MGMT_IF} type veth peer name host-mgmt netns ${SWITCH_NETNS}`,
    `addr add ${HOST_MGMT_ADDR}/24 dev ${HOST_MGMT_IF}`,
    `link set dev ${HOST_MGMT_IF} up`,
  ]);
  await ipBatch(`configure the switch namespace ${SWITCH_NETNS}`, [
    'link set dev lo up',
    `addr add ${SWITCH_UNDERLAY_ADDR}/30 dev ${SWITCH_UNDERLAY_IF}`,
    `link set dev ${SWITCH_UNDERLAY_IF} up`,
    ...ROUTERS.flatMap((r) => {
      const s = SPEC[r];
      return [
        `link add ${s.vxlan} mtu 1500 type vxlan id ${s.vni} local ${SWITCH_UNDERLAY_ADDR} remote ${HOST_UNDERLAY_ADDR} dstport ${VXLAN_PORT} dev ${SWITCH_UNDERLAY_IF}`,
        `link add ${s.bridge} type bridge stp_state 0`,
        `link set dev ${s.vxlan} master ${s.bridge}`,
        `link set dev ${r}-eth1 master ${s.bridge}`,
        `link set dev ${s.vxlan} up`,
        `link set dev ${r}-eth1 up`,
        `link set dev ${s.bridge} up`,
      ];
    }),
    'link add brm type bridge stp_state 0',
    ...[...ROUTERS.map((r) => `${r}-mgmt0`), 'host-mgmt'].flatMap((i) => [`link set dev ${i} master brm`, `link set dev ${i} up`]),
    `addr add ${MGMT_GATEWAY}/24 dev brm`,
    'link set dev brm up',
  ], swNs);
  for (const r of ROUTERS) {
    const s = SPEC[r];
    const ns = `/proc/${pids[r]}/ns/net`;
    await ipBatch(`configure the interfaces of router ${r}`, [
      `addr add ${s.mgmt} dev mgmt0`, 'link set dev mgmt0 up',
      `addr add ${s.eth1} dev eth1`, 'link set dev eth1 up',
      `addr add ${s.eth2} dev eth2`, 'link set dev eth2 up',
      `addr add ${s.eth3} dev eth3`, 'link set dev eth3 up',
      `addr add ${s.lo} dev lo`, 'link set dev lo up',
    ], ns);
    await must(`turn forwarding off on mgmt0 of ${r}`, 'nsenter', [`--net=${ns}`, 'sysctl', '-q', '-w', 'net.ipv4.conf.mgmt0.forwarding=0']);
    await must(`turn tx checksum offload off on eth1 of ${r}`, 'nsenter', [`--net=${ns}`, 'ethtool', '-K', 'eth1', 'tx', 'off']);
  }
  await must(`turn tx checksum offload off on ${SWITCH_UNDERLAY_IF}`, 'nsenter', [`--net=${swNs}`, 'ethtool', '-K', SWITCH_UNDERLAY_IF, 'tx', 'off']);
  await must(`turn tx checksum offload off on ${HOST_UNDERLAY_IF}`, 'ethtool', ['-K', HOST_UNDERLAY_IF, 'tx', 'off']);
  log('stand-in lab: switch, VXLAN 1001/1002, management bridge and cables wired');

  // FRR + sshd, exactly as the frr kind starts them; then pin the host keys
  const hostKeys = await Promise.all(ROUTERS.map(async (r) => {
    await startFrr(pids[r], r, pub);
    return readHostKey(pids[r], r);
  }));
  writeKnownHosts(info, hostKeys);
  log('stand-in lab: FRR and sshd ready on r1 and r2, host keys written to known_hosts');

  await waitReachable(pids, log);
}

async function createRouter(docker: Docker, r: RouterName): Promise<number> {
  const c = await docker.createContainer({
    name: containerName(r),
    Image: STANDIN_IMAGE,
    Hostname: r,
    Labels: { [STANDIN_LABEL]: STANDIN_LAB },
    HostConfig: {
      NetworkMode: 'none',
      Dns: ['127.0.0.1'],
      DnsSearch: ['.'],
      CapAdd: CAPS,
      Init: false,
      Sysctls: { 'net.ipv4.ip_forward': '1', 'net.ipv6.conf.all.disable_ipv6': '0', 'net.ipv6.conf.default.disable_ipv6': '0' },
    },
  });
  const conf = readFileSync(join(PACKAGE_ROOT, SPEC[r].conf));
  await c.putArchive(tarFiles([{ path: FRR_CONFIG_FILE, content: conf, mode: 0o640 }]), { path: '/' });
  await c.start();
  const info = await c.inspect();
  if (!info.State.Pid) throw new Error(`stand-in lab: container ${containerName(r)} did not start (state ${info.State.Status})`);
  return info.State.Pid;
}

/** The client key pair (ssh-keygen when present, else ssh2's generator), both OpenSSH format. */
function createKeys(info: StandinInfo): string {
  mkdirSync(info.dir, { recursive: true, mode: 0o700 });
  chmodSync(info.dir, 0o700);
  rmSync(info.keyFile, { force: true });
  rmSync(info.publicKeyFile, { force: true });
  const comment = `standin-${STANDIN_LAB}`;
  let pub: string | undefined;
  if (existsSync('/usr/bin/ssh-keygen')) {
    const r = spawnSyncSafe('/usr/bin/ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', comment, '-f', info.keyFile]);
    if (r) pub = readFileSync(info.publicKeyFile, 'utf8').trim();
  }
  if (!pub) {
    const pair = ed25519KeyPair(comment);
    writeFileSync(info.keyFile, pair.private, { mode: 0o600 });
    pub = pair.public.trim();
    writeFileSync(info.publicKeyFile, `${pub}\n`, { mode: 0o644 });
  }
  chmodSync(info.keyFile, 0o600);
  return pub;
}

/** Fixed argv, no shell; true when the program exited 0 within 15 s. */
function spawnSyncSafe(file: string, args: string[]): boolean {
  return spawnSync(file, args, { stdio: ['ignore', 'ignore', 'pipe'], timeout: 15_000 }).status === 0;
}

async function startFrr(pid: number, r: RouterName, publicKey: string): Promise<void> {
  const k = await inRouter(pid, ['sh', '-c', 'umask 077 && mkdir -p /root/.ssh && cat >/root/.ssh/authorized_keys && chmod 700 /root /root/.ssh'],
    { input: `${publicKey}\n` });
  if (k.code !== 0) throw new Error(`stand-in lab: router ${r}: cannot install the client key (${k.stderr.trim() || `exit ${k.code}`})`);
  const env = serviceEnv(r);
  for (const line of FRR_SERVICE.start(env)) {
    const x = await inRouter(pid, ['sh', '-c', line], { timeoutMs: 30_000 });
    if (x.code !== 0) throw new Error(`stand-in lab: router ${r}: cannot start FRR (\`${line.split('\n')[0]}\` exited ${x.code}: ${(x.stderr || x.stdout).trim()})`);
  }
  // the frr kind's health check, bounded by its own timeout; a supervisor that died is named at once
  const pidFile = FRR_SERVICE.pidFile(env);
  const alive = `p=$(cat ${pidFile} 2>/dev/null) && [ -n "$p" ] && kill -0 "$p" 2>/dev/null`;
  const check = `${FRR_SERVICE.ready.command(env)} && exit 0; ${alive} || exit 3; exit 1`;
  const t0 = Date.now();
  let last = '';
  for (;;) {
    const x = await inRouter(pid, ['sh', '-c', check], { timeoutMs: 10_000 });
    if (x.code === 0) return;
    last = (x.stderr || x.stdout).trim().split('\n').pop() ?? '';
    if (x.code === 3 || Date.now() - t0 > FRR_SERVICE.ready.timeoutMs) {
      const failed = FRR_SERVICE.reason ? (await inRouter(pid, ['cat', FRR_SERVICE.reason(env)])).stdout.trim() : '';
      const tail = (await inRouter(pid, ['tail', '-n', '12', FRR_SERVICE.log(env)])).stdout.trimEnd();
      throw new Error(`stand-in lab: router ${r}: FRR is not ready (${x.code === 3 ? `the supervisor exited${failed ? `: ${failed}` : ''}`
        : `${FRR_SERVICE.ready.what}: not within ${FRR_SERVICE.ready.timeoutMs / 1000} s; last: ${last}`}); last lines of ${FRR_SERVICE.log(env)}:\n${tail}`);
    }
    await sleep(FRR_SERVICE.ready.intervalMs);
  }
}

async function readHostKey(pid: number, r: RouterName): Promise<{ address: string; line: string }> {
  const x = await inRouter(pid, ['cat', `${SSH_HOST_KEY}.pub`]);
  const k = x.code === 0 ? parsePublicKey(x.stdout) : undefined;
  if (!k) throw new Error(`stand-in lab: router ${r}: cannot read its host key ${SSH_HOST_KEY}.pub (${x.stderr.trim() || 'not an OpenSSH public key'})`);
  return { address: addr(SPEC[r].mgmt), line: `${k.type} ${k.blob.toString('base64')}` };
}

function writeKnownHosts(info: StandinInfo, keys: Array<{ address: string; line: string }>): void {
  writeFileSync(info.knownHostsFile, keys.map((k) => `${k.address} ${k.line}\n`).join(''), { mode: 0o644 });
  // same addresses, a key neither router holds: a device whose host key changed
  const wrong = ed25519KeyPair().public.trim().split(/\s+/).slice(0, 2).join(' ');
  writeFileSync(info.wrongKnownHostsFile, keys.map((k) => `${k.address} ${wrong}\n`).join(''), { mode: 0o644 });
}

// ---- readiness ---------------------------------------------------------------------------------------

/** Does sshd answer (SSH-2.0 banner) at address:22 from this (the host) namespace? undefined = yes. */
export function sshBanner(address: string, timeoutMs = 1000): Promise<string | undefined> {
  return new Promise((resolve) => {
    const s = createConnection({ host: address, port: 22 });
    let buf = '';
    const done = (why: string | undefined): void => { clearTimeout(t); s.destroy(); resolve(why); };
    const t = setTimeout(() => done(buf ? `no SSH banner (got ${JSON.stringify(buf.slice(0, 20))})` : `no answer within ${timeoutMs} ms`), timeoutMs);
    s.on('data', (d: Buffer) => { buf += d.toString('latin1'); if (buf.includes('\n')) done(buf.startsWith('SSH-2.0') ? undefined : `no SSH banner (got ${JSON.stringify(buf.slice(0, 20))})`); });
    s.on('error', (e: NodeJS.ErrnoException) => done(e.code ?? e.message));
  });
}

/** OSPF of a router: undefined when its neighbours on eth2 and eth3 are Full AND it has the OSPF route to the
 *  other router's LAN, else what is missing. Full comes seconds before the route (LSA minimum interval 5 s,
 *  twice): a lab that is "ready" at Full gives h1 → h2 nothing to cross for another ~10 s. */
async function ospfProblem(pid: number, r: RouterName): Promise<string | undefined> {
  const lan = SPEC[r === 'r1' ? 'r2' : 'r1'].lan;
  const rt = await inRouter(pid, ['ip', '-j', 'route', 'show', lan], { timeoutMs: 5000 });
  const hasRoute = rt.code === 0 && (JSON.parse(rt.stdout || '[]') as Array<{ protocol?: string }>).some((x) => x.protocol === 'ospf');
  const nbr = await ospfNeighbourProblem(pid);
  return nbr ?? (hasRoute ? undefined : `no OSPF route to ${lan} yet`);
}

/** OSPF neighbours of a router on eth2 and eth3: undefined when both are Full, else what is missing. */
async function ospfNeighbourProblem(pid: number): Promise<string | undefined> {
  const x = await inRouter(pid, ['vtysh', '-c', 'show ip ospf neighbor json'], { timeoutMs: 5000 });
  if (x.code !== 0) return `vtysh failed (${(x.stderr || x.stdout).trim() || `exit ${x.code}`})`;
  let nbrs;
  try { nbrs = parseFrrOspfNeighbours(x.stdout); } catch (e) { return (e as Error).message; }
  const missing = ['eth2', 'eth3'].flatMap((i) => {
    const n = nbrs.find((m) => m.iface === i);
    return !n ? [`no neighbour on ${i}`] : n.state !== 'Full' ? [`neighbour on ${i} is ${n.state}`] : [];
  });
  return missing.length ? missing.join(', ') : undefined;
}

async function waitReachable(pids: Record<RouterName, number>, log: Log): Promise<void> {
  const t0 = Date.now();
  let problems: string[] = [];
  for (;;) {
    problems = [];
    await Promise.all(ROUTERS.map(async (r) => {
      const a = addr(SPEC[r].mgmt);
      const ssh = await sshBanner(a);
      if (ssh) problems.push(`SSH: sshd of ${r} at ${a}:22 does not answer from the host namespace (${ssh})`);
      const ospf = await ospfProblem(pids[r], r);
      if (ospf) problems.push(`OSPF on ${r}: ${ospf}`);
    }));
    if (!problems.length) { log(`stand-in lab: SSH answers on both management addresses, OSPF Full on both paths, routes to both LANs (${Date.now() - t0} ms)`); return; }
    if (Date.now() - t0 > READY_MS) break;
    if (process.env.STANDIN_DEBUG) log(`  ${Date.now() - t0} ms: ${problems.sort().join('; ')}`);
    await sleep(250);
  }
  throw new Error(`stand-in lab ${STANDIN_LAB} not ready within ${READY_MS / 1000} s:\n  ${problems.sort().join('\n  ')}`);
}

// ---- down, state, status -------------------------------------------------------------------------

/** Removes the stand-in: containers by label, the switch namespace, sl-up0 and its route, the key files.
 *  Idempotent (whatever is absent is fine); only ever names this fixture's own resources. */
export async function standinDown(o: StandinOptions = {}): Promise<void> {
  const log = o.log ?? (() => {});
  requireRoot();
  await removeAll(await dockerClient(log), log);
}

async function removeAll(docker: Docker, log: Log): Promise<void> {
  const errors: string[] = [];
  const list = await docker.listContainers({ all: true, filters: JSON.stringify({ label: [`${STANDIN_LABEL}=${STANDIN_LAB}`] }) });
  await Promise.all(list.map(async (c) => {
    try { await docker.getContainer(c.Id).remove({ force: true, v: true }); } catch (e) {
      if ((e as { statusCode?: number }).statusCode !== 404) errors.push(`container ${c.Names.join(',')}: ${(e as Error).message}`);
    }
  }));
  if (await hostLinkExists(HOST_MGMT_IF)) {
    const r = await run('ip', ['link', 'del', 'dev', HOST_MGMT_IF]);
    if (r.code !== 0 && await hostLinkExists(HOST_MGMT_IF)) errors.push(`${HOST_MGMT_IF}: ${r.stderr.trim()}`);
  }
  if (await hostLinkExists(HOST_UNDERLAY_IF)) {
    const r = await run('ip', ['link', 'del', 'dev', HOST_UNDERLAY_IF]);
    if (r.code !== 0 && await hostLinkExists(HOST_UNDERLAY_IF)) errors.push(`${HOST_UNDERLAY_IF}: ${r.stderr.trim()}`);
  }
  // the route dies with sl-up0; remove it only if it still names our interface
  const routes = JSON.parse((await run('ip', ['-j', 'route', 'show', MGMT_SUBNET])).stdout || '[]') as Array<{ dev?: string }>;
  if (routes.some((x) => x.dev === HOST_UNDERLAY_IF)) await run('ip', ['route', 'del', MGMT_SUBNET, 'dev', HOST_UNDERLAY_IF]);
  if (await netnsExists(SWITCH_NETNS)) {
    const r = await run('ip', ['netns', 'del', SWITCH_NETNS]);
    if (r.code !== 0) errors.push(`namespace ${SWITCH_NETNS}: ${r.stderr.trim()}`);
  }
  rmSync(standinDir(), { recursive: true, force: true });
  if (errors.length) throw new Error(`stand-in lab: cannot remove everything:\n  ${errors.join('\n  ')}`);
  if (list.length) log(`stand-in lab ${STANDIN_LAB} removed`);
}

export interface RouterState { config: string; links: string; }

/** Running config (vtysh) and `ip -br link` of each router: "devices left as found" checks compare two of these. */
export async function standinState(): Promise<Record<RouterName, RouterState>> {
  const docker = await dockerClient(() => {});
  const out = {} as Record<RouterName, RouterState>;
  for (const r of ROUTERS) {
    const pid = await routerPid(docker, r);
    const [c, l] = await Promise.all([inRouter(pid, ['vtysh', '-c', 'show running-config']), inRouter(pid, ['ip', '-br', 'link'])]);
    if (c.code !== 0) throw new Error(`stand-in lab: router ${r}: show running-config failed: ${(c.stderr || c.stdout).trim()}`);
    if (l.code !== 0) throw new Error(`stand-in lab: router ${r}: ip -br link failed: ${l.stderr.trim()}`);
    out[r] = { config: c.stdout, links: l.stdout };
  }
  return out;
}

/** What exists of the stand-in right now, one line each (for `status` and leftover checks). */
export async function standinStatus(): Promise<{ present: string[]; problems: string[] }> {
  const docker = await dockerClient(() => {});
  const present: string[] = [];
  const problems: string[] = [];
  const list = await docker.listContainers({ all: true, filters: JSON.stringify({ label: [`${STANDIN_LABEL}=${STANDIN_LAB}`] }) });
  for (const c of list) present.push(`container ${c.Names.join(',').replace(/^\//, '')} (${c.State})`);
  if (await netnsExists(SWITCH_NETNS)) present.push(`namespace ${SWITCH_NETNS}`);
  if (await hostLinkExists(HOST_UNDERLAY_IF)) present.push(`host interface ${HOST_UNDERLAY_IF}`);
  if (await hostLinkExists(HOST_MGMT_IF)) present.push(`host interface ${HOST_MGMT_IF}`);
  const routes = JSON.parse((await run('ip', ['-j', 'route', 'show', MGMT_SUBNET])).stdout || '[]') as Array<{ dev?: string }>;
  if (routes.some((x) => x.dev === HOST_UNDERLAY_IF)) present.push(`host route ${MGMT_SUBNET} via ${SWITCH_UNDERLAY_ADDR}`);
  if (existsSync(standinDir())) present.push(`directory ${standinDir()}`);
  if (list.length) {
    for (const r of ROUTERS) {
      const a = addr(SPEC[r].mgmt);
      const ssh = await sshBanner(a);
      if (ssh) problems.push(`${r}: sshd at ${a}:22 does not answer (${ssh})`);
      const pid = await routerPid(docker, r).catch((e: Error) => { problems.push(e.message); return 0; });
      if (pid) { const o = await ospfProblem(pid, r); if (o) problems.push(`${r}: OSPF ${o}`); }
    }
  }
  return { present, problems };
}
