// Editing a transcript (issue 9): a segment's text and speaker, speaker
// names, merging speakers, revisions (list, read, restore), ETag/If-Match
// concurrency, the original machine transcript, and exports of the edited
// text. Speakers come from a real two-voice conversation diarized by iamd.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import * as tus from 'tus-js-client';
import {
	BASE,
	MEETINGS,
	PASSWORD,
	assertJson,
	assertProblem,
	assertValidation,
	createMeeting,
	get,
	post,
	put,
	register,
	request,
	requestAt,
	uploadOk,
	uploadRaw,
	waitCompleted,
} from './helpers.mjs';
import { LONG_TEXT, VOICES, conversationFile, silence, speech, words } from './audio.mjs';

const T = { timeout: 240000 };

const CONVERSATION = [
	{ voice: VOICES.a, text: 'good morning everyone. we need to finish the project by next week.' },
	{ voice: VOICES.b, text: 'she went to the store to buy some milk. the company reported strong sales this year.' },
	{ voice: VOICES.a, text: 'please send the report before friday afternoon.' },
	{ voice: VOICES.b, text: 'the team agreed to move the deadline to the end of the month.' },
];

const patch = (path, opts) => request('PATCH', path, opts);
const del = (path, opts) => request('DELETE', path, opts);

// One completed two-voice meeting per owner (made on first use).
let shared = null;
function conversation() {
	if (!shared) {
		shared = (async () => {
			const a = await register({ tag: 'edit' });
			const conv = conversationFile(CONVERSATION);
			return { a, conv };
		})();
	}
	return shared;
}

async function freshMeeting(a, conv, title = 'Weekly sync') {
	const m = await createMeeting(a.access, { title });
	await uploadOk(a.access, m.id, fs.readFileSync(conv.file), { filename: 'sync.wav', contentType: 'audio/wav' });
	await waitCompleted(a.access, m.id);
	return m;
}

async function transcript(token, id, query = '') {
	const res = await get(`${MEETINGS}/${id}/transcript${query}`, { token });
	assertJson(res, 200);
	return res;
}

describe('speakers from diarization', () => {
	test('one person talking comes out as one speaker; silence as none, without an error', T, async () => {
		const { a } = await conversation();
		const one = await createMeeting(a.access, { title: 'monologue' });
		await uploadOk(a.access, one.id, speech(LONG_TEXT, 'wav'), { filename: 'monologue.wav', contentType: 'audio/wav' });
		const quiet = await createMeeting(a.access, { title: 'silence' });
		await uploadOk(a.access, quiet.id, silence(6, 'wav'), { filename: 'quiet.wav', contentType: 'audio/wav' });
		await waitCompleted(a.access, one.id);
		const t = (await transcript(a.access, one.id)).body;
		assert.ok(t.segments.length >= 2, `several segments: ${t.segments.length}`);
		assert.deepEqual(t.speakers.map((s) => s.id), ['S1'], JSON.stringify(t.speakers));
		assert.ok(t.segments.every((s) => s.speaker === 'S1'));
		const m = await waitCompleted(a.access, quiet.id);
		assert.equal(m.processing_error, null);
		const q = (await transcript(a.access, quiet.id)).body;
		assert.deepEqual(q.speakers, []);
		assert.deepEqual(q.segments, []);
	});

	test('a two-voice conversation comes out as two speakers taking turns at the right times', T, async () => {
		const { a, conv } = await conversation();
		const m = await freshMeeting(a, conv);
		const res = await transcript(a.access, m.id);
		const t = res.body;
		assert.equal(t.speakers.length, 2, JSON.stringify(t.speakers));
		assert.deepEqual(t.speakers.map((s) => s.id), ['S1', 'S2']);
		assert.deepEqual(t.speakers.map((s) => s.label), ['Speaker 1', 'Speaker 2']);
		for (const s of t.speakers) {
			assert.equal(s.name, null);
			assert.ok(s.talk_time_s > 2, `talk time ${s.talk_time_s}`);
		}
		// Each reference turn's midpoint lies in segments of one speaker, alternating S1, S2, S1, S2.
		const at = (x) => t.segments.find((s) => s.start - 0.3 <= x && x <= s.end + 0.3);
		const who = conv.turns.map((turn) => at((turn.start + turn.end) / 2)?.speaker);
		assert.deepEqual(who, ['S1', 'S2', 'S1', 'S2'], `speaker per turn: ${JSON.stringify(t.segments.map((s) => [s.start, s.end, s.speaker]))}`);
		// No segment spans a change of speaker: every word carries its segment's speaker.
		for (const s of t.segments) for (const w of s.words) assert.equal(w.speaker, s.speaker);
		// Exports name them.
		const vtt = await get(`${MEETINGS}/${m.id}/transcript?format=vtt`, { token: a.access });
		assert.equal(vtt.status, 200);
		assert.match(vtt.text, /<v Speaker 1>/);
		assert.match(vtt.text, /<v Speaker 2>/);
	});
});

