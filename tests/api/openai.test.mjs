// The OpenAI-compatible endpoints (/v1/audio/transcriptions, /v1/models),
// driven by the official `openai` npm package with an IAM API key, plus the
// error replies in OpenAI's format.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import OpenAI, { toFile } from 'openai';
import { BASE, createApiKey, register, requestBytes, show } from './helpers.mjs';
import { SENTENCES, VOICES, assertWords, conversationFile, durationOf, phrasesAtFile, speech, speechFile, textFile, words } from './audio.mjs';

const T = { timeout: 180000 };
const TEXT = SENTENCES.report;

let shared = null;
function setup() {
	if (!shared) {
		shared = (async () => {
			const a = await register({ tag: 'openai' });
			const key = await createApiKey(a.access, 'openai sdk');
			const client = new OpenAI({ apiKey: key, baseURL: `${BASE}/v1`, maxRetries: 0, timeout: 120000 });
			return { a, key, client };
		})();
	}
	return shared;
}

const mp3 = () => toFile(speech(TEXT, 'mp3'), 'speech.mp3', { type: 'audio/mpeg' });

function assertOpenAIError(res, status, param) {
	assert.equal(res.status, status, `expected ${status}: ${show(res)}`);
	assert.match(res.headers.get('content-type') || '', /^application\/json\s*(;|$)/i, show(res));
	const e = res.body && res.body.error;
	assert.ok(e && typeof e === 'object', `{error: {...}} expected: ${show(res)}`);
	assert.equal(typeof e.message, 'string');
	assert.ok(e.message.length > 0, 'error.message is empty');
	for (const f of ['type', 'param', 'code']) assert.ok(f in e, `error.${f} missing: ${show(res)}`);
	assert.equal(typeof e.type, 'string');
	if (param !== undefined) assert.equal(e.param, param, `error.param: ${show(res)}`);
	return e;
}

/** A call through the SDK that must fail; returns the thrown APIError. */
async function sdkError(promise, Klass) {
	try {
		await promise;
	} catch (err) {
		if (Klass) assert.ok(err instanceof Klass, `expected ${Klass.name}, got ${err && err.constructor && err.constructor.name}: ${err && err.message}`);
		assert.ok(err instanceof OpenAI.APIError, `an APIError expected: ${err}`);
		return err;
	}
	assert.fail('the call should have failed');
}

function multipart(fields) {
	const form = new FormData();
	for (const [k, v] of Object.entries(fields)) {
		if (Buffer.isBuffer(v)) form.append(k, new Blob([v], { type: 'audio/mpeg' }), 'speech.mp3');
		else form.append(k, v);
	}
	return form;
}

describe('models', T, () => {
	test('client.models.list() includes whisper-1', async () => {
		const { client } = await setup();
		const page = await client.models.list();
		const ids = page.data.map((m) => m.id);
		assert.ok(ids.includes('whisper-1'), `models: ${ids}`);
		for (const m of page.data) {
			assert.equal(typeof m.id, 'string');
			assert.equal(m.object, 'model');
		}
		const one = page.data.find((m) => m.id === 'whisper-1');
		assert.equal(typeof one.owned_by, 'string');
	});
});

