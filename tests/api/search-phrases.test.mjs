// Phrases in search (issue 13): on PostgreSQL a phrase is first looked up in
// the index of adjacent word pairs (sql/0017_search_bigrams.pg.sql), then
// checked on the row. These cases make sure the pair lookup never loses a
// phrase the row holds and never adds one it does not: stop words inside
// the phrase, hyphens, apostrophes, a repeated word, three words, phrases
// in the wrong order or with words between. Same answers on SQLite.

import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { assertJson, createMeeting, get, register } from './helpers.mjs';

const T = { timeout: 60000 };

let acc, m;

async function kinds(q) {
	const res = await get(`/api/v1/search?${new URLSearchParams({ q })}`, { token: acc.access });
	assertJson(res, 200);
	return res.body.data.filter((h) => h.meeting.id === m.id).map((h) => h.kind).sort();
}

before(async () => {
	acc = await register({ tag: 'srchphrase' });
	m = await createMeeting(acc.access, {
		title: 'Budget budget cuts and the e-mail follow-up',
		description: "The end of the year review of the giraffe budget. Don't panic about the okapi enclosure plan",
	});
}, T);

describe('phrases', () => {
	test('found where the words are adjacent, in that order', T, async () => {
		assert.deepEqual(await kinds('"giraffe budget"'), ['description']);
		assert.deepEqual(await kinds('"okapi enclosure plan"'), ['description']);
		assert.deepEqual(await kinds('"budget budget"'), ['title']);
		assert.deepEqual(await kinds('"budget cuts"'), ['title']);
		// Stop words inside a phrase, hyphens, an apostrophe.
		assert.deepEqual(await kinds('"end of the year"'), ['description']);
		assert.deepEqual(await kinds('"review of the giraffe"'), ['description']);
		assert.deepEqual(await kinds('"e-mail"'), ['title']);
		assert.deepEqual(await kinds('"don\'t panic"'), ['description']);
		// Two phrases, and a phrase with a word.
		assert.deepEqual(await kinds('"giraffe budget" "okapi enclosure"'), ['description']);
		assert.deepEqual(await kinds('"budget cuts" follow'), ['title']);
	});

	test('not found in the wrong order, with words between, or across title and description', T, async () => {
		for (const q of ['"budget giraffe"', '"review giraffe"', '"enclosure okapi plan"', '"okapi plan"', '"cuts budget"', '"follow-up giraffe"', '"giraffe budget" -"okapi enclosure"', '"budget budget budget"']) {
			assert.deepEqual(await kinds(q), [], q);
		}
		// Stemming applies inside a phrase.
		assert.deepEqual(await kinds('"giraffes budgets"'), ['description']);
	});
});