describe('speaker options on transcribe', () => {
	test('speakers_expected is honoured; bad bounds are refused', T, async () => {
		const { a, conv } = await conversation();
		const m = await freshMeeting(a, conv, 'three forced');
		const tr = `${MEETINGS}/${m.id}/transcribe`;
		for (const bad of [{ speakers_expected: 0 }, { speakers_expected: 21 }, { speakers_expected: 'two' }, { min_speakers: -1 }, { max_speakers: 99 }]) {
			assertValidation(await post(tr, { token: a.access, json: bad }), Object.keys(bad));
		}
		assertValidation(await post(tr, { token: a.access, json: { min_speakers: 3, max_speakers: 2 } }), ['min_speakers']);
		assertValidation(await post(tr, { token: a.access, json: { speakers_expected: 2, max_speakers: 3 } }), ['speakers_expected']);
		// Nothing was queued by the refused requests.
		assert.equal((await get(`${MEETINGS}/${m.id}`, { token: a.access })).body.status, 'completed');
		const res = await post(tr, { token: a.access, json: { speakers_expected: 1 } });
		assertJson(res, 202);
		await waitCompleted(a.access, m.id);
		const one = (await transcript(a.access, m.id)).body;
		assert.equal(one.speakers.length, 1);
		const step = (await get(`${MEETINGS}/${m.id}`, { token: a.access })).body.processing_steps.find((s) => s.step === 'diarize');
		assert.equal(step.ok, true);
		assert.equal(step.speakers, 1);
	});
});

// The speaker hints also come with the audio: query parameters on the plain
// upload, Upload-Metadata on tus (sent here by the real tus-js-client).
describe('speaker options on upload', () => {
	test('plain upload: ?speakers_expected=1 gives one speaker; bad values are refused before any byte is kept', T, async () => {
		const { a, conv } = await conversation();
		const buf = fs.readFileSync(conv.file);
		const m = await createMeeting(a.access, { title: 'upload hints' });
		const up = (q) => uploadRaw(a.access, m.id, buf, { contentType: 'audio/wav', query: q });
		for (const [q, field] of [
			['speakers_expected=0', 'speakers_expected'],
			['speakers_expected=21', 'speakers_expected'],
			['speakers_expected=two', 'speakers_expected'],
			['min_speakers=3&max_speakers=2', 'min_speakers'],
			['speakers_expected=2&min_speakers=1', 'speakers_expected'],
		]) {
			assertValidation(await up(q), [field]);
		}
		const before = (await get(`${MEETINGS}/${m.id}`, { token: a.access })).body;
		assert.equal(before.status, 'pending', 'a refused upload leaves the meeting as it was');
		assert.equal(before.file_size, null);
		assertJson(await up('speakers_expected=1'), 200);
		await waitCompleted(a.access, m.id);
		const t = (await transcript(a.access, m.id)).body;
		assert.equal(t.speakers.length, 1, JSON.stringify(t.speakers));
		assert.ok(t.segments.every((s) => s.speaker === 'S1'));
	});

	test('tus: speakers_expected in Upload-Metadata reaches diarization; a bad value is refused at creation', T, async () => {
		const { a, conv } = await conversation();
		const buf = fs.readFileSync(conv.file);
		const upload = (metadata) =>
			new Promise((resolve, reject) => {
				let meetingId = null;
				const u = new tus.Upload(buf, {
					endpoint: `${BASE}/api/v1/uploads`,
					headers: { Authorization: `Bearer ${a.access}` },
					metadata,
					chunkSize: 256 * 1024,
					retryDelays: null,
					onAfterResponse: (req, res) => {
						meetingId = res.getHeader('X-Meeting-Id') || meetingId;
					},
					onSuccess: () => resolve(meetingId),
					onError: reject,
				});
				u.start();
			});
		await assert.rejects(upload({ filename: 'x.wav', speakers_expected: '25' }), (err) => {
			assert.equal(err.originalResponse?.getStatus(), 400);
			const p = JSON.parse(err.originalResponse.getBody());
			assert.equal(p.code, 'invalid_metadata');
			assert.deepEqual(p.errors.map((e) => e.field), ['speakers_expected']);
			return true;
		});
		const id = await upload({ filename: 'sync.wav', title: 'tus hints', speakers_expected: '1' });
		assert.ok(id, 'X-Meeting-Id names the meeting');
		await waitCompleted(a.access, id);
		const t = (await transcript(a.access, id)).body;
		assert.equal(t.speakers.length, 1, JSON.stringify(t.speakers));
	});
});

