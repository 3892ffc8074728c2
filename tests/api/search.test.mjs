// Search across meetings (issue 13): GET /api/v1/search over titles,
// descriptions and transcript text as last edited; phrases, exclusions,
// speaker / meeting / date filters, paging; the index follows transcription,
// edits, title changes and deletion at once; tenants never see each other's
// text; hostile query syntax never causes a 500; every bad input is a 400.
//
// Transcript text comes from a real two-voice conversation transcribed and
// diarized by iamd, then edited to known sentences (so the words searched
// for do not depend on the recognizer).

import { describe, test, before } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import {
	MEETINGS,
	assertJson,
	assertProblem,
	assertValidation,
	createMeeting,
	del,
	get,
	put,
	register,
	request,
	show,
	uploadOk,
	waitCompleted,
} from './helpers.mjs';
import { VOICES, conversationFile } from './audio.mjs';

const T = { timeout: 240000 };
const SEARCH = '/api/v1/search';
const patch = (path, opts) => request('PATCH', path, opts);

const CONVERSATION = [
	{ voice: VOICES.a, text: 'good morning everyone. we need to finish the project by next week.' },
	{ voice: VOICES.b, text: 'she went to the store to buy some milk. the company reported strong sales this year.' },
	{ voice: VOICES.a, text: 'please send the report before friday afternoon.' },
];

const SEG0 = 'The giraffe budget was approved by the board on Monday';
const SEG1 = 'We must not forget the giraffe enclosure near the river';

function search(token, params) {
	const qs = new URLSearchParams(params).toString();
	return get(`${SEARCH}?${qs}`, { token });
}

async function hits(token, params) {
	const res = await search(token, params);
	assertJson(res, 200);
	assert.ok(Array.isArray(res.body.data), `data[] expected: ${show(res)}`);
	assert.ok('next_cursor' in res.body, 'next_cursor expected');
	return res.body.data;
}

let A, B, mA, mB, segs;

before(async () => {
	A = await register({ tag: 'searcha' });
	B = await register({ tag: 'searchb' });
	mA = await createMeeting(A.access, { title: 'Quarterly planning', description: 'Zebra crossing and the savanna budget' });
	const conv = conversationFile(CONVERSATION);
	await uploadOk(A.access, mA.id, fs.readFileSync(conv.file), { filename: 'sync.wav', contentType: 'audio/wav' });
	await waitCompleted(A.access, mA.id);
	const tr = await get(`${MEETINGS}/${mA.id}/transcript`, { token: A.access });
	assertJson(tr, 200);
	assert.ok(tr.body.segments.length >= 2, `two segments expected: ${show(tr)}`);
	assert.ok(tr.body.speakers.length >= 2, `two speakers expected: ${show(tr)}`);
	for (const [i, text, speaker] of [[0, SEG0, 'S1'], [1, SEG1, 'S2']]) {
		const res = await patch(`${MEETINGS}/${mA.id}/transcript/segments/${i}`, { token: A.access, json: { text, speaker } });
		assertJson(res, 200);
	}
	assertJson(await put(`${MEETINGS}/${mA.id}/transcript/speakers/S1`, { token: A.access, json: { name: 'Thandi' } }), 200);
	segs = (await get(`${MEETINGS}/${mA.id}/transcript`, { token: A.access })).body.segments;
	// The same words in another organization.
	mB = await createMeeting(B.access, { title: 'Giraffe budget of the other company', description: 'giraffe enclosure secrets' });
}, T);

