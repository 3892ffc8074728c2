// Meeting insights end to end: generated speech is really transcribed, the
// insights job follows on its own, GET /insights gives the summary, action
// items, decisions, topics and sentiment (each saying it is the offline
// method), POST recomputes them (202); another organization gets 404; a
// meeting of silence gets empty fields, not a failure. Then the transcript
// is exported as DOCX (unzipped, its XML read) and PDF (read back with
// pdftotext).

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
	MEETINGS,
	assertProblem,
	createMeeting,
	get,
	post,
	register,
	request,
	requestBytes,
	show,
	sleep,
	uploadOk,
	waitCompleted,
} from './helpers.mjs';
import { SENTENCES, silence, speech } from './audio.mjs';

const T = { timeout: 180000 };

/** Poll GET insights until status is done or failed; returns the body. */
async function waitInsights(token, id, timeout = 60000) {
	const deadline = Date.now() + timeout;
	for (;;) {
		const res = await get(`${MEETINGS}/${id}/insights`, { token });
		assert.equal(res.status, 200, `GET insights: ${show(res)}`);
		if (res.body.status === 'done' || res.body.status === 'failed') return res.body;
		if (Date.now() > deadline) assert.fail(`insights not done within ${timeout} ms: ${show(res)}`);
		await sleep(250);
	}
}

function tmpFile(name, bytes) {
	const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'iam-insights-test-'));
	const file = path.join(dir, name);
	fs.writeFileSync(file, bytes);
	return { file, dir };
}

