// Parameter types shared by both languages. Names may be bare, "quoted" or 「quoted」; values are
// resolved through the World (the scenario's lab), so a typo fails listing the known names.
// Regexps stay tight (no bare words that swallow ordinary text) and are not used for snippets.
import { defineParameterType } from '@cucumber/cucumber';
import { parseDuration, parsePercent, parseRate, unquote } from '../../src/scenario/params.js';
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
param('command', function (s) { return unquote(s); });
param('text', function (s) { return unquote(s); });