describe('search', () => {
	test('a word finds the segments that say it, with meeting, speaker, time and a highlighted snippet', T, async () => {
		const data = await hits(A.access, { q: 'giraffe' });
		const segHits = data.filter((h) => h.kind === 'segment');
		assert.deepEqual(segHits.map((h) => h.segment_index).sort(), [0, 1], JSON.stringify(data));
		for (const h of data) {
			assert.equal(h.meeting.id, mA.id, 'only the caller\'s meeting');
			assert.equal(h.meeting.title, 'Quarterly planning');
			assert.match(h.meeting.created_at, /Z$/);
		}
		const h0 = segHits.find((h) => h.segment_index === 0);
		assert.deepEqual(h0.speaker, { id: 'S1', name: 'Thandi' });
		assert.equal(h0.start, segs[0].start);
		assert.equal(h0.end, segs[0].end);
		assert.match(h0.snippet, /<mark>giraffe<\/mark>/i);
		const h1 = segHits.find((h) => h.segment_index === 1);
		assert.deepEqual(h1.speaker, { id: 'S2', name: 'Speaker 2' });
	});

	test('stemming: approve finds approved; titles and descriptions are searched too', T, async () => {
		const data = await hits(A.access, { q: 'approve' });
		assert.deepEqual(data.map((h) => [h.kind, h.segment_index]), [['segment', 0]]);
		const t = await hits(A.access, { q: 'quarterly' });
		assert.deepEqual(t.map((h) => h.kind), ['title']);
		assert.equal(t[0].segment_index, null);
		assert.equal(t[0].speaker, null);
		assert.equal(t[0].start, null);
		const d = await hits(A.access, { q: 'zebra' });
		assert.deepEqual(d.map((h) => h.kind), ['description']);
	});

	test('"exact phrase" and -exclusion', T, async () => {
		const phrase = await hits(A.access, { q: '"giraffe budget"' });
		assert.deepEqual(phrase.map((h) => h.segment_index), [0]);
		assert.deepEqual(await hits(A.access, { q: '"budget giraffe"' }), []);
		const excl = await hits(A.access, { q: 'giraffe -enclosure' });
		assert.deepEqual(excl.map((h) => h.segment_index), [0]);
		const exclPhrase = await hits(A.access, { q: 'giraffe -"giraffe budget"' });
		assert.deepEqual(exclPhrase.map((h) => h.segment_index), [1]);
		// Plain words are all required.
		assert.deepEqual((await hits(A.access, { q: 'giraffe river' })).map((h) => h.segment_index), [1]);
	});

	test('words and a phrase said across two adjacent segments find the first one', T, async () => {
		// SEG0 ends "... on Monday", SEG1 begins "We must not forget ...".
		const phrase = await hits(A.access, { q: '"Monday we must"' });
		assert.deepEqual(phrase.map((h) => [h.kind, h.segment_index]), [['segment', 0]], JSON.stringify(phrase));
		assert.deepEqual(phrase[0].speaker, { id: 'S1', name: 'Thandi' });
		assert.equal(phrase[0].start, segs[0].start);
		// The snippet shows the end of the segment and the beginning of the next one.
		assert.match(phrase[0].snippet, /<mark>Monday<\/mark>/i, phrase[0].snippet);
		assert.match(phrase[0].snippet, /<mark>(we )?must<\/mark>/i, phrase[0].snippet);
		const words = await hits(A.access, { q: 'approved forget' });
		assert.deepEqual(words.map((h) => [h.kind, h.segment_index]), [['segment', 0]], JSON.stringify(words));
		assert.match(words[0].snippet, /<mark>approved<\/mark>/i);
		assert.match(words[0].snippet, /<mark>forget<\/mark>/i);
		// What the next segment says by itself is its own hit only, not also the one before.
		assert.deepEqual((await hits(A.access, { q: 'forget' })).map((h) => h.segment_index), [1]);
		assert.deepEqual((await hits(A.access, { q: '"must not forget"' })).map((h) => h.segment_index), [1]);
		// Still a phrase: not with a word between, not in the other order.
		assert.deepEqual(await hits(A.access, { q: '"Monday must"' }), []);
		assert.deepEqual(await hits(A.access, { q: '"must Monday"' }), []);
		// Exclusions apply to the segment's own text.
		assert.deepEqual((await hits(A.access, { q: 'approved forget -board' })), []);
		assert.deepEqual((await hits(A.access, { q: 'approved forget -river' })).map((h) => h.segment_index), [0]);
	});

	test('filters: speaker by id or name (any case), meeting, dates', T, async () => {
		assert.deepEqual((await hits(A.access, { q: 'giraffe', speaker: 'Thandi' })).map((h) => h.segment_index), [0]);
		assert.deepEqual((await hits(A.access, { q: 'giraffe', speaker: 'thandi' })).map((h) => h.segment_index), [0]);
		assert.deepEqual((await hits(A.access, { q: 'giraffe', speaker: 'S2' })).map((h) => h.segment_index), [1]);
		assert.deepEqual(await hits(A.access, { q: 'giraffe', speaker: 'Nobody' }), []);
		const other = await createMeeting(A.access, { title: 'Giraffe feeding' });
		const all = await hits(A.access, { q: 'giraffe' });
		assert.ok(all.some((h) => h.meeting.id === other.id));
		const only = await hits(A.access, { q: 'giraffe', meeting_id: mA.id });
		assert.ok(only.length >= 2 && only.every((h) => h.meeting.id === mA.id));
		const today = new Date().toISOString().slice(0, 10);
		assert.equal((await hits(A.access, { q: 'giraffe', from: today, to: today })).length, all.length);
		assert.deepEqual(await hits(A.access, { q: 'giraffe', to: '2001-01-01' }), []);
		assert.deepEqual(await hits(A.access, { q: 'giraffe', from: '2100-01-01T00:00:00Z' }), []);
		assert.equal((await del(`${MEETINGS}/${other.id}`, { token: A.access })).status, 204);
	});

	test('two tenants with the same words each see only their own', T, async () => {
		const a = await hits(A.access, { q: 'giraffe enclosure' });
		assert.ok(a.length > 0 && a.every((h) => h.meeting.id === mA.id), JSON.stringify(a));
		const b = await hits(B.access, { q: 'giraffe' });
		assert.ok(b.length > 0 && b.every((h) => h.meeting.id === mB.id), JSON.stringify(b));
		assert.ok(!JSON.stringify(b).includes('Thandi'));
		// Another tenant's meeting id as a filter finds nothing (not an error, not their text).
		assert.deepEqual(await hits(B.access, { q: 'giraffe', meeting_id: mA.id }), []);
	});

	test('paging: limit and next_cursor walk through every hit once', T, async () => {
		const all = await hits(A.access, { q: 'giraffe' });
		assert.ok(all.length >= 2);
		const seen = [];
		let cursor = null;
		for (let i = 0; i < 10; i++) {
			const res = await search(A.access, cursor ? { q: 'giraffe', limit: 1, cursor } : { q: 'giraffe', limit: 1 });
			assertJson(res, 200);
			assert.equal(res.body.data.length, 1);
			seen.push(`${res.body.data[0].kind}:${res.body.data[0].segment_index}`);
			cursor = res.body.next_cursor;
			if (!cursor) break;
		}
		assert.deepEqual(seen, all.map((h) => `${h.kind}:${h.segment_index}`));
	});

	test('snippets are HTML-escaped: a transcript cannot inject markup', T, async () => {
		const evil = 'the <img src=x onerror=alert(1)> walrus & "friends"';
		assertJson(await patch(`${MEETINGS}/${mA.id}/transcript/segments/1`, { token: A.access, json: { text: evil } }), 200);
		const data = await hits(A.access, { q: 'walrus' });
		assert.equal(data.length, 1);
		const s = data[0].snippet;
		assert.ok(!s.includes('<img'), s);
		assert.match(s, /&lt;img src=x onerror=alert\(1\)&gt;/);
		assert.match(s, /<mark>walrus<\/mark> &amp; &quot;friends&quot;/);
		assert.equal(s.replace(/<\/?mark>/g, '').includes('<'), false);
		assertJson(await patch(`${MEETINGS}/${mA.id}/transcript/segments/1`, { token: A.access, json: { text: SEG1 } }), 200);
	});

	test('an edit is searchable at once and the old text is gone', T, async () => {
		const edited = 'The okapi budget was approved by the board on Monday';
		assertJson(await patch(`${MEETINGS}/${mA.id}/transcript/segments/0`, { token: A.access, json: { text: edited } }), 200);
		assert.deepEqual((await hits(A.access, { q: 'okapi' })).map((h) => h.segment_index), [0]);
		assert.deepEqual(await hits(A.access, { q: '"giraffe budget"', meeting_id: mA.id }), []);
		// A renamed speaker is what the hit and the filter use.
		assertJson(await put(`${MEETINGS}/${mA.id}/transcript/speakers/S1`, { token: A.access, json: { name: 'Amara' } }), 200);
		const h = await hits(A.access, { q: 'okapi', speaker: 'Amara' });
		assert.deepEqual(h.map((x) => x.speaker), [{ id: 'S1', name: 'Amara' }]);
		assert.deepEqual(await hits(A.access, { q: 'okapi', speaker: 'Thandi' }), []);
		assertJson(await patch(`${MEETINGS}/${mA.id}/transcript/segments/0`, { token: A.access, json: { text: SEG0 } }), 200);
		assertJson(await put(`${MEETINGS}/${mA.id}/transcript/speakers/S1`, { token: A.access, json: { name: 'Thandi' } }), 200);
	});

	test('a title or description change is searchable at once', T, async () => {
		const m = await createMeeting(A.access, { title: 'Hippo review', description: 'about pelicans' });
		assert.deepEqual((await hits(A.access, { q: 'hippo' })).map((h) => h.meeting.id), [m.id]);
		assertJson(await put(`${MEETINGS}/${m.id}`, { token: A.access, json: { title: 'Rhino review', description: 'about flamingos' } }), 200);
		assert.deepEqual(await hits(A.access, { q: 'hippo' }), []);
		assert.deepEqual(await hits(A.access, { q: 'pelicans' }), []);
		assert.deepEqual((await hits(A.access, { q: 'rhino' })).map((h) => [h.kind, h.meeting.title]), [['title', 'Rhino review']]);
		assert.deepEqual((await hits(A.access, { q: 'flamingo' })).map((h) => h.kind), ['description']);
		assert.equal((await del(`${MEETINGS}/${m.id}`, { token: A.access })).status, 204);
	});

	test('a deleted meeting vanishes from results at once', T, async () => {
		const m = await createMeeting(A.access, { title: 'Narwhal sync', description: 'narwhal tusks' });
		assert.equal((await hits(A.access, { q: 'narwhal' })).length, 2);
		assert.equal((await del(`${MEETINGS}/${m.id}`, { token: A.access })).status, 204);
		assert.deepEqual(await hits(A.access, { q: 'narwhal' }), []);
	});

	test('FTS syntax in the query never causes a 500', T, async () => {
		const hostile = [
			'NEAR(giraffe budget)', 'giraffe*', '"giraffe', 'giraffe"', '(giraffe', 'giraffe)', '((((', '))',
			'body:giraffe', 'giraffe OR okapi', 'giraffe AND', 'AND', 'OR', 'NOT giraffe', '^giraffe', 'giraffe^2',
			"'; DROP TABLE meetings; --", 'giraffe -', '- -', '"""', '"" giraffe ""', 'giraffe:*', '!giraffe', 'giraffe <-> budget',
			'giraffe & budget | okapi', '\\', '%', 'ça marche', '会议', '🦒 giraffe', 'a\u0000b', 'giraffe\tbudget',
		];
		for (const q of hostile) {
			const res = await search(A.access, { q });
			assert.ok(res.status === 200 || res.status === 400, `${JSON.stringify(q)}: ${show(res)}`);
			// (a NUL byte is refused by the server before search sees it: invalid_request_target)
			if (res.status === 400) assertProblem(res, 400, q.includes('\u0000') ? 'invalid_request_target' : 'validation_failed');
		}
		// Operators are plain words: "OR" does not widen the query.
		assert.deepEqual(await hits(A.access, { q: 'giraffe OR walrusdoesnotexist' }), []);
		// A prefix star is not a wildcard.
		assert.deepEqual(await hits(A.access, { q: 'giraf*' }), []);
		// Column filters are ignored: "body:giraffe" is the words body and giraffe.
		assert.equal((await search(A.access, { q: 'NEAR(giraffe budget)' })).status, 200);
	});

	test('bad input: 400 with the field named', T, async () => {
		assertValidation(await get(SEARCH, { token: A.access }), ['q']);
		for (const q of ['', '   ', '***', '"" ()', '-giraffe', '-"giraffe budget"']) {
			assertValidation(await search(A.access, { q }), ['q']);
		}
		assertValidation(await search(A.access, { q: 'a'.repeat(1025) }), ['q']);
		assertValidation(await search(A.access, { q: 'x'.repeat(6 * 1024) }), ['q']);
		// 10 KB does not fit the server's request-target limit (8 KB) at all.
		assertProblem(await search(A.access, { q: 'x'.repeat(10 * 1024) }), 414, 'uri_too_long');
		assertValidation(await search(A.access, { q: Array.from({ length: 33 }, (_, i) => `w${i}`).join(' ') }), ['q']);
		assertValidation(await search(A.access, { q: Array.from({ length: 1000 }, () => 'w').join(' ') }), ['q']);
		assertJson(await search(A.access, { q: Array.from({ length: 32 }, (_, i) => `w${i}`).join(' ') }), 200);
		assertValidation(await get(`${SEARCH}?q=%FF%FE`, { token: A.access }), ['q']);
		for (const limit of ['0', '101', 'abc', '-1', '1.5', '']) {
			assertValidation(await search(A.access, { q: 'giraffe', limit }), ['limit']);
		}
		for (const cursor of ['abc', 'czE6MTAwMDAw', 'YzE6MDE5MA', '%%%']) {
			assertValidation(await search(A.access, { q: 'giraffe', cursor }), ['cursor']);
		}
		assertValidation(await search(A.access, { q: 'giraffe', meeting_id: 'nope' }), ['meeting_id']);
		assertValidation(await search(A.access, { q: 'giraffe', from: 'yesterday' }), ['from']);
		assertValidation(await search(A.access, { q: 'giraffe', to: '2026-13-45' }), ['to']);
		assertValidation(await search(A.access, { q: 'giraffe', from: '2026-02-01', to: '2026-01-01' }), ['to']);
		assertValidation(await search(A.access, { q: 'giraffe', speaker: 'x'.repeat(400) }), ['speaker']);
		// Several problems at once.
		assertValidation(await search(A.access, { q: '', limit: '0', meeting_id: 'x' }), ['q', 'limit', 'meeting_id']);
		assertProblem(await get(`${SEARCH}?q=giraffe`), 401, 'unauthorized');
	});
});