describe('meeting insights', () => {
	let alice;
	let meeting;
	let transcript;

	test('a completed transcription gets its insights on its own', T, async () => {
		alice = await register({ tag: 'insights' });
		meeting = await createMeeting(alice.access, { title: 'Launch review & <planning>' });
		await uploadOk(alice.access, meeting.id, speech(SENTENCES.report + ' ' + SENTENCES.project, 'wav'), {
			filename: 'talk.wav',
		});
		await waitCompleted(alice.access, meeting.id);
		const tr = await get(`${MEETINGS}/${meeting.id}/transcript`, { token: alice.access });
		assert.equal(tr.status, 200, show(tr));
		transcript = tr.body;
		assert.ok(transcript.segments.length > 0, 'the speech gave segments');

		const ins = await waitInsights(alice.access, meeting.id);
		assert.equal(ins.status, 'done', JSON.stringify(ins));
		assert.equal(ins.meeting_id, meeting.id);
		assert.equal(ins.transcript_version, transcript.version);
		assert.equal(ins.current_transcript_version, transcript.version);
		assert.equal(ins.stale, false);
		assert.equal(ins.progress, 100);
		for (const f of ['summary', 'action_items', 'decisions', 'topics', 'sentiment'])
			assert.equal(ins[f].source, 'offline', `${f}.source`);

		// The summary: sentences of the transcript, in time order, with their times.
		const sents = ins.summary.sentences;
		assert.ok(sents.length >= 1 && sents.length <= 10, `summary of ${sents.length} sentences`);
		const all = transcript.segments.map((s) => s.text).join(' ');
		for (const s of sents) {
			assert.ok(all.includes(s.text), `summary sentence "${s.text}" is from the transcript`);
			assert.equal(typeof s.start, 'number');
		}
		for (let i = 1; i < sents.length; i++) assert.ok(sents[i].start >= sents[i - 1].start, 'time order');

		// The speech asks ("please send the report"), commits ("we need to finish the
		// project") and decides ("the team agreed to move the deadline"): the recogniser
		// keeps most of it, and the rules find at least one of them at its moment.
		const found = [...ins.action_items.items, ...ins.decisions.items];
		assert.ok(found.length >= 1, `action items or decisions found in: ${all}`);
		for (const it of found) {
			assert.equal(typeof it.start, 'number');
			assert.ok(it.start >= 0 && it.start <= transcript.duration + 1);
			assert.ok(all.includes(it.text));
		}

		// Topics come with the times they come up.
		assert.ok(ins.topics.items.length >= 1, JSON.stringify(ins.topics));
		for (const t of ins.topics.items) {
			assert.ok(t.phrase.length > 0 && t.score > 0 && t.score <= 1);
			assert.ok(t.mentions.length >= 1 && t.mentions.every((m) => typeof m === 'number'));
		}

		// Sentiment per segment, per speaker and over time.
		const se = ins.sentiment;
		assert.equal(se.segments.length, transcript.segments.filter((s) => s.text.trim()).length);
		for (const s of se.segments) assert.ok(s.compound >= -1 && s.compound <= 1);
		assert.ok(se.speakers.length >= 1);
		assert.ok(se.timeline.length >= 1);
		assert.equal(se.timeline[0].start, 0);
	});

	test('POST recomputes (202) and another organization sees nothing (404)', T, async () => {
		const res = await post(`${MEETINGS}/${meeting.id}/insights`, { token: alice.access });
		assert.equal(res.status, 202, show(res));
		assert.ok(['queued', 'running', 'done'].includes(res.body.status), res.body.status);
		const again = await waitInsights(alice.access, meeting.id);
		assert.equal(again.status, 'done');

		const bob = await register({ tag: 'insights-other' });
		assertProblem(await get(`${MEETINGS}/${meeting.id}/insights`, { token: bob.access }), 404, 'not_found');
		assertProblem(await post(`${MEETINGS}/${meeting.id}/insights`, { token: bob.access }), 404, 'not_found');
		const exp = await requestBytes('GET', `${MEETINGS}/${meeting.id}/transcript?format=pdf`, { token: bob.access });
		assert.equal(exp.status, 404);
		assert.equal((await get(`${MEETINGS}/${meeting.id}/insights`)).status, 401);
	});

	test('after an edit they are stale, then computed again on their own from the new version', T, async () => {
		const edit = await request('PATCH', `${MEETINGS}/${meeting.id}/transcript/segments/0`, {
			token: alice.access,
			json: { text: 'I will send the budget to Maria by Friday. This plan is wonderful.' },
		});
		assert.equal(edit.status, 200, show(edit));
		const version = edit.body.version;
		assert.ok(version > transcript.version);
		const before = await get(`${MEETINGS}/${meeting.id}/insights`, { token: alice.access });
		assert.equal(before.body.stale, true);
		assert.equal(before.body.transcript_version, transcript.version);
		assert.equal(before.body.current_transcript_version, version);
		assert.equal(before.body.status, 'queued', 'the edit queued them again');
		const after = await waitInsights(alice.access, meeting.id);
		assert.equal(after.status, 'done');
		assert.equal(after.transcript_version, version);
		assert.equal(after.stale, false);
		const item = after.action_items.items.find((i) => i.text === 'I will send the budget to Maria by Friday.');
		assert.ok(item, `the edited commitment is an action item: ${JSON.stringify(after.action_items)}`);
		assert.equal(item.when, 'by Friday');
		assert.ok(after.sentiment.segments.find((x) => x.index === 0).compound > 0.3, 'the edited line reads positive');
		transcript = (await get(`${MEETINGS}/${meeting.id}/transcript`, { token: alice.access })).body;
	});

	test('no transcript yet: 409; insights never computed: status none', T, async () => {
		const m = await createMeeting(alice.access, { title: 'Empty' });
		const g = await get(`${MEETINGS}/${m.id}/insights`, { token: alice.access });
		assert.equal(g.status, 200, show(g));
		assert.equal(g.body.status, 'none');
		assert.equal(g.body.summary, null);
		assertProblem(await post(`${MEETINGS}/${m.id}/insights`, { token: alice.access }), 409, 'transcript_not_ready');
	});

	test('silence: an empty transcript gives empty fields, status done', T, async () => {
		const m = await createMeeting(alice.access, { title: 'Quiet' });
		await uploadOk(alice.access, m.id, silence(3, 'wav'), { filename: 'quiet.wav' });
		const done = await waitCompleted(alice.access, m.id);
		assert.equal(done.status, 'completed');
		const ins = await waitInsights(alice.access, m.id);
		assert.equal(ins.status, 'done', JSON.stringify(ins));
		assert.deepEqual(ins.summary.sentences, []);
		assert.deepEqual(ins.action_items.items, []);
		assert.deepEqual(ins.decisions.items, []);
		assert.deepEqual(ins.topics.items, []);
		assert.deepEqual(ins.sentiment.segments, []);
	});

	test('DOCX export: a zip of OOXML parts with the title, summary and transcript', T, async () => {
		const res = await requestBytes('GET', `${MEETINGS}/${meeting.id}/transcript?format=docx`, { token: alice.access });
		assert.equal(res.status, 200, show(res));
		assert.equal(res.headers.get('content-type'), 'application/vnd.openxmlformats-officedocument.wordprocessingml.document');
		assert.match(res.headers.get('content-disposition'), /^attachment; filename="Launch-review-planning\.docx"$/);
		assert.equal(res.bytes.subarray(0, 4).toString('latin1'), 'PK\x03\x04');
		const { file, dir } = tmpFile('t.docx', res.bytes);
		try {
			const names = execFileSync('unzip', ['-Z1', file]).toString();
			for (const part of ['[Content_Types].xml', '_rels/.rels', 'word/document.xml']) assert.ok(names.includes(part), part);
			const xml = execFileSync('unzip', ['-p', file, 'word/document.xml']).toString();
			assert.ok(xml.includes('Launch review &amp; &lt;planning&gt;'), 'escaped title');
			assert.ok(xml.includes('>Summary<'), 'summary heading');
			assert.ok(xml.includes('>Transcript<'));
			const first = transcript.segments.find((s) => s.text.trim());
			const firstWords = first.text.trim().split(/\s+/).slice(0, 3).join(' ');
			assert.ok(xml.includes(firstWords), `transcript text "${firstWords}"`);
			assert.ok(xml.includes('[00:00:'), 'segment times');
		} finally {
			fs.rmSync(dir, { recursive: true, force: true });
		}
	});

	test('PDF export: pdftotext reads the title, page number and transcript', T, async () => {
		const res = await requestBytes('GET', `${MEETINGS}/${meeting.id}/transcript?format=pdf`, { token: alice.access });
		assert.equal(res.status, 200, show(res));
		assert.equal(res.headers.get('content-type'), 'application/pdf');
		assert.match(res.headers.get('content-disposition'), /\.pdf"$/);
		assert.equal(res.bytes.subarray(0, 5).toString('latin1'), '%PDF-');
		const { file, dir } = tmpFile('t.pdf', res.bytes);
		try {
			const text = execFileSync('pdftotext', [file, '-']).toString();
			assert.ok(text.includes('Launch review & <planning>'), text.slice(0, 300));
			assert.ok(text.includes('Page 1'));
			assert.ok(text.includes('Summary'));
			const first = transcript.segments.find((s) => s.text.trim());
			assert.ok(text.includes(first.text.trim().split(/\s+/)[0]), 'transcript text');
		} finally {
			fs.rmSync(dir, { recursive: true, force: true });
		}
		const bad = await get(`${MEETINGS}/${meeting.id}/transcript?format=rtf`, { token: alice.access });
		assert.equal(bad.status, 400);
		assert.match(JSON.stringify(bad.body), /docx, pdf/);
	});
});
