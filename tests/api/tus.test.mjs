// tus 1.0 resumable uploads at /api/v1/uploads: discovery, creation (with
// and without data), HEAD, PATCH (offsets, checksums, content type),
// termination, completion into a meeting, tenancy, and the real client
// (tus-js-client) uploading and resuming after an interruption.

import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import nodePath from 'node:path';
import * as tus from 'tus-js-client';
import {
	BASE,
	MAX_UPLOAD_MB,
	MEETINGS,
	UUID_RE,
	assertNoAudio,
	assertNoStore,
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
	uploadOk,
	waitCompleted,
	waitMeeting,
} from './helpers.mjs';
import { SENTENCES, assertWords, speech, textFile } from './audio.mjs';

const T = { timeout: 180000 };
const TUS = '/api/v1/uploads';
const OCTET = 'application/offset+octet-stream';
const HTTP_DATE_RE = /^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d{2}:\d{2}:\d{2} GMT$/;

const b64 = (s) => Buffer.from(String(s), 'utf8').toString('base64');
const metadata = (obj) => Object.entries(obj).map(([k, v]) => `${k} ${b64(v)}`).join(',');
const sha256 = (buf) => crypto.createHash('sha256').update(buf).digest('base64');
const sha1 = (buf) => crypto.createHash('sha1').update(buf).digest('base64');

function assertTus(res) {
	assert.equal(res.headers.get('tus-resumable'), '1.0.0', `Tus-Resumable: 1.0.0 expected on ${res.status} ${res.url}`);
}

function tusRequest(method, path, { token, headers = {}, body } = {}) {
	const h = { 'tus-resumable': '1.0.0', ...headers };
	for (const [k, v] of Object.entries(h)) if (v === null) delete h[k];
	return requestBytes(method, path, { token, headers: h, body, timeout: 30000 });
}

/** POST a new upload; returns { res, path, meetingId }. */
async function create(token, { length, meta = { filename: 'talk.mp3', title: 'tus meeting' }, body, headers = {} } = {}) {
	const h = { ...headers };
	if (length !== undefined) h['upload-length'] = String(length);
	if (meta) h['upload-metadata'] = metadata(meta);
	if (body !== undefined) h['content-type'] = OCTET;
	const res = await tusRequest('POST', TUS, { token, headers: h, body });
	let path = null;
	const loc = res.headers.get('location');
	if (loc) path = new URL(loc, BASE).pathname;
	return { res, path, meetingId: res.headers.get('x-meeting-id') };
}

async function createOk(token, opts) {
	const c = await create(token, opts);
	assert.equal(c.res.status, 201, `tus create: ${show(c.res)}`);
	assertTus(c.res);
	assert.match(c.path || '', /^\/api\/v1\/uploads\/[^/]+$/, `Location: ${c.res.headers.get('location')}`);
	assert.match(c.meetingId || '', UUID_RE, 'X-Meeting-Id');
	return c;
}

const head = (token, path) => tusRequest('HEAD', path, { token });
const patch = (token, path, offset, body, headers = {}) =>
	tusRequest('PATCH', path, { token, body, headers: { 'content-type': OCTET, 'upload-offset': String(offset), ...headers } });

async function offsetOf(token, path) {
	const res = await head(token, path);
	assert.equal(res.status, 200, `HEAD ${path}: ${show(res)}`);
	return Number(res.headers.get('upload-offset'));
}

describe('discovery', T, () => {
	test('OPTIONS -> 204 with version, extensions, max size and checksum algorithms', async () => {
		const a = await register({ tag: 'tusopt' });
		const res = await requestBytes('OPTIONS', TUS, { token: a.access });
		assert.equal(res.status, 204, `OPTIONS: ${show(res)}`);
		assertTus(res);
		assert.ok((res.headers.get('tus-version') || '').split(',').map((s) => s.trim()).includes('1.0.0'), 'Tus-Version');
		const ext = (res.headers.get('tus-extension') || '').split(',').map((s) => s.trim());
		for (const e of ['creation', 'creation-with-upload', 'termination', 'checksum', 'expiration']) {
			assert.ok(ext.includes(e), `Tus-Extension should include ${e}: ${ext}`);
		}
		const max = Number(res.headers.get('tus-max-size'));
		assert.ok(Number.isInteger(max) && max > 0, `Tus-Max-Size ${res.headers.get('tus-max-size')}`);
		assert.ok(
			max === MAX_UPLOAD_MB * 1024 * 1024 || max === MAX_UPLOAD_MB * 1000 * 1000,
			`Tus-Max-Size ${max} should be IAM_MAX_UPLOAD_MB (${MAX_UPLOAD_MB}) in bytes`,
		);
		const algs = (res.headers.get('tus-checksum-algorithm') || '').split(',').map((s) => s.trim().toLowerCase());
		assert.ok(algs.includes('sha256'), `Tus-Checksum-Algorithm: ${algs}`);
	});
});