describe('transcriptions', T, () => {
	test('response_format json (default) -> {text}', async () => {
		const { client } = await setup();
		const r = await client.audio.transcriptions.create({ file: await mp3(), model: 'whisper-1' });
		assert.equal(typeof r, 'object');
		assert.equal(typeof r.text, 'string');
		assertWords(r.text, TEXT, 'json text');
	});

	test('a file stream with language, prompt and temperature', async () => {
		const { client } = await setup();
		const r = await client.audio.transcriptions.create({
			file: fs.createReadStream(speechFile(TEXT, 'mp3')),
			model: 'whisper-1',
			language: 'en',
			prompt: 'president, report, friday',
			temperature: 0,
			response_format: 'json',
		});
		assertWords(r.text, TEXT, 'json text (stream)');
	});

	test('response_format text -> a plain string', async () => {
		const { client } = await setup();
		const r = await client.audio.transcriptions.create({ file: await mp3(), model: 'whisper-1', response_format: 'text' });
		assert.equal(typeof r, 'string', `a string expected: ${JSON.stringify(r).slice(0, 200)}`);
		assert.ok(!r.trim().startsWith('{'), 'text, not JSON');
		assertWords(r, TEXT, 'text');
	});

	test('response_format srt -> SubRip', async () => {
		const { client } = await setup();
		const r = await client.audio.transcriptions.create({ file: await mp3(), model: 'whisper-1', response_format: 'srt' });
		assert.equal(typeof r, 'string');
		const lines = r.replace(/\r\n/g, '\n').split('\n');
		assert.equal(lines[0], '1', `SRT starts with cue 1: ${JSON.stringify(r.slice(0, 80))}`);
		assert.match(lines[1], /^\d{2}:\d{2}:\d{2},\d{3} --> \d{2}:\d{2}:\d{2},\d{3}$/);
		const text = lines.filter((l) => l && !/^\d+$/.test(l) && !l.includes('-->')).join(' ');
		assertWords(text, TEXT, 'srt');
		// as OpenAI's: the cues hold what was said, no speaker labels (diarized_json has the speakers)
		assert.doesNotMatch(r, /Speaker \d+:/);
	});

	test('response_format vtt -> WebVTT', async () => {
		const { client } = await setup();
		const r = await client.audio.transcriptions.create({ file: await mp3(), model: 'whisper-1', response_format: 'vtt' });
		assert.equal(typeof r, 'string');
		assert.match(r, /^WEBVTT/);
		assert.match(r, /\d{2}:\d{2}:\d{2}\.\d{3} --> \d{2}:\d{2}:\d{2}\.\d{3}/);
		const text = r.split('\n').filter((l) => l && !l.startsWith('WEBVTT') && !l.includes('-->')).join(' ');
		assertWords(text, TEXT, 'vtt');
		assert.doesNotMatch(r, /<v /, 'no voice spans, as OpenAI sends none');
	});

	test('response_format diarized_json -> segments with speakers A and B taking turns', T, async () => {
		const { client } = await setup();
		const conv = conversationFile([
			{ voice: VOICES.a, text: 'good morning everyone. we need to finish the project by next week.' },
			{ voice: VOICES.b, text: 'she went to the store to buy some milk. the company reported strong sales this year.' },
			{ voice: VOICES.a, text: 'please send the report before friday afternoon.' },
		]);
		const r = await client.audio.transcriptions.create({
			file: await toFile(fs.readFileSync(conv.file), 'talk.wav', { type: 'audio/wav' }),
			model: 'whisper-1',
			response_format: 'diarized_json',
		});
		assert.equal(r.task, 'transcribe');
		assert.ok(Array.isArray(r.segments) && r.segments.length >= 3, JSON.stringify(r).slice(0, 400));
		for (const s of r.segments) {
			assert.equal(s.type, 'transcript.text.segment');
			assert.match(s.id, /^seg_\d{3}$/);
			assert.ok(s.end >= s.start);
		}
		const at = (x) => r.segments.find((s) => s.start - 0.3 <= x && x <= s.end + 0.3)?.speaker;
		assert.deepEqual(conv.turns.map((t) => at((t.start + t.end) / 2)), ['A', 'B', 'A'], JSON.stringify(r.segments.map((s) => [s.start, s.end, s.speaker])));
		assertWords(r.text, conv.turns.map((t) => t.text).join(' '), 'diarized_json text', 0.6);
	});

	test('response_format verbose_json -> task, language, duration, text, segments', async () => {
		const { client } = await setup();
		const r = await client.audio.transcriptions.create({ file: await mp3(), model: 'whisper-1', response_format: 'verbose_json' });
		assert.equal(r.task, 'transcribe');
		assert.equal(typeof r.language, 'string');
		assert.ok(/^(en|english)$/i.test(r.language), `language ${r.language}`);
		const dur = durationOf(speechFile(TEXT, 'mp3'));
		assert.equal(typeof r.duration, 'number');
		assert.ok(Math.abs(r.duration - dur) / dur <= 0.1, `duration ${r.duration} vs ${dur}`);
		assertWords(r.text, TEXT, 'verbose_json text');
		assert.ok(Array.isArray(r.segments) && r.segments.length >= 1, 'segments[]');
		let prev = null;
		for (const s of r.segments) {
			assert.ok(Number.isInteger(s.id), `segment id ${s.id}`);
			assert.equal(typeof s.text, 'string');
			assert.ok(typeof s.start === 'number' && typeof s.end === 'number' && s.start <= s.end, JSON.stringify(s));
			assert.ok(s.end <= r.duration + 0.05, `segment ends after the audio: ${JSON.stringify(s)}`);
			if (prev) assert.ok(s.start >= prev.start, 'segments in order');
			prev = s;
		}
		assert.deepEqual(words(r.text), words(r.segments.map((s) => s.text).join(' ')), 'text is the segments joined');
	});

	test('verbose_json with timestamp_granularities [word] -> words with times', async () => {
		const { client } = await setup();
		const r = await client.audio.transcriptions.create({
			file: await mp3(),
			model: 'whisper-1',
			response_format: 'verbose_json',
			timestamp_granularities: ['word'],
		});
		assert.ok(Array.isArray(r.words) && r.words.length >= 3, `words[]: ${JSON.stringify(r).slice(0, 300)}`);
		let prev = null;
		for (const w of r.words) {
			assert.equal(typeof w.word, 'string');
			assert.ok(typeof w.start === 'number' && typeof w.end === 'number' && w.start <= w.end, JSON.stringify(w));
			assert.ok(w.end <= r.duration + 0.05, `word after the audio: ${JSON.stringify(w)}`);
			if (prev) assert.ok(w.start >= prev.start, 'words in order');
			prev = w;
		}
		assertWords(r.words.map((w) => w.word).join(' '), TEXT, 'verbose_json words');
	});

	test('both timestamp_granularities (as the SDK sends them: two parts) -> words and segments at the right times', async () => {
		const { client } = await setup();
		const phrases = [
			{ text: 'Good morning everyone.', at: 1.0 },
			{ text: 'Please send the report before Friday.', at: 4.5 },
			{ text: 'She went to the store to buy some milk.', at: 9.0 },
		];
		const file = phrasesAtFile(phrases);
		const r = await client.audio.transcriptions.create({
			file: await toFile(fs.readFileSync(file), 'phrases.wav', { type: 'audio/wav' }),
			model: 'whisper-1',
			response_format: 'verbose_json',
			timestamp_granularities: ['word', 'segment'],
		});
		assert.ok(Array.isArray(r.words) && r.words.length >= 10, `words[]: ${JSON.stringify(r).slice(0, 300)}`);
		assert.ok(Array.isArray(r.segments) && r.segments.length >= 3, `segments[]: ${JSON.stringify(r).slice(0, 300)}`);
		// The model's casing and punctuation come through.
		assert.match(r.text, /^Good morning/, r.text);
		assert.match(r.text, /[.?!]/, r.text);
		// Words increase; the first word of each phrase starts within 250 ms of where it was placed.
		for (let i = 1; i < r.words.length; i++) assert.ok(r.words[i].start >= r.words[i - 1].start, JSON.stringify(r.words));
		const all = JSON.stringify(r.words.map((x) => [x.word, x.start]));
		for (const p of phrases) {
			// Some word starts where the phrase was placed (whatever the model heard it as).
			const w = r.words.reduce((best, x) => (Math.abs(x.start - p.at) < Math.abs(best.start - p.at) ? x : best));
			assert.ok(Math.abs(w.start - p.at) <= 0.25, `no word starts within 250 ms of ${p.at} s: ${all}`);
			const seg = r.segments.find((s) => Math.abs(s.start - p.at) <= 0.35);
			assert.ok(seg, `no segment starting near ${p.at}: ${JSON.stringify(r.segments.map((s) => [s.start, s.text]))}`);
		}
		assertWords(r.text, phrases.map((p) => p.text).join(' '), 'verbose_json text');
	});
});