// A multipart upload (curl -F file=@talk.wav -F speakers_expected=2) carries the hints as form fields.
describe('speaker options as multipart form fields', () => {
	test('-F speakers_expected=1 gives one speaker; a bad value is a 400 naming the field, and nothing is kept', T, async () => {
		const { a, conv } = await conversation();
		const buf = fs.readFileSync(conv.file);
		const m = await createMeeting(a.access, { title: 'form hints' });
		const send = (fields, { before = true, query = '' } = {}) => {
			const form = new FormData();
			const add = () => {
				for (const [k, v] of Object.entries(fields)) form.append(k, v);
			};
			if (before) add();
			form.append('file', new Blob([buf], { type: 'audio/wav' }), 'talk.wav');
			if (!before) add();
			return requestAt(BASE, 'POST', `${MEETINGS}/${m.id}/upload${query}`, { token: a.access, form, timeout: 60000 });
		};
		for (const [fields, field, opts] of [
			[{ speakers_expected: '25' }, 'speakers_expected'],
			[{ speakers_expected: 'two' }, 'speakers_expected', { before: false }],
			[{ min_speakers: '0' }, 'min_speakers'],
			[{ min_speakers: '4', max_speakers: '3' }, 'min_speakers'],
			[{ speakers_expected: '1'.repeat(40) }, 'speakers_expected'],
			[{ speakers_expected: '2' }, 'speakers_expected', { query: '?speakers_expected=2' }],
		]) {
			assertValidation(await send(fields, opts), [field]);
		}
		const before = (await get(`${MEETINGS}/${m.id}`, { token: a.access })).body;
		assert.equal(before.status, 'pending', 'a refused upload leaves the meeting as it was');
		assert.equal(before.file_size, null);
		assertJson(await send({ speakers_expected: '1' }, { before: false }), 200);
		await waitCompleted(a.access, m.id);
		const t = (await transcript(a.access, m.id)).body;
		assert.equal(t.speakers.length, 1, JSON.stringify(t.speakers));
		const step = (await get(`${MEETINGS}/${m.id}`, { token: a.access })).body.processing_steps.find((s) => s.step === 'diarize');
		assert.equal(step.speakers, 1);
	});
});