describe('creation', T, () => {
	test('POST -> 201 with Location, offset 0, expiry and a new meeting titled from the metadata', async () => {
		const a = await register({ tag: 'tuscreate' });
		const { res, path, meetingId } = await createOk(a.access, { length: 1000, meta: { filename: 'board.mp3', title: 'Board meeting' } });
		assert.equal(res.headers.get('upload-offset'), '0');
		const exp = res.headers.get('upload-expires') || '';
		assert.match(exp, HTTP_DATE_RE, `Upload-Expires should be an HTTP date: ${exp}`);
		assert.ok(Date.parse(exp) > Date.now(), `Upload-Expires ${exp} is in the past`);

		const m = await getMeeting(a.access, meetingId);
		assert.equal(m.title, 'Board meeting');
		assertNoAudio(m);

		const h = await head(a.access, path);
		assert.equal(h.status, 200, show(h));
		assertTus(h);
		assert.equal(h.headers.get('upload-offset'), '0');
		assert.equal(h.headers.get('upload-length'), '1000');
		assertNoStore(h);
	});

	test('without a title the meeting is named after the file; with meeting_id the upload goes to that meeting', async () => {
		const a = await register({ tag: 'tusmeta' });
		const c1 = await createOk(a.access, { length: 10, meta: { filename: 'retro-2024.mp3' } });
		assert.equal((await getMeeting(a.access, c1.meetingId)).title, 'retro-2024.mp3');

		const m = await createMeeting(a.access, { title: 'Existing' });
		const c2 = await createOk(a.access, { length: 10, meta: { filename: 'x.mp3', meeting_id: m.id } });
		assert.equal(c2.meetingId, m.id);
		assert.equal((await getMeeting(a.access, m.id)).title, 'Existing');
	});

	test('creation-with-upload: data in the POST advances the offset', async () => {
		const a = await register({ tag: 'tuscwu' });
		const buf = speech(SENTENCES.project, 'mp3');
		const first = buf.subarray(0, 1000);
		const { res, path } = await createOk(a.access, { length: buf.length, body: first });
		assert.equal(res.headers.get('upload-offset'), '1000');
		assert.equal(await offsetOf(a.access, path), 1000);
	});

	test('missing Tus-Resumable -> 412, over the max -> 413, no Upload-Length -> 400, no auth -> 401', async () => {
		const a = await register({ tag: 'tusbad' });
		const r412 = await requestBytes('POST', TUS, { token: a.access, headers: { 'upload-length': '100', 'upload-metadata': metadata({ filename: 'a.mp3' }) } });
		assertProblem(r412, 412);
		assertTus(r412);

		const opt = await requestBytes('OPTIONS', TUS, { token: a.access });
		const max = Number(opt.headers.get('tus-max-size')) || MAX_UPLOAD_MB * 1024 * 1024;
		const r413 = await create(a.access, { length: max + 1 });
		assertProblem(r413.res, 413);
		assertTus(r413.res);

		const r400 = await create(a.access, {});
		assertProblem(r400.res, 400);
		assertTus(r400.res);
		for (const bad of ['-1', 'abc', '1.5']) {
			const r = await create(a.access, { headers: { 'upload-length': bad } });
			assertProblem(r.res, 400);
		}

		const r401 = await create(undefined, { length: 100 });
		assertProblem(r401.res, 401);

		// none of these made a meeting
		const list = await get(MEETINGS, { token: a.access });
		assert.deepEqual(list.body.data, []);
	});

	test("meeting_id of another organization -> 404; a meeting that does not exist -> 404", async () => {
		const a = await register({ tag: 'tusorga' });
		const b = await register({ tag: 'tusorgb' });
		const mb = await createMeeting(b.access, { title: "b's" });
		const r = await create(a.access, { length: 100, meta: { filename: 'x.mp3', meeting_id: mb.id } });
		assertProblem(r.res, 404, 'not_found');
		assertTus(r.res);
		const r2 = await create(a.access, { length: 100, meta: { filename: 'x.mp3', meeting_id: crypto.randomUUID() } });
		assertProblem(r2.res, 404, 'not_found');
	});
});

