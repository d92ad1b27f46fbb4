// Owns what the `frr` kind runs inside its container: a default /etc/frr/daemons (when the topology's
// `files:` bring none), a small supervisor (tsunagari-frr) that starts sshd and the enabled FRR daemons,
// loads /etc/frr/frr.conf with `vtysh -b` and names the first of them to exit, and the health check.
// Pure string building (kinds.ts hands it to the lab engine); must not touch Docker, files or the network.
import type { KindService, ServiceEnv } from './kinds.js';

export const FRR_DAEMONS_FILE = '/etc/frr/daemons';
export const FRR_CONFIG_FILE = '/etc/frr/frr.conf';
export const FRR_SUPERVISOR = '/usr/local/sbin/tsunagari-frr';
/** The only host key a managed node's sshd offers (generated per container at start; pinned by the lab). */
export const SSH_HOST_KEY = '/etc/ssh/ssh_host_ed25519_key';
/** How long the supervisor waits for every daemon's vty socket before giving up (seconds). */
const SOCKET_WAIT_S = 15;

/** Daemons in FRR's start order (frrcommon.sh); zebra and staticd run unless staticd=no. */
export const FRR_DAEMON_ORDER = ['zebra', 'bgpd', 'ripd', 'ripngd', 'ospfd', 'ospf6d', 'isisd', 'babeld', 'pimd', 'pim6d',
  'ldpd', 'nhrpd', 'eigrpd', 'sharpd', 'pbrd', 'staticd', 'bfdd', 'fabricd', 'vrrpd', 'pathd'] as const;

/** What the default daemons file enables: enough for static routes, OSPF, BGP and BFD. */
export const FRR_DEFAULT_DAEMONS = ['zebra', 'staticd', 'ospfd', 'bgpd', 'bfdd'] as const;

/** The default /etc/frr/daemons, also shipped as fixtures/frr/daemons. */
export function defaultDaemonsFile(): string {
  const on = new Set<string>(FRR_DEFAULT_DAEMONS);
  const v6 = new Set(['ospf6d', 'ripngd', 'pim6d']);
  const lines = [
    "# /etc/frr/daemons of tsunagari's frr kind: the default when a node's files: bring none (fixtures/frr/daemons",
    '# is a copy to edit). zebra and staticd always run, the others when set to yes; vty on loopback only.',
    ...FRR_DAEMON_ORDER.filter((d) => d !== 'zebra').map((d) => `${d}=${on.has(d) ? 'yes' : 'no'}`),
    'vtysh_enable=yes',
    ...FRR_DAEMON_ORDER.map((d) => `${d}_options="-A ${v6.has(d) ? '::1' : '127.0.0.1'}${d === 'zebra' ? ' -s 90000000' : ''}"`),
    '',
  ];
  return lines.join('\n');
}

/** sshd's settings: root by public key only, the one ed25519 host key, no PAM (no login sessions in a container). */
export const SSHD_OPTIONS = [
  `HostKey=${SSH_HOST_KEY}`, 'PermitRootLogin=prohibit-password', 'PubkeyAuthentication=yes', 'PasswordAuthentication=no',
  'KbdInteractiveAuthentication=no', 'UsePAM=no', 'PrintMotd=no', 'AuthorizedKeysFile=.ssh/authorized_keys',
  'ClientAliveInterval=5', 'ClientAliveCountMax=3',
];

/**
 * The supervisor, run as `tsunagari-frr DIR`: logs go to DIR/frr.log (its own), DIR/frr/<daemon>.log and
 * DIR/sshd.log. It marks DIR/frr.ready once frr.conf is loaded; the first process to exit (or a config
 * that vtysh -b rejects) is written to DIR/frr.failed, with its last log lines in DIR/frr.log.
 */
