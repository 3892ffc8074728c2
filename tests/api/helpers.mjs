// Shared helpers for the black-box API tests (node:test, run by
// scripts/run-api-tests). Nothing here knows the server's internals: it talks
// HTTP to IAM_BASE_URL and, where a test must forge tokens, signs them with
// IAM_TEST_JWT_SECRET the way DESIGN.md and src/auth/jwt.h describe.

import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import net from 'node:net';
import { spawnSync } from 'node:child_process';

export const BASE = (process.env.IAM_BASE_URL || 'http://127.0.0.1:8080').replace(/\/+$/, '');
export const SECRET = process.env.IAM_TEST_JWT_SECRET || '';
export const ENGINE = process.env.IAM_ENGINE || 'sqlite';
export const ALLOWED_ORIGIN = 'http://allowed.example';
export const PASSWORD = 'Correct-horse-battery-9';
export const REQUEST_TIMEOUT_MS = 15000;

export const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export const RFC3339_UTC_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z$/;
export const SANE_REQUEST_ID_RE = /^[A-Za-z0-9._-]{1,64}$/;

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------- identities

let counter = 0;
/** A fresh, already-normalised (lower-case) e-mail address. */
export function uniqueEmail(tag = 'user') {
	counter += 1;
	const rnd = crypto.randomBytes(4).toString('hex');
	return `${tag}.${process.pid}.${Date.now().toString(36)}.${counter}.${rnd}@example.com`.toLowerCase();
}

// ---------------------------------------------------------------- HTTP

/**
 * One HTTP request with fetch. Options:
 *   json     value sent as application/json (JSON.stringify)
 *   body     raw body (string/Buffer), sent as is
 *   headers  extra headers
 *   token    sets Authorization: Bearer <token>
 * Returns { status, headers (Headers), text, body (parsed JSON or null), url }.
 */
export async function request(method, path, opts = {}) {
	const headers = new Headers(opts.headers || {});
	let body;
	if (opts.json !== undefined) {
		body = JSON.stringify(opts.json);
		if (!headers.has('content-type')) headers.set('content-type', 'application/json');
	} else if (opts.body !== undefined) {
		body = opts.body;
	}
	if (opts.token !== undefined) headers.set('authorization', `Bearer ${opts.token}`);
	const res = await fetch(BASE + path, {
		method,
		headers,
		body,
		redirect: 'manual',
		signal: AbortSignal.timeout(opts.timeout || REQUEST_TIMEOUT_MS),
	});
	const text = await res.text();
	return wrapResponse(res.status, res.headers, text, path);
}

function wrapResponse(status, headers, text, url) {
	let body = null;
	const ct = headers.get('content-type') || '';
	if (/json/i.test(ct) && text.length > 0) {
		try {
			body = JSON.parse(text);
		} catch (e) {
			throw new Error(`response to ${url} says ${ct} but is not JSON: ${text.slice(0, 200)}`);
		}
	}
	return { status, headers, text, body, url };
}

export const get = (path, opts) => request('GET', path, opts);
export const post = (path, opts) => request('POST', path, opts);
export const put = (path, opts) => request('PUT', path, opts);
export const del = (path, opts) => request('DELETE', path, opts);

/** A short description of a response for assertion messages. */
export function show(res) {
	return `${res.status} ${res.headers.get('content-type') || ''} ${String(res.text).slice(0, 400)}`;
}

// ---------------------------------------------------------------- raw socket

function findHeaderEnd(buf) {
	return buf.indexOf('\r\n\r\n');
}

function parseHead(buf) {
	const end = findHeaderEnd(buf);
	if (end < 0) return null;
	const lines = buf.subarray(0, end).toString('latin1').split('\r\n');
	const m = /^HTTP\/1\.[01] (\d{3})(?: (.*))?$/.exec(lines[0]);
	if (!m) throw new Error(`bad status line: ${JSON.stringify(lines[0])}`);
	const headers = new Headers();
	for (const line of lines.slice(1)) {
		const i = line.indexOf(':');
		if (i <= 0) continue;
		headers.append(line.slice(0, i).trim(), line.slice(i + 1).trim());
	}
	return { status: Number(m[1]), headers, bodyStart: end + 4 };
}

// Decode a chunked body; returns { done, body }.
function decodeChunked(buf) {
	const parts = [];
	let pos = 0;
	for (;;) {
		const eol = buf.indexOf('\r\n', pos);
		if (eol < 0) return { done: false, body: Buffer.concat(parts) };
		const size = parseInt(buf.subarray(pos, eol).toString('latin1').split(';')[0], 16);
		if (Number.isNaN(size)) throw new Error('bad chunk size');
		if (size === 0) return { done: true, body: Buffer.concat(parts) };
		if (buf.length < eol + 2 + size + 2) return { done: false, body: Buffer.concat(parts) };
		parts.push(buf.subarray(eol + 2, eol + 2 + size));
		pos = eol + 2 + size + 2;
	}
}

