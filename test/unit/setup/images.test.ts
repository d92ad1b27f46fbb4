import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BUILTIN_IMAGES, RECIPES, RECIPE_LABEL, importChanges, isStaticElf, parseAptMirror, recipeHash, type Recipe }
  from '../../../src/setup/images.js';

test('recipe hash is a stable sha256 per image and differs between images', () => {
  const h = recipeHash(RECIPES.debian);
  assert.match(h, /^[0-9a-f]{64}$/);
  assert.equal(recipeHash(RECIPES.debian), h);
  assert.equal(recipeHash({ ...RECIPES.debian }), h, 'depends on content, not identity');
  assert.notEqual(recipeHash(RECIPES.host), h);
});

test('recipe hash changes with the package list, the steps, the version and the init script', () => {
  const base: Recipe = RECIPES.debian;
  const h = recipeHash(base);
  assert.notEqual(recipeHash({ ...base, packages: [...base.packages, 'mtr-tiny'] }), h);
  assert.notEqual(recipeHash({ ...base, packages: [...base.packages].reverse() }), h, 'order is part of the recipe');
  assert.notEqual(recipeHash({ ...base, steps: [...base.steps, 'one more'] }), h);
  assert.notEqual(recipeHash({ ...base, version: base.version + '.1' }), h);
  assert.notEqual(recipeHash({ ...base, init: base.init + '\n' }), h);
});

test('import changes set the init as CMD and carry the recipe label', () => {
  for (const name of ['host', 'debian'] as const) {
    const changes = importChanges(RECIPES[name]);
    assert.ok(changes.includes('CMD ["/usr/local/sbin/tsunagari-init"]'));
    assert.ok(changes.includes(`LABEL ${RECIPE_LABEL}=${recipeHash(RECIPES[name])}`));
    assert.equal(RECIPES[name].tag, BUILTIN_IMAGES[name]);
  }
});

test('the init script traps TERM and INT and never exits on its own', () => {
  const init = RECIPES.host.init;
  assert.match(init, /^#!\/bin\/sh\n/);
  assert.match(init, /trap 'exit 0' TERM INT/);
  assert.match(init, /while :; do/);
});

test('debian mirror comes from the host sources for bookworm main, never from -security', () => {
  const deb822 = {
    name: '/etc/apt/sources.list.d/debian.sources',
    text: [
      'Types: deb', 'URIs: http://security.example/debian-security', 'Suites: bookworm-security', 'Components: main', '',
      'Types: deb', '# comment', 'URIs: http://mirror.example/debian/', 'Suites: bookworm bookworm-updates', 'Components: main contrib', '',
    ].join('\n'),
  };
  assert.equal(parseAptMirror([deb822]), 'http://mirror.example/debian');
  const oneLine = { name: '/etc/apt/sources.list', text: '# deb http://old.example/debian bookworm main\ndeb [arch=amd64] https://m.example/debian bookworm main non-free\n' };
  assert.equal(parseAptMirror([oneLine]), 'https://m.example/debian');
  const other = { name: '/etc/apt/sources.list', text: 'deb http://archive.ubuntu.com/ubuntu noble main\n' };
  assert.equal(parseAptMirror([other]), undefined);
  const disabled = { name: 'x.sources', text: 'Enabled: no\nTypes: deb\nURIs: http://d.example/debian\nSuites: bookworm\nComponents: main\n' };
  assert.equal(parseAptMirror([disabled, deb822]), 'http://mirror.example/debian');
});

function elf64(phTypes: number[]): Buffer {
  const phoff = 64;
  const buf = Buffer.alloc(phoff + 56 * phTypes.length);
  buf.writeUInt32BE(0x7f454c46, 0);
  buf[4] = 2; // ELFCLASS64
  buf[5] = 1; // little endian
  buf.writeBigUInt64LE(BigInt(phoff), 32);
  buf.writeUInt16LE(56, 54);
  buf.writeUInt16LE(phTypes.length, 56);
  phTypes.forEach((t, i) => buf.writeUInt32LE(t, phoff + 56 * i));
  return buf;
}

test('a static ELF has no PT_INTERP header', () => {
  assert.equal(isStaticElf(elf64([1, 1, 4])), true);
  assert.equal(isStaticElf(elf64([6, 3, 1])), false);
  assert.equal(isStaticElf(Buffer.from('#!/bin/sh\necho not an elf\n'.padEnd(80))), false);
});
