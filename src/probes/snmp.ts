// Owns reading a namespace's UDP counters (/proc/net/snmp and /proc/net/snmp6, which follow the reader's
// network namespace: `nsenter --net=<path> cat …`), as evidence of why a datagram never reached a socket
// (InCsumErrors +1 = arrived but dropped for a bad checksum). Reads only; never resets counters.
import { run } from '../util/exec.js';

export const UDP_FIELDS = ['InDatagrams', 'NoPorts', 'InErrors', 'OutDatagrams', 'RcvbufErrors', 'SndbufErrors', 'InCsumErrors'] as const;
export type UdpField = (typeof UDP_FIELDS)[number];
export type UdpCounters = Record<UdpField, number>;

export interface UdpSnmp {
  /** IPv4 UDP (`Udp:` lines of /proc/net/snmp). */
  udp: UdpCounters;
  /** IPv6 UDP (`Udp6*` lines of /proc/net/snmp6; zeros when IPv6 is off in the namespace). */
  udp6: UdpCounters;
}

const zero = (): UdpCounters => Object.fromEntries(UDP_FIELDS.map((f) => [f, 0])) as UdpCounters;

/** Parses /proc/net/snmp (header line + value line per protocol) and /proc/net/snmp6 ("Udp6InErrors 0"). */
export function parseSnmp(snmp: string, snmp6 = ''): UdpSnmp {
  const lines = snmp.split('\n').filter((l) => l.startsWith('Udp: '));
  if (lines.length < 2) throw new Error('cannot read UDP counters (no "Udp:" header and value lines in /proc/net/snmp)');
  const names = (lines[0] as string).split(/\s+/).slice(1);
  const values = (lines[1] as string).split(/\s+/).slice(1).map(Number);
  const udp = zero();
  for (const f of UDP_FIELDS) {
    const i = names.indexOf(f);
    if (i < 0 || !Number.isFinite(values[i])) throw new Error(`cannot read UDP counters (no ${f} in /proc/net/snmp)`);
    udp[f] = values[i] as number;
  }
  const udp6 = zero();
  for (const line of snmp6.split('\n')) {
    const m = /^Udp6(\w+)\s+(\d+)\s*$/.exec(line);
    if (m && (UDP_FIELDS as readonly string[]).includes(m[1] as string)) udp6[m[1] as UdpField] = Number(m[2]);
  }
  return { udp, udp6 };
}

/** The UDP counters of the namespace at nsPath (one nsenter + cat, a few ms). */
export async function udpCounters(nsPath: string): Promise<UdpSnmp> {
  // cat reads its own /proc/self/net, i.e. the namespace it was entered into. snmp6 is absent when
  // IPv6 is disabled: cat then exits 1 after printing snmp, which is fine.
  const r = await run('nsenter', [`--net=${nsPath}`, 'cat', '/proc/net/snmp', '/proc/net/snmp6'], { timeoutMs: 10000 });
  if (!r.stdout.includes('Udp: ')) throw new Error(`cannot read UDP counters in ${nsPath} (${r.stderr.trim() || `exit ${r.code}`})`);
  const i = r.stdout.indexOf('Ip6');
  return parseSnmp(i >= 0 ? r.stdout.slice(0, i) : r.stdout, i >= 0 ? r.stdout.slice(i) : '');
}

/** after − before, field by field. */
export function diffUdp(before: UdpSnmp, after: UdpSnmp): UdpSnmp {
  const d = (a: UdpCounters, b: UdpCounters): UdpCounters =>
    Object.fromEntries(UDP_FIELDS.map((f) => [f, b[f] - a[f]])) as UdpCounters;
  return { udp: d(before.udp, after.udp), udp6: d(before.udp6, after.udp6) };
}

/** "InCsumErrors +1, InErrors +1" — the counters that moved, for messages. */
export function describeUdpDiff(diff: UdpCounters): string {
  const moved = UDP_FIELDS.filter((f) => diff[f] !== 0).map((f) => `${f} ${diff[f] > 0 ? '+' : ''}${diff[f]}`);
  return moved.join(', ') || 'no change';
}
