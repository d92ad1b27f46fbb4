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
  const addr = (node: string, iface: string): string => {
    const i = lab.nodes.find((n) => n.name === node)?.interfaces.find((x) => x.name === iface);
    return [iface, ...(i?.addresses ?? [])].join(' ');
  };
  const es: Edge[] = [];
  for (const l of lab.links) es.push(edgeOf(l, addr, vs));
  return { vs, es };
}

function edgeOf(l: Link, addr: (n: string, i: string) => string, vs: Vertex[]): Edge {
  if (l.type === 'veth') return { a: `n:${l.a.node}`, b: `n:${l.b.node}`, aLabel: addr(l.a.node, l.a.iface), bLabel: addr(l.b.node, l.b.iface), mid: '', dashed: false };
  if (l.type === 'switch') {
    const v = l.vlan?.vlan !== undefined ? `vlan ${l.vlan.vlan}` : l.vlan?.trunk ? `trunk ${l.vlan.trunk.join(',')}` : '';
    return { a: `n:${l.node.node}`, b: `s:${l.switch}`, aLabel: addr(l.node.node, l.node.iface), bLabel: l.port, mid: v, dashed: false };
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

/** Deterministic force-directed layout (Fruchterman–Reingold, fixed start on a circle). */
function layout(vs: Vertex[], es: Edge[], w: number, h: number): void {
  const n = vs.length;
  vs.forEach((v, i) => { v.x = w / 2 + (w / 3) * Math.cos((2 * Math.PI * i) / Math.max(n, 1)); v.y = h / 2 + (h / 3) * Math.sin((2 * Math.PI * i) / Math.max(n, 1)); });
  if (n < 2) { if (vs[0]) { vs[0].x = w / 2; vs[0].y = h / 2; } return; }
  const k = Math.sqrt((w * h) / n) * 0.75;
  const idx = new Map(vs.map((v, i) => [v.id, i]));
  let temp = w / 8;
  for (let it = 0; it < 300; it++) {
    const dx = new Array(n).fill(0);
    const dy = new Array(n).fill(0);
    for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) {
      const a = vs[i] as Vertex; const b = vs[j] as Vertex;
      let ddx = a.x - b.x; let ddy = a.y - b.y;
      const d = Math.max(Math.hypot(ddx, ddy), 0.01);
      if (d < 0.02) { ddx = 0.01 * (i - j); ddy = 0.01; }
      const f = (k * k) / d;
      dx[i] += (ddx / d) * f; dy[i] += (ddy / d) * f; dx[j] -= (ddx / d) * f; dy[j] -= (ddy / d) * f;
    }
    for (const e of es) {
      const i = idx.get(e.a) as number; const j = idx.get(e.b) as number;
      if (i === j) continue;
      const a = vs[i] as Vertex; const b = vs[j] as Vertex;
      const ddx = a.x - b.x; const ddy = a.y - b.y;
      const d = Math.max(Math.hypot(ddx, ddy), 0.01);
      const f = (d * d) / k;
      dx[i] -= (ddx / d) * f; dy[i] -= (ddy / d) * f; dx[j] += (ddx / d) * f; dy[j] += (ddy / d) * f;
    }
    for (let i = 0; i < n; i++) {
      const v = vs[i] as Vertex;
      const d = Math.max(Math.hypot(dx[i], dy[i]), 0.01);
      v.x = Math.min(w - 90, Math.max(90, v.x + (dx[i] / d) * Math.min(d, temp)));
      v.y = Math.min(h - 50, Math.max(50, v.y + (dy[i] / d) * Math.min(d, temp)));
    }
    temp *= 0.985;
  }
}

export function topologySvg(lab: Lab): string {
  const { vs, es } = build(lab);
  const w = Math.max(640, 180 * Math.ceil(Math.sqrt(vs.length)) * 1.6);
  const h = Math.max(420, w * 0.62);
  layout(vs, es, w, h);
  const at = new Map(vs.map((v) => [v.id, v]));
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${Math.round(w)}" height="${Math.round(h + 30)}" viewBox="0 0 ${Math.round(w)} ${Math.round(h + 30)}" font-family="sans-serif" font-size="12">`);
  out.push(`<rect width="100%" height="100%" fill="#ffffff"/>`);
  out.push(`<text x="12" y="20" font-size="15" font-weight="bold">${esc(lab.name)}</text>`);
  if (lab.description) out.push(`<text x="12" y="38" fill="#555">${esc(lab.description)}</text>`);
  for (const e of es) {
    const a = at.get(e.a) as Vertex; const b = at.get(e.b) as Vertex;
    out.push(`<line x1="${a.x.toFixed(1)}" y1="${a.y.toFixed(1)}" x2="${b.x.toFixed(1)}" y2="${b.y.toFixed(1)}" stroke="${e.dashed ? '#c05a00' : '#456'}" stroke-width="2"${e.dashed ? ' stroke-dasharray="7 5"' : ''}/>`);
    const lab1 = (t: string, p: Vertex, q: Vertex): void => {
      if (!t) return;
      const x = p.x + (q.x - p.x) * 0.28; const y = p.y + (q.y - p.y) * 0.28;
      out.push(`<text x="${x.toFixed(1)}" y="${(y - 4).toFixed(1)}" text-anchor="middle" fill="#234" paint-order="stroke" stroke="#fff" stroke-width="3">${esc(t)}</text>`);
    };
    lab1(e.aLabel, a, b);
    lab1(e.bLabel, b, a);
    if (e.mid) out.push(`<text x="${((a.x + b.x) / 2).toFixed(1)}" y="${((a.y + b.y) / 2 + 14).toFixed(1)}" text-anchor="middle" fill="#c05a00" paint-order="stroke" stroke="#fff" stroke-width="3">${esc(e.mid)}</text>`);
  }
  for (const v of vs) {
    const x = v.x.toFixed(1); const y = v.y.toFixed(1);
    if (v.shape === 'switch') out.push(`<rect x="${(v.x - 60).toFixed(1)}" y="${(v.y - 18).toFixed(1)}" width="120" height="36" rx="6" fill="#e8f1fb" stroke="#2a6db0" stroke-width="2"/>`);
    else if (v.shape === 'remote') out.push(`<ellipse cx="${x}" cy="${y}" rx="62" ry="22" fill="#fff4e5" stroke="#c05a00" stroke-width="2" stroke-dasharray="4 3"/>`);
    else out.push(`<rect x="${(v.x - 55).toFixed(1)}" y="${(v.y - 20).toFixed(1)}" width="110" height="40" rx="18" fill="#eef7ee" stroke="#2e7d32" stroke-width="2"/>`);
    out.push(`<text x="${x}" y="${(v.y - 2).toFixed(1)}" text-anchor="middle" font-weight="bold">${esc(v.label)}</text>`);
    out.push(`<text x="${x}" y="${(v.y + 12).toFixed(1)}" text-anchor="middle" font-size="10" fill="#555">${esc(v.sub)}</text>`);
  }
  out.push('</svg>');
  return out.join('\n') + '\n';
}