describe('PATCH', T, () => {
	test('chunks in order -> 204 with the new offset; the last byte makes the meeting audio and starts transcription', async () => {
		const a = await register({ tag: 'tuspatch' });
		const buf = speech(SENTENCES.project, 'mp3');
		const { path, meetingId } = await createOk(a.access, { length: buf.length, meta: { filename: 'chunks.mp3', title: 'Chunked' } });
		const cuts = [0, 10000, 40000, buf.length];
		for (let i = 0; i + 1 < cuts.length; i++) {
			const res = await patch(a.access, path, cuts[i], buf.subarray(cuts[i], cuts[i + 1]));
			assert.equal(res.status, 204, `PATCH ${cuts[i]}: ${show(res)}`);
			assertTus(res);
			assert.equal(res.headers.get('upload-offset'), String(cuts[i + 1]));
			if (i + 2 < cuts.length) {
				assert.equal(await offsetOf(a.access, path), cuts[i + 1]);
				assertNoAudio(await getMeeting(a.access, meetingId), 'meeting before the last byte');
			}
		}
		const m = await getMeeting(a.access, meetingId);
		assert.ok(['queued', 'processing', 'completed'].includes(m.status), `after the last byte: ${m.status}`);
		assert.equal(m.file_size, buf.length);
		assert.equal(m.original_filename, 'chunks.mp3');
		assert.match(m.audio_format, /mp3/i);
		const audio = await requestBytes('GET', `${MEETINGS}/${meetingId}/audio`, { token: a.access });
		assert.equal(audio.status, 200, show(audio));
		assert.ok(audio.bytes.equals(buf), 'the assembled audio is the bytes sent, in order');
		await waitMeeting(a.access, meetingId); // let the job finish before the next tests
	});

	test('wrong offset -> 409 offset_mismatch; wrong content type -> 415; no Tus-Resumable -> 412', async () => {
		const a = await register({ tag: 'tusoffset' });
		const buf = speech(SENTENCES.project, 'mp3');
		const { path } = await createOk(a.access, { length: buf.length });
		assert.equal((await patch(a.access, path, 0, buf.subarray(0, 500))).status, 204);

		for (const off of [0, 100, 501, buf.length]) {
			const r = await patch(a.access, path, off, buf.subarray(off, off + 100));
			assertProblem(r, 409, 'offset_mismatch');
			assertTus(r);
		}
		const r415 = await patch(a.access, path, 500, buf.subarray(500, 600), { 'content-type': 'application/octet-stream' });
		assertProblem(r415, 415);
		assertTus(r415);
		const r412 = await patch(a.access, path, 500, buf.subarray(500, 600), { 'tus-resumable': null });
		assertProblem(r412, 412);
		assertTus(r412);
		assert.equal(await offsetOf(a.access, path), 500, 'refused PATCHes wrote nothing');
	});

	test('Upload-Checksum: wrong sha256 -> 460 checksum_mismatch and nothing written; right -> 204; md5 -> 400', async () => {
		const a = await register({ tag: 'tussum' });
		const buf = speech(SENTENCES.project, 'mp3');
		const { path } = await createOk(a.access, { length: buf.length });
		const chunk = buf.subarray(0, 4096);

		const wrong = await patch(a.access, path, 0, chunk, { 'upload-checksum': `sha256 ${sha256(Buffer.from('something else'))}` });
		assertProblem(wrong, 460, 'checksum_mismatch');
		assertTus(wrong);
		assert.equal(await offsetOf(a.access, path), 0, 'a chunk with a bad checksum is discarded');

		const md5 = crypto.createHash('md5').update(chunk).digest('base64');
		assertProblem(await patch(a.access, path, 0, chunk, { 'upload-checksum': `md5 ${md5}` }), 400, 'checksum_algorithm_unsupported');
		assert.equal(await offsetOf(a.access, path), 0);

		const right = await patch(a.access, path, 0, chunk, { 'upload-checksum': `sha256 ${sha256(chunk)}` });
		assert.equal(right.status, 204, show(right));
		assert.equal(right.headers.get('upload-offset'), '4096');
		assert.equal(await offsetOf(a.access, path), 4096);
	});

	test('DELETE -> 204; then HEAD and PATCH -> 404', async () => {
		const a = await register({ tag: 'tusdel' });
		const buf = speech(SENTENCES.project, 'mp3');
		const { path, meetingId } = await createOk(a.access, { length: buf.length, meta: { filename: 'x.mp3', title: 'Terminated' } });
		assert.equal((await patch(a.access, path, 0, buf.subarray(0, 1000))).status, 204);
		const d = await tusRequest('DELETE', path, { token: a.access });
		assert.equal(d.status, 204, show(d));
		assertTus(d);
		const h = await head(a.access, path);
		assert.equal(h.status, 404, show(h));
		assertTus(h);
		assertProblem(await patch(a.access, path, 1000, buf.subarray(1000, 2000)), 404);
		assert.equal((await tusRequest('DELETE', path, { token: a.access })).status, 404);
		// the meeting itself is still there, without audio
		assertNoAudio(await getMeeting(a.access, meetingId));
	});

	test('a finished upload that is not audio -> 415/422 problem and the meeting stays pending', async () => {
		const a = await register({ tag: 'tustext' });
		const buf = textFile();
		const { path, meetingId } = await createOk(a.access, { length: buf.length, meta: { filename: 'notes.mp3', title: 'Not audio' } });
		const half = Math.floor(buf.length / 2);
		assert.equal((await patch(a.access, path, 0, buf.subarray(0, half))).status, 204);
		const last = await patch(a.access, path, half, buf.subarray(half));
		assert.ok([415, 422].includes(last.status), `last PATCH of a text file: ${show(last)}`);
		assertProblem(last, last.status);
		assertTus(last);
		assertNoAudio(await getMeeting(a.access, meetingId));
	});

	test("another organization's upload -> 404 for HEAD, PATCH and DELETE", async () => {
		const a = await register({ tag: 'tusowna' });
		const b = await register({ tag: 'tusownb' });
		const buf = speech(SENTENCES.project, 'mp3');
		const { path } = await createOk(a.access, { length: buf.length });
		assert.equal((await head(b.access, path)).status, 404);
		assertProblem(await patch(b.access, path, 0, buf.subarray(0, 100)), 404);
		assert.equal((await tusRequest('DELETE', path, { token: b.access })).status, 404);
		assert.equal((await head(undefined, path)).status, 401);
		assert.equal(await offsetOf(a.access, path), 0);
		const fake = `${TUS}/${crypto.randomUUID()}`;
		assert.equal((await head(a.access, fake)).status, 404);
	});
});