describe('editing', () => {
	test('PATCH a segment: new text, words re-timed inside it, revision recorded, ETag moves', T, async () => {
		const { a, conv } = await conversation();
		const m = await freshMeeting(a, conv);
		const first = await transcript(a.access, m.id);
		const etag = first.headers.get('etag');
		assert.match(etag, /^"t\d+"$/);
		const seg = first.body.segments[0];
		const newText = `${seg.words.map((w) => w.word).join(' ')} Thandi`;
		const res = await patch(`${MEETINGS}/${m.id}/transcript/segments/0`, {
			token: a.access,
			headers: { 'If-Match': etag },
			json: { text: newText },
		});
		assertJson(res, 200);
		const after = res.body.segments[0];
		assert.equal(after.text, newText);
		assert.equal(after.edited, true);
		assert.equal(res.body.segments[1].edited, false);
		assert.equal(after.words.length, seg.words.length + 1);
		// Unchanged words keep their times; the new word sits at the end of the segment.
		for (const [i, w] of seg.words.entries()) {
			assert.equal(after.words[i].start, w.start);
			assert.equal(after.words[i].end, w.end);
		}
		const added = after.words.at(-1);
		assert.equal(added.word, 'Thandi');
		assert.ok(added.start >= seg.words.at(-1).end - 1e-9 && added.end <= seg.end + 1e-9, JSON.stringify(added));
		const etag2 = res.headers.get('etag');
		assert.notEqual(etag2, etag);
		assert.equal(res.body.version, first.body.version + 1);

		// GET shows the edit, and the ETag agrees.
		const now = await transcript(a.access, m.id);
		assert.equal(now.headers.get('etag'), etag2);
		assert.equal(now.body.segments[0].text, newText);
		assert.ok(now.body.text.includes('Thandi'));

		// The original machine transcript is still there.
		const orig = await transcript(a.access, m.id, '?version=original');
		assert.equal(orig.body.segments[0].text, seg.text);
		assert.equal(orig.body.version_shown, 'original');
		const origTxt = await get(`${MEETINGS}/${m.id}/transcript?format=txt&version=original`, { token: a.access });
		assert.ok(!origTxt.text.includes('Thandi'));

		// Exports use the edited text.
		for (const f of ['txt', 'srt', 'vtt', 'json']) {
			const e = await get(`${MEETINGS}/${m.id}/transcript?format=${f}`, { token: a.access });
			assert.equal(e.status, 200, f);
			assert.ok(e.text.includes('Thandi'), `${f} export lacks the edit`);
		}
	});

	test('a stale If-Match is refused with 412 and the current ETag; nothing is written', T, async () => {
		const { a, conv } = await conversation();
		const m = await freshMeeting(a, conv);
		const first = await transcript(a.access, m.id);
		const etag = first.headers.get('etag');
		const one = await patch(`${MEETINGS}/${m.id}/transcript/segments/0`, {
			token: a.access,
			headers: { 'If-Match': etag },
			json: { text: 'first writer wins' },
		});
		assertJson(one, 200);
		const two = await patch(`${MEETINGS}/${m.id}/transcript/segments/0`, {
			token: a.access,
			headers: { 'If-Match': etag },
			json: { text: 'second writer loses' },
		});
		assertProblem(two, 412, 'version_mismatch');
		assert.equal(two.headers.get('etag'), one.headers.get('etag'));
		const now = await transcript(a.access, m.id);
		assert.equal(now.body.segments[0].text, 'first writer wins');
		// A made-up ETag never matches.
		const bad = await patch(`${MEETINGS}/${m.id}/transcript/segments/0`, {
			token: a.access,
			headers: { 'If-Match': '"nonsense"' },
			json: { text: 'x y' },
		});
		assertProblem(bad, 412, 'version_mismatch');

		// Two edits at once with the same ETag: exactly one lands.
		const etag3 = now.headers.get('etag');
		const race = await Promise.all(
			['racer one', 'racer two'].map((text) =>
				patch(`${MEETINGS}/${m.id}/transcript/segments/1`, { token: a.access, headers: { 'If-Match': etag3 }, json: { text } }),
			),
		);
		assert.deepEqual(race.map((r) => r.status).sort(), [200, 412]);
	});

	test('speakers: rename everywhere, reassign a segment, merge; revisions list and restore', T, async () => {
		const { a, conv } = await conversation();
		const m = await freshMeeting(a, conv);
		const t0 = (await transcript(a.access, m.id)).body;
		assert.equal(t0.speakers.length, 2);

		const ren = await put(`${MEETINGS}/${m.id}/transcript/speakers/S1`, { token: a.access, json: { name: 'Thandi' } });
		assertJson(ren, 200);
		assert.equal(ren.body.speakers.find((s) => s.id === 'S1').name, 'Thandi');
		const txt = await get(`${MEETINGS}/${m.id}/transcript?format=txt`, { token: a.access });
		assert.match(txt.text, /\] Thandi: /);
		assert.match(txt.text, /\] Speaker 2: /);
		const vtt = await get(`${MEETINGS}/${m.id}/transcript?format=vtt`, { token: a.access });
		assert.match(vtt.text, /<v Thandi>/);
		const srt = await get(`${MEETINGS}/${m.id}/transcript?format=srt`, { token: a.access });
		assert.match(srt.text, /Thandi: /);

		// Reassign one of S2's segments to S1.
		const idx = ren.body.segments.findIndex((s) => s.speaker === 'S2');
		const re = await patch(`${MEETINGS}/${m.id}/transcript/segments/${idx}`, { token: a.access, json: { speaker: 'S1' } });
		assertJson(re, 200);
		assert.equal(re.body.segments[idx].speaker, 'S1');
		assert.ok(re.body.speakers.find((s) => s.id === 'S1').talk_time_s > ren.body.speakers.find((s) => s.id === 'S1').talk_time_s);

		// Merge S2 into S1: one speaker left, every segment is Thandi's.
		const mg = await post(`${MEETINGS}/${m.id}/transcript/speakers/S2/merge`, { token: a.access, json: { into: 'S1' } });
		assertJson(mg, 200);
		assert.deepEqual(mg.body.speakers.map((s) => s.id), ['S1']);
		assert.ok(mg.body.segments.every((s) => s.speaker === 'S1'));

		// Revisions, newest first, with who and what.
		const revs = await get(`${MEETINGS}/${m.id}/transcript/revisions`, { token: a.access });
		assertJson(revs, 200);
		assert.deepEqual(revs.body.data.map((r) => r.action), ['merge_speakers', 'edit_segment', 'rename_speaker', 'transcribed']);
		assert.equal(revs.body.data[0].author.email, a.email);
		assert.equal(revs.body.data.at(-1).author, null);
		assert.deepEqual(revs.body.data[0].summary, { speaker: 'S2', into: 'S1' });
		assert.equal(revs.body.data[2].summary.name, 'Thandi');
		// Paging.
		const p1 = await get(`${MEETINGS}/${m.id}/transcript/revisions?limit=3`, { token: a.access });
		assert.equal(p1.body.data.length, 3);
		assert.equal(typeof p1.body.next_cursor, 'string');
		const p2 = await get(`${MEETINGS}/${m.id}/transcript/revisions?limit=3&cursor=${p1.body.next_cursor}`, { token: a.access });
		assert.deepEqual(p2.body.data.map((r) => r.action), ['transcribed']);
		assert.equal(p2.body.next_cursor, null);

		// Read the machine revision and restore it: two speakers again, no names.
		const v1 = revs.body.data.at(-1).version;
		const one = await get(`${MEETINGS}/${m.id}/transcript/revisions/${v1}`, { token: a.access });
		assertJson(one, 200);
		assert.equal(one.body.transcript.speakers.length, 2);
		const rs = await post(`${MEETINGS}/${m.id}/transcript/revisions/${v1}/restore`, { token: a.access });
		assertJson(rs, 200);
		assert.equal(rs.body.speakers.length, 2);
		assert.ok(rs.body.speakers.every((s) => s.name === null));
		assert.deepEqual(
			rs.body.segments.map((s) => s.text),
			one.body.transcript.segments.map((s) => s.text),
		);
		const revs2 = await get(`${MEETINGS}/${m.id}/transcript/revisions?limit=1`, { token: a.access });
		assert.equal(revs2.body.data[0].action, 'restore');
		assert.deepEqual(revs2.body.data[0].summary, { restored_version: v1 });
	});
});

