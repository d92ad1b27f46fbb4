// Owns kernel VXLAN links. switch↔switch on one machine: each side's device is created in its own
// labelled underlay namespace (two namespaces joined by a veth, so VNI/port never clash with the host's
// own VXLANs) and then moved into our namespace as an OVS port; switch↔remote: a device in our namespace
// towards another machine; node↔node: the device is created inside each node over its own addresses.
import type { VxlanLink, VxlanSide } from '../topology/types.js';
import { aliasFor, type Owner } from '../lab/labels.js';
import { hostBatch } from './host.js';
import { run } from '../util/exec.js';
import { createLabelledNetns } from '../runtime/netns.js';

function csum(link: VxlanLink): string {
  return link.udpChecksum ? 'udpcsum' : 'noudpcsum';
}

/** `link add` arguments of the VXLAN device of one side. */
export function vxlanAddLine(link: VxlanLink, dev: string, local: string | undefined, remote: string): string {
  const loc = local ? ` local ${local}` : '';
  return `link add ${dev} type vxlan id ${link.vni}${loc} remote ${remote} dstport ${link.dstport} ${csum(link)}`;
}

function localOf(s: VxlanSide): string | undefined {
  return s.kind === 'remote' ? s.address : s.local || undefined;
}

/** The node-side line (inside the node namespace) for a node↔node VXLAN, or undefined. */
export function vxlanNodeLine(link: VxlanLink, side: 'a' | 'b'): { node: string; line: string } | undefined {
  const me = link[side];
  const other = link[side === 'a' ? 'b' : 'a'];
  if (me.kind !== 'node') return undefined;
  return { node: me.node, line: vxlanAddLine(link, me.iface, me.local, localOf(other) as string) };
}

/** Host-namespace devices of this link's switch sides (names that become OVS ports). */
export function vxlanHostIfs(link: VxlanLink): string[] {
  return [link.a, link.b].flatMap((s) => (s.kind === 'switch' ? [s.hostIf] : []));
}

export function vxlanNamespaces(link: VxlanLink): string[] {
  return [link.a, link.b].flatMap((s) => (s.kind === 'switch' && s.underlayNs ? [s.underlayNs] : []));
}

/** Creates the switch-side VXLAN devices of one link in our namespace (labelled, up). */
export async function createVxlanSwitchSides(link: VxlanLink, owner: Owner): Promise<void> {
  const { a, b } = link;
  if (a.kind === 'switch' && b.kind === 'switch') {
    const u = link.underlay;
    if (!a.underlayNs || !b.underlayNs || !u) throw new Error(`link ${link.name}: switch↔switch VXLAN without underlay`);
    await createLabelledNetns(a.underlayNs, owner, `underlay:${link.name}`);
    await createLabelledNetns(b.underlayNs, owner, `underlay:${link.name}`);
    await hostBatch([`link add ${u.veth[0]} netns ${a.underlayNs} type veth peer name ${u.veth[1]} netns ${b.underlayNs}`],
      `create the underlay of VXLAN link ${link.name}`);
    const me = String(process.pid);
    for (const [side, other, veth] of [[a, b, u.veth[0]], [b, a, u.veth[1]]] as const) {
      const lines = [
        `addr add ${side.local}/${u.prefix} dev ${veth}`,
        `link set dev ${veth} up`,
        vxlanAddLine(link, side.hostIf, side.local, other.local),
        `link set dev ${side.hostIf} netns ${me}`,
      ];
      const r = await run('ip', ['-n', side.underlayNs as string, '-batch', '-'], { input: lines.join('\n') + '\n' });
      if (r.code !== 0) throw new Error(`cannot create VXLAN link ${link.name} (side ${side.hostIf}): ${r.stderr.trim()}`);
    }
    await hostBatch(vxlanHostIfs(link).flatMap((dev) => [
      `link set dev ${dev} alias "${aliasFor(owner, `link:${link.name}`)}"`, `link set dev ${dev} up`]),
      `bring up VXLAN link ${link.name}`);
    return;
  }
  for (const [side, other] of [[a, b], [b, a]] as const) {
    if (side.kind !== 'switch') continue;
    await hostBatch([
      vxlanAddLine(link, side.hostIf, side.local || undefined, localOf(other) as string),
      `link set dev ${side.hostIf} alias "${aliasFor(owner, `link:${link.name}`)}"`,
      `link set dev ${side.hostIf} up`,
    ], `create VXLAN link ${link.name}`);
  }
}