function responseState(buf) {
	const head = parseHead(buf);
	if (!head) return null;
	const rest = buf.subarray(head.bodyStart);
	const te = head.headers.get('transfer-encoding') || '';
	const cl = head.headers.get('content-length');
	let done = false;
	let body = rest;
	if (/chunked/i.test(te)) {
		const d = decodeChunked(rest);
		done = d.done;
		body = d.body;
	} else if (cl !== null) {
		const n = Number(cl);
		done = rest.length >= n;
		body = rest.subarray(0, n);
	} else if (head.status === 204 || head.status === 304) {
		done = true;
		body = Buffer.alloc(0);
	}
	return { ...head, done, body };
}

/**
 * Send one HTTP/1.1 request over a raw TCP socket (for what fetch will not
 * send: huge header lines, bodies the server cuts off). Options:
 *   method, path, headers (object; Host and Connection: close are added),
 *   body (Buffer/string), chunked (send body with Transfer-Encoding: chunked),
 *   chunkSize (bytes per write / per chunk), timeout (ms).
 * Stops writing the body as soon as the server starts answering. Resolves to
 * the same shape as request().
 */
export function rawRequest(opts = {}) {
	const url = new URL(BASE);
	const method = opts.method || 'GET';
	const path = opts.path || '/';
	const body = opts.body === undefined ? null : Buffer.from(opts.body);
	const chunkSize = opts.chunkSize || 64 * 1024;
	const timeout = opts.timeout || REQUEST_TIMEOUT_MS;

	let head = `${method} ${path} HTTP/1.1\r\nHost: ${url.host}\r\nConnection: close\r\n`;
	for (const [k, v] of Object.entries(opts.headers || {})) head += `${k}: ${v}\r\n`;
	if (body !== null) {
		if (opts.chunked) head += 'Transfer-Encoding: chunked\r\n';
		else head += `Content-Length: ${body.length}\r\n`;
	}
	head += '\r\n';

	return new Promise((resolve, reject) => {
		const sock = net.connect({ host: url.hostname, port: Number(url.port || 80) });
		const received = [];
		let finished = false;
		let answered = false;

		const finish = (err) => {
			if (finished) return;
			finished = true;
			clearTimeout(timer);
			sock.destroy();
			const buf = Buffer.concat(received);
			let st = null;
			try {
				st = responseState(buf);
			} catch (e) {
				return reject(e);
			}
			if (!st) {
				return reject(err || new Error(`no HTTP response (got ${buf.length} bytes: ${buf.toString('latin1').slice(0, 200)})`));
			}
			resolve(wrapResponse(st.status, st.headers, st.body.toString('utf8'), path));
		};
		const timer = setTimeout(() => finish(new Error(`raw request ${method} ${path} timed out`)), timeout);

		sock.on('data', (d) => {
			received.push(d);
			answered = true;
			let st = null;
			try {
				st = responseState(Buffer.concat(received));
			} catch {
				/* finish() will report it */
			}
			if (st && st.done) finish();
		});
		sock.on('end', () => finish());
		sock.on('close', () => finish());
		// A server that answers early and closes may reset the connection
		// while we are still writing; what it sent before is what counts.
		sock.on('error', (e) => finish(e));

		// Write one piece and wait until it is handed to the kernel, then let
		// the event loop read whatever the server sent meanwhile, so an early
		// answer is seen before the next write (which could hit a reset).
		const closed = new Promise((r) => sock.once('close', r));
		const writeAll = async (data) => {
			if (finished || sock.destroyed) return false;
			await Promise.race([new Promise((r) => sock.write(data, () => r())), closed]);
			await new Promise((r) => setImmediate(r));
			return !finished && !sock.destroyed && !answered;
		};

		sock.on('connect', async () => {
			try {
				if (!(await writeAll(head))) return;
				if (body === null) return;
				// Give a server that judges by the headers a moment to answer.
				await sleep(50);
				for (let off = 0; off < body.length; off += chunkSize) {
					if (answered) return;
					const piece = body.subarray(off, off + chunkSize);
					const data = opts.chunked
						? Buffer.concat([Buffer.from(piece.length.toString(16) + '\r\n'), piece, Buffer.from('\r\n')])
						: piece;
					if (!(await writeAll(data))) return;
				}
				if (opts.chunked && !answered) await writeAll('0\r\n\r\n');
			} catch {
				/* connection went away; finish() handles it */
			}
		});
	});
}

// ---------------------------------------------------------------- assertions

