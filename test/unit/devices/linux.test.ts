// Plain-Linux parsing (src/devices/linux-parse.ts): candidate lines classified into forms with inverses
// (anything else refused), shell words, route specs that `ip route replace` takes back, the dump.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { classify, routeSpec, shellWords, linuxDump, configRoutes } from '../../../src/devices/linux-parse.js';

test('known forms are classified; lines without an inverse are not', () => {
  assert.deepEqual(classify('ip addr add 10.0.0.1/24 dev eth1'), { line: 'ip addr add 10.0.0.1/24 dev eth1', kind: 'addr-add', family: 4, target: '10.0.0.1/24', dev: 'eth1' });
  assert.equal(classify('ip -6 address del fd00::1/64 dev eth1')?.kind, 'addr-del');
  assert.equal(classify('ip -6 address del fd00::1/64 dev eth1')?.family, 6);
  assert.deepEqual(classify('ip r add 203.0.113.0/24 via 10.0.0.2')?.args, ['203.0.113.0/24', 'via', '10.0.0.2']);
  assert.equal(classify('ip route add blackhole 192.0.2.0/24')?.target, '192.0.2.0/24');
  assert.equal(classify('ip route replace default via 10.0.0.1')?.kind, 'route-replace');
  assert.equal(classify('ip link set dev eth1 mtu 1400 up')?.kind, 'link');
  assert.equal(classify('ip link set eth1 down')?.target, 'eth1');
  assert.equal(classify('nft add rule inet f input drop')?.kind, 'nft');
  assert.deepEqual(classify('sysctl -w net.ipv4.ip_forward=0'), { line: 'sysctl -w net.ipv4.ip_forward=0', kind: 'sysctl', family: 4, target: 'net.ipv4.ip_forward', value: '0' });
  for (const bad of ['ip tunnel add t0 mode gre', 'ip link set eth1 name x', 'ip addr add 10.0.0.1/24', 'rm -rf /', 'ip addr flush dev eth1', 'sysctl net.ipv4.ip_forward']) {
    assert.equal(classify(bad), undefined, bad);
  }
});

test('shellWords: quotes and backslashes, no expansion', () => {
  assert.deepEqual(shellWords(`nft add rule inet f c 'tcp dport 22 drop' "a b" c\\ d ''`), ['nft', 'add', 'rule', 'inet', 'f', 'c', 'tcp dport 22 drop', 'a b', 'c d', '']);
  assert.throws(() => shellWords(`echo 'x`), /unterminated/);
});

test('routeSpec gives arguments `ip route replace` accepts; daemon routes are not configuration', () => {
  assert.equal(routeSpec({ dst: 'default', gateway: '10.0.0.1', dev: 'eth1', flags: [] }), 'default via 10.0.0.1 dev eth1');
  assert.equal(routeSpec({ dst: '10.0.0.0/30', dev: 'eth1', protocol: 'kernel', scope: 'link', prefsrc: '10.0.0.2' }), '10.0.0.0/30 dev eth1 proto kernel src 10.0.0.2');
  assert.equal(routeSpec({ dst: '192.0.2.0/24', type: 'blackhole' }), 'blackhole 192.0.2.0/24');
  assert.equal(routeSpec({ dst: '198.51.100.0/24', nexthops: [{ gateway: '10.0.0.1', dev: 'eth1', weight: 1 }, { gateway: '10.0.1.1', dev: 'eth2', weight: 1 }] }),
    '198.51.100.0/24 nexthop via 10.0.0.1 dev eth1 weight 1 nexthop via 10.0.1.1 dev eth2 weight 1');
  const routes = [{ dst: '10.9.0.0/24', gateway: '10.0.0.1', protocol: 'ospf' }, { dst: '10.8.0.0/24', gateway: '10.0.0.1' }];
  assert.deepEqual(configRoutes(routes, 4).map((r) => r.dst), ['10.8.0.0/24']);
});

test('the dump is sorted and stable whatever order iproute2 lists things in', () => {
  const st = {
    hostname: 'h\n', nft: '',
    links: [{ ifname: 'eth1', flags: ['UP'], mtu: 1500 }, { ifname: 'lo', flags: ['UP', 'LOOPBACK'], mtu: 65536 }],
    addrs: [{ ifname: 'eth1', addr_info: [{ family: 'inet', local: '10.0.0.2', prefixlen: 24, scope: 'global' }, { family: 'inet6', local: 'fe80::1', prefixlen: 64, scope: 'link' }] },
      { ifname: 'lo', addr_info: [{ family: 'inet', local: '127.0.0.1', prefixlen: 8, scope: 'host' }] }],
    routes4: [{ dst: 'default', gateway: '10.0.0.1', dev: 'eth1' }, { dst: '10.0.0.0/24', dev: 'eth1', protocol: 'kernel', scope: 'link', prefsrc: '10.0.0.2' }],
    routes6: [{ dst: 'fe80::/64', dev: 'eth1', protocol: 'kernel', metric: 256 }],
  };
  const a = linuxDump(st);
  const b = linuxDump({ ...st, links: [...st.links].reverse(), routes4: [...st.routes4].reverse() });
  assert.equal(a, b);
  assert.equal(a, 'hostname h\nlink eth1 up mtu 1500\nlink lo up mtu 65536\naddress eth1 10.0.0.2/24\nroute 10.0.0.0/24 dev eth1 proto kernel src 10.0.0.2\nroute default via 10.0.0.1 dev eth1\n');
});

test('shell metacharacters never smuggle a second command past the known forms (old behaviour: ran through sh)', () => {
  for (const [line, c] of [['ip link set eth1 up; rm -rf /', ';'], ['ip link set eth1 up && reboot', '&'], ['ip route add 10.0.0.0/8 via 10.0.0.1 | sh', '|'],
    ['ip addr add $(id)/24 dev eth1', '$'], ['ip addr add "`id`" dev eth1', '`'], ['sysctl -w a=1 > /etc/passwd', '>'], ['nft "add table ip $x"', '$'], ['ip link set eth1 up\nreboot', '\n']] as const) {
    assert.throws(() => classify(line), (e: Error) => e.message.startsWith(`shell metacharacter ${JSON.stringify(c)} is not allowed: only single commands of the known forms run`), line);
  }
  // quoted or escaped, they are plain characters of an argument (nft rules need them)
  assert.equal(classify("nft 'add chain inet t c { type filter hook input priority 0; }'")?.kind, 'nft');
  assert.equal(classify('nft add chain inet t c { type filter hook input priority 0 \\; }')?.kind, 'nft');
  assert.equal(classify('ip link set dev eth1 up')?.kind, 'link');
});