// ---------------------------------------------------------------- tus-js-client

function clientOptions(token, extra = {}) {
	return {
		endpoint: `${BASE}${TUS}`,
		headers: { Authorization: `Bearer ${token}` },
		chunkSize: 64 * 1024,
		retryDelays: null,
		...extra,
	};
}

/** Run an upload to success; returns what was observed. */
function runUpload(input, options) {
	return new Promise((resolve, reject) => {
		const seen = { requests: [], meetingId: null, progress: [] };
		const up = new tus.Upload(input, {
			...options,
			onBeforeRequest: (req) => {
				seen.requests.push({ method: req.getMethod(), url: req.getURL(), offset: req.getHeader('Upload-Offset') });
			},
			onAfterResponse: (req, res) => {
				const id = res.getHeader('X-Meeting-Id') || res.getHeader('x-meeting-id');
				if (id) seen.meetingId = id;
			},
			onProgress: (sent, total) => seen.progress.push([sent, total]),
			onSuccess: () => resolve({ ...seen, url: up.url }),
			onError: (err) => reject(err),
		});
		up.start();
	});
}

describe('tus-js-client', T, () => {
	test('uploads a speech mp3 in 64 KB chunks; the meeting ends completed with the words', async () => {
		const a = await register({ tag: 'tusjs' });
		const buf = speech(SENTENCES.report, 'mp3', { bitrate: '128k' });
		assert.ok(buf.length > 2 * 64 * 1024, 'the file needs several chunks');
		const r = await runUpload(buf, clientOptions(a.access, { metadata: { filename: 'client.mp3', title: 'Uploaded by tus-js-client' } }));
		assert.match(r.meetingId || '', UUID_RE, 'X-Meeting-Id on the creation response');
		const patches = r.requests.filter((q) => q.method === 'PATCH');
		assert.ok(patches.length >= 3, `PATCH requests: ${patches.length}`);
		assert.deepEqual(patches.map((q) => Number(q.offset)), patches.map((_, i) => i * 64 * 1024));

		const m = await waitCompleted(a.access, r.meetingId);
		assert.equal(m.title, 'Uploaded by tus-js-client');
		assert.equal(m.original_filename, 'client.mp3');
		assert.equal(m.file_size, buf.length);
		const tr = await get(`${MEETINGS}/${r.meetingId}/transcript`, { token: a.access });
		assert.equal(tr.status, 200, show(tr));
		assertWords(tr.body.text, SENTENCES.report);
	});

	test('an interrupted upload resumes from the server offset, not from 0', async () => {
		const a = await register({ tag: 'tusresume' });
		const buf = speech(SENTENCES.project, 'wav');
		assert.ok(buf.length > 4 * 64 * 1024, 'the file needs several chunks');
		const meta = { filename: 'resumed.wav', title: 'Resumed upload' };

		// first run: stop after the first chunk was accepted
		const first = await new Promise((resolve, reject) => {
			let meetingId = null;
			const up = new tus.Upload(buf, {
				...clientOptions(a.access),
				metadata: meta,
				onAfterResponse: (req, res) => {
					const id = res.getHeader('X-Meeting-Id') || res.getHeader('x-meeting-id');
					if (id) meetingId = id;
				},
				onChunkComplete: (chunkSize, accepted) => {
					up.abort().then(() => resolve({ url: up.url, accepted, meetingId }), reject);
				},
				onSuccess: () => reject(new Error('the upload should have been interrupted')),
				onError: (err) => reject(err),
			});
			up.start();
		});
		assert.ok(first.url, 'the first run created an upload');
		assert.equal(first.accepted, 64 * 1024);
		const path = new URL(first.url).pathname;
		const serverOffset = await offsetOf(a.access, path);
		assert.equal(serverOffset, 64 * 1024);
		assertNoAudio(await getMeeting(a.access, first.meetingId), 'meeting of an unfinished upload');

		// second run: same upload URL, a new client
		const second = await runUpload(buf, clientOptions(a.access, { uploadUrl: first.url, metadata: meta }));
		assert.ok(!second.requests.some((q) => q.method === 'POST'), 'resuming must not create a new upload');
		const patches = second.requests.filter((q) => q.method === 'PATCH');
		assert.ok(patches.length >= 1);
		assert.ok(Number(patches[0].offset) > 0, `the first PATCH of the second run starts at ${patches[0].offset}`);
		assert.equal(Number(patches[0].offset), serverOffset);
		assert.ok(second.progress.every(([sent]) => sent >= serverOffset), 'progress never went back below the resumed offset');

		const m = await waitCompleted(a.access, first.meetingId);
		assert.equal(m.file_size, buf.length);
		assert.equal(m.original_filename, 'resumed.wav');
		const audio = await requestBytes('GET', `${MEETINGS}/${first.meetingId}/audio`, { token: a.access });
		assert.ok(audio.bytes.equals(buf), 'the resumed file is byte for byte the original');
		const tr = await get(`${MEETINGS}/${first.meetingId}/transcript`, { token: a.access });
		assert.equal(tr.status, 200, show(tr));
		assertWords(tr.body.text, SENTENCES.project);
	});
});