export function assertSecurityHeaders(res) {
	const h = res.headers;
	assert.equal(h.get('x-content-type-options'), 'nosniff', `X-Content-Type-Options on ${res.url}`);
	assert.equal(String(h.get('x-frame-options')).toUpperCase(), 'DENY', `X-Frame-Options on ${res.url}`);
	assert.equal(h.get('referrer-policy'), 'no-referrer', `Referrer-Policy on ${res.url}`);
	const rid = h.get('x-request-id');
	assert.ok(rid && rid.length > 0, `X-Request-Id on ${res.url}`);
}

export function assertNoStore(res) {
	const cc = res.headers.get('cache-control') || '';
	assert.ok(/(^|,)\s*no-store\s*(,|$)/i.test(cc), `Cache-Control: no-store expected on ${res.url}, got ${JSON.stringify(cc)}`);
}

export function assertJson(res, status) {
	assert.equal(res.status, status, `expected ${status}: ${show(res)}`);
	const ct = res.headers.get('content-type') || '';
	assert.match(ct, /^application\/json\s*(;|$)/i, `JSON content type expected: ${show(res)}`);
	assert.ok(res.body !== null && typeof res.body === 'object', `JSON body expected: ${show(res)}`);
	assertSecurityHeaders(res);
	return res.body;
}

/**
 * An RFC 9457 problem with our extensions: type, title, status, detail,
 * code (snake_case; equal to `code` when given), request_id == X-Request-Id.
 */
export function assertProblem(res, status, code) {
	assert.equal(res.status, status, `expected ${status} ${code || ''}: ${show(res)}`);
	const ct = res.headers.get('content-type') || '';
	assert.match(ct, /^application\/problem\+json\s*(;|$)/i, `problem+json expected: ${show(res)}`);
	const p = res.body;
	assert.ok(p && typeof p === 'object' && !Array.isArray(p), `problem object expected: ${show(res)}`);
	assert.equal(typeof p.type, 'string', `problem.type: ${show(res)}`);
	assert.ok(p.type.length > 0, 'problem.type is empty');
	assert.equal(typeof p.title, 'string', `problem.title: ${show(res)}`);
	assert.ok(p.title.length > 0, 'problem.title is empty');
	assert.equal(p.status, status, `problem.status: ${show(res)}`);
	assert.equal(typeof p.detail, 'string', `problem.detail: ${show(res)}`);
	assert.ok(p.detail.trim().length > 0, 'problem.detail is empty');
	assert.equal(typeof p.code, 'string', `problem.code: ${show(res)}`);
	assert.match(p.code, /^[a-z][a-z0-9]*(_[a-z0-9]+)*$/, 'problem.code is not snake_case');
	if (code !== undefined) assert.equal(p.code, code, `problem.code: ${show(res)}`);
	const rid = res.headers.get('x-request-id');
	assert.ok(rid, 'X-Request-Id header missing');
	assert.equal(p.request_id, rid, 'problem.request_id must equal X-Request-Id');
	assertSecurityHeaders(res);
	return p;
}

/** 400 validation_failed listing (at least) every field in `fields`. */
export function assertValidation(res, fields) {
	const p = assertProblem(res, 400, 'validation_failed');
	assert.ok(Array.isArray(p.errors), `errors[] expected: ${show(res)}`);
	for (const e of p.errors) {
		assert.equal(typeof e.field, 'string', `errors[].field: ${show(res)}`);
		assert.equal(typeof e.message, 'string', `errors[].message: ${show(res)}`);
		assert.ok(e.message.length > 0, 'errors[].message is empty');
	}
	const listed = new Set(p.errors.map((e) => e.field));
	for (const f of [].concat(fields)) {
		assert.ok(listed.has(f), `errors should name field ${JSON.stringify(f)}: ${show(res)}`);
	}
	return p;
}

export function assertRfc3339(value, what = 'time') {
	assert.equal(typeof value, 'string', `${what} should be a string`);
	assert.match(value, RFC3339_UTC_RE, `${what} should be RFC 3339 UTC ending in Z: ${value}`);
	assert.ok(!Number.isNaN(Date.parse(value)), `${what} does not parse: ${value}`);
}

/** No password, hash or secret material in a user-like object. */
export function assertNoSecrets(obj, what = 'object') {
	const text = JSON.stringify(obj);
	assert.ok(!/password|hash|\$argon2/i.test(text), `${what} leaks password material: ${text.slice(0, 300)}`);
}

// ---------------------------------------------------------------- JWT

export function b64url(input) {
	const buf = Buffer.isBuffer(input) ? input : Buffer.from(typeof input === 'string' ? input : JSON.stringify(input));
	return buf.toString('base64url');
}

export function kidFor(secret = SECRET) {
	return crypto.createHash('sha256').update(Buffer.from(secret, 'utf8')).digest('hex').slice(0, 16);
}

export function hs256(signingInput, secret = SECRET) {
	return crypto.createHmac('sha256', Buffer.from(secret, 'utf8')).update(signingInput).digest('base64url');
}

