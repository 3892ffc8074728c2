// The transcription pipeline end to end: speech and silence through the test
// server; and, on iamd processes these tests start themselves (SQLite in a
// temporary data dir): a worker killed mid-job, the engine chain falling
// back from an unreachable / slow / broken OpenAI-compatible service to
// PocketSphinx, and one iamd using another iamd as its OpenAI engine.

import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import {
	MEETINGS,
	assertJson,
	assertMeeting,
	assertRfc3339,
	createApiKey,
	createMeeting,
	freePort,
	get,
	randomSecret,
	register,
	registerAt,
	requestAt,
	show,
	startIamd,
	stepFailed,
	stepsMentioning,
	uploadOk,
	waitCompleted,
	waitMeeting,
} from './helpers.mjs';
import { LONG_TEXT, SENTENCES, assertWords, durationOf, silence, speech, speechFile, words } from './audio.mjs';

const T = { timeout: 240000 };

const tmpRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'iam-pipeline-test-'));
const servers = [];
const fakes = [];
after(async () => {
	for (const s of servers) await s.stop(5000).catch(() => {});
	for (const f of fakes) {
		f.closeAllConnections?.();
		f.close();
	}
	fs.rmSync(tmpRoot, { recursive: true, force: true });
});

function tmpDir(name) {
	return fs.mkdtempSync(path.join(tmpRoot, `${name}-`));
}

async function ownServer(name, env, dataDir = tmpDir(name)) {
	const s = await startIamd(dataDir, { IAM_JWT_SECRET: randomSecret(), IAM_WORKERS: '1', IAM_MAX_UPLOAD_MB: '50', ...env });
	servers.push(s);
	return s;
}

/** A stand-in for an OpenAI-compatible service that behaves badly. mode: garbage | slow */
async function fakeOpenAI(mode) {
	const seen = [];
	const server = http.createServer((req, res) => {
		const chunks = [];
		req.on('data', (c) => chunks.push(c));
		req.on('end', () => {
			seen.push({ method: req.method, url: req.url, headers: req.headers, bytes: Buffer.concat(chunks).length });
			if (mode === 'slow') {
				const t = setTimeout(() => {
					if (!res.writableEnded) {
						res.writeHead(200, { 'content-type': 'application/json' });
						res.end('{"text": "too late"}');
					}
				}, 60000);
				res.on('close', () => clearTimeout(t));
				return;
			}
			res.writeHead(200, { 'content-type': 'application/json' });
			res.end('this is { not json <html>garbage</html>');
		});
	});
	await new Promise((r) => server.listen(0, '127.0.0.1', r));
	fakes.push(server);
	return { server, seen, base: `http://127.0.0.1:${server.address().port}/v1` };
}

function assertPlainSentence(text, what = 'processing_error') {
	assert.equal(typeof text, 'string', `${what} should be a string`);
	assert.ok(text.trim().length >= 10, `${what} is too short to help anyone: ${JSON.stringify(text)}`);
	assert.ok(text.length <= 1000, `${what} is too long: ${text.length} characters`);
	assert.ok(!/\n/.test(text), `${what} should be one sentence, not several lines: ${JSON.stringify(text)}`);
	assert.ok(!/(\n\s+at\s|Traceback|\.c:\d+|0x[0-9a-f]{6,}|segmentation|core dumped|SIGSEGV|errno)/i.test(text), `${what} looks like a stack trace or internals: ${text}`);
	assert.match(text, /^[A-Z]/, `${what} should read as a sentence: ${text}`);
}

