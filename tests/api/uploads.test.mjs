// POST /api/v1/meetings/{id}/upload: raw bodies and multipart, every common
// audio format, video with sound, the audio facts (format, codec, size,
// duration), and what is refused (text, empty, truncated, random, too big,
// busy). Most uploads use ?transcribe=false; one runs the whole way.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import {
	MAX_UPLOAD_MB,
	MEETINGS,
	assertJson,
	assertMeeting,
	assertNoAudio,
	assertProblem,
	createMeeting,
	get,
	getMeeting,
	post,
	rawHeadersOnly,
	register,
	requestBytes,
	show,
	uploadMultipart,
	uploadOk,
	uploadRaw,
	waitCompleted,
} from './helpers.mjs';
import {
	MIME,
	SENTENCES,
	assertWords,
	durationOf,
	emptyWav,
	randomBytes,
	speech,
	speechFile,
	textFile,
	truncated,
	videoWithSpeech,
	videoWithSpeechFile,
} from './audio.mjs';

const T = { timeout: 180000 };

/** What FFmpeg calls each container and codec (loosely). */
const EXPECT = {
	wav: { format: /wav/i, codec: /pcm/i },
	mp3: { format: /mp3/i, codec: /mp3/i },
	ogg: { format: /ogg/i, codec: /vorbis/i },
	m4a: { format: /mp4|m4a|mov/i, codec: /aac/i },
	flac: { format: /flac/i, codec: /flac/i },
	webm: { format: /webm|matroska/i, codec: /opus/i },
};

function assertDuration(m, expected, what = 'duration_seconds') {
	assert.equal(typeof m.duration_seconds, 'number', `${what}: ${JSON.stringify(m)}`);
	const rel = Math.abs(m.duration_seconds - expected) / expected;
	assert.ok(rel <= 0.1, `${what} ${m.duration_seconds} is not within 10% of ${expected.toFixed(2)}`);
}

async function freshMeeting(tag, title = 'Upload test') {
	const a = await register({ tag });
	const m = await createMeeting(a.access, { title });
	return { a, m, token: a.access };
}