export function decodeJwt(token) {
	const parts = String(token).split('.');
	assert.equal(parts.length, 3, `JWT must have 3 parts: ${token}`);
	for (const p of parts) assert.match(p, /^[A-Za-z0-9_-]*$/, 'JWT parts must be base64url without padding');
	return {
		header: JSON.parse(Buffer.from(parts[0], 'base64url').toString('utf8')),
		payload: JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8')),
		signature: parts[2],
		signingInput: `${parts[0]}.${parts[1]}`,
	};
}

export function jwtSignatureValid(token, secret = SECRET) {
	const { signingInput, signature } = decodeJwt(token);
	const want = Buffer.from(hs256(signingInput, secret));
	const got = Buffer.from(signature);
	return want.length === got.length && crypto.timingSafeEqual(want, got);
}

/**
 * Sign a JWT. header/payload are objects; `alg: 'none'` gives an empty
 * signature; otherwise HS256 with `secret`.
 */
export function signJwt(header, payload, secret = SECRET) {
	const input = `${b64url(header)}.${b64url(payload)}`;
	if (header.alg === 'none') return `${input}.`;
	return `${input}.${hs256(input, secret)}`;
}

/**
 * A forged access token for a real session: claims copied from `realToken`
 * (sub, email, org, sid), fresh iat/exp, overridden by `claims`; header
 * overridden by `header`.
 */
export function forgeAccess(realToken, { claims = {}, header = {}, secret = SECRET } = {}) {
	const { payload } = decodeJwt(realToken);
	const now = Math.floor(Date.now() / 1000);
	const p = {
		sub: payload.sub,
		email: payload.email,
		org: payload.org,
		sid: payload.sid,
		iat: now,
		exp: now + 900,
		type: 'access',
		...claims,
	};
	const h = { alg: 'HS256', typ: 'JWT', kid: kidFor(secret), ...header };
	return signJwt(h, p, secret);
}

// ---------------------------------------------------------------- accounts

/** Register a fresh account (asserting 201) and return what tests need. */
export async function register(fields = {}) {
	const email = fields.email || uniqueEmail(fields.tag || 'reg');
	const password = fields.password || PASSWORD;
	const json = { email, password };
	for (const k of ['first_name', 'last_name', 'company_name']) if (k in fields) json[k] = fields[k];
	const res = await post('/api/v1/auth/register', { json });
	assert.equal(res.status, 201, `register ${email}: ${show(res)}`);
	const b = res.body;
	return {
		email: b.user.email,
		password,
		user: b.user,
		organization: b.organization,
		access: b.access_token,
		refresh: b.refresh_token,
		body: b,
		res,
	};
}

/** Log in (asserting 200) and return { access, refresh, body }. */
export async function login(email, password = PASSWORD) {
	const res = await post('/api/v1/auth/login', { json: { email, password } });
	assert.equal(res.status, 200, `login ${email}: ${show(res)}`);
	return { access: res.body.access_token, refresh: res.body.refresh_token, body: res.body, res };
}

export const me = (token) => get('/api/v1/users/me', { token });

// ================================================================ meetings, media, servers
// (Added for the meetings / uploads / tus / transcripts / openai / pipeline
// tests. Everything above is unchanged.)

/** The upload limit the runner gives the server (IAM_MAX_UPLOAD_MB). */
export const MAX_UPLOAD_MB = Number(process.env.IAM_MAX_UPLOAD_MB || 50);
export const POLL_MS = 250;
/** How long a transcription of a short clip may take, queue included. */
export const COMPLETE_TIMEOUT_MS = 90000;
export const MEETING_STATUSES = ['pending', 'uploaded', 'queued', 'processing', 'completed', 'failed'];

/**
 * One HTTP request to `base` (another iamd, or BASE). Like request(), plus:
 *   form   a FormData body (multipart; fetch sets the boundary)
 * and the reply also carries `bytes` (a Buffer of the exact body).
 */
export async function requestAt(base, method, path, opts = {}) {
	const headers = new Headers(opts.headers || {});
	let body;
	if (opts.json !== undefined) {
		body = JSON.stringify(opts.json);
		if (!headers.has('content-type')) headers.set('content-type', 'application/json');
	} else if (opts.form !== undefined) {
		body = opts.form;
	} else if (opts.body !== undefined) {
		body = opts.body;
	}
	if (opts.token !== undefined && opts.token !== null) headers.set('authorization', `Bearer ${opts.token}`);
	const url = /^https?:/.test(path) ? path : base.replace(/\/+$/, '') + path;
	const res = await fetch(url, {
		method,
		headers,
		body,
		redirect: 'manual',
		signal: AbortSignal.timeout(opts.timeout || REQUEST_TIMEOUT_MS),
	});
	const bytes = Buffer.from(await res.arrayBuffer());
	const r = wrapResponse(res.status, res.headers, bytes.toString('utf8'), path);
	r.bytes = bytes;
	return r;
}

