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
