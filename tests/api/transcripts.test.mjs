// Transcripts and what hangs off a meeting once it has audio: the transcript
// (JSON and txt/srt/vtt/json exports), POST .../transcribe, the audio itself
// (with Range), short-lived tickets, and the Server-Sent Events stream
// (through the `eventsource` client with ?ticket= and through fetch with the
// Authorization header).

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { EventSource } from 'eventsource';
import {
	BASE,
	COMPLETE_TIMEOUT_MS,
	MEETINGS,
	assertJson,
	assertMeeting,
	assertProblem,
	assertRfc3339,
	assertValidation,
	createMeeting,
	get,
	getMeeting,
	post,
	readEvents,
	register,
	requestBytes,
	show,
	uploadOk,
	waitCompleted,
	waitMeeting,
} from './helpers.mjs';
import { SENTENCES, assertWords, durationOf, speech, speechFile, words } from './audio.mjs';

const T = { timeout: 180000 };
const EPS = 0.05; // seconds of slack for time comparisons

// One completed meeting shared by the read-only tests (made on first use).
let shared = null;
function completedMeeting() {
	if (!shared) {
		shared = (async () => {
			const a = await register({ tag: 'trshared' });
			const m = await createMeeting(a.access, { title: 'Transcript fixture' });
			const buf = speech(SENTENCES.meeting, 'mp3');
			await uploadOk(a.access, m.id, buf, { filename: 'fixture.mp3', contentType: 'audio/mpeg' });
			const done = await waitCompleted(a.access, m.id);
			return { a, token: a.access, m: done, buf, duration: durationOf(speechFile(SENTENCES.meeting, 'mp3')) };
		})();
	}
	return shared;
}

const isNum = (v) => typeof v === 'number' && Number.isFinite(v);
const in01 = (v) => isNum(v) && v >= 0 && v <= 1;

function assertTranscript(t, meetingId, audioSeconds) {
	for (const f of ['meeting_id', 'language', 'text', 'duration', 'provider', 'model', 'confidence', 'segments']) {
		assert.ok(f in t, `transcript lacks ${f}: ${JSON.stringify(t).slice(0, 300)}`);
	}
	assert.equal(t.meeting_id, meetingId);
	assert.equal(typeof t.language, 'string');
	assert.ok(t.language.length > 0);
	assert.equal(typeof t.text, 'string');
	assert.ok(isNum(t.duration) && t.duration > 0, `duration ${t.duration}`);
	if (audioSeconds) assert.ok(Math.abs(t.duration - audioSeconds) / audioSeconds <= 0.1, `transcript duration ${t.duration} vs audio ${audioSeconds}`);
	assert.equal(typeof t.provider, 'string');
	assert.equal(typeof t.model, 'string');
	assert.ok(t.model.length > 0, 'model is empty');
	assert.ok(in01(t.confidence), `confidence ${t.confidence}`);
	assert.ok(Array.isArray(t.segments), 'segments[]');
	const ids = new Set();
	let prev = null;
	for (const [i, s] of t.segments.entries()) {
		const what = `segment ${i} ${JSON.stringify(s).slice(0, 200)}`;
		assert.ok('id' in s, `${what}: id`);
		assert.ok(!ids.has(JSON.stringify(s.id)), `${what}: duplicate id`);
		ids.add(JSON.stringify(s.id));
		assert.ok(isNum(s.start) && isNum(s.end), `${what}: start/end`);
		assert.ok(s.start >= 0 && s.start <= s.end, `${what}: 0 <= start <= end`);
		assert.ok(s.end <= t.duration + EPS, `${what}: ends after the audio (${t.duration})`);
		assert.equal(typeof s.text, 'string', `${what}: text`);
		assert.ok(in01(s.confidence), `${what}: confidence`);
		assert.ok(Array.isArray(s.words), `${what}: words[]`);
		if (prev) {
			assert.ok(s.start >= prev.start, `${what}: segments in order`);
			assert.ok(s.start >= prev.end - EPS, `${what}: overlaps the previous segment (ends ${prev.end})`);
		}
		let pw = null;
		for (const w of s.words) {
			assert.equal(typeof w.word, 'string', `${what}: word`);
			assert.ok(isNum(w.start) && isNum(w.end) && w.start <= w.end, `${what}: word times ${JSON.stringify(w)}`);
			assert.ok(w.start >= s.start - EPS && w.end <= s.end + EPS, `${what}: word ${JSON.stringify(w)} outside its segment`);
			assert.ok(in01(w.confidence), `${what}: word confidence ${JSON.stringify(w)}`);
			if (pw) assert.ok(w.start >= pw.start, `${what}: words in order`);
			pw = w;
		}
		prev = s;
	}
	assert.deepEqual(words(t.text), words(t.segments.map((s) => s.text).join(' ')), 'text is the segments joined');
}