/** requestAt(BASE, ...): a request to the test server that keeps the raw bytes. */
export const requestBytes = (method, path, opts) => requestAt(BASE, method, path, opts);

/** Register a fresh account on another server (asserting 201). */
export async function registerAt(base, tag = 'reg') {
	const email = uniqueEmail(tag);
	const res = await requestAt(base, 'POST', '/api/v1/auth/register', { json: { email, password: PASSWORD } });
	assert.equal(res.status, 201, `register ${email} at ${base}: ${show(res)}`);
	return { email, user: res.body.user, organization: res.body.organization, access: res.body.access_token, base };
}

/** Create an API key (asserting 201) and return its secret `iam_...`. */
export async function createApiKey(token, name = 'test key', base = BASE) {
	const res = await requestAt(base, 'POST', '/api/v1/api-keys', { token, json: { name } });
	assert.equal(res.status, 201, `create API key: ${show(res)}`);
	assert.ok(String(res.body.key).startsWith('iam_'), `API key ${res.body.key}`);
	return res.body.key;
}

// ---------------------------------------------------------------- meetings

export const MEETINGS = '/api/v1/meetings';

/** Create a meeting (asserting 201) and return it. */
export async function createMeeting(token, fields = {}, base = BASE) {
	const json = { title: 'Weekly sync', ...fields };
	const res = await requestAt(base, 'POST', MEETINGS, { token, json });
	assert.equal(res.status, 201, `create meeting: ${show(res)}`);
	return res.body;
}

export async function getMeeting(token, id, base = BASE) {
	const res = await requestAt(base, 'GET', `${MEETINGS}/${id}`, { token });
	assert.equal(res.status, 200, `GET meeting ${id}: ${show(res)}`);
	return res.body;
}

/**
 * POST the audio as the raw request body. opts: filename (?filename=),
 * contentType (default application/octet-stream), transcribe (false adds
 * ?transcribe=false), token, base, timeout. Returns the response.
 */
export function uploadRaw(token, id, buf, opts = {}) {
	const q = new URLSearchParams();
	if (opts.filename !== undefined) q.set('filename', opts.filename);
	if (opts.transcribe === false) q.set('transcribe', 'false');
	for (const [k, v] of new URLSearchParams(opts.query || '')) q.set(k, v);
	const qs = q.toString();
	return requestAt(opts.base || BASE, 'POST', `${MEETINGS}/${id}/upload${qs ? `?${qs}` : ''}`, {
		token,
		body: buf,
		headers: { 'content-type': opts.contentType || 'application/octet-stream', ...(opts.headers || {}) },
		timeout: opts.timeout || 60000,
	});
}

/** POST the audio as multipart/form-data with one part named "file". */
export function uploadMultipart(token, id, buf, filename, opts = {}) {
	const form = new FormData();
	form.append('file', new Blob([buf], { type: opts.contentType || 'application/octet-stream' }), filename);
	const qs = opts.transcribe === false ? '?transcribe=false' : '';
	return requestAt(opts.base || BASE, 'POST', `${MEETINGS}/${id}/upload${qs}`, { token, form, timeout: opts.timeout || 60000 });
}

/** Upload audio (raw body) and assert 200; returns the meeting. */
export async function uploadOk(token, id, buf, opts = {}) {
	const res = await uploadRaw(token, id, buf, opts);
	assert.equal(res.status, 200, `upload to ${id}: ${show(res)}`);
	return res.body;
}

/**
 * Poll GET meeting every POLL_MS until `until(meeting)` is true (default:
 * status completed or failed). Fails after `timeout` ms with the last state.
 * Returns the meeting.
 */
export async function waitMeeting(token, id, { until, timeout = COMPLETE_TIMEOUT_MS, base = BASE, poll = POLL_MS } = {}) {
	const done = until || ((m) => m.status === 'completed' || m.status === 'failed');
	const deadline = Date.now() + timeout;
	let last = null;
	for (;;) {
		const res = await requestAt(base, 'GET', `${MEETINGS}/${id}`, { token });
		assert.equal(res.status, 200, `GET meeting ${id} while waiting: ${show(res)}`);
		last = res.body;
		if (done(last)) return last;
		if (Date.now() > deadline) {
			assert.fail(`meeting ${id} did not reach the expected state within ${timeout} ms; last: ${JSON.stringify(last)}`);
		}
		await sleep(poll);
	}
}

/** Wait for status completed (failing at once, with the error, if it failed). */
export async function waitCompleted(token, id, opts = {}) {
	const m = await waitMeeting(token, id, opts);
	assert.equal(m.status, 'completed', `meeting ${id} ended ${m.status}: ${m.processing_error} steps ${JSON.stringify(m.processing_steps)}`);
	return m;
}

