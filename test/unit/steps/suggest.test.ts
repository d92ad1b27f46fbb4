// Undefined steps get the nearest phrase of the vocabulary, in the step's own language.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { nearestPhrase } from '../../../steps/suggest.js';

test('a typo in English finds its phrase', () => {
  assert.equal(nearestPhrase('clinet can reech server')?.id, 'canReach');
  assert.equal(nearestPhrase('client can not reach server')?.id, 'cannotReach');
  assert.equal(nearestPhrase('the lab "home-nat" is running')?.id, 'labUp');
});

test('a typo in Japanese finds the Japanese phrase', () => {
  const s = nearestPhrase('client から server に到達できろ');
  assert.equal(s?.id, 'canReach');
  assert.equal(s?.lang, 'ja');
  assert.equal(nearestPhrase('ラボ "home-nat" が起動してる')?.id, 'labUp');
});

test('nothing close: no suggestion', () => {
  assert.equal(nearestPhrase('the moon is made of green cheese'), undefined);
  assert.equal(nearestPhrase('月は緑のチーズでできている'), undefined);
});
