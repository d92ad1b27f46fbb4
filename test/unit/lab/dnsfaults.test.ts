// The broken-NAT change as text: the nftables table breakZeroChecksums loads into a router (one forward-chain
// rule at mangle priority, optionally limited to one server), its own unique table name, and the checks on
// the wrong checksum value and the server address.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { UserError } from '../../../src/util/errors.js';
import { DEFAULT_BAD_CHECKSUM, zeroChecksumOptions, zeroChecksumScript, zeroChecksumTable } from '../../../src/lab/dnsfaults.js';

test('the rule rewrites checksum 0 of UDP from port 53 (of one server) to the value, in a forward chain', () => {
  assert.equal(zeroChecksumScript('tsunagari_zcsum_abc123', { value: 0x1234, server: '10.53.2.53' }), [
    'table ip tsunagari_zcsum_abc123 {',
    '  chain forward {',
    '    type filter hook forward priority mangle; policy accept;',
    '    ip saddr 10.53.2.53 udp sport 53 udp checksum 0 udp checksum set 0x1234',
    '  }',
    '}',
    '',
  ].join('\n'));
  assert.match(zeroChecksumScript('t', { value: 0xbeef }), /^ {4}udp sport 53 udp checksum 0 udp checksum set 0xbeef$/m);
  assert.match(zeroChecksumScript('t', { value: 7 }), /udp checksum set 0x0007$/m);
});

test('each change gets a table of its own (so its undo removes exactly it)', () => {
  const names = new Set(Array.from({ length: 50 }, () => zeroChecksumTable()));
  assert.equal(names.size, 50);
  for (const n of names) assert.match(n, /^tsunagari_zcsum_[0-9a-f]{6}$/);
});

test('options: 0x1234 by default; the value must change the checksum; the server is an IPv4 address', () => {
  assert.deepEqual(zeroChecksumOptions('nat', {}), { value: DEFAULT_BAD_CHECKSUM });
  assert.equal(DEFAULT_BAD_CHECKSUM, 0x1234);
  assert.deepEqual(zeroChecksumOptions('nat', { value: 0xffff, server: '10.53.2.53' }), { value: 0xffff, server: '10.53.2.53' });
  const bad = (o: Parameters<typeof zeroChecksumOptions>[1], re: RegExp) =>
    assert.throws(() => zeroChecksumOptions('nat', o), (e: unknown) => e instanceof UserError && re.test(e.message));
  bad({ value: 0 }, /^cannot make router nat rewrite zero UDP checksums to 0 \(must be 0x0001\.\.0xffff; 0 would leave them correct\)$/);
  bad({ value: 0x10000 }, /to 65536 \(must be 0x0001\.\.0xffff/);
  bad({ value: 1.5 }, /to 1\.5 /);
  bad({ server: 'fd00::53' }, /^cannot make router nat rewrite zero UDP checksums of server fd00::53 \(not an IPv4 address; a zero UDP checksum is legal only in IPv4\)$/);
  bad({ server: 'dns.example' }, /of server dns\.example \(not an IPv4 address/);
});