const isNum = (v) => typeof v === 'number' && Number.isFinite(v);

/** Every field of the meeting representation, with its type. */
export function assertMeeting(m, what = 'meeting') {
	assert.ok(m && typeof m === 'object' && !Array.isArray(m), `${what}: object expected: ${JSON.stringify(m)}`);
	const fields = [
		'id', 'title', 'description', 'meeting_date', 'status', 'progress', 'language', 'audio_format', 'audio_codec',
		'original_filename', 'file_size', 'duration_seconds', 'provider_used', 'model_used', 'transcription_confidence',
		'processing_started_at', 'processing_completed_at', 'processing_error', 'processing_steps', 'created_at', 'updated_at',
	];
	for (const f of fields) assert.ok(f in m, `${what} lacks ${f}: ${JSON.stringify(m)}`);
	assert.match(m.id, UUID_RE, `${what}.id`);
	assert.equal(typeof m.title, 'string', `${what}.title`);
	assert.ok(m.description === null || typeof m.description === 'string', `${what}.description`);
	if (m.meeting_date !== null) assertRfc3339(m.meeting_date, `${what}.meeting_date`);
	assert.ok(MEETING_STATUSES.includes(m.status), `${what}.status ${m.status}`);
	assert.ok(Number.isInteger(m.progress) && m.progress >= 0 && m.progress <= 100, `${what}.progress ${m.progress}`);
	assert.equal(typeof m.language, 'string', `${what}.language`);
	for (const f of ['audio_format', 'audio_codec', 'original_filename', 'provider_used', 'model_used', 'processing_error']) {
		assert.ok(m[f] === null || typeof m[f] === 'string', `${what}.${f} should be a string or null: ${JSON.stringify(m[f])}`);
	}
	assert.ok(m.file_size === null || (Number.isInteger(m.file_size) && m.file_size >= 0), `${what}.file_size ${m.file_size}`);
	assert.ok(m.duration_seconds === null || (isNum(m.duration_seconds) && m.duration_seconds >= 0), `${what}.duration_seconds`);
	const c = m.transcription_confidence;
	assert.ok(c === null || (isNum(c) && c >= 0 && c <= 1), `${what}.transcription_confidence ${c}`);
	for (const f of ['processing_started_at', 'processing_completed_at']) if (m[f] !== null) assertRfc3339(m[f], `${what}.${f}`);
	assert.ok(Array.isArray(m.processing_steps), `${what}.processing_steps should be an array: ${JSON.stringify(m.processing_steps)}`);
	assertRfc3339(m.created_at, `${what}.created_at`);
	assertRfc3339(m.updated_at, `${what}.updated_at`);
	return m;
}

/** A meeting without audio: every audio fact null, status pending. */
export function assertNoAudio(m, what = 'meeting') {
	assertMeeting(m, what);
	assert.equal(m.status, 'pending', `${what}.status`);
	for (const f of ['audio_format', 'audio_codec', 'original_filename', 'file_size', 'duration_seconds']) {
		assert.equal(m[f], null, `${what}.${f} should be null without audio: ${JSON.stringify(m)}`);
	}
}

/** A processing step records a failed attempt (ok: false, or an error). */
export function stepFailed(step) {
	if (!step || typeof step !== 'object') return false;
	if (step.ok === false || step.success === false) return true;
	if (typeof step.error === 'string' && step.error.length > 0) return true;
	const outcome = [step.status, step.result, step.outcome, step.state].filter((v) => typeof v === 'string').join(' ');
	return /fail|error|retry|timeout|unavailable|refused/i.test(outcome);
}

/** The steps (objects) that mention an engine by name anywhere in their values. */
export function stepsMentioning(steps, name) {
	return (steps || []).filter((s) => JSON.stringify(s).toLowerCase().includes(String(name).toLowerCase()));
}

// ---------------------------------------------------------------- raw: headers only

/**
 * Send a request head (with whatever Content-Length the caller puts in
 * `headers`) and then only `body` (a few bytes, or nothing), and wait up to
 * `timeout` ms for an answer without sending more. For limits that must be
 * enforced from the headers alone. Resolves like request(), plus `ms` (time to
 * the answer's head).
 */
