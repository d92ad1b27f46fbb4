import { test } from 'node:test';
import assert from 'node:assert/strict';
import { REQUIRED_PACKAGES, aptFailedPackages, parseMissingPackages } from '../../../src/setup/packages.js';

test('only packages with status ii count as installed', () => {
  // dpkg-query lists known packages sorted by name; unknown ones only appear on stderr.
  const out = [
    'busybox-static\tii ',
    'docker.io\trc ',
    'iproute2\tii ',
    'tcpdump\tun ',
    'libc6:amd64\tii ',
    '',
  ].join('\n');
  assert.deepEqual(parseMissingPackages(out, ['iproute2', 'docker.io', 'tcpdump', 'busybox-static', 'ethtool', 'libc6']),
    ['docker.io', 'tcpdump', 'ethtool']);
});

test('empty dpkg-query output means everything is missing', () => {
  assert.deepEqual(parseMissingPackages('', REQUIRED_PACKAGES), [...REQUIRED_PACKAGES]);
});

test('the required list holds what the brief names, once each', () => {
  for (const p of ['docker.io', 'openvswitch-switch', 'iproute2', 'debootstrap', 'busybox-static', 'nftables']) {
    assert.ok(REQUIRED_PACKAGES.includes(p as (typeof REQUIRED_PACKAGES)[number]), p);
  }
  assert.equal(new Set(REQUIRED_PACKAGES).size, REQUIRED_PACKAGES.length);
});

test('apt failures name the package apt complained about', () => {
  const out = 'Reading package lists...\nE: Unable to locate package tcpdumb\nE: Package \'ethtool\' has no installation candidate\n';
  assert.deepEqual(aptFailedPackages(out, ['tcpdumb', 'ethtool', 'kmod']), ['tcpdumb', 'ethtool']);
  assert.deepEqual(aptFailedPackages('E: Sub-process /usr/bin/dpkg returned an error code (1)\n', ['kmod']), []);
});
