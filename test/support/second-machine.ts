// A stand-in for a second machine, for the multi-machine tests (docs/machines.md): a network namespace
// `tsu-m2` joined to ours by a veth (tm2-up 198.18.253.1/30 ↔ eth0 198.18.253.2/30), and in it a Docker
// engine of its own (its own containerd, data-root, exec-root, pidfiles and logs under M2_DIR) listening on
// tcp://198.18.253.2:2376 with mutual TLS (certificates made here with openssl) and on a unix socket.
//
// The daemons run in the namespace's network AND in a mount namespace of their own (unshare --mount,
// propagation slave): the engine's mounts (container root filesystems, shm) are invisible here and vanish
// with its processes, as they would on another machine. `ip netns exec` is not used: it remounts /sys,
// which hides /sys/fs/cgroup, and runc needs it. Containers land below the cgroup parent /tsunagari-m2.
//
// `down` is idempotent and leaves nothing: containers (through the engine), dockerd, containerd, their shims
// and anything else in the namespace or the cgroup parent, leftover mounts, the veth, the namespace.
// The directory with images and certificates stays (a second `up` is fast) unless `down({ purge: true })`.
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { run, runOk, sleep } from '../../src/util/exec.js';
import { containerdConfig, livePid, logTail, pingDocker, procComm, readPidfile, spawnDetached, waitFor } from '../../src/setup/daemons.js';
import { pidAlive } from '../../src/setup/lock.js';
import { dockerClient, localDocker } from '../../src/util/docker-client.js';

const spawnArgv = (argv: string[], logFile: string) => spawnDetached(argv[0] as string, argv.slice(1), logFile, process.env);

export const M2_DIR = process.env.TSUNAGARI_M2_DIR || '/var/lib/tsunagari-m2';

export const M2 = {
  name: 'm2',
  netns: 'tsu-m2',
  hostIf: 'tm2-up',
  innerIf: 'eth0',
  localAddress: '198.18.253.1',   // this machine's end of the veth (local_vtep)
  address: '198.18.253.2',        // the second machine's address (docker host and vtep)
  prefix: 30,
  port: 2376,
  cgroupParent: 'tsunagari-m2',
} as const;

const run_ = join(M2_DIR, 'run');
export const m2Paths = {
  dir: M2_DIR,
  certs: join(M2_DIR, 'certs'),
  containerd: {
    root: join(M2_DIR, 'containerd'),
    state: join(run_, 'containerd'),
    socket: join(run_, 'containerd', 'containerd.sock'),
    config: join(M2_DIR, 'containerd.toml'),
    opt: join(M2_DIR, 'containerd', 'opt'),
    pidfile: join(run_, 'containerd.pid'),
    log: join(M2_DIR, 'containerd.log'),
  },
  docker: {
    dataRoot: join(M2_DIR, 'docker'),
    execRoot: join(run_, 'exec'),
    socket: join(run_, 'docker.sock'),
    pidfile: join(run_, 'dockerd.pid'),
    log: join(M2_DIR, 'dockerd.log'),
    config: join(M2_DIR, 'daemon.json'),
  },
} as const;

/** What a test (or a machines: entry) needs to reach the stand-in. */
export interface SecondMachine {
  name: string;
  docker: string;                                   // tcp://198.18.253.2:2376
  tls: { ca: string; cert: string; key: string };   // client side
  vtep: string;
  localVtep: string;
  socket: string;                                   // unix socket (for test assertions only)
  certsDir: string;
}

export type Log = (line: string) => void;

export function secondMachine(): SecondMachine {
  const c = m2Paths.certs;
  return {
    name: M2.name,
    docker: `tcp://${M2.address}:${M2.port}`,
    tls: { ca: join(c, 'ca.pem'), cert: join(c, 'cert.pem'), key: join(c, 'key.pem') },
    vtep: M2.address,
    localVtep: M2.localAddress,
    socket: m2Paths.docker.socket,
    certsDir: c,
  };
}

/** Environment for `topologies/*.two-machines.yaml` and the docker CLI. */
export function secondMachineEnv(): Record<string, string> {
  const m = secondMachine();
  return {
    M2_CERTS: m.certsDir,
    M2_DOCKER_HOST: m.docker,
    // for `docker` itself: DOCKER_HOST=… DOCKER_TLS_VERIFY=1 DOCKER_CERT_PATH=… docker ps
    DOCKER_CERT_PATH: m.certsDir,
    DOCKER_TLS_VERIFY: '1',
    DOCKER_HOST: m.docker,
  };
}