const TIME_SRT = /^(\d{2}):([0-5]\d):([0-5]\d),(\d{3}) --> (\d{2}):([0-5]\d):([0-5]\d),(\d{3})$/;
const TIME_VTT = /^(\d{2}):([0-5]\d):([0-5]\d)\.(\d{3}) --> (\d{2}):([0-5]\d):([0-5]\d)\.(\d{3})(?: .*)?$/;
const secs = (m, o) => Number(m[o]) * 3600 + Number(m[o + 1]) * 60 + Number(m[o + 2]) + Number(m[o + 3]) / 1000;

/** Check SRT syntax and limits; returns the cue texts joined. */
function checkSrt(body, duration) {
	assert.ok(!body.includes('\r') || /\r\n/.test(body), 'line ends are \\n or \\r\\n');
	const blocks = body.replace(/\r\n/g, '\n').trim().split(/\n{2,}/);
	assert.ok(blocks.length >= 1 && blocks[0].length > 0, 'no cues');
	let prevEnd = 0;
	const texts = [];
	for (const [i, block] of blocks.entries()) {
		const lines = block.split('\n');
		assert.equal(lines[0], String(i + 1), `cue ${i + 1} is numbered ${JSON.stringify(lines[0])}`);
		const m = TIME_SRT.exec(lines[1] || '');
		assert.ok(m, `cue ${i + 1} time line ${JSON.stringify(lines[1])}`);
		const start = secs(m, 1);
		const end = secs(m, 5);
		assert.ok(start < end, `cue ${i + 1}: start ${start} < end ${end}`);
		assert.ok(start >= prevEnd - 0.001, `cue ${i + 1} starts ${start} before the previous ends ${prevEnd}`);
		assert.ok(end <= duration + 0.5, `cue ${i + 1} ends ${end} after the audio (${duration})`);
		prevEnd = end;
		const text = lines.slice(2);
		assert.ok(text.length >= 1 && text.length <= 2, `cue ${i + 1} has ${text.length} text lines`);
		for (const l of text) {
			assert.ok(l.trim().length > 0, `cue ${i + 1} has an empty line`);
			assert.ok([...l].length <= 42, `cue ${i + 1} line longer than 42: ${JSON.stringify(l)}`);
		}
		texts.push(text.join(' '));
	}
	return texts.join(' ');
}

/** Check WebVTT syntax; returns the cue texts joined. */
function checkVtt(body, duration) {
	const text = body.replace(/\r\n/g, '\n');
	assert.match(text, /^WEBVTT(?:[ \t][^\n]*)?\n/, `must start with WEBVTT: ${JSON.stringify(text.slice(0, 40))}`);
	const blocks = text.trim().split(/\n{2,}/).slice(1);
	assert.ok(blocks.length >= 1, 'no cues');
	let prevEnd = 0;
	const texts = [];
	for (const [i, block] of blocks.entries()) {
		if (/^(NOTE|STYLE|REGION)\b/.test(block)) continue;
		const lines = block.split('\n');
		const at = lines.findIndex((l) => l.includes('-->'));
		assert.ok(at === 0 || at === 1, `cue ${i + 1}: time line ${JSON.stringify(block.slice(0, 80))}`);
		const m = TIME_VTT.exec(lines[at]);
		assert.ok(m, `cue ${i + 1} time line ${JSON.stringify(lines[at])}`);
		const start = secs(m, 1);
		const end = secs(m, 5);
		assert.ok(start < end && start >= prevEnd - 0.001 && end <= duration + 0.5, `cue ${i + 1} times ${lines[at]}`);
		prevEnd = end;
		const cue = lines.slice(at + 1);
		assert.ok(cue.length >= 1, `cue ${i + 1} has no text`);
		texts.push(cue.join(' '));
	}
	return texts.join(' ');
}

