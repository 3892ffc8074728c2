// POST /api/v1/meetings/{id}/upload: raw bodies and multipart, every common
// audio format, video with sound, the audio facts (format, codec, size,
// duration), and what is refused (text, empty, truncated, random, too big,
// busy). Most uploads use ?transcribe=false; one runs the whole way.

import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import nodePath from 'node:path';
import {
	BASE,
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
	randomSecret,
	rawHeadersOnly,
	register,
	registerAt,
	requestAt,
	requestBytes,
	show,
	sleep,
	startIamd,
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

// ---------------------------------------------------------------- issue 8 (uploads hardening)

const tmpRoot = fs.mkdtempSync(nodePath.join(os.tmpdir(), 'iam-upload-test-'));
const servers = [];
const mounts = [];
after(async () => {
	for (const s of servers) await s.stop(5000).catch(() => {});
	for (const m of mounts) {
		try {
			execFileSync('umount', ['-l', m], { stdio: 'ignore' });
		} catch {
			/* already gone */
		}
	}
	fs.rmSync(tmpRoot, { recursive: true, force: true });
});

async function ownServer(name, env = {}, dataDir = fs.mkdtempSync(nodePath.join(tmpRoot, `${name}-`))) {
	const s = await startIamd(dataDir, { IAM_WORKERS: '0', IAM_MAX_UPLOAD_MB: '50', ...env });
	servers.push(s);
	return s;
}

/**
 * A request over a raw socket whose body the test sends piece by piece:
 * send(buf) writes more; `reply` resolves to { status, code, text } once
 * the connection closes (null if no HTTP reply came).
 */
function slowRequest(base, method, path, headers) {
	const url = new URL(base);
	const sock = net.connect({ host: url.hostname, port: Number(url.port) });
	let head = `${method} ${path} HTTP/1.1\r\nHost: ${url.host}\r\nConnection: close\r\n`;
	for (const [k, v] of Object.entries(headers)) head += `${k}: ${v}\r\n`;
	sock.write(head + '\r\n');
	const chunks = [];
	sock.on('data', (d) => chunks.push(d));
	sock.on('error', () => {});
	const reply = new Promise((resolve) => {
		sock.on('close', () => {
			const text = Buffer.concat(chunks).toString('latin1');
			const m = /^HTTP\/1\.1 (\d{3})/.exec(text);
			const code = /"code"\s*:\s*"([a-z_]+)"/.exec(text);
			resolve(m ? { status: Number(m[1]), code: code ? code[1] : null, text } : null);
		});
	});
	return { send: (buf) => new Promise((r) => sock.write(buf, () => r())), reply, destroy: () => sock.destroy() };
}

const spoolFiles = (dir, prefix) => {
	try {
		return fs.readdirSync(dir).filter((f) => f.startsWith(prefix));
	} catch {
		return [];
	}
};

describe('issue 8: audio replaced mid-transcription', T, () => {
	test('a direct upload that finishes after transcription was queued -> 409 meeting_busy; audio and transcript stay', async () => {
		const a = await register({ tag: 'busyrace' });
		const m = await createMeeting(a.access, { title: 'Busy race' });
		const firstAudio = speech(SENTENCES.project, 'wav');
		await uploadOk(a.access, m.id, firstAudio, { filename: 'first.wav', transcribe: false });
		const other = speech(SENTENCES.report, 'wav');
		const up = slowRequest(BASE, 'POST', `${MEETINGS}/${m.id}/upload?filename=second.wav`, {
			Authorization: `Bearer ${a.access}`,
			'Content-Type': 'application/octet-stream',
			'Content-Length': String(other.length),
		});
		const half = Math.floor(other.length / 2);
		await up.send(other.subarray(0, half));
		await sleep(300);
		const tr = await post(`${MEETINGS}/${m.id}/transcribe`, { token: a.access, json: {} });
		assert.equal(tr.status, 202, show(tr));
		await up.send(other.subarray(half));
		const r = await up.reply;
		assert.ok(r, 'the upload got an answer');
		assert.equal(r.status, 409, r.text.slice(0, 400));
		assert.equal(r.code, 'meeting_busy');
		const now = await getMeeting(a.access, m.id);
		assert.equal(now.file_size, firstAudio.length, 'the audio being transcribed was not replaced');
		const done = await waitCompleted(a.access, m.id);
		assert.equal(done.status, 'completed');
		assert.equal(done.original_filename, 'first.wav');
		const t = await get(`${MEETINGS}/${m.id}/transcript`, { token: a.access });
		assertWords(t.body.text, SENTENCES.project);
	});

	test('two uploads at once to one meeting: one audio wins, the other blob is not left behind', async () => {
		const dir = fs.mkdtempSync(nodePath.join(tmpRoot, 'race-'));
		const s = await ownServer('race', { IAM_JWT_SECRET: randomSecret() }, dir);
		const a = await registerAt(s.base, 'race');
		const m = await createMeeting(a.access, { title: 'Race' }, s.base);
		const bufs = [speech(SENTENCES.project, 'wav'), speech(SENTENCES.report, 'wav'), speech(SENTENCES.meeting, 'wav')];
		for (let round = 0; round < 3; round++) {
			const res = await Promise.all(bufs.map((b, i) => uploadRaw(a.access, m.id, b, { base: s.base, filename: `r${i}.wav`, transcribe: false })));
			for (const r of res) assert.equal(r.status, 200, show(r));
		}
		const objects = [];
		const walk = (d) => {
			for (const e of fs.readdirSync(d, { withFileTypes: true })) {
				if (e.isDirectory()) walk(nodePath.join(d, e.name));
				else objects.push(e.name);
			}
		};
		walk(nodePath.join(dir, 'blobs', 'objects'));
		assert.equal(objects.length, 1, `one audio object for one meeting, found ${objects.length}: ${objects.join(', ')}`);
		const audio = await requestAt(s.base, 'GET', `${MEETINGS}/${m.id}/audio`, { token: a.access });
		assert.ok(bufs.some((b) => b.equals(audio.bytes)), 'the stored audio is one of the uploads, whole');
	});
});

describe('issue 8: orphan spool files', T, () => {
	test('a raw upload cut by kill -9 leaves no spool file after a restart; an active tus upload keeps its data', async () => {
		const dir = fs.mkdtempSync(nodePath.join(tmpRoot, 'orphan-'));
		const env = { IAM_JWT_SECRET: randomSecret(), IAM_SPOOL_ORPHAN_AGE_S: '1' };
		let s = await ownServer('orphan', env, dir);
		const spool = nodePath.join(dir, 'blobs', 'spool');
		const a = await registerAt(s.base, 'orphan');
		const m = await createMeeting(a.access, { title: 'Orphan' }, s.base);
		// a tus upload with some data: it stays resumable
		const tusData = crypto.randomBytes(100000);
		const c = await requestAt(s.base, 'POST', '/api/v1/uploads', {
			token: a.access,
			headers: { 'tus-resumable': '1.0.0', 'upload-length': String(tusData.length * 2), 'content-type': 'application/offset+octet-stream' },
			body: tusData,
		});
		assert.equal(c.status, 201, show(c));
		const tusPath = new URL(c.headers.get('location'), s.base).pathname;
		// a raw upload cut half-way
		const up = slowRequest(s.base, 'POST', `${MEETINGS}/${m.id}/upload`, {
			Authorization: `Bearer ${a.access}`,
			'Content-Type': 'application/octet-stream',
			'Content-Length': String(4 * 1024 * 1024),
		});
		await up.send(crypto.randomBytes(1024 * 1024));
		const deadline = Date.now() + 5000;
		while (spoolFiles(spool, 'up-').length === 0 && Date.now() < deadline) await sleep(100);
		assert.equal(spoolFiles(spool, 'up-').length, 1, 'the raw upload is being spooled');
		await s.kill('SIGKILL');
		up.destroy();
		await sleep(1500); // older than IAM_SPOOL_ORPHAN_AGE_S
		s = await ownServer('orphan', env, dir);
		const gone = Date.now() + 10000;
		while (spoolFiles(spool, 'up-').length > 0 && Date.now() < gone) await sleep(200);
		assert.deepEqual(spoolFiles(spool, 'up-'), [], 'the orphan spool file was removed at start-up');
		assert.equal(spoolFiles(spool, 'tus-').length, 1, 'the active tus upload keeps its spool file');
		const h = await requestAt(s.base, 'HEAD', tusPath, { token: a.access, headers: { 'tus-resumable': '1.0.0' } });
		assert.equal(Number(h.headers.get('upload-offset')), tusData.length);
		const more = await requestAt(s.base, 'PATCH', tusPath, {
			token: a.access,
			headers: { 'tus-resumable': '1.0.0', 'content-type': 'application/offset+octet-stream', 'upload-offset': String(tusData.length) },
			body: Buffer.alloc(10),
		});
		assert.equal(more.status, 204, show(more));
	});
});

function tryMountTmpfs(dir, size) {
	if (typeof process.getuid !== 'function' || process.getuid() !== 0) return 'not root';
	try {
		execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size},mode=0700`, 'tmpfs', dir], { stdio: 'pipe' });
		mounts.push(dir);
		return null;
	} catch (e) {
		return `mount failed: ${String(e.stderr || e.message).trim()}`;
	}
}

describe('issue 8: disk full', T, () => {
	test('uploads into a full disk: 507 problem+json (early from the declared size, and mid-body), low disk in /readyz and /metrics', async (t) => {
		const mnt = fs.mkdtempSync(nodePath.join(tmpRoot, 'tmpfs-'));
		const why = tryMountTmpfs(mnt, '16m');
		if (why) {
			t.skip(`needs a 16 MB tmpfs: ${why}`);
			return;
		}
		const s = await ownServer('full', { IAM_JWT_SECRET: randomSecret(), IAM_BLOB_URL: `file:${mnt}/blobs`, IAM_DISK_MIN_FREE_MB: '2' });
		const a = await registerAt(s.base, 'full');
		const m = await createMeeting(a.access, { title: 'Full disk' }, s.base);
		const path = `${MEETINGS}/${m.id}/upload`;
		const auth = { Authorization: `Bearer ${a.access}` };

		// declared larger than the free space: refused from the headers alone
		const early = await rawHeadersOnly({ base: s.base, path, headers: { ...auth, 'Content-Type': 'application/octet-stream', 'Content-Length': String(20 * 1024 * 1024) } });
		assertProblem(early, 507, 'insufficient_storage');
		const tusEarly = await requestAt(s.base, 'POST', '/api/v1/uploads', { token: a.access, headers: { 'tus-resumable': '1.0.0', 'upload-length': String(20 * 1024 * 1024) } });
		assertProblem(tusEarly, 507, 'insufficient_storage');

		// no size declared (chunked): the disk fills mid-body; the client still reads a 507
		const chunked = slowRequest(s.base, 'POST', path, { ...auth, 'Content-Type': 'application/octet-stream', 'Transfer-Encoding': 'chunked' });
		const piece = crypto.randomBytes(256 * 1024);
		for (let i = 0; i < 80; i++) await chunked.send(Buffer.concat([Buffer.from(`${piece.length.toString(16)}\r\n`), piece, Buffer.from('\r\n')]));
		await chunked.send('0\r\n\r\n');
		const r = await chunked.reply;
		assert.ok(r, 'the chunked upload into a full disk got an HTTP reply');
		const mid = { status: r.status, body: { code: r.code } };
		assert.equal(r.status, 507, r.text.slice(0, 400));
		assert.match(r.text, /application\/problem\+json/i);
		assert.equal(mid.body.code, 'insufficient_storage');
		assert.deepEqual(spoolFiles(nodePath.join(mnt, 'blobs', 'spool'), ''), [], 'nothing half-written stays');

		// room again: a small upload works
		const ok = await uploadRaw(a.access, m.id, speech(SENTENCES.project, 'wav'), { base: s.base, transcribe: false });
		assert.equal(ok.status, 200, show(ok));

		// fill the disk from outside: /readyz and /metrics say so
		const filler = nodePath.join(mnt, 'filler');
		const free = () => {
			const st = fs.statfsSync(mnt);
			return st.bavail * st.bsize;
		};
		fs.writeFileSync(filler, Buffer.alloc(Math.max(0, free() - 512 * 1024)));
		const ready = await requestAt(s.base, 'GET', '/readyz');
		assert.equal(ready.body && ready.body.disk && ready.body.disk.status, 'low', `readyz: ${show(ready)}`);
		const metrics = await requestAt(s.base, 'GET', '/metrics');
		const g = /^iam_upload_storage_free_bytes (\S+)$/m.exec(metrics.text);
		assert.ok(g, 'iam_upload_storage_free_bytes in /metrics');
		assert.ok(Number(g[1]) < 2 * 1024 * 1024, `free bytes gauge ${g[1]}`);
		assertProblem(await uploadRaw(a.access, m.id, Buffer.alloc(1000), { base: s.base }), 507, 'insufficient_storage');
		fs.unlinkSync(filler);
		const again = await requestAt(s.base, 'GET', '/readyz');
		assert.equal(again.body.disk.status, 'ok', show(again));
	});
});