export function rawHeadersOnly({ method = 'POST', path = '/', headers = {}, body = null, timeout = 10000, base = BASE } = {}) {
	const url = new URL(base);
	let head = `${method} ${path} HTTP/1.1\r\nHost: ${url.host}\r\nConnection: close\r\n`;
	for (const [k, v] of Object.entries(headers)) head += `${k}: ${v}\r\n`;
	head += '\r\n';
	return new Promise((resolve, reject) => {
		const t0 = Date.now();
		const sock = net.connect({ host: url.hostname, port: Number(url.port || 80) });
		const received = [];
		let finished = false;
		let headAt = null;
		const finish = (err) => {
			if (finished) return;
			finished = true;
			clearTimeout(timer);
			sock.destroy();
			let st = null;
			try {
				st = responseState(Buffer.concat(received));
			} catch (e) {
				return reject(e);
			}
			if (!st) return reject(err || new Error(`no HTTP response to ${method} ${path} within ${timeout} ms`));
			const r = wrapResponse(st.status, st.headers, st.body.toString('utf8'), path);
			r.ms = (headAt || Date.now()) - t0;
			resolve(r);
		};
		const timer = setTimeout(() => finish(new Error(`no answer to ${method} ${path} within ${timeout} ms (is the server waiting for the body?)`)), timeout);
		sock.on('data', (d) => {
			received.push(d);
			let st = null;
			try {
				st = responseState(Buffer.concat(received));
			} catch {
				/* finish() reports it */
			}
			if (st && headAt === null) headAt = Date.now();
			if (st && st.done) finish();
		});
		sock.on('end', () => finish());
		sock.on('close', () => finish());
		sock.on('error', (e) => finish(e));
		sock.on('connect', () => {
			sock.write(head);
			if (body !== null && body !== undefined) sock.write(body);
		});
	});
}

// ---------------------------------------------------------------- Server-Sent Events

/**
 * GET an event stream with fetch and parse it incrementally. Options:
 *   token / headers   authentication
 *   stopWhen(ev)      stop reading once it returns true for an event
 *   endWaitMs         after stopWhen, how long to wait for the server to end
 *                     the stream (default 5000)
 *   timeout           overall limit in ms (default COMPLETE_TIMEOUT_MS)
 * Resolves to { status, headers, text (for non-200), events: [{event, data,
 * id, json}], ended (the server closed the stream), stopped (stopWhen hit) }.
 */
export async function readEvents(path, { token, headers = {}, stopWhen, endWaitMs = 5000, timeout = COMPLETE_TIMEOUT_MS, base = BASE } = {}) {
	const h = new Headers({ accept: 'text/event-stream', ...headers });
	if (token) h.set('authorization', `Bearer ${token}`);
	const ctl = new AbortController();
	const timer = setTimeout(() => ctl.abort(), timeout);
	const url = /^https?:/.test(path) ? path : base + path;
	let res;
	try {
		res = await fetch(url, { headers: h, signal: ctl.signal });
	} catch (e) {
		clearTimeout(timer);
		throw e;
	}
	const out = { status: res.status, headers: res.headers, text: '', events: [], ended: false, stopped: false };
	if (res.status !== 200 || !/^text\/event-stream/i.test(res.headers.get('content-type') || '')) {
		out.text = await res.text();
		clearTimeout(timer);
		out.body = null;
		if (/json/i.test(res.headers.get('content-type') || '') && out.text) {
			try {
				out.body = JSON.parse(out.text);
			} catch {
				/* leave null */
			}
		}
		return out;
	}
	const reader = res.body.getReader();
	const dec = new TextDecoder();
	let buf = '';
	let cur = { event: 'message', data: [], id: null };
	let endTimer = null;
	const dispatch = (lines) => {
		for (const raw of lines) {
			const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
			if (line === '') {
				if (cur.data.length > 0) {
					const data = cur.data.join('\n');
					let json = null;
					try {
						json = JSON.parse(data);
					} catch {
						/* not JSON */
					}
					const ev = { event: cur.event, data, id: cur.id, json };
					out.events.push(ev);
					if (!out.stopped && stopWhen && stopWhen(ev)) {
						out.stopped = true;
						endTimer = setTimeout(() => ctl.abort(), endWaitMs);
					}
				}
				cur = { event: 'message', data: [], id: null };
				continue;
			}
			if (line.startsWith(':')) continue;
			const i = line.indexOf(':');
			const field = i < 0 ? line : line.slice(0, i);
			let value = i < 0 ? '' : line.slice(i + 1);
			if (value.startsWith(' ')) value = value.slice(1);
			if (field === 'event') cur.event = value;
			else if (field === 'data') cur.data.push(value);
			else if (field === 'id') cur.id = value;
		}
	};
	try {
		for (;;) {
			const { value, done } = await reader.read();
			if (done) {
				out.ended = true;
				break;
			}
			buf += dec.decode(value, { stream: true });
			const parts = buf.split('\n');
			buf = parts.pop();
			dispatch(parts);
		}
	} catch (e) {
		if (!ctl.signal.aborted) throw e;
	} finally {
		clearTimeout(timer);
		if (endTimer) clearTimeout(endTimer);
		try {
			ctl.abort();
		} catch {
			/* already */
		}
	}
	return out;
}

// ---------------------------------------------------------------- own iamd processes