function assertAttachment(res, ext) {
	const cd = res.headers.get('content-disposition') || '';
	const m = /^attachment;\s*filename="([^"]+)"/i.exec(cd);
	assert.ok(m, `Content-Disposition: attachment; filename="..." expected, got ${JSON.stringify(cd)}`);
	assert.ok(m[1].toLowerCase().endsWith(`.${ext}`), `file name ${m[1]} should end in .${ext}`);
	assert.ok(!/[\\/]/.test(m[1]), `file name ${m[1]} must not carry a path`);
}

describe('transcript', T, () => {
	test('GET .../transcript -> the timed transcript once completed', async () => {
		const { token, m, duration } = await completedMeeting();
		assertMeeting(m);
		const res = await get(`${MEETINGS}/${m.id}/transcript`, { token });
		const t = assertJson(res, 200);
		assertTranscript(t, m.id, duration);
		assert.equal(t.provider, m.provider_used);
		assert.equal(t.model, m.model_used);
		assert.ok(t.segments.length >= 1, 'speech gives at least one segment');
		assert.ok(t.segments.some((s) => s.words.length > 0), 'PocketSphinx gives word times');
		assertWords(t.text, SENTENCES.meeting);
	});

	for (const [fmt, ctype, ext] of [
		['txt', /^text\/plain\s*(;|$)/i, 'txt'],
		['srt', /^application\/x-subrip\s*(;|$)/i, 'srt'],
		['vtt', /^text\/vtt\s*(;|$)/i, 'vtt'],
		['json', /^application\/json\s*(;|$)/i, 'json'],
	]) {
		test(`?format=${fmt} -> an attachment of the right type`, async () => {
			const { token, m, duration } = await completedMeeting();
			const res = await requestBytes('GET', `${MEETINGS}/${m.id}/transcript?format=${fmt}`, { token });
			assert.equal(res.status, 200, show(res));
			assert.match(res.headers.get('content-type') || '', ctype);
			assertAttachment(res, ext);
			const body = res.bytes.toString('utf8');
			assert.ok(!body.startsWith('\ufeff') || fmt === 'txt', 'no byte order mark');
			let text = body;
			if (fmt === 'srt') text = checkSrt(body, duration);
			if (fmt === 'vtt') text = checkVtt(body, duration);
			if (fmt === 'json') {
				const j = JSON.parse(body);
				assert.ok(j && typeof j === 'object');
				text = typeof j.text === 'string' ? j.text : (j.segments || []).map((s) => s.text).join(' ');
				assert.ok(Array.isArray(j.segments), 'the JSON export carries segments');
			}
			assertWords(text, SENTENCES.meeting, `${fmt} export`);
		});
	}

	test('an unknown ?format= -> 400 on format', async () => {
		const { token, m } = await completedMeeting();
		for (const f of ['xml', 'rtf', 'SRT2']) {
			assertValidation(await get(`${MEETINGS}/${m.id}/transcript?format=${f}`, { token }), ['format']);
		}
	});

	test('before completion -> 409 transcript_not_ready', async () => {
		const a = await register({ tag: 'trnotready' });
		const pending = await createMeeting(a.access, { title: 'no audio yet' });
		assertProblem(await get(`${MEETINGS}/${pending.id}/transcript`, { token: a.access }), 409, 'transcript_not_ready');
		const up = await createMeeting(a.access, { title: 'audio, not transcribed' });
		await uploadOk(a.access, up.id, speech(SENTENCES.project, 'mp3'), { filename: 'x.mp3', transcribe: false });
		assertProblem(await get(`${MEETINGS}/${up.id}/transcript`, { token: a.access }), 409, 'transcript_not_ready');
		assertProblem(await get(`${MEETINGS}/${up.id}/transcript?format=srt`, { token: a.access }), 409, 'transcript_not_ready');
	});
});