describe('accepted audio', T, () => {
	test('raw mp3 body with ?filename= and ?transcribe=false -> 200, status uploaded, audio facts', async () => {
		const { m, token } = await freshMeeting('upmp3');
		const buf = speech(SENTENCES.meeting, 'mp3');
		const res = await uploadRaw(token, m.id, buf, { filename: 'talk.mp3', contentType: 'audio/mpeg', transcribe: false });
		const u = assertJson(res, 200);
		assertMeeting(u);
		assert.equal(u.id, m.id);
		assert.equal(u.status, 'uploaded');
		assert.equal(u.original_filename, 'talk.mp3');
		assert.equal(u.file_size, buf.length);
		assert.match(u.audio_format, EXPECT.mp3.format);
		assert.match(u.audio_codec, EXPECT.mp3.codec);
		assertDuration(u, durationOf(speechFile(SENTENCES.meeting, 'mp3')));
		assert.equal(u.processing_error, null);
		assert.equal(u.title, m.title, 'the upload does not touch the details');

		const g = await getMeeting(token, m.id);
		assert.equal(g.status, 'uploaded');
		assert.equal(g.file_size, buf.length);
		assert.equal(g.original_filename, 'talk.mp3');

		// what is stored is exactly what was sent
		const audio = await requestBytes('GET', `${MEETINGS}/${m.id}/audio`, { token });
		assert.equal(audio.status, 200, show(audio));
		assert.ok(audio.bytes.equals(buf), 'stored audio differs from the upload');
	});

	for (const fmt of ['wav', 'ogg', 'm4a', 'flac', 'webm']) {
		test(`${fmt} -> 200 with format, codec, size and duration`, async () => {
			const { m, token } = await freshMeeting(`up${fmt}`);
			const file = speechFile(SENTENCES.project, fmt);
			const buf = speech(SENTENCES.project, fmt);
			const u = assertJson(await uploadRaw(token, m.id, buf, { filename: `clip.${fmt}`, contentType: MIME[fmt], transcribe: false }), 200);
			assert.equal(u.status, 'uploaded');
			assert.equal(u.original_filename, `clip.${fmt}`);
			assert.equal(u.file_size, buf.length);
			assert.match(String(u.audio_format), EXPECT[fmt].format, `audio_format for ${fmt}`);
			assert.match(String(u.audio_codec), EXPECT[fmt].codec, `audio_codec for ${fmt}`);
			assertDuration(u, durationOf(file));
		});
	}

	test('the Content-Type and the file name do not decide: an ogg sent as audio/mpeg named x.mp3 is ogg', async () => {
		const { m, token } = await freshMeeting('upsniff');
		const buf = speech(SENTENCES.project, 'ogg');
		const u = assertJson(await uploadRaw(token, m.id, buf, { filename: 'x.mp3', contentType: 'audio/mpeg', transcribe: false }), 200);
		assert.match(u.audio_format, EXPECT.ogg.format);
		assert.match(u.audio_codec, EXPECT.ogg.codec);
	});

	test('multipart/form-data with a part named "file" takes the part\'s file name', async () => {
		const { m, token } = await freshMeeting('upform');
		const buf = speech(SENTENCES.project, 'm4a');
		const res = await uploadMultipart(token, m.id, buf, 'standup notes.m4a', { contentType: 'audio/mp4', transcribe: false });
		const u = assertJson(res, 200);
		assert.equal(u.status, 'uploaded');
		assert.equal(u.original_filename, 'standup notes.m4a');
		assert.equal(u.file_size, buf.length);
		assert.match(u.audio_codec, /aac/i);
		assertDuration(u, durationOf(speechFile(SENTENCES.project, 'm4a')));
		const audio = await requestBytes('GET', `${MEETINGS}/${m.id}/audio`, { token });
		assert.ok(audio.bytes.equals(buf), 'the stored audio is the file part, without multipart framing');
	});

	test('a video with an audio track is accepted', async () => {
		const { m, token } = await freshMeeting('upvideo');
		const buf = videoWithSpeech(SENTENCES.project);
		const u = assertJson(await uploadRaw(token, m.id, buf, { filename: 'recording.mp4', contentType: 'video/mp4', transcribe: false }), 200);
		assert.equal(u.status, 'uploaded');
		assert.equal(u.file_size, buf.length);
		assert.match(u.audio_codec, /aac/i, 'the audio codec is reported, not the video codec');
		assertDuration(u, durationOf(videoWithSpeechFile(SENTENCES.project)));
	});

	test('an mp3 cut at 60% is still accepted', async () => {
		const { m, token } = await freshMeeting('upcut60');
		const buf = truncated(speech(SENTENCES.meeting, 'mp3'), 0.6);
		const u = assertJson(await uploadRaw(token, m.id, buf, { filename: 'cut.mp3', transcribe: false }), 200);
		assert.equal(u.status, 'uploaded');
		assert.equal(u.file_size, buf.length);
	});

	test('a new upload replaces the audio of an uploaded meeting', async () => {
		const { m, token } = await freshMeeting('upreplace');
		const first = speech(SENTENCES.project, 'mp3');
		const second = speech(SENTENCES.project, 'wav');
		await uploadOk(token, m.id, first, { filename: 'one.mp3', transcribe: false });
		const u = await uploadOk(token, m.id, second, { filename: 'two.wav', transcribe: false });
		assert.equal(u.original_filename, 'two.wav');
		assert.equal(u.file_size, second.length);
		assert.match(u.audio_format, /wav/i);
		const audio = await requestBytes('GET', `${MEETINGS}/${m.id}/audio`, { token });
		assert.ok(audio.bytes.equals(second));
	});

	test('by default the upload starts transcription: reply queued, a second upload meanwhile -> 409 meeting_busy', async () => {
		const { m, token } = await freshMeeting('upauto');
		const buf = speech(SENTENCES.meeting, 'mp3');
		const u = assertJson(await uploadRaw(token, m.id, buf, { filename: 'auto.mp3' }), 200);
		assert.ok(['queued', 'processing'].includes(u.status), `the upload started the work: ${JSON.stringify(u)}`);
		assert.equal(u.file_size, buf.length);

		const again = await uploadRaw(token, m.id, speech(SENTENCES.project, 'mp3'), { filename: 'other.mp3' });
		assertProblem(again, 409, 'meeting_busy');
		const mid = await getMeeting(token, m.id);
		assert.ok(['queued', 'processing'].includes(mid.status), `still working: ${mid.status}`);
		assert.equal(mid.original_filename, 'auto.mp3', 'the refused upload changed nothing');

		const done = await waitCompleted(token, m.id);
		assert.equal(done.file_size, buf.length);
		const tr = assertJson(await get(`${MEETINGS}/${m.id}/transcript`, { token }), 200);
		assertWords(tr.text, SENTENCES.meeting);
		// checked last so that the rest is verified either way: the reply shows
		// the job the upload queued, not whatever a worker made of it since
		assert.equal(u.status, 'queued', 'the upload reply says "queued" (the state it wrote, not one read back later)');
	});
});