describe('editing: bad input', () => {
	test('validation, unknown things, other tenants', T, async () => {
		const { a, conv } = await conversation();
		const m = await freshMeeting(a, conv);
		const seg = `${MEETINGS}/${m.id}/transcript/segments/0`;
		assertValidation(await patch(seg, { token: a.access, json: { text: '' } }), ['text']);
		assertValidation(await patch(seg, { token: a.access, json: { text: '   ' } }), ['text']);
		assertValidation(await patch(seg, { token: a.access, json: { text: 'x'.repeat(10001) } }), ['text']);
		assertValidation(await patch(seg, { token: a.access, json: { text: 'bell \u0007 here' } }), ['text']);
		assertValidation(await patch(seg, { token: a.access, json: { text: 42 } }), ['text']);
		assertValidation(await patch(seg, { token: a.access, json: {} }), ['text']);
		assertValidation(await patch(seg, { token: a.access, json: { text: 'ok', colour: 'red' } }), ['colour']);
		assertValidation(await patch(seg, { token: a.access, json: { speaker: 'S9' } }), ['speaker']);
		assertProblem(await patch(`${MEETINGS}/${m.id}/transcript/segments/999`, { token: a.access, json: { text: 'x' } }), 404, 'not_found');
		assertProblem(await patch(`${MEETINGS}/${m.id}/transcript/segments/-1`, { token: a.access, json: { text: 'x' } }), 404, 'not_found');
		assertProblem(await patch(`${MEETINGS}/${m.id}/transcript/segments/abc`, { token: a.access, json: { text: 'x' } }), 404, 'not_found');
		const spk = `${MEETINGS}/${m.id}/transcript/speakers`;
		assertValidation(await put(`${spk}/S1`, { token: a.access, json: { name: 'n'.repeat(81) } }), ['name']);
		assertValidation(await put(`${spk}/S1`, { token: a.access, json: { name: 'evil\u202Eeman' } }), ['name']);
		assertValidation(await put(`${spk}/S1`, { token: a.access, json: {} }), ['name']);
		assertProblem(await put(`${spk}/S7`, { token: a.access, json: { name: 'x' } }), 404, 'not_found');
		assertValidation(await post(`${spk}/S1/merge`, { token: a.access, json: { into: 'S1' } }), ['into']);
		assertValidation(await post(`${spk}/S1/merge`, { token: a.access, json: { into: 'S5' } }), ['into']);
		assertValidation(await post(`${spk}/S1/merge`, { token: a.access, json: {} }), ['into']);
		assertValidation(await get(`${MEETINGS}/${m.id}/transcript?version=latest`, { token: a.access }), ['version']);
		assertProblem(await get(`${MEETINGS}/${m.id}/transcript?version=999`, { token: a.access }), 404, 'not_found');
		assertProblem(await get(`${MEETINGS}/${m.id}/transcript/revisions/999`, { token: a.access }), 404, 'not_found');
		assertValidation(await get(`${MEETINGS}/${m.id}/transcript/revisions?cursor=zzz`, { token: a.access }), ['cursor']);
		// Nothing above changed the transcript.
		const revs = await get(`${MEETINGS}/${m.id}/transcript/revisions`, { token: a.access });
		assert.deepEqual(revs.body.data.map((r) => r.action), ['transcribed']);

		// Another tenant: every editing path is a 404, and nothing changes.
		const b = await register({ tag: 'edit-other' });
		assertProblem(await patch(seg, { token: b.access, json: { text: 'hijacked' } }), 404, 'not_found');
		assertProblem(await put(`${spk}/S1`, { token: b.access, json: { name: 'x' } }), 404, 'not_found');
		assertProblem(await post(`${spk}/S2/merge`, { token: b.access, json: { into: 'S1' } }), 404, 'not_found');
		assertProblem(await get(`${MEETINGS}/${m.id}/transcript/revisions`, { token: b.access }), 404, 'not_found');
		assertProblem(await post(`${MEETINGS}/${m.id}/transcript/revisions/1/restore`, { token: b.access }), 404, 'not_found');
		const after = await transcript(a.access, m.id);
		assert.ok(!words(after.body.text).includes('hijacked'));

		// A meeting without a transcript yet.
		const empty = await createMeeting(a.access, { title: 'nothing yet' });
		assertProblem(await patch(`${MEETINGS}/${empty.id}/transcript/segments/0`, { token: a.access, json: { text: 'x' } }), 409, 'transcript_not_ready');
	});
});

