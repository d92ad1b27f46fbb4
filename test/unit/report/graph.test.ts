import { test } from 'node:test';
import assert from 'node:assert/strict';
import { topologySvg } from '../../../src/report/graph.js';
import { loadTopology } from '../../../src/topology/load.js';

test('the topology picture names every node, switch and VXLAN, and is deterministic', async () => {
  const lab = await loadTopology('test/fixtures/labs/itest.yaml');
  const svg = topologySvg(lab);
  assert.match(svg, /^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
  for (const n of [...lab.nodes.map((x) => x.name), ...lab.switches.map((s) => s.name)]) assert.match(svg, new RegExp(`>${n}<`));
  assert.match(svg, /VXLAN 77:4789/);
  assert.match(svg, /10\.10\.1\.11\/24/);
  assert.doesNotMatch(svg, /NaN/);
  assert.equal(topologySvg(lab), svg);
});

test('parallel links between the same two boxes are drawn side by side, not on top of each other', async () => {
  const lab = await loadTopology('topologies/dual-path.yaml');
  const svg = topologySvg(lab);
  const lines = [...svg.matchAll(/<line x1="([\d.-]+)" y1="([\d.-]+)" x2="([\d.-]+)" y2="([\d.-]+)"/g)].map((m) => m.slice(1, 5).join(','));
  assert.equal(lines.length, lab.links.length);
  assert.equal(new Set(lines).size, lines.length, `every line has its own place: ${lines.join(' | ')}`);
  // r1's ends of primary (eth2) and backup (eth3): their labels are not printed over each other
  const labelAt = (t: string): string => new RegExp(`<text x="([\\d.-]+)" y="([\\d.-]+)"[^>]*><tspan[^>]*>${t.replace(/\./g, '\\.')}<`).exec(svg)?.slice(1, 3).join(',') ?? 'missing';
  const [eth2, eth3] = [labelAt('eth2 10.12.0.1/30'), labelAt('eth3 10.12.1.1/30')];
  assert.ok(eth2 !== 'missing' && eth3 !== 'missing' && eth2 !== eth3, `${eth2} / ${eth3}`);
  const dy = Math.abs(Number(eth2.split(',')[1]) - Number(eth3.split(',')[1]));
  assert.ok(dy >= 12, `labels at least a line apart (${dy} px)`);
  assert.doesNotMatch(svg, /NaN/);
});