describe('test server', T, () => {
	test('speech -> completed within 60 s with provider, model, confidence, steps and the words', async () => {
		const a = await register({ tag: 'pipe' });
		const m = await createMeeting(a.access, { title: 'Pipeline' });
		const buf = speech(SENTENCES.project, 'm4a');
		const t0 = Date.now();
		const up = await uploadOk(a.access, m.id, buf, { filename: 'pipeline.m4a', contentType: 'audio/mp4' });
		assert.ok(['queued', 'processing'].includes(up.status), `upload reply: ${up.status}`); // uploads.test.mjs holds the reply to 'queued'
		const done = await waitCompleted(a.access, m.id, { timeout: 60000 });
		const took = Date.now() - t0;
		assert.ok(took < 60000, `took ${took} ms`);
		assertMeeting(done);
		assert.equal(done.progress, 100);
		assert.equal(done.provider_used, 'moonshine'); // the default engine
		assert.equal(done.model_used, 'moonshine-tiny-en');
		const c = done.transcription_confidence;
		assert.ok(typeof c === 'number' && c >= 0 && c <= 1, `transcription_confidence ${c}`);
		assert.equal(done.processing_error, null);
		assert.ok(done.processing_steps.length > 0, 'processing_steps is empty');
		const moon = stepsMentioning(done.processing_steps, 'moonshine');
		assert.ok(moon.length >= 1 && !stepFailed(moon[moon.length - 1]), `steps: ${JSON.stringify(done.processing_steps)}`);
		assertRfc3339(done.processing_started_at, 'processing_started_at');
		assertRfc3339(done.processing_completed_at, 'processing_completed_at');
		assert.ok(Date.parse(done.processing_started_at) <= Date.parse(done.processing_completed_at));
		assert.ok(Date.parse(done.processing_started_at) >= Date.parse(done.created_at));
		const dur = durationOf(speechFile(SENTENCES.project, 'm4a'));
		assert.ok(Math.abs(done.duration_seconds - dur) / dur <= 0.1, `duration_seconds ${done.duration_seconds} vs ${dur}`);

		const t = assertJson(await get(`${MEETINGS}/${m.id}/transcript`, { token: a.access }), 200);
		assert.equal(t.provider, 'moonshine');
		assertWords(t.text, SENTENCES.project, 'transcript', 0.9);
		// The model's casing and punctuation: sentences start with a capital and end with a stop.
		assert.match(t.text, /^[A-Z]/, t.text);
		assert.ok((t.text.match(/[.?!]/g) || []).length >= 3, t.text);
		// Word times increase and stay inside their segments.
		let prev = 0;
		for (const s of t.segments)
			for (const w of s.words) {
				assert.ok(w.start >= prev && w.start >= s.start && w.end <= s.end + 1e-6, JSON.stringify(w));
				prev = w.start;
			}
	});

	test('models missing -> the job falls back to sphinx and says why in the steps', async () => {
		const env = { IAM_WORKERS: '1', IAM_MODELS_DIR: '/nonexistent/models', IAM_JWT_SECRET: randomSecret() };
		const srv = await ownServer('nomodels', env);
		{
			// /readyz names each engine's state once the workers have loaded them.
			let body = {};
			for (let i = 0; i < 100 && !body.speech; i++) {
				const ready = await fetch(`${srv.base}/readyz`);
				body = await ready.json();
				assert.equal(ready.status, 200, JSON.stringify(body));
				if (!body.speech) await new Promise((r) => setTimeout(r, 100));
			}
			assert.equal(body.speech?.sphinx, 'ready', JSON.stringify(body));
			assert.match(body.speech?.moonshine || '', /^unavailable: .*nonexistent/, JSON.stringify(body));
			const a = await registerAt(srv.base, 'nomodels');
			const m = await createMeeting(a.access, { title: 'Fallback' }, srv.base);
			await uploadOk(a.access, m.id, speech(SENTENCES.project, 'mp3'), { base: srv.base, filename: 'f.mp3', contentType: 'audio/mpeg' });
			const done = await waitCompleted(a.access, m.id, { base: srv.base, timeout: 90000 });
			assert.equal(done.provider_used, 'sphinx');
			const moon = stepsMentioning(done.processing_steps, 'moonshine');
			assert.ok(moon.length === 1 && stepFailed(moon[0]), `steps: ${JSON.stringify(done.processing_steps)}`);
			assert.match(JSON.stringify(moon[0]), /nonexistent/);
		}
	});

	test('silence -> completed with empty (or nearly empty) text', async () => {
		const a = await register({ tag: 'pipesilence' });
		const m = await createMeeting(a.access, { title: 'Nothing said' });
		await uploadOk(a.access, m.id, silence(3, 'wav'), { filename: 'silence.wav', contentType: 'audio/wav' });
		const done = await waitCompleted(a.access, m.id);
		assert.ok(Math.abs(done.duration_seconds - 3) <= 0.3, `duration_seconds ${done.duration_seconds}`);
		const t = assertJson(await get(`${MEETINGS}/${m.id}/transcript`, { token: a.access }), 200);
		assert.ok(words(t.text).length <= 3, `silence should give (almost) no words: ${JSON.stringify(t.text)}`);
		assert.ok(Array.isArray(t.segments));
	});
});