export function supervisorScript(): string {
  return `#!/bin/bash
# tsunagari-frr DIR: starts sshd and the FRR daemons enabled in ${FRR_DAEMONS_FILE}, loads ${FRR_CONFIG_FILE}
# with vtysh -b, marks DIR/frr.ready, then watches them: the first to exit is named in DIR/frr.failed.
D=\${1:?usage: tsunagari-frr DIR}
L=$D/frr.log
say() { printf '%s tsunagari-frr: %s\\n' "$(date +%H:%M:%S.%3N)" "$*" >>"$L"; }
# the last lines of a log; of a long one, its first two lines too (where a usage error says what was wrong)
tail_of() {
  { if [ "$(wc -l <"$1" 2>/dev/null || echo 0)" -le 10 ]; then cat "$1"; else head -n 2 "$1"; echo '…'; tail -n 6 "$1"; fi; } 2>/dev/null | sed 's/^/  | /' >>"$L"
}
fail() { printf '%s\\n' "$1" >"$D/frr.failed"; say "$1"; exit 1; }
died() { printf '%s\\n' "$1 exited (status $2)" >"$D/frr.failed"; say "$1 exited (status $2); last lines of $3:"; tail_of "$3"; exit 1; }
mkdir -p "$D/frr"
rm -f "$D/frr.ready" "$D/frr.failed"
[ -r ${FRR_DAEMONS_FILE} ] || fail "${FRR_DAEMONS_FILE} is missing"
. ${FRR_DAEMONS_FILE}
install -d -o frr -g frr -m 755 /var/run/frr /var/log/frr
[ -e ${FRR_CONFIG_FILE} ] || install -o frr -g frr -m 640 /dev/null ${FRR_CONFIG_FILE}
chown frr:frr ${FRR_CONFIG_FILE} ${FRR_DAEMONS_FILE} 2>/dev/null
declare -A PID LOG
mkdir -p /run/sshd && chmod 755 /run/sshd
LOG[sshd]=$D/sshd.log
/usr/sbin/sshd -D -e ${SSHD_OPTIONS.map((o) => `-o ${o}`).join(' ')} >>"\${LOG[sshd]}" 2>&1 </dev/null &
PID[sshd]=$!
enabled=zebra
for d in ${FRR_DAEMON_ORDER.filter((d) => d !== 'zebra').join(' ')}; do
  eval v=\\\${$d:-}
  [ "$d" = staticd ] && [ -z "$v" ] && v=yes
  case "$v" in ''|no|0) ;; *) enabled="$enabled $d" ;; esac
done
say "starting sshd and $enabled"
check() { for n in "\${!PID[@]}"; do kill -0 "\${PID[$n]}" 2>/dev/null || { wait "\${PID[$n]}"; died "$n" $? "\${LOG[$n]}"; }; done; }
for d in $enabled; do
  [ -x /usr/lib/frr/$d ] || fail "$d is enabled in ${FRR_DAEMONS_FILE} but /usr/lib/frr/$d is not installed"
  eval opts=\\\${\${d}_options:-}
  LOG[$d]=$D/frr/$d.log
  /usr/lib/frr/$d -F \${frr_profile:-traditional} --log stdout \${frr_global_options:-} $opts >>"\${LOG[$d]}" 2>&1 </dev/null &
  PID[$d]=$!
  # The others connect to zebra's socket at start; one that finds none retries only after 10 s.
  if [ $d = zebra ]; then
    for i in $(seq 1 ${SOCKET_WAIT_S * 10}); do check; [ -S /var/run/frr/zserv.api ] && break; sleep 0.1; done
    [ -S /var/run/frr/zserv.api ] || { say "last lines of \${LOG[zebra]}:"; tail_of "\${LOG[zebra]}"; fail "zebra opened no socket (/var/run/frr/zserv.api) within ${SOCKET_WAIT_S} s"; }
  fi
done
for i in $(seq 1 ${SOCKET_WAIT_S * 10}); do
  check
  missing=
  for d in $enabled; do [ -S /var/run/frr/$d.vty ] || missing="$missing $d"; done
  [ -z "$missing" ] && break
  sleep 0.1
done
if [ -n "$missing" ]; then
  for d in $missing; do say "last lines of \${LOG[$d]}:"; tail_of "\${LOG[$d]}"; done
  fail "no vty socket within ${SOCKET_WAIT_S} s from:$missing"
fi
out=$(vtysh -b 2>&1); rc=$?
[ -n "$out" ] && printf '%s\\n' "$out" | sed 's/^/  vtysh -b | /' >>"$L"
if [ $rc -ne 0 ]; then
  first=$(printf '%s\\n' "$out" | grep -m1 -E '^line [0-9]+:' || printf '%s\\n' "$out" | head -n1)
  fail "vtysh -b rejected ${FRR_CONFIG_FILE} (exit $rc): $first"
fi
check
say "${FRR_CONFIG_FILE} loaded; FRR ready"
: >"$D/frr.ready"
while :; do
  wait -n
  check
done
`;
}

const READY_TIMEOUT_MS = 30_000;

/** The frr kind's service: sshd and FRR under tsunagari-frr, ready when vtysh and sshd both answer. */
export const FRR_SERVICE: KindService = {
  server: 'frr',
  start: (e: ServiceEnv) => {
    const ownDaemons = e.node.files.some((f) => f.dst === FRR_DAEMONS_FILE);
    return [
      `mkdir -p ${e.dir} && rm -f ${e.dir}/frr.ready ${e.dir}/frr.failed`,
      ...(ownDaemons ? [] : [`cat >${FRR_DAEMONS_FILE} <<'TSUNAGARI_EOF'\n${defaultDaemonsFile()}TSUNAGARI_EOF`]),
      `cat >${FRR_SUPERVISOR} <<'TSUNAGARI_EOF'\n${supervisorScript()}TSUNAGARI_EOF\nchmod 755 ${FRR_SUPERVISOR}`,
      // One host key per container (the image ships none), ed25519 only: fast, and the one sshd offers.
      `[ -s ${SSH_HOST_KEY} ] || ssh-keygen -q -t ed25519 -N '' -C root@${e.node.name} -f ${SSH_HOST_KEY}`,
      // setsid: out of the caller's process group, so a Ctrl-C of \`tsunagari up\` does not reach it.
      `setsid ${FRR_SUPERVISOR} ${e.dir} >/dev/null 2>&1 </dev/null & echo $! >${e.dir}/frr.pid`,
    ];
  },
  ready: {
    what: "vtysh -c 'show version' works and sshd answers on port 22",
    // A subshell: its `exit` must not end the engine's line, which checks next whether the supervisor lives.
    command: (e) => `( test -e ${e.dir}/frr.ready || { echo 'FRR is starting (frr.conf not loaded yet)' >&2; exit 1; }; `
      + `vtysh -c 'show version' >/dev/null 2>&1 || { echo "vtysh -c 'show version' fails" >&2; exit 1; }; `
      + `timeout 2 bash -c 'exec 3<>/dev/tcp/127.0.0.1/22 && head -c 7 <&3' 2>/dev/null | grep -q '^SSH-2.0' `
      + `|| { echo 'sshd does not answer on 127.0.0.1:22' >&2; exit 1; } )`,
    timeoutMs: READY_TIMEOUT_MS,
    intervalMs: 100,
  },
  log: (e) => `${e.dir}/frr.log`,
  pidFile: (e) => `${e.dir}/frr.pid`,
  reason: (e) => `${e.dir}/frr.failed`,
};