// ---------------------------------------------------------------- issue 8 (uploads hardening)

const tmpRoot = fs.mkdtempSync(nodePath.join(os.tmpdir(), 'iam-tus-test-'));
const servers = [];
after(async () => {
	for (const s of servers) await s.stop(5000).catch(() => {});
	fs.rmSync(tmpRoot, { recursive: true, force: true });
});

async function ownServer(name, env = {}, dataDir = fs.mkdtempSync(nodePath.join(tmpRoot, `${name}-`))) {
	const s = await startIamd(dataDir, { IAM_WORKERS: '0', IAM_MAX_UPLOAD_MB: '50', ...env });
	servers.push(s);
	return s;
}

function tusAt(base, method, path, { token, headers = {}, body } = {}) {
	return requestAt(base, method, path, { token, headers: { 'tus-resumable': '1.0.0', ...headers }, body, timeout: 30000 });
}

async function createAt(base, token, length, meta = { filename: 'a.wav', title: 'own server' }) {
	const res = await tusAt(base, 'POST', TUS, { token, headers: { 'upload-length': String(length), 'upload-metadata': metadata(meta) } });
	assert.equal(res.status, 201, `tus create at ${base}: ${show(res)}`);
	return { path: new URL(res.headers.get('location'), base).pathname, meetingId: res.headers.get('x-meeting-id') };
}

/**
 * A PATCH over a raw socket whose body the test sends piece by piece:
 * send(buf) writes more, and `reply` resolves to { status, code } once the
 * server answers (or null if the connection just closed).
 */
function slowPatch(base, token, path, offset, length, headers = {}) {
	const url = new URL(base);
	const sock = net.connect({ host: url.hostname, port: Number(url.port) });
	let head = `PATCH ${path} HTTP/1.1\r\nHost: ${url.host}\r\nConnection: close\r\nTus-Resumable: 1.0.0\r\n`;
	head += `Authorization: Bearer ${token}\r\nContent-Type: ${OCTET}\r\nUpload-Offset: ${offset}\r\nContent-Length: ${length}\r\n`;
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
	return {
		send: (buf) => new Promise((r) => sock.write(buf, () => r())),
		reply,
		destroy: () => sock.destroy(),
	};
}

