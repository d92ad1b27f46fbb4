// Owns the topology picture: a self-contained SVG of nodes, switches and links (interface names and
// addresses at the ends, VXLAN dashed with its VNI). Pure: a resolved Lab in, an SVG string out.
// Layout is a deterministic force-directed placement, so the same file always gives the same picture.
import type { Lab, Link } from '../topology/types.js';

interface Vertex { id: string; label: string; sub: string; shape: 'node' | 'switch' | 'remote'; x: number; y: number; }
interface Edge { a: string; b: string; aLabel: string; bLabel: string; mid: string; dashed: boolean; }

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

function build(lab: Lab): { vs: Vertex[]; es: Edge[] } {
  const vs: Vertex[] = [];
  for (const n of lab.nodes) vs.push({ id: `n:${n.name}`, label: n.name, sub: `${n.kind} · ${n.runtime}`, shape: 'node', x: 0, y: 0 });
  for (const s of lab.switches) vs.push({ id: `s:${s.name}`, label: s.name, sub: `OVS ${s.bridge}`, shape: 'switch', x: 0, y: 0 });
  // A profile's external devices: drawn like nodes, said to be devices reached over SSH.
  for (const x of lab.external ?? []) vs.push({ id: `n:${x.name}`, label: x.name, sub: `external ${x.driver} · ${x.access.host}`, shape: 'node', x: 0, y: 0 });
  const addr = (node: string, iface: string): string => {
    const i = [...lab.nodes, ...(lab.external ?? [])].find((n) => n.name === node)?.interfaces.find((x) => x.name === iface);
    return [iface, ...(i?.addresses ?? [])].join(' ');
  };
  const es: Edge[] = [];
  for (const l of lab.links) es.push(edgeOf(l, addr, vs));
  for (const l of lab.externalLinks ?? []) {
    // A device's cable into an attached segment meets it where the uplink ends: the lab's VTEP or our NIC.
    let b = l.b ? `n:${l.b.node}` : `s:${l.segment}`;
    if (!l.b && l.segment) {
      const up = lab.links.find((u) => (u.type === 'nic' && u.switch === l.segment) || (u.type === 'vxlan' && u.a.kind === 'switch' && u.a.switch === l.segment && u.b.kind === 'remote'));
      if (up?.type === 'nic') b = `r:nic:${up.device}`;
      else if (up?.type === 'vxlan' && up.b.kind === 'remote') b = `r:${up.b.address}`;
    }
    if (!vs.some((v) => v.id === b)) continue;
    es.push({ a: `n:${l.a.node}`, b, aLabel: addr(l.a.node, l.a.iface), bLabel: l.b ? addr(l.b.node, l.b.iface) : '', mid: l.name.replace(/ \(device side\)$/, ''), dashed: false });
  }
  return { vs, es };
}

function edgeOf(l: Link, addr: (n: string, i: string) => string, vs: Vertex[]): Edge {
  if (l.type === 'veth') return { a: `n:${l.a.node}`, b: `n:${l.b.node}`, aLabel: addr(l.a.node, l.a.iface), bLabel: addr(l.b.node, l.b.iface), mid: '', dashed: false };
  if (l.type === 'switch') {
    const v = l.vlan?.vlan !== undefined ? `vlan ${l.vlan.vlan}` : l.vlan?.trunk ? `trunk ${l.vlan.trunk.join(',')}` : '';
    return { a: `n:${l.node.node}`, b: `s:${l.switch}`, aLabel: addr(l.node.node, l.node.iface), bLabel: l.port, mid: v, dashed: false };
  }
  if (l.type === 'nic') {
    const id = `r:nic:${l.device}`;
    if (!vs.some((v) => v.id === id)) vs.push({ id, label: l.device, sub: 'NIC to the lab', shape: 'remote', x: 0, y: 0 });
    return { a: `s:${l.switch}`, b: id, aLabel: '', bLabel: '', mid: l.vlan?.vlan !== undefined ? `vlan ${l.vlan.vlan}` : '', dashed: true };
  }
  const side = (s: typeof l.a): { id: string; label: string } => {
    if (s.kind === 'switch') return { id: `s:${s.switch}`, label: s.local ? `VTEP ${s.local}` : '' };
    if (s.kind === 'node') return { id: `n:${s.node}`, label: `${addr(s.node, s.iface)} (VTEP ${s.local})` };
    const id = `r:${s.address}`;
    if (!vs.some((v) => v.id === id)) vs.push({ id, label: s.address, sub: 'remote VTEP', shape: 'remote', x: 0, y: 0 });
    return { id, label: '' };
  };
  const a = side(l.a);
  const b = side(l.b);
  return { a: a.id, b: b.id, aLabel: a.label, bLabel: b.label, mid: `VXLAN ${l.vni}:${l.dstport}`, dashed: true };
}

