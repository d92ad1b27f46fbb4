// DNS: queries from inside a host (captured on its wire), checks on the reply, and the DNS servers and
// routers of the zero-checksum story.
import type { DataTable } from '@cucumber/cucumber';
import { step } from './support/define.js';
import type { TsunagariWorld } from './support/world.js';
import type { Target } from '../src/lab/targets.js';

step('dnsAsk', function dnsAsk(this: TsunagariWorld, host: string, target: Target, qtype: string, domain: string) { return this.s.dns.ask(host, target, qtype, domain, false); });
step('dnsAskTcp', function dnsAskTcp(this: TsunagariWorld, host: string, target: Target, qtype: string, domain: string) { return this.s.dns.ask(host, target, qtype, domain, true); });
step('dnsRcode', function dnsRcode(this: TsunagariWorld, rcode: string) { return this.s.dns.rcode(rcode); });
step('dnsAnswerContains', function dnsAnswerContains(this: TsunagariWorld, value: string) { return this.s.dns.answerContains(value); });
step('dnsAnswerExactly', function dnsAnswerExactly(this: TsunagariWorld, t: DataTable) { return this.s.dns.answerExactly(t.raw()); });
step('dnsTtlAtMost', function dnsTtlAtMost(this: TsunagariWorld, value: string, max: number) { return this.s.dns.ttlAtMost(value, max); });
step('dnsAuthoritative', function dnsAuthoritative(this: TsunagariWorld) { return this.s.dns.authoritative(); });
step('dnsReplyFrom', function dnsReplyFrom(this: TsunagariWorld, address: Target) { return this.s.dns.replyFrom(address); });
step('dnsNoReply', function dnsNoReply(this: TsunagariWorld, ms: number) { return this.s.dns.noReplyWithin(ms); });
step('dnsChecksum', function dnsChecksum(this: TsunagariWorld, value: number) { return this.s.dns.checksum(value); });
step('dnsBadChecksum', function dnsBadChecksum(this: TsunagariWorld) { return this.s.dns.badChecksum(); });
step('dnsZeroChecksumServer', function dnsZeroChecksumServer(this: TsunagariWorld, host: string) { return this.s.zeroChecksumServer(host); });
step('brokenNat', function brokenNat(this: TsunagariWorld, host: string) { return this.s.brokenNat(host); });