describe('own servers', T, () => {
	test('a worker killed with SIGKILL mid-job: after a restart the job completes once', async () => {
		const dataDir = tmpDir('kill');
		const env = { IAM_WORKERS: '1', IAM_JOB_LEASE_S: '2', IAM_ASR: 'sphinx', IAM_JWT_SECRET: randomSecret() };
		const s1 = await ownServer('kill', env, dataDir);
		const a = await registerAt(s1.base, 'kill');
		const m = await createMeeting(a.access, { title: 'Killed mid-job' }, s1.base);
		const buf = speech(LONG_TEXT, 'mp3');
		const dur = durationOf(speechFile(LONG_TEXT, 'mp3'));
		assert.ok(dur >= 25, `the long clip is ${dur} s`);
		await uploadOk(a.access, m.id, buf, { filename: 'long.mp3', base: s1.base });

		const mid = await waitMeeting(a.access, m.id, {
			base: s1.base,
			poll: 50,
			timeout: 60000,
			until: (x) => ['processing', 'completed', 'failed'].includes(x.status),
		});
		assert.equal(mid.status, 'processing', `the job should still be running: ${JSON.stringify(mid)}`);
		const r = await s1.kill('SIGKILL');
		assert.equal(r.signal, 'SIGKILL');

		const s2 = await ownServer('kill2', env, dataDir);
		const done = await waitCompleted(a.access, m.id, { base: s2.base, timeout: 150000 });
		assert.equal(done.provider_used, 'sphinx');
		assert.equal(done.file_size, buf.length);

		const tr = await requestAt(s2.base, 'GET', `${MEETINGS}/${m.id}/transcript`, { token: a.access });
		assert.equal(tr.status, 200, show(tr));
		const t = tr.body;
		assertWords(t.text, LONG_TEXT, 'transcript after the restart');
		assert.ok(Math.abs(t.duration - dur) / dur <= 0.1, `one transcript of ${dur} s, not ${t.duration} s (a doubled run would be longer)`);
		for (let i = 1; i < t.segments.length; i++) {
			assert.ok(t.segments[i].start >= t.segments[i - 1].start, 'segments in order: no second run appended');
			assert.ok(t.segments[i].end <= dur + 0.5);
		}

		const list = await requestAt(s2.base, 'GET', `${MEETINGS}?limit=100`, { token: a.access });
		assert.equal(list.status, 200, show(list));
		assert.equal(list.body.data.filter((x) => x.id === m.id).length, 1, 'the meeting is listed once');
		assert.equal(list.body.data.length, 1);
		await s2.stop();
	});

	test('openai,sphinx with nothing listening for openai -> completed by sphinx; the failed attempt is in the steps', async () => {
		const dead = await freePort();
		const s = await ownServer('fallback', {
			IAM_ASR: 'openai,sphinx',
			IAM_OPENAI_BASE_URL: `http://127.0.0.1:${dead}/v1`,
			IAM_OPENAI_API_KEY: 'sk-test-unreachable',
			IAM_OPENAI_TIMEOUT_S: '2',
		});
		const a = await registerAt(s.base, 'fallback');
		const m = await createMeeting(a.access, { title: 'Fallback' }, s.base);
		await uploadOk(a.access, m.id, speech(SENTENCES.meeting, 'mp3'), { filename: 'f.mp3', base: s.base });
		const done = await waitCompleted(a.access, m.id, { base: s.base, timeout: 90000 });
		assert.equal(done.provider_used, 'sphinx');
		const openai = stepsMentioning(done.processing_steps, 'openai');
		assert.ok(openai.length >= 1, `no openai step: ${JSON.stringify(done.processing_steps)}`);
		assert.ok(openai.some(stepFailed), `the openai attempt should show as failed: ${JSON.stringify(openai)}`);
		const sphinx = stepsMentioning(done.processing_steps, 'sphinx');
		assert.ok(sphinx.length >= 1 && !stepFailed(sphinx[sphinx.length - 1]), `steps: ${JSON.stringify(done.processing_steps)}`);
		const t = await requestAt(s.base, 'GET', `${MEETINGS}/${m.id}/transcript`, { token: a.access });
		assert.equal(t.status, 200, show(t));
		assertWords(t.body.text, SENTENCES.meeting);
		await s.stop();
	});

	test('openai,sphinx with an openai service slower than IAM_OPENAI_TIMEOUT_S -> completed by sphinx', async () => {
		const fake = await fakeOpenAI('slow');
		const s = await ownServer('slow', {
			IAM_ASR: 'openai,sphinx',
			IAM_OPENAI_BASE_URL: fake.base,
			IAM_OPENAI_API_KEY: 'sk-test-slow',
			IAM_OPENAI_TIMEOUT_S: '2',
		});
		const a = await registerAt(s.base, 'slow');
		const m = await createMeeting(a.access, { title: 'Slow engine' }, s.base);
		const t0 = Date.now();
		await uploadOk(a.access, m.id, speech(SENTENCES.project, 'mp3'), { filename: 's.mp3', base: s.base });
		const done = await waitCompleted(a.access, m.id, { base: s.base, timeout: 90000 });
		assert.ok(Date.now() - t0 < 60000, 'the slow engine was not waited for much longer than its timeout');
		assert.equal(done.provider_used, 'sphinx');
		assert.ok(fake.seen.some((r) => r.method === 'POST' && r.url.startsWith('/v1/audio/transcriptions')), `the openai engine was tried: ${JSON.stringify(fake.seen)}`);
		assert.ok(stepsMentioning(done.processing_steps, 'openai').some(stepFailed), JSON.stringify(done.processing_steps));
		await s.stop();
	});

	test('openai only, and the service answers garbage -> failed with a sentence for people', async () => {
		const fake = await fakeOpenAI('garbage');
		const s = await ownServer('garbage', {
			IAM_ASR: 'openai',
			IAM_OPENAI_BASE_URL: fake.base,
			IAM_OPENAI_API_KEY: 'sk-test-garbage',
			IAM_OPENAI_TIMEOUT_S: '2',
		});
		const a = await registerAt(s.base, 'garbage');
		const m = await createMeeting(a.access, { title: 'Broken engine' }, s.base);
		await uploadOk(a.access, m.id, speech(SENTENCES.project, 'mp3'), { filename: 'g.mp3', base: s.base });
		const end = await waitMeeting(a.access, m.id, { base: s.base, timeout: 150000 });
		assert.equal(end.status, 'failed', JSON.stringify(end));
		assertPlainSentence(end.processing_error);
		assert.ok(!end.processing_error.includes('sk-test-garbage'), 'the API key must not leak into the error');
		assert.ok(stepsMentioning(end.processing_steps, 'openai').some(stepFailed), JSON.stringify(end.processing_steps));

		const calls = fake.seen.filter((r) => r.method === 'POST');
		assert.ok(calls.length >= 1, 'the engine called the service');
		assert.ok(calls[0].url.startsWith('/v1/audio/transcriptions'), `path ${calls[0].url}`);
		assert.equal(calls[0].headers.authorization, 'Bearer sk-test-garbage');
		assert.match(calls[0].headers['content-type'] || '', /^multipart\/form-data/);
		assert.ok(calls[0].bytes > 1000, 'audio was sent');
		await s.stop();
	});

	test('the openai engine against a second iamd: provider openai, model whisper-1, the words, timed segments', async () => {
		const b = await ownServer('engine-b', { IAM_ASR: 'sphinx' });
		const ub = await registerAt(b.base, 'engineb');
		const keyB = await createApiKey(ub.access, 'used by iamd A', b.base);

		const s = await ownServer('engine-a', {
			IAM_ASR: 'openai',
			IAM_OPENAI_BASE_URL: `${b.base}/v1`,
			IAM_OPENAI_API_KEY: keyB,
			IAM_OPENAI_MODEL: 'whisper-1',
			IAM_OPENAI_TIMEOUT_S: '120',
		});
		const a = await registerAt(s.base, 'enginea');
		const m = await createMeeting(a.access, { title: 'Remote engine' }, s.base);
		const dur = durationOf(speechFile(SENTENCES.meeting, 'mp3'));
		await uploadOk(a.access, m.id, speech(SENTENCES.meeting, 'mp3'), { filename: 'remote.mp3', base: s.base });
		const done = await waitCompleted(a.access, m.id, { base: s.base, timeout: 150000 });
		assert.equal(done.provider_used, 'openai');
		assert.equal(done.model_used, 'whisper-1');

		const tr = await requestAt(s.base, 'GET', `${MEETINGS}/${m.id}/transcript`, { token: a.access });
		assert.equal(tr.status, 200, show(tr));
		const t = tr.body;
		assert.equal(t.provider, 'openai');
		assertWords(t.text, SENTENCES.meeting);
		assert.ok(t.segments.length >= 1, 'segments');
		let prev = null;
		for (const seg of t.segments) {
			assert.ok(typeof seg.start === 'number' && typeof seg.end === 'number' && seg.start <= seg.end, JSON.stringify(seg));
			assert.ok(seg.end <= dur + 0.5, `segment after the audio: ${JSON.stringify(seg)}`);
			if (prev) assert.ok(seg.start >= prev.start, 'segments in order');
			prev = seg;
		}
		assert.ok(t.segments[t.segments.length - 1].end > dur / 2, 'segment times span the audio');
		await s.stop();
		await b.stop();
	});
});