/** Deterministic layered layout: each connected part of the lab is laid out in columns by distance
 *  from its best-connected vertex (a switch if there is one), rows ordered by their neighbours'
 *  positions; parts are stacked top to bottom. Returns the canvas size. */
const COL = 330;
const ROW = 96;
function layout(vs: Vertex[], es: Edge[]): { w: number; h: number } {
  const adj = new Map<string, string[]>(vs.map((v) => [v.id, []]));
  for (const e of es) { adj.get(e.a)?.push(e.b); adj.get(e.b)?.push(e.a); }
  const order = new Map(vs.map((v, i) => [v.id, i]));
  const seen = new Set<string>();
  let top = 60;
  let width = 0;
  for (const start of vs) {
    if (seen.has(start.id)) continue;
    // the component of `start`
    const comp: string[] = [];
    const stack = [start.id];
    seen.add(start.id);
    while (stack.length) {
      const id = stack.pop() as string;
      comp.push(id);
      for (const n of adj.get(id) ?? []) if (!seen.has(n)) { seen.add(n); stack.push(n); }
    }
    const byId = new Map(vs.map((v) => [v.id, v]));
    const score = (id: string): number => (adj.get(id)?.length ?? 0) * 2 + (byId.get(id)?.shape === 'switch' ? 1 : 0);
    const root = [...comp].sort((a, b) => score(b) - score(a) || (order.get(a) as number) - (order.get(b) as number))[0] as string;
    // BFS layers
    const layerOf = new Map<string, number>([[root, 0]]);
    const layers: string[][] = [[root]];
    for (let l = 0; l < layers.length; l++) {
      for (const id of layers[l] as string[]) {
        for (const n of adj.get(id) ?? []) {
          if (layerOf.has(n)) continue;
          layerOf.set(n, l + 1);
          (layers[l + 1] ??= []).push(n);
        }
      }
    }
    // order each layer by the mean row of its neighbours in the previous layer (fewer crossings)
    const row = new Map<string, number>([[root, 0]]);
    for (let l = 1; l < layers.length; l++) {
      const layer = layers[l] as string[];
      const key = (id: string): number => {
        const prev = (adj.get(id) ?? []).filter((n) => layerOf.get(n) === l - 1).map((n) => row.get(n) ?? 0);
        return prev.length ? prev.reduce((a, b) => a + b, 0) / prev.length : 0;
      };
      layer.sort((a, b) => key(a) - key(b) || (order.get(a) as number) - (order.get(b) as number));
      layer.forEach((id, i) => row.set(id, i));
    }
    const tallest = Math.max(...layers.map((l) => l.length));
    layers.forEach((layer, l) => {
      const offset = ((tallest - layer.length) * ROW) / 2;
      layer.forEach((id, i) => {
        const v = byId.get(id) as Vertex;
        v.x = 90 + l * COL;
        v.y = top + 30 + offset + i * ROW;
      });
    });
    width = Math.max(width, 90 + (layers.length - 1) * COL + 90);
    top += tallest * ROW + 40;
  }
  return { w: Math.max(width, 480), h: top };
}