describe('transcribe', T, () => {
	test('202 queued; again while busy -> 409 already_processing; then completed with the chosen provider', async () => {
		const a = await register({ tag: 'trgo' });
		const m = await createMeeting(a.access, { title: 'Transcribe me' });
		await uploadOk(a.access, m.id, speech(SENTENCES.report, 'ogg'), { filename: 'r.ogg', transcribe: false });
		const res = await post(`${MEETINGS}/${m.id}/transcribe`, { token: a.access, json: { language: 'en', provider: 'sphinx' } });
		const q = assertJson(res, 202);
		assertMeeting(q);
		assert.ok(['queued', 'processing'].includes(q.status), `transcribe reply: ${q.status}`);
		assertProblem(await post(`${MEETINGS}/${m.id}/transcribe`, { token: a.access, json: {} }), 409, 'already_processing');
		assertProblem(await get(`${MEETINGS}/${m.id}/transcript`, { token: a.access }), 409, 'transcript_not_ready');

		const done = await waitCompleted(a.access, m.id);
		assert.equal(done.provider_used, 'sphinx');
		assert.equal(done.progress, 100);
		const t = assertJson(await get(`${MEETINGS}/${m.id}/transcript`, { token: a.access }), 200);
		assertWords(t.text, SENTENCES.report);
		// checked last so that the rest is verified either way
		assert.equal(q.status, 'queued', 'the 202 reply says "queued" (the state it wrote, not one read back later)');
	});

	test('no audio -> 409 no_audio; bad provider or unknown field -> 400', async () => {
		const a = await register({ tag: 'trbad' });
		const m = await createMeeting(a.access, { title: 'Empty' });
		assertProblem(await post(`${MEETINGS}/${m.id}/transcribe`, { token: a.access, json: {} }), 409, 'no_audio');
		assert.equal((await getMeeting(a.access, m.id)).status, 'pending');

		const u = await createMeeting(a.access, { title: 'With audio' });
		await uploadOk(a.access, u.id, speech(SENTENCES.project, 'mp3'), { filename: 'x.mp3', transcribe: false });
		assertValidation(await post(`${MEETINGS}/${u.id}/transcribe`, { token: a.access, json: { provider: 'nonsense' } }), ['provider']);
		assertValidation(await post(`${MEETINGS}/${u.id}/transcribe`, { token: a.access, json: { provider: 42 } }), ['provider']);
		assertValidation(await post(`${MEETINGS}/${u.id}/transcribe`, { token: a.access, json: { speed: 'fast' } }), ['speed']);
		assert.equal((await getMeeting(a.access, u.id)).status, 'uploaded', 'refused requests queue nothing');
		assertProblem(await post(`${MEETINGS}/${crypto.randomUUID()}/transcribe`, { token: a.access, json: {} }), 404, 'not_found');
		assertProblem(await post(`${MEETINGS}/${u.id}/transcribe`, { json: {} }), 401, 'unauthorized');
	});
});