describe('issue 8: checksums and metadata', T, () => {
	test('OPTIONS advertises sha1 and sha256; a sha1 Upload-Checksum is verified (wrong -> 460, right -> 204)', async () => {
		const opt = await tusRequest('OPTIONS', TUS);
		const algs = (opt.headers.get('tus-checksum-algorithm') || '').split(',').map((x) => x.trim().toLowerCase());
		assert.ok(algs.includes('sha1') && algs.includes('sha256'), `Tus-Checksum-Algorithm: ${algs}`);
		const a = await register({ tag: 'tussha1' });
		const chunk = crypto.randomBytes(70000);
		const { path } = await createOk(a.access, { length: chunk.length + 10 });
		const wrong = await patch(a.access, path, 0, chunk, { 'upload-checksum': `sha1 ${sha1(Buffer.from('other'))}` });
		assertProblem(wrong, 460, 'checksum_mismatch');
		assert.equal(await offsetOf(a.access, path), 0, 'data with a wrong sha1 is discarded');
		const right = await patch(a.access, path, 0, chunk, { 'upload-checksum': `sha1 ${sha1(chunk)}` });
		assert.equal(right.status, 204, show(right));
		assert.equal(Number(right.headers.get('upload-offset')), chunk.length);
		// a sha256 digest given as sha1 (wrong length) is malformed, not a mismatch
		assertProblem(await patch(a.access, path, chunk.length, Buffer.alloc(5), { 'upload-checksum': `sha1 ${sha256(Buffer.alloc(5))}` }), 400, 'invalid_checksum');
	});

	test('Upload-Checksum with an algorithm and no digest -> 400 invalid_checksum', async () => {
		const a = await register({ tag: 'tusnodigest' });
		const { path } = await createOk(a.access, { length: 100 });
		for (const v of ['sha256', 'sha1', 'sha256 ', 'sha256 !!!!']) {
			assertProblem(await patch(a.access, path, 0, Buffer.alloc(10), { 'upload-checksum': v }), 400, 'invalid_checksum');
		}
		assert.equal(await offsetOf(a.access, path), 0);
	});

	test('invalid base64 in Upload-Metadata -> 400 invalid_metadata, and no upload or meeting is made', async () => {
		const a = await register({ tag: 'tusmeta' });
		const before = await get(`${MEETINGS}?limit=100`, { token: a.access });
		for (const meta of ['filename !!!notbase64', `filename ${b64('talk.mp3')},title dGVzd`, `title ${b64('x')}=`, `filename ${b64('a').replace(/=+$/, '')}-_`]) {
			const res = await tusRequest('POST', TUS, { token: a.access, headers: { 'upload-length': '100', 'upload-metadata': meta } });
			assertProblem(res, 400, 'invalid_metadata');
		}
		// unpadded standard base64 is still accepted
		const ok = await tusRequest('POST', TUS, { token: a.access, headers: { 'upload-length': '100', 'upload-metadata': `title ${b64('ab').replace(/=+$/, '')}` } });
		assert.equal(ok.status, 201, show(ok));
		const m = await getMeeting(a.access, ok.headers.get('x-meeting-id'));
		assert.equal(m.title, 'ab');
		const afterList = await get(`${MEETINGS}?limit=100`, { token: a.access });
		assert.equal(afterList.body.data.length, before.body.data.length + 1, 'only the valid request made a meeting');
	});
});

describe('issue 8: PATCH length checks', T, () => {
	test('a Content-Length that would overflow offset + length -> 413 from the headers alone', async () => {
		const a = await register({ tag: 'tusoverflow' });
		const { path } = await createOk(a.access, { length: 1000 });
		const first = await patch(a.access, path, 0, Buffer.alloc(10));
		assert.equal(first.status, 204, show(first));
		for (const cl of ['9223372036854775800', '9223372036854775807']) {
			const res = await rawHeadersOnly({
				method: 'PATCH',
				path,
				headers: { Authorization: `Bearer ${a.access}`, 'Tus-Resumable': '1.0.0', 'Content-Type': OCTET, 'Upload-Offset': '10', 'Content-Length': cl },
			});
			assert.ok([400, 413].includes(res.status), `Content-Length ${cl}: ${show(res)}`);
		}
		assert.equal(await offsetOf(a.access, path), 10);
		// the upload is not left locked
		const next = await patch(a.access, path, 10, Buffer.alloc(10));
		assert.equal(next.status, 204, show(next));
	});
});

describe('issue 8: spool files are never followed through a link', T, () => {
	test('a symlink planted in place of an upload\'s spool file is not written through', async () => {
		const dir = fs.mkdtempSync(nodePath.join(tmpRoot, 'link-'));
		const s = await ownServer('link', { IAM_JWT_SECRET: randomSecret() }, dir);
		const a = await registerAt(s.base, 'tuslink');
		const { path } = await createAt(s.base, a.access, 100);
		const id = path.split('/').pop();
		const spool = nodePath.join(dir, 'blobs', 'spool', `tus-${id}`);
		assert.ok(fs.existsSync(spool), 'the upload has its spool file');
		const victim = nodePath.join(dir, 'victim.txt');
		fs.writeFileSync(victim, 'precious data that must not change');
		fs.unlinkSync(spool);
		fs.symlinkSync(victim, spool);
		const res = await tusAt(s.base, 'PATCH', path, { token: a.access, headers: { 'content-type': OCTET, 'upload-offset': '0' }, body: Buffer.from('0123456789') });
		assertProblem(res, 503, 'storage_failed');
		assert.equal(fs.readFileSync(victim, 'utf8'), 'precious data that must not change');
	});
});