describe('refused uploads leave the meeting unchanged', T, () => {
	test('a text file named .mp3 -> 415 unsupported_media_type naming text', async () => {
		const { m, token } = await freshMeeting('uptext');
		const res = await uploadRaw(token, m.id, textFile(), { filename: 'notes.mp3', contentType: 'audio/mpeg' });
		const p = assertProblem(res, 415, 'unsupported_media_type');
		assert.match(p.detail, /text/i, `detail should say it is text: ${p.detail}`);
		assertNoAudio(await getMeeting(token, m.id));
		// multipart too
		const res2 = await uploadMultipart(token, m.id, textFile(), 'notes.mp3', { contentType: 'audio/mpeg' });
		assertProblem(res2, 415, 'unsupported_media_type');
		assertNoAudio(await getMeeting(token, m.id));
	});

	test('zero bytes -> 422 unreadable_audio', async () => {
		const { m, token } = await freshMeeting('upzero');
		assertProblem(await uploadRaw(token, m.id, Buffer.alloc(0), { filename: 'empty.mp3' }), 422, 'unreadable_audio');
		assertNoAudio(await getMeeting(token, m.id));
	});

	test('a WAV header without samples -> 422 unreadable_audio', async () => {
		const { m, token } = await freshMeeting('upwavhdr');
		assertProblem(await uploadRaw(token, m.id, emptyWav(), { filename: 'empty.wav', contentType: 'audio/wav' }), 422, 'unreadable_audio');
		assertNoAudio(await getMeeting(token, m.id));
	});

	test('the first 100 bytes of an mp3 -> 422 unreadable_audio', async () => {
		const { m, token } = await freshMeeting('upcut100');
		const buf = truncated(speech(SENTENCES.meeting, 'mp3'), 100);
		assertProblem(await uploadRaw(token, m.id, buf, { filename: 'cut.mp3', contentType: 'audio/mpeg' }), 422, 'unreadable_audio');
		assertNoAudio(await getMeeting(token, m.id));
	});

	test('random bytes -> 415 or 422', async () => {
		const { m, token } = await freshMeeting('uprandom');
		const res = await uploadRaw(token, m.id, randomBytes(64 * 1024), { filename: 'noise.mp3' });
		assert.ok([415, 422].includes(res.status), `415 or 422 expected: ${show(res)}`);
		assertProblem(res, res.status, res.status === 415 ? 'unsupported_media_type' : 'unreadable_audio');
		assertNoAudio(await getMeeting(token, m.id));
	});

	test(`a body over IAM_MAX_UPLOAD_MB (${MAX_UPLOAD_MB}) -> 413 payload_too_large from the headers alone`, async () => {
		const { m, token } = await freshMeeting('upbig');
		const announced = Math.max(60, MAX_UPLOAD_MB + 10) * 1024 * 1024;
		const res = await rawHeadersOnly({
			method: 'POST',
			path: `${MEETINGS}/${m.id}/upload?filename=huge.mp3`,
			headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'audio/mpeg', 'Content-Length': String(announced) },
			body: speech(SENTENCES.project, 'mp3').subarray(0, 16),
			timeout: 10000,
		});
		assertProblem(res, 413, 'payload_too_large');
		assertNoAudio(await getMeeting(token, m.id));
	});

	test('upload needs authentication and an existing meeting', async () => {
		const { m, token } = await freshMeeting('upauth');
		const buf = speech(SENTENCES.project, 'mp3');
		assertProblem(await uploadRaw(undefined, m.id, buf, { filename: 'x.mp3' }), 401, 'unauthorized');
		assertProblem(await uploadRaw(token, crypto.randomUUID(), buf, { filename: 'x.mp3' }), 404, 'not_found');
		assertNoAudio(await getMeeting(token, m.id));
	});

	test('upload to a deleted meeting -> 404', async () => {
		const { m, token } = await freshMeeting('updeleted');
		const r = await requestBytes('DELETE', `${MEETINGS}/${m.id}`, { token });
		assert.equal(r.status, 204, show(r));
		assertProblem(await post(`${MEETINGS}/${m.id}/upload?filename=x.mp3`, { token, body: speech(SENTENCES.project, 'mp3') }), 404, 'not_found');
	});
});