describe('audio', T, () => {
	test('GET .../audio -> the exact bytes, Accept-Ranges, an audio type', async () => {
		const { token, m, buf } = await completedMeeting();
		const res = await requestBytes('GET', `${MEETINGS}/${m.id}/audio`, { token });
		assert.equal(res.status, 200, show(res));
		assert.match(res.headers.get('content-type') || '', /^audio\//);
		assert.equal(res.headers.get('accept-ranges'), 'bytes');
		assert.equal(Number(res.headers.get('content-length')), buf.length);
		assert.ok(res.bytes.equals(buf), 'the audio differs from the upload');
	});

	test('Range requests -> 206 with Content-Range; past the end -> 416', async () => {
		const { token, m, buf } = await completedMeeting();
		const p = `${MEETINGS}/${m.id}/audio`;
		const r1 = await requestBytes('GET', p, { token, headers: { range: 'bytes=0-99' } });
		assert.equal(r1.status, 206, show(r1));
		assert.equal(r1.headers.get('content-range'), `bytes 0-99/${buf.length}`);
		assert.equal(r1.bytes.length, 100);
		assert.ok(r1.bytes.equals(buf.subarray(0, 100)));

		const r2 = await requestBytes('GET', p, { token, headers: { range: 'bytes=1000-1999' } });
		assert.equal(r2.status, 206, show(r2));
		assert.equal(r2.headers.get('content-range'), `bytes 1000-1999/${buf.length}`);
		assert.ok(r2.bytes.equals(buf.subarray(1000, 2000)));

		const r3 = await requestBytes('GET', p, { token, headers: { range: `bytes=${buf.length - 10}-` } });
		assert.equal(r3.status, 206, show(r3));
		assert.ok(r3.bytes.equals(buf.subarray(buf.length - 10)));

		const r4 = await requestBytes('GET', p, { token, headers: { range: `bytes=${buf.length}-` } });
		assert.equal(r4.status, 416, show(r4));
	});

	test('no audio -> 404; no auth -> 401', async () => {
		const a = await register({ tag: 'traudio404' });
		const m = await createMeeting(a.access, { title: 'silent' });
		const res = await requestBytes('GET', `${MEETINGS}/${m.id}/audio`, { token: a.access });
		assertProblem(res, 404);
		assertProblem(await requestBytes('GET', `${MEETINGS}/${m.id}/audio`), 401, 'unauthorized');
	});
});

describe('tickets', T, () => {
	test('POST .../ticket -> 201 {ticket, expires_at}; it opens that meeting\'s audio and events only', async () => {
		const { token, m, buf } = await completedMeeting();
		const other = await createMeeting(token, { title: 'other meeting' });
		await uploadOk(token, other.id, speech(SENTENCES.project, 'mp3'), { filename: 'o.mp3', transcribe: false });

		const res = await post(`${MEETINGS}/${m.id}/ticket`, { token });
		const body = assertJson(res, 201);
		assert.equal(typeof body.ticket, 'string');
		assert.ok(body.ticket.length >= 16, 'ticket too short to be unguessable');
		assert.match(body.ticket, /^[A-Za-z0-9._~-]+$/, 'ticket is URL-safe');
		assertRfc3339(body.expires_at, 'expires_at');
		const left = Date.parse(body.expires_at) - Date.now();
		assert.ok(left > 0 && left <= 3600 * 1000, `a ticket should be short-lived: expires in ${left} ms`);
		const t = encodeURIComponent(body.ticket);

		const audio = await requestBytes('GET', `${MEETINGS}/${m.id}/audio?ticket=${t}`);
		assert.equal(audio.status, 200, show(audio));
		assert.ok(audio.bytes.equals(buf));
		const part = await requestBytes('GET', `${MEETINGS}/${m.id}/audio?ticket=${t}`, { headers: { range: 'bytes=0-9' } });
		assert.equal(part.status, 206);

		const ev = await readEvents(`${MEETINGS}/${m.id}/events?ticket=${t}`, {
			stopWhen: (e) => e.json && ['completed', 'failed'].includes(e.json.status),
			timeout: 20000,
		});
		assert.equal(ev.status, 200, `events with a ticket: ${ev.status} ${ev.text}`);
		assert.equal(ev.events[0].json.status, 'completed');

		// not for another meeting, not for other endpoints, not made up
		const evOther = await readEvents(`${MEETINGS}/${other.id}/events?ticket=${t}`, { timeout: 10000 });
		assert.equal(evOther.status, 401, `another meeting's events with this ticket: ${evOther.status}`);
		assertProblem(await requestBytes('GET', `${MEETINGS}/${other.id}/audio?ticket=${t}`), 401);
		assertProblem(await get(`${MEETINGS}/${m.id}?ticket=${t}`), 401);
		assertProblem(await get(`${MEETINGS}/${m.id}/transcript?ticket=${t}`), 401);
		assertProblem(await get(`${MEETINGS}?ticket=${t}`), 401);
		for (const g of ['garbage', crypto.randomBytes(24).toString('base64url'), body.ticket.slice(0, -2)]) {
			const e = await readEvents(`${MEETINGS}/${m.id}/events?ticket=${encodeURIComponent(g)}`, { timeout: 10000 });
			assert.equal(e.status, 401, `garbage ticket on events: ${e.status}`);
			assertProblem(await requestBytes('GET', `${MEETINGS}/${m.id}/audio?ticket=${encodeURIComponent(g)}`), 401);
		}
	});

	test('tickets need authentication and a meeting of my organization', async () => {
		const { m } = await completedMeeting();
		const b = await register({ tag: 'trticketb' });
		assertProblem(await post(`${MEETINGS}/${m.id}/ticket`), 401, 'unauthorized');
		assertProblem(await post(`${MEETINGS}/${m.id}/ticket`, { token: b.access }), 404, 'not_found');
		// B's ticket for B's meeting does not open A's
		const mb = await createMeeting(b.access, { title: 'b' });
		const tb = assertJson(await post(`${MEETINGS}/${mb.id}/ticket`, { token: b.access }), 201).ticket;
		assertProblem(await requestBytes('GET', `${MEETINGS}/${m.id}/audio?ticket=${encodeURIComponent(tb)}`), 401);
	});
});

// ---------------------------------------------------------------- events

const RANK = { pending: 0, uploaded: 0, queued: 1, processing: 2, completed: 3, failed: 3 };

function checkStatusEvents(events, meetingId, what) {
	assert.ok(events.length >= 2, `${what}: too few events: ${JSON.stringify(events)}`);
	let prev = null;
	for (const e of events) {
		assert.equal(e.event, 'status', `${what}: event name ${e.event}`);
		const d = e.json;
		assert.ok(d && typeof d === 'object', `${what}: data is JSON: ${e.data}`);
		for (const f of ['id', 'status', 'progress', 'processing_error']) assert.ok(f in d, `${what}: data lacks ${f}: ${e.data}`);
		assert.equal(d.id, meetingId);
		assert.ok(d.status in RANK, `${what}: status ${d.status}`);
		assert.ok(Number.isInteger(d.progress) && d.progress >= 0 && d.progress <= 100, `${what}: progress ${d.progress}`);
		if (prev) {
			assert.ok(RANK[d.status] >= RANK[prev.status], `${what}: status went back from ${prev.status} to ${d.status}`);
			assert.ok(d.progress >= prev.progress, `${what}: progress went back from ${prev.progress} to ${d.progress}`);
			assert.ok(d.status !== prev.status || d.progress !== prev.progress, `${what}: an event without a change: ${e.data}`);
		}
		prev = d;
	}
	const statuses = events.map((e) => e.json.status);
	assert.equal(statuses[0], 'uploaded', `${what}: the first event is the state when the stream opened`);
	assert.ok(statuses.includes('processing'), `${what}: processing was never reported: ${statuses}`);
	const last = events[events.length - 1].json;
	assert.equal(last.status, 'completed', `${what}: ${JSON.stringify(last)}`);
	assert.equal(last.progress, 100);
	assert.equal(last.processing_error, null);
	return statuses;
}

/** Collect `status` events with the eventsource client until completed/failed. */
function eventSourceUntilDone(url, timeout = COMPLETE_TIMEOUT_MS) {
	const events = [];
	let opened;
	const openedP = new Promise((r) => (opened = r));
	const done = new Promise((resolve, reject) => {
		const es = new EventSource(url);
		const timer = setTimeout(() => {
			es.close();
			reject(new Error(`EventSource: no completed event within ${timeout} ms; got ${JSON.stringify(events.map((e) => e.data))}`));
		}, timeout);
		let errors = 0;
		es.addEventListener('status', (e) => {
			let json = null;
			try {
				json = JSON.parse(e.data);
			} catch {
				/* checked later */
			}
			events.push({ event: e.type, data: e.data, json });
			opened();
			if (json && (json.status === 'completed' || json.status === 'failed')) {
				clearTimeout(timer);
				es.close();
				resolve(events);
			}
		});
		es.addEventListener('error', (e) => {
			// a stream that ends makes the client reconnect; an error before any event is fatal
			errors += 1;
			if (events.length === 0 && errors >= 1 && e && e.code && e.code >= 400) {
				clearTimeout(timer);
				es.close();
				reject(new Error(`EventSource error ${e.code}: ${e.message}`));
			}
		});
	});
	return { done, opened: openedP, events };
}

describe('events', T, () => {
	test('a completed meeting: one status event, then the stream ends', async () => {
		const { token, m } = await completedMeeting();
		const ev = await readEvents(`${MEETINGS}/${m.id}/events`, { token, stopWhen: (e) => e.json && e.json.status === 'completed', timeout: 20000 });
		assert.equal(ev.status, 200, ev.text);
		assert.match(ev.headers.get('content-type') || '', /^text\/event-stream/);
		assert.equal(ev.events.length, 1, JSON.stringify(ev.events));
		const d = ev.events[0].json;
		assert.equal(ev.events[0].event, 'status');
		assert.deepEqual(
			{ id: d.id, status: d.status, progress: d.progress, processing_error: d.processing_error },
			{ id: m.id, status: 'completed', progress: 100, processing_error: null },
		);
		assert.ok(ev.ended, 'the server ends the stream after the completed event');
	});

	test('live: eventsource (?ticket=) and fetch (header) both see uploaded -> processing -> completed', async () => {
		const a = await register({ tag: 'trevents' });
		const m = await createMeeting(a.access, { title: 'Live' });
		await uploadOk(a.access, m.id, speech(SENTENCES.meeting, 'mp3'), { filename: 'live.mp3', transcribe: false });
		const ticket = assertJson(await post(`${MEETINGS}/${m.id}/ticket`, { token: a.access }), 201).ticket;

		const es = eventSourceUntilDone(`${BASE}${MEETINGS}/${m.id}/events?ticket=${encodeURIComponent(ticket)}`);
		let firstFetchEvent;
		const fetchOpened = new Promise((r) => (firstFetchEvent = r));
		const viaFetch = readEvents(`${MEETINGS}/${m.id}/events`, {
			token: a.access,
			stopWhen: (e) => {
				firstFetchEvent();
				return e.json && ['completed', 'failed'].includes(e.json.status);
			},
		});
		// both streams have their first event before the work starts
		await Promise.race([
			Promise.all([es.opened, fetchOpened]),
			new Promise((_, rej) => setTimeout(() => rej(new Error('event streams did not open within 15 s')), 15000)),
		]);

		const q = assertJson(await post(`${MEETINGS}/${m.id}/transcribe`, { token: a.access, json: {} }), 202);
		// (the 'transcribe' tests hold the reply to exactly 'queued')
		assert.ok(['queued', 'processing'].includes(q.status), `transcribe reply: ${q.status}`);

		const [esEvents, fe] = await Promise.all([es.done, viaFetch]);
		assert.equal(fe.status, 200, fe.text);
		assert.match(fe.headers.get('content-type') || '', /^text\/event-stream/);
		checkStatusEvents(fe.events, m.id, 'fetch');
		assert.ok(fe.ended, 'the server ends the stream after completed');
		checkStatusEvents(esEvents, m.id, 'eventsource');

		const final = await waitMeeting(a.access, m.id, { timeout: 5000 });
		assert.equal(final.status, 'completed');
	});

	test('events need authentication', async () => {
		const { m } = await completedMeeting();
		const ev = await readEvents(`${MEETINGS}/${m.id}/events`, { timeout: 10000 });
		assert.equal(ev.status, 401, ev.text);
	});
});