describe('issue 8: Idempotency-Key on tus creation', T, () => {
	test('same key and request -> the same upload again (Idempotent-Replayed); other metadata -> 422; keys are per user', async () => {
		const a = await register({ tag: 'tusidem' });
		const key = `tus-${crypto.randomUUID()}`;
		const headers = { 'upload-length': '5000', 'upload-metadata': metadata({ filename: 'i.wav', title: 'Idempotent' }), 'idempotency-key': key };
		const first = await tusRequest('POST', TUS, { token: a.access, headers });
		assert.equal(first.status, 201, show(first));
		assert.equal(first.headers.get('idempotent-replayed'), null);
		const again = await tusRequest('POST', TUS, { token: a.access, headers });
		assert.equal(again.status, 201, show(again));
		assert.equal(again.headers.get('idempotent-replayed'), 'true');
		assert.equal(again.headers.get('location'), first.headers.get('location'));
		assert.equal(again.headers.get('x-meeting-id'), first.headers.get('x-meeting-id'));
		assertTus(again);
		const other = await tusRequest('POST', TUS, { token: a.access, headers: { ...headers, 'upload-metadata': metadata({ filename: 'j.wav' }) } });
		assertProblem(other, 422, 'idempotency_key_reused');
		// another user with the same key is another request
		const b = await register({ tag: 'tusidem2' });
		const theirs = await tusRequest('POST', TUS, { token: b.access, headers });
		assert.equal(theirs.status, 201, show(theirs));
		assert.notEqual(theirs.headers.get('location'), first.headers.get('location'));
		const list = await get(`${MEETINGS}?limit=100`, { token: a.access });
		assert.equal(list.body.data.filter((m) => m.title === 'Idempotent').length, 1, 'one meeting for the key');
	});
});

describe('issue 8: audio replaced mid-transcription', T, () => {
	test('a tus upload that completes while its meeting is queued -> 409 meeting_busy; the audio and its transcript stay', async () => {
		const a = await register({ tag: 'tusbusy' });
		const m = await createMeeting(a.access, { title: 'Busy via tus' });
		const firstAudio = speech(SENTENCES.project, 'wav');
		await uploadOk(a.access, m.id, firstAudio, { filename: 'first.wav', transcribe: false });
		const other = speech(SENTENCES.report, 'wav');
		const { path } = await createOk(a.access, { length: other.length, meta: { filename: 'second.wav', meeting_id: m.id } });
		const half = Math.floor(other.length / 2);
		const p1 = await patch(a.access, path, 0, other.subarray(0, half));
		assert.equal(p1.status, 204, show(p1));
		const tr = await post(`${MEETINGS}/${m.id}/transcribe`, { token: a.access, json: {} });
		assert.equal(tr.status, 202, show(tr));
		const p2 = await patch(a.access, path, half, other.subarray(half));
		assertProblem(p2, 409, 'meeting_busy');
		const now = await getMeeting(a.access, m.id);
		assert.equal(now.file_size, firstAudio.length, 'the audio being transcribed was not replaced');
		assert.equal(now.original_filename, 'first.wav');
		const done = await waitCompleted(a.access, m.id);
		assert.equal(done.status, 'completed');
		const t = await get(`${MEETINGS}/${m.id}/transcript`, { token: a.access });
		assertWords(t.body.text, SENTENCES.project);
		const audio = await requestBytes('GET', `${MEETINGS}/${m.id}/audio`, { token: a.access });
		assert.ok(audio.bytes.equals(firstAudio), 'the stored audio is the first file');
	});
});