describe('errors in OpenAI format', T, () => {
	test('no key -> 401; a wrong key -> AuthenticationError', async () => {
		assertOpenAIError(await requestBytes('GET', '/v1/models'), 401);
		const form = multipart({ file: speech(TEXT, 'mp3'), model: 'whisper-1' });
		assertOpenAIError(await requestBytes('POST', '/v1/audio/transcriptions', { form }), 401);

		const bad = new OpenAI({ apiKey: 'iam_thisisnotarealkeyatall0000000000', baseURL: `${BASE}/v1`, maxRetries: 0 });
		const e1 = await sdkError(bad.models.list(), OpenAI.AuthenticationError);
		assert.equal(e1.status, 401);
		const e2 = await sdkError(bad.audio.transcriptions.create({ file: await mp3(), model: 'whisper-1' }), OpenAI.AuthenticationError);
		assert.equal(e2.status, 401);
		assert.equal(typeof e2.error.message, 'string');
	});

	test('missing file -> 400', async () => {
		const { key } = await setup();
		const res = await requestBytes('POST', '/v1/audio/transcriptions', { token: key, form: multipart({ model: 'whisper-1' }) });
		assertOpenAIError(res, 400);
	});

	test('unknown model -> 400 (or 404) with param model', async () => {
		const { client } = await setup();
		const err = await sdkError(client.audio.transcriptions.create({ file: await mp3(), model: 'no-such-model-xyz' }));
		assert.ok(err.status === 400 || err.status === 404, `status ${err.status}`);
		assert.equal(err.param, 'model');
		assert.equal(typeof err.error.message, 'string');
	});

	test('a text file -> 400 with a message', async () => {
		const { client } = await setup();
		const err = await sdkError(
			client.audio.transcriptions.create({ file: await toFile(textFile(), 'notes.mp3', { type: 'audio/mpeg' }), model: 'whisper-1' }),
			OpenAI.BadRequestError,
		);
		assert.equal(err.status, 400);
		assert.ok(err.error && typeof err.error.message === 'string' && err.error.message.length > 0, 'a message');
	});

	test('response_format xml -> 400 with param response_format', async () => {
		const { client, key } = await setup();
		const err = await sdkError(
			client.audio.transcriptions.create({ file: await mp3(), model: 'whisper-1', response_format: 'xml' }),
			OpenAI.BadRequestError,
		);
		assert.equal(err.param, 'response_format');
		const raw = await requestBytes('POST', '/v1/audio/transcriptions', {
			token: key,
			form: multipart({ file: speech(TEXT, 'mp3'), model: 'whisper-1', response_format: 'xml' }),
		});
		assertOpenAIError(raw, 400, 'response_format');
	});
});
