import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseDuration, parsePercent, parseRate, parseMark, parseHex, unquote } from '../../../src/scenario/params.js';
import { findRecords } from '../../../src/scenario/dns.js';
import { UndoStack } from '../../../src/scenario/undo.js';

test('values are read the way Japanese and English writers write them', () => {
  assert.equal(unquote(' "client" '), 'client');
  assert.equal(unquote('「client」'), 'client');
  assert.equal(parseDuration('500 ms'), 500);
  assert.equal(parseDuration('3秒'), 3000);
  assert.equal(parseDuration('500 ミリ秒'), 500);
  assert.equal(parseDuration('1.5 s'), 1500);
  assert.equal(parseDuration('３　秒'), 3000, 'full-width digits and space, as an IME types them');
  assert.equal(parseDuration('１．５秒'), 1500);
  assert.equal(parsePercent('３０％'), 30);
  assert.equal(parseRate('２ Mbit/s'), 2e6);
  assert.throws(() => parseDuration('3 fortnights'), /cannot read duration "3 fortnights"; hint: write e.g. 500 ms, 3 s, 500 ミリ秒, 3 秒/);
  assert.equal(parsePercent('10%'), 10);
  assert.equal(parsePercent('10 パーセント'), 10);
  assert.throws(() => parsePercent('0%'), /more than 0 and at most 100/);
  assert.equal(parseRate('1 Mbit/s'), 1e6);
  assert.equal(parseRate('500kbit/s'), 5e5);
  assert.throws(() => parseRate('1 bit/s'), /below 8 kbit\/s/);
  assert.equal(parseMark('○'), true);
  assert.equal(parseMark('×'), false);
  assert.equal(parseMark('-'), undefined);
  assert.throws(() => parseMark('maybe'), /use ok\/ng, ○\/×, or ✓\/✗/);
  assert.equal(parseHex('0x0000'), 0);
  assert.equal(parseHex('0x1234'), 0x1234);
  assert.throws(() => parseHex('0x12345'), /cannot read checksum/);
});

test('answer values match record data, "TYPE data", with or without trailing dots and quotes', () => {
  const answers = [
    { name: 'example.test.', type: 'MX', klass: 'IN', ttl: 300, data: '10 mail.example.test.' },
    { name: 'www.example.test.', type: 'A', klass: 'IN', ttl: 300, data: '198.51.100.80' },
    { name: 'example.test.', type: 'TXT', klass: 'IN', ttl: 300, data: '"v=spf1 -all"' },
  ];
  assert.equal(findRecords({ answers }, '198.51.100.80').length, 1);
  assert.equal(findRecords({ answers }, '10 mail.example.test').length, 1);
  assert.equal(findRecords({ answers }, 'MX 10 mail.example.test.').length, 1);
  assert.equal(findRecords({ answers }, 'v=spf1 -all').length, 1);
  assert.equal(findRecords({ answers }, '198.51.100.8').length, 0);
});

test('the undo stack runs inverses last first and reports every failure', async () => {
  const order: string[] = [];
  const u = new UndoStack();
  u.push('first', async () => { order.push('first'); });
  u.push('second', async () => { throw new Error('boom'); });
  u.push('third', async () => { order.push('third'); });
  assert.deepEqual(await u.unwind(), ['second: boom']);
  assert.deepEqual(order, ['third', 'first']);
  assert.equal(u.size, 0);
});
