// Shared helpers for the black-box API tests (node:test, run by
// scripts/run-api-tests). Nothing here knows the server's internals: it talks
// HTTP to IAM_BASE_URL and, where a test must forge tokens, signs them with
// IAM_TEST_JWT_SECRET the way DESIGN.md and src/auth/jwt.h describe.

import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import net from 'node:net';

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