// ------------------------------------------------------------------------------------------ processes

function pids(): number[] {
  return readdirSync('/proc').filter((p) => /^\d+$/.test(p)).map(Number);
}

/** Processes of the stand-in: in its network namespace, or in its cgroup parent (containers with their own
 *  network namespace), or started with its directory on the command line (shims). */
function standInProcesses(): number[] {
  let nsIno: number | undefined;
  try { nsIno = statSync(`/run/netns/${M2.netns}`).ino; } catch { /* no namespace */ }
  const out: number[] = [];
  for (const pid of pids()) {
    if (pid === process.pid) continue;
    try {
      if (nsIno !== undefined && statSync(`/proc/${pid}/ns/net`).ino === nsIno) { out.push(pid); continue; }
    } catch { continue; }
    try {
      const cg = readFileSync(`/proc/${pid}/cgroup`, 'utf8');
      if (cg.split('\n').some((l) => l.split(':')[2]?.startsWith(`/${M2.cgroupParent}/`) || l.split(':')[2] === `/${M2.cgroupParent}`)) { out.push(pid); continue; }
    } catch { continue; }
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      if (cmd.includes(`${M2_DIR}/`)) out.push(pid);
    } catch { /* exited */ }
  }
  return out;
}

async function waitGone(pidList: number[], ms: number): Promise<number[]> {
  const deadline = Date.now() + ms;
  let left = pidList.filter(pidAlive);
  while (left.length && Date.now() < deadline) {
    await sleep(100);
    left = left.filter(pidAlive);
  }
  return left;
}

/** Waits for a daemon of the stand-in; failures name it and show the end of its log. */
function waitForDaemon(what: string, ms: number, probe: () => Promise<boolean>, exited: () => string | undefined, log: string): Promise<void> {
  return waitFor(what, ms, probe, exited, (why) => new Error(`second machine: ${why}; log ${log}:\n  ${logTail(log, 0, 12)}`));
}

const dockerAnswers = async (socket: string): Promise<boolean> => (await pingDocker(socket, 2000)) === undefined;

// ------------------------------------------------------------------------------------------ certificates