// Found by an outside-in audit of issue 9 (each failed before its fix).
describe('editing: audit', () => {
	test('If-Match with a list of ETags applies when one of them is current (RFC 9110); else 412', T, async () => {
		const { a, conv } = await conversation();
		const m = await freshMeeting(a, conv, 'if-match lists');
		const cur = await transcript(a.access, m.id);
		const etag = cur.headers.get('etag');
		const seg = `${MEETINGS}/${m.id}/transcript/segments/0`;
		const ok = await patch(seg, { token: a.access, headers: { 'If-Match': `"t999", ${etag}` }, json: { text: 'listed tag matches' } });
		assertJson(ok, 200);
		assert.equal(ok.body.segments[0].text, 'listed tag matches');
		const now = ok.headers.get('etag');
		const spaced = await patch(seg, { token: a.access, headers: { 'If-Match': `  ${now}  ,"t1"` }, json: { text: 'spaces around the list' } });
		assertJson(spaced, 200);
		// Empty list elements are skipped (RFC 9110 5.6.1.2).
		const empty = await patch(seg, { token: a.access, headers: { 'If-Match': `, ${spaced.headers.get('etag')},` }, json: { text: 'empty list elements' } });
		assertJson(empty, 200);
		const stale = await patch(seg, { token: a.access, headers: { 'If-Match': `"t998", ${etag}` }, json: { text: 'no listed tag is current' } });
		assertProblem(stale, 412, 'version_mismatch');
		assert.equal(stale.headers.get('etag'), empty.headers.get('etag'));
		const cur2 = empty.headers.get('etag');
		for (const bad of [`${cur2} "t1"`, `*, ${cur2}`, ',', `${cur2.slice(0, -1)}`, cur2.slice(1, -1), `"T${cur2.slice(2)}`]) {
			assertProblem(await patch(seg, { token: a.access, headers: { 'If-Match': bad }, json: { text: 'malformed list' } }), 412, 'version_mismatch');
		}
		assert.equal((await transcript(a.access, m.id)).body.segments[0].text, 'empty list elements');
	});

	test('text or a name that only looks empty (Unicode spaces, invisible characters) is refused', T, async () => {
		const { a, conv } = await conversation();
		const m = await freshMeeting(a, conv, 'blank lookalikes');
		const seg = `${MEETINGS}/${m.id}/transcript/segments/0`;
		for (const text of ['\u00a0', '\u3000 \u2003', '\u200b', '\u200d\ufeff', ' \u2060 ']) {
			assertValidation(await patch(seg, { token: a.access, json: { text } }), ['text']);
			assertValidation(await put(`${MEETINGS}/${m.id}/transcript/speakers/S1`, { token: a.access, json: { name: text } }), ['name']);
		}
		// Visible text with such characters inside is fine.
		assertJson(await patch(seg, { token: a.access, json: { text: 'Zoë\u00a0Smith said\u200b hello' } }), 200);
		assertJson(await put(`${MEETINGS}/${m.id}/transcript/speakers/S1`, { token: a.access, json: { name: 'Jean\u00a0Luc' } }), 200);
		const revs = await get(`${MEETINGS}/${m.id}/transcript/revisions`, { token: a.access });
		assert.deepEqual(revs.body.data.map((r) => r.action), ['rename_speaker', 'edit_segment', 'transcribed']);
	});

	test('an edit that changes nothing makes no revision and keeps the ETag (no spurious 412 for others)', T, async () => {
		const { a, conv } = await conversation();
		const m = await freshMeeting(a, conv, 'no-op edits');
		const cur = await transcript(a.access, m.id);
		const etag = cur.headers.get('etag');
		const s0 = cur.body.segments[0];
		const base = `${MEETINGS}/${m.id}/transcript`;
		const same = [
			() => patch(`${base}/segments/0`, { token: a.access, json: { text: `  ${s0.text.split(' ').join('   ')} ` } }),
			() => patch(`${base}/segments/0`, { token: a.access, json: { speaker: s0.speaker } }),
			() => patch(`${base}/segments/0`, { token: a.access, headers: { 'If-Match': etag }, json: { text: s0.text, speaker: s0.speaker } }),
			() => put(`${base}/speakers/S1`, { token: a.access, json: { name: null } }),
			() => put(`${base}/speakers/S1`, { token: a.access, json: { name: '' } }),
			() => post(`${base}/revisions/${cur.body.version}/restore`, { token: a.access }),
		];
		for (const run of same) {
			const res = await run();
			assertJson(res, 200);
			assert.equal(res.headers.get('etag'), etag);
			assert.equal(res.body.version, cur.body.version);
			assert.equal(res.body.segments[0].edited, false);
			assert.deepEqual(res.body.segments, cur.body.segments);
		}
		const revs = await get(`${base}/revisions`, { token: a.access });
		assert.deepEqual(revs.body.data.map((r) => r.action), ['transcribed']);
		// Someone who loaded the transcript before all that still saves with their ETag.
		assertJson(await patch(`${base}/segments/0`, { token: a.access, headers: { 'If-Match': etag }, json: { text: 'a real change' } }), 200);
		// Naming a speaker twice: the second time is no change either.
		const n1 = await put(`${base}/speakers/S2`, { token: a.access, json: { name: 'Thandi' } });
		const n2 = await put(`${base}/speakers/S2`, { token: a.access, json: { name: 'Thandi' } });
		assert.equal(n2.headers.get('etag'), n1.headers.get('etag'));
		const revs2 = await get(`${base}/revisions`, { token: a.access });
		assert.deepEqual(revs2.body.data.map((r) => r.action), ['rename_speaker', 'edit_segment', 'transcribed']);
		// null clears a name (what the web app sends when the field is emptied).
		const cleared = await put(`${base}/speakers/S2`, { token: a.access, json: { name: null } });
		assertJson(cleared, 200);
		assert.equal(cleared.body.speakers.find((s) => s.id === 'S2').name, null);
		assert.notEqual(cleared.headers.get('etag'), n2.headers.get('etag'));
	});

	test('the transcript says whether the caller may edit it (can_edit), so the app offers only what works', T, async () => {
		const { a, conv } = await conversation();
		const m = await freshMeeting(a, conv, 'who may edit');
		const T0 = `${MEETINGS}/${m.id}/transcript`;
		assert.equal((await transcript(a.access, m.id)).body.can_edit, true);
		// an API key with only the read scope
		const key = await post('/api/v1/api-keys', { token: a.access, json: { name: 'reader', scopes: ['read'] } });
		assertJson(key, 201);
		assert.equal((await transcript(key.body.key, m.id)).body.can_edit, false);
		assertProblem(await patch(`${T0}/segments/0`, { token: key.body.key, json: { text: 'refused' } }), 403, 'insufficient_scope');
		// the meeting says the same, and what else the caller may do with it
		const perms = async (token) => {
			const res = await get(`${MEETINGS}/${m.id}`, { token });
			assertJson(res, 200);
			return res.body.permissions;
		};
		const none = { edit_transcript: false, rename: false, upload: false, transcribe: false, share: false, delete: false };
		assert.deepEqual(await perms(a.access), { edit_transcript: true, rename: true, upload: true, transcribe: true, share: true, delete: true });
		assert.deepEqual(await perms(key.body.key), none);
		// a collection viewer, and then an editor
		const coll = await post('/api/v1/collections', { token: a.access, json: { name: 'can_edit' } });
		assert.equal((await put(`/api/v1/collections/${coll.body.id}/meetings/${m.id}`, { token: a.access })).status, 204);
		const guest = async (role) => {
			const email = `guest.${role}.${Date.now()}.${Math.random().toString(36).slice(2)}@example.com`;
			const inv = await post(`/api/v1/collections/${coll.body.id}/invitations`, { token: a.access, json: { email, role } });
			assertJson(inv, 201);
			const su = await post('/api/v1/collection-invitations/signup', { json: { token: inv.body.token, password: PASSWORD, first_name: 'G' } });
			assertJson(su, 201);
			return su.body.access_token;
		};
		const viewer = await guest('viewer');
		const seen = await transcript(viewer, m.id);
		assert.equal(seen.body.can_edit, false);
		assertProblem(await patch(`${T0}/segments/0`, { token: viewer, json: { text: 'refused' } }), 403, 'forbidden');
		assert.deepEqual(await perms(viewer), none);
		const editor = await guest('editor');
		assert.equal((await transcript(editor, m.id)).body.can_edit, true);
		// a collection editor edits the transcript and nothing else of the meeting
		assert.deepEqual(await perms(editor), { ...none, edit_transcript: true });
		assertProblem(await del(`${MEETINGS}/${m.id}`, { token: editor }), 404, 'not_found'); // not a meeting of their organization
		// an edit's reply says it too
		const ed = await patch(`${T0}/segments/0`, { token: editor, json: { text: 'edited by a guest editor' } });
		assertJson(ed, 200);
		assert.equal(ed.body.can_edit, true);
	});

	test('an export of a revision is named after it, not like the current text', T, async () => {
		const { a, conv } = await conversation();
		const m = await freshMeeting(a, conv, 'Named export');
		const v1 = (await transcript(a.access, m.id)).body.version;
		assertJson(await patch(`${MEETINGS}/${m.id}/transcript/segments/0`, { token: a.access, json: { text: 'changed words' } }), 200);
		const cur = await get(`${MEETINGS}/${m.id}/transcript?format=srt`, { token: a.access });
		assert.equal(cur.headers.get('content-disposition'), 'attachment; filename="Named-export.srt"');
		const old = await get(`${MEETINGS}/${m.id}/transcript?format=srt&version=${v1}`, { token: a.access });
		assert.equal(old.status, 200);
		assert.equal(old.headers.get('content-disposition'), `attachment; filename="Named-export-v${v1}.srt"`);
		assert.ok(!old.text.includes('changed words'));
		assert.equal(old.headers.get('etag'), null, 'an older text has no ETag to edit with');
	});
});
