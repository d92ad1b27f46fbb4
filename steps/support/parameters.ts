// Parameter types shared by both languages. Names may be bare, "quoted" or 「quoted」; values are
// resolved through the World (the scenario's lab), so a typo fails listing the known names.
// Regexps stay tight (no bare words that swallow ordinary text) and are not used for snippets.
import { defineParameterType } from '@cucumber/cucumber';
import { parseDuration, parseHex, parsePercent, parseRate, unquote } from '../../src/scenario/params.js';
import { qtypeOf, rcodeOf, rcodeName } from '../../src/probes/dns.js';
import type { TsunagariWorld } from './world.js';
import { PARAM_REGEXPS, type ParamName } from './regexps.js';

function param(name: ParamName, transformer: (this: TsunagariWorld, s: string) => unknown): void {
  defineParameterType({ name, regexp: new RegExp(PARAM_REGEXPS[name]), transformer, useForSnippets: false });
}

param('lab', function (s) { return unquote(s); });
param('host', function (s) { return this.s.host(s); });
param('target', function (s) { return this.s.target(s); });
param('link', function (s) { return this.s.link(s); });
param('duration', function (s) { return parseDuration(s); });
param('percent', function (s) { return parsePercent(s); });
param('rate', function (s) { return parseRate(s); });
param('url', function (s) { return unquote(s); });
param('qtype', function (s) { qtypeOf(s); return s; });
param('domain', function (s) { return unquote(s); });
param('rcode', function (s) { return rcodeName(rcodeOf(s)); });
param('value', function (s) { return unquote(s); });
param('address', function (s) { return this.s.target(s); });
param('hex', function (s) { return parseHex(s); });
param('file', function (s) { return unquote(s); });
param('prefix', function (s) { return unquote(s); });
param('protocol', function (s) { return s.toUpperCase(); });
param('state', function (s) { return s; });
param('command', function (s) { return unquote(s); });
param('text', function (s) { return unquote(s); });