describe('issue 8: the PATCH lock dies with its holder', T, () => {
	test('kill -9 during a PATCH, restart: HEAD gives the offset and the next PATCH is taken at once (no 409 upload_locked)', async () => {
		const dir = fs.mkdtempSync(nodePath.join(tmpRoot, 'kill-'));
		const env = { IAM_JWT_SECRET: randomSecret() };
		let s = await ownServer('kill', env, dir);
		const a = await registerAt(s.base, 'tuskill');
		const buf = crypto.randomBytes(3 * 1024 * 1024);
		const { path } = await createAt(s.base, a.access, buf.length);
		const p = slowPatch(s.base, a.access, path, 0, buf.length);
		await p.send(buf.subarray(0, 1536 * 1024)); // more than one write's worth reaches the file
		await sleep(700);
		await s.kill('SIGKILL');
		p.destroy();
		s = await ownServer('kill', env, dir);
		const h = await tusAt(s.base, 'HEAD', path, { token: a.access });
		assert.equal(h.status, 200, show(h));
		const offset = Number(h.headers.get('upload-offset'));
		assert.ok(offset >= 0 && offset < buf.length, `offset ${offset}`);
		const t0 = Date.now();
		const res = await tusAt(s.base, 'PATCH', path, {
			token: a.access,
			headers: { 'content-type': OCTET, 'upload-offset': String(offset) },
			body: buf.subarray(offset, offset + 1024 * 1024),
		});
		assert.equal(res.status, 204, `PATCH right after the restart: ${show(res)}`);
		assert.ok(Date.now() - t0 < 5000, 'no wait for an old lock');
		assert.equal(Number(res.headers.get('upload-offset')), offset + 1024 * 1024);
	});

	test('a PATCH slower than the lease keeps its lock (renewed while writing); a second writer meanwhile -> 409', async () => {
		const s = await ownServer('lease', { IAM_JWT_SECRET: randomSecret(), IAM_TUS_LOCK_S: '2' });
		const a = await registerAt(s.base, 'tuslease');
		const piece = 64 * 1024;
		const pieces = 8;
		const buf = crypto.randomBytes(piece * pieces);
		const { path } = await createAt(s.base, a.access, buf.length + 1);
		const p = slowPatch(s.base, a.access, path, 0, buf.length);
		let second = null;
		for (let i = 0; i < pieces; i++) {
			await p.send(buf.subarray(i * piece, (i + 1) * piece));
			await sleep(600); // 8 x 0.6 s = 4.8 s: more than twice the 2 s lease
			if (i === 5) {
				second = await tusAt(s.base, 'PATCH', path, { token: a.access, headers: { 'content-type': OCTET, 'upload-offset': '0' }, body: Buffer.alloc(10) });
			}
		}
		const r = await p.reply;
		assert.ok(r, 'the slow PATCH got an answer');
		assert.equal(r.status, 204, `slow PATCH: ${r && r.text.slice(0, 300)}`);
		assert.equal(second.status, 409, `second writer: ${show(second)}`);
		assert.equal(second.body.code, 'upload_locked');
		const h = await tusAt(s.base, 'HEAD', path, { token: a.access });
		assert.equal(Number(h.headers.get('upload-offset')), buf.length, 'every byte of the slow PATCH counted');
	});
});

/** A WAV file (16 kHz mono 16-bit) of `bytes` random sample bytes. */
function noiseWav(bytes) {
	const h = Buffer.alloc(44);
	h.write('RIFF', 0);
	h.writeUInt32LE(36 + bytes, 4);
	h.write('WAVE', 8);
	h.write('fmt ', 12);
	h.writeUInt32LE(16, 16);
	h.writeUInt16LE(1, 20);
	h.writeUInt16LE(1, 22);
	h.writeUInt32LE(16000, 24);
	h.writeUInt32LE(32000, 28);
	h.writeUInt16LE(2, 32);
	h.writeUInt16LE(16, 34);
	h.write('data', 36);
	h.writeUInt32LE(bytes, 40);
	return Buffer.concat([h, crypto.randomBytes(bytes)]);
}

describe('issue 8: large writes', T, () => {
	test('files of several MiB in one PATCH and in uneven PATCHes arrive byte for byte', async () => {
		const s = await ownServer('large', { IAM_JWT_SECRET: randomSecret() });
		const a = await registerAt(s.base, 'tuslarge');
		for (const cuts of [[], [1, 1024 * 1024 + 7, 3 * 1024 * 1024]]) {
			const buf = noiseWav(9 * 1024 * 1024 + 12345);
			const { path, meetingId } = await createAt(s.base, a.access, buf.length, { filename: 'noise.wav', title: 'Large' });
			const bounds = [0, ...cuts, buf.length];
			for (let i = 0; i + 1 < bounds.length; i++) {
				const res = await tusAt(s.base, 'PATCH', path, {
					token: a.access,
					headers: { 'content-type': OCTET, 'upload-offset': String(bounds[i]), 'upload-checksum': `sha1 ${sha1(buf.subarray(bounds[i], bounds[i + 1]))}` },
					body: buf.subarray(bounds[i], bounds[i + 1]),
				});
				assert.equal(res.status, 204, `PATCH ${i}: ${show(res)}`);
				assert.equal(Number(res.headers.get('upload-offset')), bounds[i + 1]);
			}
			const m = await requestAt(s.base, 'GET', `${MEETINGS}/${meetingId}`, { token: a.access });
			assert.equal(m.body.file_size, buf.length, show(m));
			const audio = await requestAt(s.base, 'GET', `${MEETINGS}/${meetingId}/audio`, { token: a.access, timeout: 30000 });
			assert.equal(audio.status, 200);
			assert.ok(audio.bytes.equals(buf), `the stored file is the upload (${cuts.length + 1} PATCHes)`);
		}
	});
});