/** CA, server (SAN = the machine's address) and client certificates, made once (kept across up/down). */
async function ensureCerts(log: Log): Promise<void> {
  const c = m2Paths.certs;
  const need = ['ca.pem', 'server-cert.pem', 'server-key.pem', 'cert.pem', 'key.pem'];
  if (need.every((f) => existsSync(join(c, f)))) return;
  rmSync(c, { recursive: true, force: true });
  mkdirSync(c, { recursive: true, mode: 0o700 });
  const o = (args: string[]): Promise<string> => runOk('openssl', args, { cwd: c, timeoutMs: 60_000 });
  await o(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', 'ca-key.pem']);
  await o(['req', '-new', '-x509', '-days', '3650', '-key', 'ca-key.pem', '-sha256', '-subj', '/CN=tsunagari second machine CA', '-out', 'ca.pem']);
  await o(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', 'server-key.pem']);
  await o(['req', '-new', '-key', 'server-key.pem', '-subj', `/CN=${M2.address}`, '-out', 'server.csr']);
  writeFileSync(join(c, 'server-ext.cnf'), `subjectAltName = IP:${M2.address},IP:127.0.0.1\nextendedKeyUsage = serverAuth\n`);
  await o(['x509', '-req', '-days', '3650', '-sha256', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca-key.pem', '-CAcreateserial',
    '-extfile', 'server-ext.cnf', '-out', 'server-cert.pem']);
  await o(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', 'key.pem']);
  await o(['req', '-new', '-key', 'key.pem', '-subj', '/CN=tsunagari client', '-out', 'client.csr']);
  writeFileSync(join(c, 'client-ext.cnf'), 'extendedKeyUsage = clientAuth\n');
  await o(['x509', '-req', '-days', '3650', '-sha256', '-in', 'client.csr', '-CA', 'ca.pem', '-CAkey', 'ca-key.pem', '-CAcreateserial',
    '-extfile', 'client-ext.cnf', '-out', 'cert.pem']);
  for (const f of readdirSync(c)) if (f.endsWith('key.pem')) writeFileSync(join(c, f), readFileSync(join(c, f)), { mode: 0o600 });
  log(`✓ second machine: TLS certificates in ${c}`);
}

// ------------------------------------------------------------------------------------------ up

async function ensureNetns(): Promise<void> {
  const list = (await run('ip', ['netns', 'list'])).stdout;
  if (!list.split('\n').some((l) => l.split(' ')[0] === M2.netns)) await runOk('ip', ['netns', 'add', M2.netns]);
  if ((await run('ip', ['link', 'show', 'dev', M2.hostIf])).code !== 0) {
    await runOk('ip', ['link', 'add', M2.hostIf, 'type', 'veth', 'peer', 'name', M2.innerIf, 'netns', M2.netns]);
  }
  const hostLines = [`addr replace ${M2.localAddress}/${M2.prefix} dev ${M2.hostIf}`, `link set dev ${M2.hostIf} up`];
  await runOk('ip', ['-batch', '-'], { input: hostLines.join('\n') + '\n' });
  const inner = ['link set dev lo up', `addr replace ${M2.address}/${M2.prefix} dev ${M2.innerIf}`, `link set dev ${M2.innerIf} up`];
  await runOk('ip', ['-n', M2.netns, '-batch', '-'], { input: inner.join('\n') + '\n' });
}

async function startContainerd(log: Log): Promise<number> {
  const c = m2Paths.containerd;
  const running = livePid(c.pidfile, 'containerd');
  if (running !== undefined) return running;
  mkdirSync(c.root, { recursive: true });
  mkdirSync(c.state, { recursive: true });
  writeFileSync(c.config, containerdConfig(c));
  rmSync(c.socket, { force: true });
  // unshare execs nsenter, which execs containerd: the pid we get is containerd's.
  const d = spawnArgv(['unshare', '--mount', '--propagation', 'slave', '--', 'nsenter', `--net=/run/netns/${M2.netns}`, '--',
    'containerd', '--config', c.config], c.log);
  writeFileSync(c.pidfile, `${d.pid}\n`);
  await waitForDaemon('containerd', 30_000, async () => existsSync(c.socket), d.exited, c.log);
  log(`✓ second machine: containerd (pid ${d.pid})`);
  return d.pid;
}

async function startDockerd(log: Log, containerdPid: number): Promise<void> {
  const d = m2Paths.docker;
  if (livePid(d.pidfile, 'dockerd') !== undefined && await dockerAnswers(d.socket)) return;
  mkdirSync(d.dataRoot, { recursive: true });
  mkdirSync(d.execRoot, { recursive: true });
  writeFileSync(d.config, JSON.stringify({ 'deprecated-key-path': join(M2_DIR, 'key.json') }, null, 2) + '\n');
  const c = m2Paths.certs;
  const args = [
    // dockerd joins containerd's mount namespace (the rootfs it mounts must be the one runc sees) and the
    // second machine's network namespace.
    'nsenter', `--mount=/proc/${containerdPid}/ns/mnt`, `--net=/run/netns/${M2.netns}`, '--',
    'dockerd', '--config-file', d.config, '--data-root', d.dataRoot, '--exec-root', d.execRoot, '--pidfile', d.pidfile,
    '--containerd', m2Paths.containerd.socket,
    '--host', `unix://${d.socket}`, '--host', `tcp://${M2.address}:${M2.port}`,
    '--tlsverify', '--tlscacert', join(c, 'ca.pem'), '--tlscert', join(c, 'server-cert.pem'), '--tlskey', join(c, 'server-key.pem'),
    '--bridge', 'none', '--iptables=false', '--ip6tables=false', '--ip-masq=false',
    '--cgroup-parent', `/${M2.cgroupParent}`,
  ];
  const p = spawnArgv(args, d.log);
  await waitForDaemon('dockerd', 60_000, () => dockerAnswers(d.socket), p.exited, d.log);
  log(`✓ second machine: dockerd (pid ${readPidfile(d.pidfile) ?? p.pid}) on tcp://${M2.address}:${M2.port} (TLS) and ${d.socket}`);
}

/** Brings the stand-in up (reusing whatever of it already runs); resolves once the engine answers over TLS. */
export async function secondMachineUp(log: Log = () => {}): Promise<SecondMachine> {
  mkdirSync(join(M2_DIR, 'run'), { recursive: true });
  await ensureCerts(log);
  await ensureNetns();
  // A containerd without its dockerd (or the reverse) after a crash: start over cleanly.
  const cd = livePid(m2Paths.containerd.pidfile, 'containerd');
  const dd = livePid(m2Paths.docker.pidfile, 'dockerd');
  if ((cd === undefined) !== (dd === undefined)) await stopDaemons(log);
  const cpid = await startContainerd(log);
  await startDockerd(log, cpid);
  const m = secondMachine();
  const tls = dockerClient({ host: M2.address, port: M2.port, protocol: 'https', ca: readFileSync(m.tls.ca), cert: readFileSync(m.tls.cert), key: readFileSync(m.tls.key), timeout: 5000 });
  await waitForDaemon('dockerd over TLS', 20_000, async () => { try { await tls.ping(); return true; } catch { return false; } }, () => undefined, m2Paths.docker.log);
  return m;
}

// ------------------------------------------------------------------------------------------ down

async function stopDaemons(log: Log): Promise<void> {
  const d = m2Paths.docker;
  if (await dockerAnswers(d.socket)) {
    // Containers first, through the engine (it unmounts their root filesystems and removes their state).
    const docker = localDocker(d.socket, 30_000);
    const list = await docker.listContainers({ all: true }).catch(() => []);
    for (const c of list) await docker.getContainer(c.Id).remove({ force: true, v: true }).catch(() => undefined);
  }
  for (const [name, file, graceMs] of [['dockerd', d.pidfile, 20_000], ['containerd', m2Paths.containerd.pidfile, 10_000]] as const) {
    const pid = livePid(file, name);
    if (pid === undefined) continue;
    process.kill(pid, 'SIGTERM');
    if ((await waitGone([pid], graceMs)).length) { try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ } await waitGone([pid], 5000); }
    log(`✓ second machine: ${name} stopped (pid ${pid})`);
  }
  // Shims, containers, the agent's daemons: whatever of the stand-in still runs.
  const left = standInProcesses();
  for (const p of left) { try { process.kill(p, 'SIGKILL'); } catch { /* gone */ } }
  const stuck = await waitGone(left, 5000);
  if (stuck.length) throw new Error(`second machine: processes ${stuck.join(', ')} did not exit after SIGKILL`);
  rmSync(d.pidfile, { force: true });
  rmSync(m2Paths.containerd.pidfile, { force: true });
}

/** Mount points at or below M2_DIR in our mount namespace (only after a crash: the engine mounts in its own). */
function mountsBelowDir(): string[] {
  const text = readFileSync('/proc/self/mountinfo', 'utf8');
  const un = (s: string): string => s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
  return text.split('\n').map((l) => l.split(' ')[4]).filter((m): m is string => !!m).map(un)
    .filter((m) => m === M2_DIR || m.startsWith(`${M2_DIR}/`)).sort((a, b) => b.length - a.length);
}

/** Removes every trace of the stand-in but its directory (images, certificates); idempotent. */
export async function secondMachineDown(log: Log = () => {}, o: { purge?: boolean } = {}): Promise<void> {
  await stopDaemons(log);
  for (const m of mountsBelowDir()) if ((await run('umount', [m])).code !== 0) await run('umount', ['-l', m]);
  // Containers' cgroups below the parent (cgroup v1: one per controller; v2: one tree).
  for (const root of ['/sys/fs/cgroup', ...safeDirs('/sys/fs/cgroup').map((c) => join('/sys/fs/cgroup', c))]) {
    const parent = join(root, M2.cgroupParent);
    if (!existsSync(parent)) continue;
    for (const child of safeDirs(parent)) await run('rmdir', [join(parent, child)]);
    await run('rmdir', [parent]);
  }
  await run('ip', ['link', 'del', 'dev', M2.hostIf]);
  if ((await run('ip', ['netns', 'list'])).stdout.split('\n').some((l) => l.split(' ')[0] === M2.netns)) {
    await runOk('ip', ['netns', 'del', M2.netns]);
  }
  if (o.purge) rmSync(M2_DIR, { recursive: true, force: true });
  log('✓ second machine: down');
}

function safeDirs(dir: string): string[] {
  try { return readdirSync(dir, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name); } catch { return []; }
}

/** Whatever of the stand-in exists now (for tests asserting that `down` left nothing). */
export async function secondMachineTraces(): Promise<string[]> {
  const out: string[] = [];
  if ((await run('ip', ['netns', 'list'])).stdout.split('\n').some((l) => l.split(' ')[0] === M2.netns)) out.push(`namespace ${M2.netns}`);
  if ((await run('ip', ['link', 'show', 'dev', M2.hostIf])).code === 0) out.push(`interface ${M2.hostIf}`);
  for (const p of standInProcesses()) out.push(`process ${p} (${procComm(p)})`);
  for (const m of mountsBelowDir()) out.push(`mount ${m}`);
  if (existsSync(join('/sys/fs/cgroup/pids', M2.cgroupParent)) || existsSync(join('/sys/fs/cgroup', M2.cgroupParent, 'cgroup.procs'))) out.push(`cgroup ${M2.cgroupParent}`);
  return out;
}

// ------------------------------------------------------------------------------------------ ssh

export const M2_SSH_PORT = 2222;
const SSHD_CONTAINER = 'tsu-m2-sshd';

/** SSH access to the stand-in's engine (ssh://root@198.18.253.2:2222): keys and known_hosts under M2_DIR/ssh. */
export interface SecondMachineSsh { docker: string; knownHosts: string; privateKeyFile: string; wrongKnownHosts: string; }

/**
 * An sshd on the second machine (a container of its engine in its network namespace) whose sessions can run
 * `docker system dial-stdio` against that engine (the docker CLI and the engine's socket are mounted in),
 * as on a real machine reached with ssh://. Idempotent; removed with the engine's containers by down.
 */
export async function secondMachineSsh(log: Log = () => {}): Promise<SecondMachineSsh> {
  const dir = join(M2_DIR, 'ssh');
  const out: SecondMachineSsh = {
    docker: `ssh://root@${M2.address}:${M2_SSH_PORT}`, knownHosts: join(dir, 'known_hosts'), privateKeyFile: join(dir, 'id_ed25519'),
    wrongKnownHosts: join(dir, 'known_hosts.wrong'),
  };
  if (!existsSync(out.privateKeyFile) || !existsSync(out.wrongKnownHosts)) {
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    for (const k of ['id_ed25519', 'host_ed25519', 'other_ed25519']) await runOk('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', k, '-f', join(dir, k)]);
    writeFileSync(join(dir, 'authorized_keys'), readFileSync(join(dir, 'id_ed25519.pub')));
    const line = (pub: string): string => `[${M2.address}]:${M2_SSH_PORT} ${readFileSync(join(dir, pub), 'utf8').trim().split(' ').slice(0, 2).join(' ')}\n`;
    writeFileSync(out.knownHosts, line('host_ed25519.pub'));
    writeFileSync(out.wrongKnownHosts, line('other_ed25519.pub'));
  }
  const docker = localDocker(m2Paths.docker.socket, 60_000);
  const running = await docker.getContainer(SSHD_CONTAINER).inspect().catch(() => undefined);
  if (!running?.State.Running) {
    if (running) await docker.getContainer(SSHD_CONTAINER).remove({ force: true });
    const image = 'tsunagari/debian:latest';
    if (!(await docker.getImage(image).inspect().catch(() => undefined))) {
      const local = localDocker(join(process.env.TSUNAGARI_STATE || '/var/lib/tsunagari', 'run', 'docker.sock'));
      const stream = await docker.loadImage(await local.getImage(image).get(), { quiet: true });
      await new Promise((res, rej) => docker.modem.followProgress(stream, (e: Error | null) => (e ? rej(e) : res(undefined))));
    }
    const c = await docker.createContainer({
      name: SSHD_CONTAINER, Image: image,
      Cmd: ['sh', '-c', `mkdir -p /run/sshd && exec /usr/sbin/sshd -D -e -p ${M2_SSH_PORT} -o ListenAddress=${M2.address} -o HostKey=/etc/tsu-ssh/host_ed25519 ` +
        '-o AuthorizedKeysFile=/etc/tsu-ssh/authorized_keys -o PermitRootLogin=prohibit-password -o PasswordAuthentication=no -o StrictModes=no'],
      HostConfig: {
        NetworkMode: 'host',
        Binds: ['/usr/local/bin/docker:/usr/local/bin/docker:ro', `${m2Paths.docker.socket}:/var/run/docker.sock`, `${dir}:/etc/tsu-ssh:ro`],
      },
    });
    await c.start();
  }
  const { createConnection } = await import('node:net');
  await waitForDaemon('sshd', 20_000, () => new Promise<boolean>((res) => {
    const s = createConnection({ host: M2.address, port: M2_SSH_PORT });
    const done = (ok: boolean): void => { s.destroy(); res(ok); };
    s.on('connect', () => done(true)); s.on('error', () => done(false)); s.setTimeout(1000, () => done(false));
  }), () => undefined, m2Paths.docker.log);
  log(`✓ second machine: sshd on ${M2.address}:${M2_SSH_PORT} (docker system dial-stdio to its engine)`);
  return out;
}

/** Stops the stand-in's sshd (the engine stays). */
export async function secondMachineSshStop(): Promise<void> {
  const docker = localDocker(m2Paths.docker.socket, 30_000);
  await docker.getContainer(SSHD_CONTAINER).remove({ force: true }).catch(() => undefined);
}
