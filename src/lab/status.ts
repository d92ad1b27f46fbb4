// Owns the human-readable picture of a lab that is up: a node table (kind, runtime, where it lives,
// addresses) and a link table (what connects to what, host-side port). Read-only.
import type { RunningLab } from './running.js';
import type { Link } from '../topology/types.js';

export function table(rows: string[][]): string {
  const widths = rows[0]?.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length))) ?? [];
  return rows.map((r) => r.map((cell, c) => (c === r.length - 1 ? cell : cell.padEnd(widths[c] as number))).join('  ').trimEnd()).join('\n');
}

function linkRow(l: Link): string[] {
  if (l.type === 'veth') return [l.name, 'veth', `${l.a.node}:${l.a.iface}`, `${l.b.node}:${l.b.iface}`, ''];
  if (l.type === 'switch') {
    const v = l.vlan?.vlan !== undefined ? `vlan ${l.vlan.vlan}` : l.vlan?.trunk ? `trunk ${l.vlan.trunk.join(',')}` : '';
    return [l.name, 'switch', `${l.node.node}:${l.node.iface}`, `${l.switch} (port ${l.hostIf})`, v];
  }
  if (l.type === 'nic') return [l.name, 'nic', l.switch, `NIC ${l.device}`, l.vlan?.vlan !== undefined ? `vlan ${l.vlan.vlan}` : ''];
  const side = (s: typeof l.a): string => (s.kind === 'switch' ? `${s.switch} (port ${s.hostIf})` : s.kind === 'node' ? `${s.node}:${s.iface}` : `remote ${s.address}`);
  return [l.name, 'vxlan', side(l.a), side(l.b), `vni ${l.vni} port ${l.dstport}${l.udpChecksum ? ' udpcsum' : ''}`];
}

export async function labTables(r: RunningLab): Promise<string> {
  const d = r.ledger.data;
  const lab = r.lab;
  const head = `lab ${lab.name}  state ${d.state}  run ${d.run}  since ${d.startedAt}${d.file ? `  file ${d.file}` : ''}` +
    (lab.profile ? `\nprofile ${lab.profile.name}  inventory ${lab.profile.file}${lab.profile.inline ? ` (profiles.${lab.profile.name})` : ''}` : '');
  const nodes: string[][] = [['NODE', 'KIND', 'RUNTIME', 'WHERE', 'ADDRESSES']];
  for (const n of lab.nodes) {
    const h = d.handles[n.name];
    const where = !h ? '(not created)' : h.runtime === 'docker' ? `container ${n.container}${h.machine ? ` on ${h.machine}` : ''}` : `netns ${h.nsRef}`;
    const addrs = [...n.interfaces.flatMap((i) => i.addresses.map((a) => `${i.name} ${a}`)),
      ...(n.management ? [`${n.management.iface} ${n.management.address}`] : [])].join(', ');
    nodes.push([n.name, n.kind, n.runtime, where, addrs]);
  }
  for (const x of lab.external ?? []) {
    const addrs = x.interfaces.flatMap((i) => i.addresses.map((a) => `${x.ifnames[i.name] ?? i.name} ${a}`)).join(', ');
    nodes.push([x.name, x.kind, 'external', `${x.driver} ssh ${x.access.username}@${x.access.host}${x.access.port === 22 ? '' : `:${x.access.port}`}`, addrs]);
  }
  const sw: string[][] = [['SWITCH', 'OVS BRIDGE']];
  for (const s of lab.switches) sw.push([s.name, s.bridge]);
  const links: string[][] = [['LINK', 'TYPE', 'A', 'B', '']];
  for (const l of lab.links) links.push(linkRow(l));
  for (const l of lab.externalLinks ?? []) {
    links.push([l.name, 'cable', `${l.a.node}:${l.a.iface}`, l.b ? `${l.b.node}:${l.b.iface}` : `segment ${l.segment ?? '?'}`, 'external (through the device)']);
  }
  const m = lab.management;
  const mgmt = m ? [`management ${m.subnet}: namespace ${m.netns} (gw0 ${m.gateway}), bridge ${m.bridge}`] : [];
  return [head, '', table(nodes), ...(lab.switches.length ? ['', table(sw)] : []), '', table(links), ...(mgmt.length ? ['', ...mgmt] : [])].join('\n');
}
