// The phrase catalogue: every step of tsunagari's vocabulary, in English and Japanese, in one place.
// Each entry is registered once with one implementation (steps/*.steps.ts); docs/steps.md is generated
// from here, and a unit test checks both languages use the same parameters in the same order.
// Japanese phrases: a space means "optional space" (`clientから10.0.0.1に` and `client から 10.0.0.1 に`).

export type Keyword = 'Given' | 'When' | 'Then';

export interface Phrase {
  keyword: Keyword;
  en: string;                      // Cucumber expression
  ja: string;                      // Cucumber expression; spaces become optional when registered
  meaning: string;
  example: { en: string; ja: string };
  table?: string;                  // a data table follows (its shape, for the docs)
  /** When Japanese word order puts the parameters in another order: jaOrder[i] = index in the
   *  Japanese phrase of the English phrase's i-th parameter. Omitted = same order. */
  jaOrder?: readonly number[];
}

export const CATALOGUE = {
  labUp: {
    keyword: 'Given', meaning: 'lab up (brought up once per run, shared, torn down at the end)',
    en: 'the lab {lab} is up', ja: 'ラボ {lab} が起動している',
    example: { en: 'Given the lab "home-nat" is up', ja: '前提 ラボ "home-nat" が起動している' },
  },
  canReach: {
    keyword: 'Then', meaning: 'reachability (ping from inside the host, up to 3 probes)',
    en: '{host} can reach {target}', ja: '{host} から {target} に到達できる',
    example: { en: 'Then client can reach dns', ja: 'ならば client から 198.51.100.53 に到達できる' },
  },
  cannotReach: {
    keyword: 'Then', meaning: 'unreachability (2 probes, 1 s each, none answered)',
    en: '{host} cannot reach {target}', ja: '{host} から {target} に到達できない',
    example: { en: 'Then upstream cannot reach client', ja: 'ならば upstream から client に到達できない' },
  },
  canReachWithin: {
    keyword: 'Then', meaning: 'reachability within a time (probes every 100 ms until the deadline)',
    en: '{host} can reach {target} within {duration}', ja: '{host} から {target} に {duration} 以内に到達できる',
    example: { en: 'Then client can reach dns within 3 s', ja: 'ならば clientからdnsに3秒以内に到達できる' },
  },
  reachability: {
    keyword: 'Then', meaning: 'reachability matrix (rows: from, columns: to; ok/ng, ○/×, ✓/✗, - skips)',
    en: 'the reachability is:', ja: '到達性は次の通りである:',
    example: { en: 'Then the reachability is:', ja: 'ならば 到達性は次の通りである:' },
    table: '| from \\ to | h1 | h2 |\n| h1 | - | ok |\n| h2 | ok | - |',
  },
  canConnect: {
    keyword: 'Then', meaning: 'TCP connect succeeds (3 s timeout)',
    en: '{host} can connect to {target} port {int}', ja: '{host} から {target} の {int} 番ポートに接続できる',
    example: { en: 'Then client can connect to dns port 80', ja: 'ならば client から dns の 80 番ポートに接続できる' },
  },
  cannotConnect: {
    keyword: 'Then', meaning: 'TCP connect fails (refused or timed out)',
    en: '{host} cannot connect to {target} port {int}', ja: '{host} から {target} の {int} 番ポートに接続できない',
    example: { en: 'Then client cannot connect to dns port 81', ja: 'ならば client から dns の 81 番ポートに接続できない' },
  },
  httpStatus: {
    keyword: 'Then', meaning: 'HTTP GET returns a status (node names allowed in the URL)',
    en: '{host} gets status {int} from {url}', ja: '{host} から {url} にアクセスするとステータス {int} が返る',
    jaOrder: [0, 2, 1],
    example: { en: 'Then client gets status 200 from "http://dns/"', ja: 'ならば client から "http://dns/" にアクセスするとステータス 200 が返る' },
  },
  linkDown: {
    keyword: 'When', meaning: 'link down (switch side for switch links, both ends for veth); undone after the scenario',
    en: 'the link {link} goes down', ja: 'リンク {link} を切断する',
    example: { en: 'When the link "client:eth1--lan" goes down', ja: 'もし リンク "client:eth1--lan" を切断する' },
  },
  linkUp: {
    keyword: 'When', meaning: 'link up again (routes Linux dropped are restored)',
    en: 'the link {link} comes back up', ja: 'リンク {link} を復旧する',
    example: { en: 'When the link "client:eth1--lan" comes back up', ja: 'もし リンク "client:eth1--lan" を復旧する' },
  },
  linkLoss: {
    keyword: 'When', meaning: 'packet loss in each direction (nftables numgen); undone after the scenario',
    en: 'the link {link} loses {percent} of packets', ja: 'リンク {link} で {percent} のパケットを損失させる',
    example: { en: 'When the link "nat:eth2--upstream:eth1" loses 100% of packets', ja: 'もし リンク "nat:eth2--upstream:eth1" で 100% のパケットを損失させる' },
  },
  linkRate: {
    keyword: 'When', meaning: 'rate limit in each direction (tbf); undone after the scenario',
    en: 'the link {link} is limited to {rate}', ja: 'リンク {link} の帯域を {rate} に制限する',
    example: { en: 'When the link "nat:eth2--upstream:eth1" is limited to 1 Mbit/s', ja: 'もし リンク "nat:eth2--upstream:eth1" の帯域を 1 Mbit/s に制限する' },
  },
  linkDelay: {
    keyword: 'When', meaning: 'added delay (netem; fails with "not available on this kernel" where netem is missing)',
    en: 'the link {link} is delayed by {duration}', ja: 'リンク {link} に {duration} の遅延を入れる',
    example: { en: 'When the link "nat:eth2--upstream:eth1" is delayed by 50 ms', ja: 'もし リンク "nat:eth2--upstream:eth1" に 50 ミリ秒 の遅延を入れる' },
  },
  run: {
    keyword: 'When', meaning: 'run a shell command inside a node; its output is kept for the next check',
    en: '{host} runs {command}', ja: '{host} で {command} を実行する',
    example: { en: 'When nat runs "ip route"', ja: 'もし nat で 「ip route」 を実行する' },
  },
  outputContains: {
    keyword: 'Then', meaning: 'the last command output (stdout or stderr) contains a text',
    en: 'the output contains {text}', ja: '出力に {text} が含まれる',
    example: { en: 'Then the output contains "default via"', ja: 'ならば 出力に "default via" が含まれる' },
  },
  dnsAsk: {
    keyword: 'When', meaning: 'DNS query from inside a host (UDP; TC → retried over TCP); the reply is captured on the wire',
    en: '{host} asks {target} for the {qtype} record of {domain}', ja: '{host} が {target} に {domain} の {qtype} レコードを問い合わせる',
    example: { en: 'When client asks dns for the A record of www.example.test', ja: 'もし client が 198.51.100.53 に www.example.test の A レコードを問い合わせる' },
    jaOrder: [0, 1, 3, 2],
  },
  dnsAskTcp: {
    keyword: 'When', meaning: 'DNS query over TCP',
    en: '{host} asks {target} for the {qtype} record of {domain} over TCP', ja: '{host} が {target} に TCP で {domain} の {qtype} レコードを問い合わせる',
    example: { en: 'When client asks dns for the MX record of example.test over TCP', ja: 'もし client が dns に TCP で example.test の MX レコードを問い合わせる' },
    jaOrder: [0, 1, 3, 2],
  },
  dnsRcode: {
    keyword: 'Then', meaning: 'DNS response code (NOERROR, NXDOMAIN, SERVFAIL, REFUSED, …)',
    en: 'the DNS response code is {rcode}', ja: 'DNS 応答コードは {rcode} である',
    example: { en: 'Then the DNS response code is NXDOMAIN', ja: 'ならば DNS 応答コードは NOERROR である' },
  },
  dnsAnswerContains: {
    keyword: 'Then', meaning: 'an answer record has this data (or "TYPE data")',
    en: 'the answer contains {value}', ja: '応答に {value} が含まれる',
    example: { en: 'Then the answer contains 198.51.100.80', ja: 'ならば 応答に 198.51.100.80 が含まれる' },
  },
  dnsAnswerExactly: {
    keyword: 'Then', meaning: 'the answer section is exactly these records (any order; ttl column optional)',
    en: 'the answer is exactly:', ja: '応答は次の通りである:',
    example: { en: 'Then the answer is exactly:', ja: 'ならば 応答は次の通りである:' },
    table: '| name | type | ttl | data |\n| www.example.test | A | 300 | 198.51.100.80 |',
  },
  dnsTtlAtMost: {
    keyword: 'Then', meaning: 'the TTL of the answer record with this data is at most a number of seconds',
    en: 'the TTL of {value} is at most {int}', ja: '{value} の TTL は {int} 以下である',
    example: { en: 'Then the TTL of 198.51.100.80 is at most 300', ja: 'ならば 198.51.100.80 の TTL は 300 以下である' },
  },
  dnsAuthoritative: {
    keyword: 'Then', meaning: 'the reply has the AA (authoritative answer) flag',
    en: 'the answer is authoritative', ja: '応答は権威応答である',
    example: { en: 'Then the answer is authoritative', ja: 'ならば 応答は権威応答である' },
  },
  dnsReplyFrom: {
    keyword: 'Then', meaning: 'the source address of the reply',
    en: 'the reply comes from {address}', ja: '応答の送信元は {address} である',
    example: { en: 'Then the reply comes from 198.51.100.53', ja: 'ならば 応答の送信元は 198.51.100.53 である' },
  },
  dnsNoReply: {
    keyword: 'Then', meaning: 'no reply reaches the asking program within a time',
    en: 'no reply arrives within {duration}', ja: '{duration} 以内に応答が届かない',
    example: { en: 'Then no reply arrives within 2 s', ja: 'ならば 2 秒以内に応答が届かない' },
  },
  dnsChecksum: {
    keyword: 'Then', meaning: 'the UDP checksum of the reply as it arrived on the host\'s interface (captured)',
    en: 'the reply arrived with UDP checksum {hex}', ja: '応答の UDP チェックサムは {hex} である',
    example: { en: 'Then the reply arrived with UDP checksum 0x0000', ja: 'ならば 応答の UDP チェックサムは 0x0000 である' },
  },
  dnsBadChecksum: {
    keyword: 'Then', meaning: 'diagnosis: the reply reached the host but its kernel dropped it for a wrong UDP checksum',
    en: 'the lookup fails because of a bad UDP checksum', ja: 'UDP チェックサム不正により名前解決に失敗する',
    example: { en: 'Then the lookup fails because of a bad UDP checksum', ja: 'ならば UDP チェックサム不正により名前解決に失敗する' },
  },
  dnsZeroChecksumServer: {
    keyword: 'Given', meaning: 'a responder node answers over IPv4 UDP with checksum 0 (legal, RFC 768); undone after the scenario',
    en: 'the DNS server {host} answers with UDP checksum zero', ja: 'DNS サーバ {host} は UDP チェックサム 0 で応答する',
    example: { en: 'Given the DNS server edge answers with UDP checksum zero', ja: '前提 DNS サーバ 「edge」 は UDP チェックサム 0 で応答する' },
  },
  brokenNat: {
    keyword: 'Given', meaning: 'a router rewrites zero UDP checksums of DNS replies to a wrong value (the broken consumer NAT); undone after the scenario',
    en: 'the router {host} rewrites zero UDP checksums wrongly', ja: 'ルータ {host} はチェックサム 0 の UDP を誤った値に書き換える',
    example: { en: 'Given the router nat rewrites zero UDP checksums wrongly', ja: '前提 ルータ nat はチェックサム 0 の UDP を誤った値に書き換える' },
  },
  silentDrop: {
    keyword: 'When', meaning: 'silent cut: every packet dropped both ways (nftables at the link\'s ends), no carrier change, so protocol timers must notice; undone after the scenario',
    en: 'the link {link} silently drops all traffic', ja: 'リンク {link} の通信を無通知で遮断する',
    example: { en: 'When the link "r1:eth2--r2:eth2" silently drops all traffic', ja: 'もし リンク "r1:eth2--r2:eth2" の通信を無通知で遮断する' },
  },
  probeStart: {
    keyword: 'Given', meaning: 'outage meter: numbered UDP probes each way (and ping) from inside the host to a responder in the target node; When steps are marked as events; stopped after the scenario',
    en: '{host} keeps probing {target} every {duration}', ja: '{host} から {target} へ {duration} 間隔でプローブを送り続ける',
    example: { en: 'Given client keeps probing server every 5 ms', ja: '前提 client から server へ 5 ミリ秒 間隔でプローブを送り続ける' },
  },
  recoversWithin: {
    keyword: 'Then', meaning: 'probes get through both ways again within a time of the last event (waits, bounded); fails when the event interrupted nothing (no probe lost after it: check a hitless change with `at most 0 probes are lost`); the outage figures and timeline go to the report',
    en: 'connectivity recovers within {duration}', ja: '{duration} 以内に通信が回復する',
    example: { en: 'Then connectivity recovers within 2 s', ja: 'ならば 2 秒以内に通信が回復する' },
  },
  outageAtMost: {
    keyword: 'Then', meaning: 'the longest outage, in the worse direction, is at most a time (late replies > 100 ms count as lost)',
    en: 'the outage lasts at most {duration}', ja: '通信断は {duration} 以内である',
    example: { en: 'Then the outage lasts at most 500 ms', ja: 'ならば 通信断は 500 ミリ秒 以内である' },
  },
  lostAtMost: {
    keyword: 'Then', meaning: 'probes lost (or late) in the worse direction since the probes started',
    en: 'at most {int} probes are lost', ja: '損失したプローブは {int} 個以下である',
    example: { en: 'Then at most 100 probes are lost', ja: 'ならば 損失したプローブは 100 個以下である' },
  },
  routerPushFile: {
    keyword: 'When', meaning: 'push a configuration file (replace) over SSH: snapshot first, commit-confirm through a new management session; rolled back and compared with the snapshot after the scenario',
    en: 'the router {host} is configured with {file}', ja: 'ルータ {host} に設定 {file} を投入する',
    example: { en: 'When the router r1 is configured with "fixtures/frr/dual-path/r1-bfd.conf"', ja: 'もし ルータ r1 に設定 「fixtures/frr/dual-path/r1-bfd.conf」 を投入する' },
  },
  routerPushLines: {
    keyword: 'When', meaning: 'push configuration lines (merged into the running config), same safety as a file',
    en: 'the router {host} is configured with:', ja: 'ルータ {host} に次の設定を投入する:',
    example: { en: 'When the router r1 is configured with:', ja: 'もし ルータ r1 に次の設定を投入する:' },
    table: '"""\ninterface eth3\n ip ospf cost 5\n"""',
  },
  routerPushReverted: {
    keyword: 'Then', meaning: 'the push is reverted by commit-confirm (it cut management) and the router is as before',
    en: 'pushing this configuration to the router {host} is reverted:', ja: 'ルータ {host} に次の設定を投入すると自動的に元に戻る:',
    example: { en: 'Then pushing this configuration to the router r1 is reverted:', ja: 'ならば ルータ r1 に次の設定を投入すると自動的に元に戻る:' },
    table: '"""\ninterface mgmt0\n shutdown\n"""',
  },
  routerRoute: {
    keyword: 'Then', meaning: 'the router has a selected route to a prefix via a next hop (waits up to 30 s for convergence)',
    en: 'the router {host} has a route to {prefix} via {address}', ja: 'ルータ {host} は {prefix} への経路を {address} 経由で持つ',
    example: { en: 'Then the router r1 has a route to 10.2.0.0/24 via 10.12.0.2', ja: 'ならば ルータ r1 は 10.2.0.0/24 への経路を 10.12.0.2 経由で持つ' },
  },
  routerNeighbour: {
    keyword: 'Then', meaning: 'an OSPF/BGP/BFD neighbour in a state (Full, Established, up; waits up to 30 s)',
    en: 'the router {host} has {protocol} neighbour {address} in state {state}', ja: 'ルータ {host} の {protocol} ネイバー {address} は {state} である',
    example: { en: 'Then the router r1 has OSPF neighbour 10.12.0.2 in state Full', ja: 'ならば ルータ r1 の OSPF ネイバー 10.12.0.2 は Full である' },
  },
  routerManagement: {
    keyword: 'Then', meaning: 'a new SSH session over the management network works',
    en: 'the router {host} is still reachable for management', ja: 'ルータ {host} に管理接続できる',
    example: { en: 'Then the router r1 is still reachable for management', ja: 'ならば ルータ r1 に管理接続できる' },
  },
} as const satisfies Record<string, Phrase>;

export type StepId = keyof typeof CATALOGUE;

/** Parameter names of an expression, in order: "{host} can reach {target}" → ["host", "target"]. */
export function paramsOf(expr: string): string[] {
  return [...expr.matchAll(/\{([^}]*)\}/g)].map((m) => m[1] as string);
}

/**
 * The Cucumber expression registered for a Japanese phrase: each space becomes an optional space, ASCII or
 * full-width (U+3000, what an IME types), and a final colon may be ASCII, full-width or left out.
 */
export function jaExpression(ja: string): string {
  return ja.replace(/ /g, '( )(\u3000)').replace(/:$/, '(:)(：)');
}