export function topologySvg(lab: Lab): string {
  const { vs, es } = build(lab);
  const { w, h } = layout(vs, es);
  const at = new Map(vs.map((v) => [v.id, v]));
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${Math.round(w)}" height="${Math.round(h + 30)}" viewBox="0 0 ${Math.round(w)} ${Math.round(h + 30)}" font-family="sans-serif" font-size="12">`);
  out.push(`<rect width="100%" height="100%" fill="#ffffff"/>`);
  out.push(`<text x="12" y="20" font-size="15" font-weight="bold">${esc(lab.name)}</text>`);
  if (lab.description) out.push(`<text x="12" y="38" fill="#555">${esc(lab.description)}</text>`);
  // Lines first, then the boxes, then the labels on top (never hidden under a box).
  const labels: string[] = [];
  // Parallel links between the same two boxes (dual-path's primary and backup) are drawn side by side,
  // each shifted across the line by 18 px, so both lines and their labels stay visible.
  const pairKey = (e: Edge): string => [e.a, e.b].sort().join('\u0000');
  const parallel = new Map<string, number>();
  for (const e of es) parallel.set(pairKey(e), (parallel.get(pairKey(e)) ?? 0) + 1);
  const seen = new Map<string, number>();
  for (const e of es) {
    let a = at.get(e.a) as Vertex; let b = at.get(e.b) as Vertex;
    const key = pairKey(e);
    const n = parallel.get(key) ?? 1;
    if (n > 1) {
      const k = seen.get(key) ?? 0;
      seen.set(key, k + 1);
      // the perpendicular of the pair in a fixed order, so opposite directions do not cancel out
      const [p, q] = e.a < e.b ? [a, b] : [b, a];
      const len = Math.max(Math.hypot(q.x - p.x, q.y - p.y), 1);
      const off = (k - (n - 1) / 2) * 18;
      const dx = (-(q.y - p.y) / len) * off; const dy = ((q.x - p.x) / len) * off;
      a = { ...a, x: a.x + dx, y: a.y + dy };
      b = { ...b, x: b.x + dx, y: b.y + dy };
    }
    out.push(`<line x1="${a.x.toFixed(1)}" y1="${a.y.toFixed(1)}" x2="${b.x.toFixed(1)}" y2="${b.y.toFixed(1)}" stroke="${e.dashed ? '#c05a00' : '#456'}" stroke-width="2"${e.dashed ? ' stroke-dasharray="7 5"' : ''}/>`);
    const endLabel = (t: string, p: Vertex, q: Vertex, below: boolean): void => {
      if (!t) return;
      const len = Math.max(Math.hypot(q.x - p.x, q.y - p.y), 1);
      const ux = (q.x - p.x) / len; const uy = (q.y - p.y) / len;
      // Start just past the box edge (half-width 60, half-height 20), text running away from the box.
      const edge = Math.abs(ux) * 64 + Math.abs(uy) * 24;
      const x = p.x + ux * (edge + 4); const y = p.y + uy * (edge + 4);
      const anchor = ux > 0.3 ? 'start' : ux < -0.3 ? 'end' : 'middle';
      const dx = anchor === 'middle' ? 8 : 0;
      // "eth1 10.0.0.1/24 fd00::1/64" → first line "eth1 10.0.0.1/24", further addresses below it.
      const words = t.split(' ');
      const lines = words.length > 2 ? [words.slice(0, 2).join(' '), ...words.slice(2)] : [t];
      // Going down: under the line. Otherwise the a-end label sits above the line, the b-end one below,
      // so the two ends of a short horizontal link never print over each other.
      const y0 = uy > 0.3 || (below && uy > -0.3) ? y + 14 : y - 5 - (lines.length - 1) * 13;
      labels.push(`<text x="${(x + dx).toFixed(1)}" y="${y0.toFixed(1)}" text-anchor="${anchor === 'middle' ? 'start' : anchor}" fill="#234" paint-order="stroke" stroke="#fff" stroke-width="3">` +
        lines.map((l, i) => `<tspan x="${(x + dx).toFixed(1)}" dy="${i ? 13 : 0}">${esc(l)}</tspan>`).join('') + '</text>');
    };
    endLabel(e.aLabel, a, b, false);
    endLabel(e.bLabel, b, a, true);
    if (e.mid) labels.push(`<text x="${((a.x + b.x) / 2).toFixed(1)}" y="${((a.y + b.y) / 2 + 16).toFixed(1)}" text-anchor="middle" fill="#c05a00" paint-order="stroke" stroke="#fff" stroke-width="3">${esc(e.mid)}</text>`);
  }
  for (const v of vs) {
    const x = v.x.toFixed(1); const y = v.y.toFixed(1);
    if (v.shape === 'switch') out.push(`<rect x="${(v.x - 60).toFixed(1)}" y="${(v.y - 18).toFixed(1)}" width="120" height="36" rx="6" fill="#e8f1fb" stroke="#2a6db0" stroke-width="2"/>`);
    else if (v.shape === 'remote') out.push(`<ellipse cx="${x}" cy="${y}" rx="62" ry="22" fill="#fff4e5" stroke="#c05a00" stroke-width="2" stroke-dasharray="4 3"/>`);
    else out.push(`<rect x="${(v.x - 55).toFixed(1)}" y="${(v.y - 20).toFixed(1)}" width="110" height="40" rx="18" fill="#eef7ee" stroke="#2e7d32" stroke-width="2"/>`);
    out.push(`<text x="${x}" y="${(v.y - 2).toFixed(1)}" text-anchor="middle" font-weight="bold">${esc(v.label)}</text>`);
    out.push(`<text x="${x}" y="${(v.y + 12).toFixed(1)}" text-anchor="middle" font-size="10" fill="#555">${esc(v.sub)}</text>`);
  }
  out.push(...labels);
  out.push('</svg>');
  return out.join('\n') + '\n';
}