const spawned = new Set();
process.on('exit', () => {
	for (const p of spawned) {
		try {
			p.kill('SIGKILL');
		} catch {
			/* gone */
		}
	}
});

/** A TCP port that was free a moment ago. */
export function freePort() {
	return new Promise((resolve, reject) => {
		const s = net.createServer();
		s.once('error', reject);
		s.listen(0, '127.0.0.1', () => {
			const { port } = s.address();
			s.close(() => resolve(port));
		});
	});
}

/** The environment without any IAM_* of the caller's, plus `extra`. */
export function iamEnv(extra) {
	const env = {};
	for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('IAM_')) env[k] = v;
	return { ...env, ...extra };
}

/**
 * Start `IAM_BIN serve` on dataDir (SQLite there unless env says otherwise)
 * with a fresh port and `env` on top, and wait for /readyz. Returns
 * { proc, base, port, dataDir, stderr(), kill(signal), stop() }.
 */
export async function startIamd(dataDir, env = {}, { port, readyMs = 30000 } = {}) {
	const bin = process.env.IAM_BIN;
	assert.ok(bin, 'IAM_BIN is not set (run through scripts/run-api-tests)');
	const { spawn } = await import('node:child_process');
	const p = port || (await freePort());
	const full = iamEnv({
		IAM_LISTEN: `127.0.0.1:${p}`,
		IAM_DATA_DIR: dataDir,
		IAM_LOG_LEVEL: 'warn',
		IAM_HTTP_THREADS: '4',
		...env,
	});
	const proc = spawn(bin, ['serve'], { env: full, stdio: ['ignore', 'ignore', 'pipe'] });
	spawned.add(proc);
	let stderr = '';
	proc.stderr.setEncoding('utf8').on('data', (d) => {
		stderr += d;
		if (stderr.length > 200000) stderr = stderr.slice(-100000);
	});
	const exited = new Promise((resolve) => proc.once('exit', (code, signal) => {
		spawned.delete(proc);
		resolve({ code, signal });
	}));
	const base = `http://127.0.0.1:${p}`;
	const s = {
		proc,
		base,
		port: p,
		dataDir,
		exited,
		stderr: () => stderr,
		kill: async (signal = 'SIGKILL') => {
			if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
			return exited;
		},
		stop: async (ms = 15000) => {
			if (proc.exitCode !== null || proc.signalCode !== null) return exited;
			proc.kill('SIGTERM');
			const r = await Promise.race([exited, sleep(ms).then(() => null)]);
			if (r === null) {
				proc.kill('SIGKILL');
				return exited;
			}
			return r;
		},
	};
	const deadline = Date.now() + readyMs;
	for (;;) {
		if (proc.exitCode !== null || proc.signalCode !== null) {
			assert.fail(`iamd serve exited during start-up (${proc.exitCode ?? proc.signalCode}): ${stderr.slice(-3000)}`);
		}
		try {
			const r = await fetch(`${base}/readyz`, { signal: AbortSignal.timeout(1000) });
			await r.text();
			if (r.status === 200) return s;
		} catch {
			/* not up yet */
		}
		if (Date.now() > deadline) {
			proc.kill('SIGKILL');
			assert.fail(`iamd serve not ready within ${readyMs} ms: ${stderr.slice(-3000)}`);
		}
		await sleep(100);
	}
}

/** A random JWT secret for a server the test starts. */
export function randomSecret() {
	return crypto.randomBytes(24).toString('hex');
}

/*
 * For a test's own iamd on the PostgreSQL run: a database of its own (on
 * SQLite: nothing, the server keeps its file in its data dir). Workers of
 * every process sharing a database take its jobs, so a server with settings
 * the suite's shared server lacks (SMTP, Redis) must not share one.
 * Returns the environment to add ({} on SQLite); dropPrivateDatabases()
 * removes them.
 */
const privateDbs = [];
export function privateDatabaseEnv(tag = 'own') {
	const url = process.env.IAM_TEST_DATABASE_URL;
	if (ENGINE !== 'postgres' || !url) return {};
	const name = `iam_${tag}_${process.pid}_${privateDbs.length}_${crypto.randomBytes(3).toString('hex')}`;
	const r = spawnSync('psql', [url, '-v', 'ON_ERROR_STOP=1', '-qc', `CREATE DATABASE ${name}`], { encoding: 'utf8' });
	assert.equal(r.status, 0, `create database ${name}: ${r.stderr}`);
	privateDbs.push(name);
	const u = new URL(url);
	u.pathname = `/${name}`;
	return { IAM_DATABASE_URL: u.href };
}
export function dropPrivateDatabases() {
	for (const name of privateDbs.splice(0)) spawnSync('psql', [process.env.IAM_TEST_DATABASE_URL, '-qc', `DROP DATABASE IF EXISTS ${name}`]);
}
