// General HTTP behaviour: request ids, security headers, problem+json,
// routing (404/405), body limits and parsing, header limits, CORS.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
	ALLOWED_ORIGIN,
	SANE_REQUEST_ID_RE,
	assertJson,
	assertNoStore,
	assertProblem,
	assertSecurityHeaders,
	assertValidation,
	get,
	post,
	put,
	del,
	rawRequest,
	register,
	request,
	show,
	uniqueEmail,
	createMeeting,
	requestBytes,
	uploadOk,
	MEETINGS,
} from './helpers.mjs';
import { silence } from './audio.mjs';

const T = { timeout: 30000 };
const LOGIN = '/api/v1/auth/login';
const REGISTER = '/api/v1/auth/register';

function allowSet(res) {
	const allow = res.headers.get('allow');
	assert.ok(allow, `Allow header expected: ${show(res)}`);
	return new Set(allow.split(',').map((m) => m.trim().toUpperCase()).filter(Boolean));
}

describe('X-Request-Id', T, () => {
	test('a generated id on success and on error, different per request', async () => {
		const a = await get('/healthz');
		const b = await get('/healthz');
		const c = await get('/api/v1/no/such/path');
		const ids = [a, b, c].map((r) => r.headers.get('x-request-id'));
		for (const id of ids) {
			assert.ok(id, 'X-Request-Id missing');
			assert.match(id, SANE_REQUEST_ID_RE, 'a generated request id should itself be sane');
		}
		assert.equal(new Set(ids).size, 3, `request ids must differ: ${ids}`);
		assert.equal(c.body.request_id, ids[2]);
	});

	test('a sane incoming id is echoed, on success and in problem bodies', async () => {
		const id = 'client-Req_1.abc';
		const ok = await get('/healthz', { headers: { 'x-request-id': id } });
		assert.equal(ok.status, 200);
		assert.equal(ok.headers.get('x-request-id'), id);

		const id2 = 'trace.' + Date.now();
		const nf = await get('/api/v1/definitely-not-here', { headers: { 'x-request-id': id2 } });
		const p = assertProblem(nf, 404, 'not_found');
		assert.equal(p.request_id, id2);
		assert.equal(nf.headers.get('x-request-id'), id2);
	});

	test('exactly 64 characters is echoed', async () => {
		const id = 'a'.repeat(60) + '-9_.';
		assert.equal(id.length, 64);
		const res = await get('/healthz', { headers: { 'x-request-id': id } });
		assert.equal(res.headers.get('x-request-id'), id);
	});

	test('an insane id (too long, bad characters) is replaced by a generated one', async () => {
		for (const bad of ['a'.repeat(65), 'has space', 'semi;colon', 'quote"s', '<script>', 'a/b', 'bang!']) {
			const res = await get('/healthz', { headers: { 'x-request-id': bad } });
			assert.equal(res.status, 200);
			const rid = res.headers.get('x-request-id');
			assert.ok(rid, 'X-Request-Id missing');
			assert.notEqual(rid, bad, `insane request id ${JSON.stringify(bad)} must not be echoed`);
			assert.match(rid, SANE_REQUEST_ID_RE);
		}
		// And in a problem body the generated one is used.
		const res = await get('/api/v1/nope-nope', { headers: { 'x-request-id': 'x'.repeat(200) } });
		const p = assertProblem(res, 404, 'not_found');
		assert.notEqual(p.request_id, 'x'.repeat(200));
	});
});

describe('security headers and caching', T, () => {
	test('on JSON, text and problem responses alike', async () => {
		assertSecurityHeaders(await get('/healthz'));
		assertSecurityHeaders(await get('/readyz'));
		assertSecurityHeaders(await get('/metrics'));
		assertSecurityHeaders(await get('/nothing-here'));
		assertSecurityHeaders(await post('/healthz', { json: {} }));
		assertSecurityHeaders(await get('/api/v1/users/me'));
	});

	test('API JSON responses, success and error, have Cache-Control: no-store', async () => {
		const acct = await register({ tag: 'cache' });
		assertNoStore(acct.res);
		const me = await get('/api/v1/users/me', { token: acct.access });
		assertJson(me, 200);
		assertNoStore(me);
		const unauth = await get('/api/v1/users/me');
		assertProblem(unauth, 401);
		assertNoStore(unauth);
		const bad = await post(LOGIN, { json: { email: acct.email } });
		assertProblem(bad, 400, 'validation_failed');
		assertNoStore(bad);
	});
});

describe('routing', T, () => {
	test('unknown paths are 404 not_found problems', async () => {
		// Paths outside /api and /v1 belong to the web app (client routes); see the web-app test below.
		for (const path of ['/api/v1/nope', '/api/v1/users/me/extra', '/api/v1/auth', '/api/v9/users/me', '/v1/nope', '/assets/no-such-file.js']) {
			const res = await get(path);
			const p = assertProblem(res, 404, 'not_found');
			assert.ok(p.detail.length > 0);
		}
		assertProblem(await post('/api/v1/nothing', { json: {} }), 404, 'not_found');
		assertProblem(await del('/api/v1/whatever/123'), 404, 'not_found');
	});

	test('known path, wrong method: 405 with Allow', async () => {
		let res = await del('/api/v1/users/me');
		assertProblem(res, 405, 'method_not_allowed');
		let allow = allowSet(res);
		assert.ok(allow.has('GET') && allow.has('PUT'), `Allow for /users/me: ${res.headers.get('allow')}`);
		assert.ok(!allow.has('DELETE') && !allow.has('POST'), `Allow for /users/me: ${res.headers.get('allow')}`);

		res = await post('/api/v1/users/me', { json: {} });
		assertProblem(res, 405, 'method_not_allowed');

		res = await get(LOGIN);
		assertProblem(res, 405, 'method_not_allowed');
		allow = allowSet(res);
		assert.ok(allow.has('POST') && !allow.has('GET'), `Allow for login: ${res.headers.get('allow')}`);

		res = await post('/healthz', { json: {} });
		assertProblem(res, 405, 'method_not_allowed');
		allow = allowSet(res);
		assert.ok(allow.has('GET') && !allow.has('POST'), `Allow for /healthz: ${res.headers.get('allow')}`);

		res = await put('/api/v1/api-keys', { json: {} });
		assertProblem(res, 405, 'method_not_allowed');
		allow = allowSet(res);
		assert.ok(allow.has('GET') && allow.has('POST') && !allow.has('PUT'), `Allow for /api-keys: ${res.headers.get('allow')}`);

		res = await request('PATCH', '/api/v1/api-keys/0190d3f4-7a6b-7c8d-9e0f-123456789abc', { json: {} });
		assertProblem(res, 405, 'method_not_allowed');
		allow = allowSet(res);
		assert.ok(allow.has('DELETE') && !allow.has('PATCH'), `Allow for /api-keys/{id}: ${res.headers.get('allow')}`);
	});
});

describe('request bodies', T, () => {
	const twoMiB = () => {
		const filler = 'a'.repeat(2 * 1024 * 1024);
		return JSON.stringify({ email: uniqueEmail('big'), password: 'x'.repeat(12), first_name: filler });
	};

	test('2 MiB JSON with Content-Length -> 413 payload_too_large', async () => {
		const res = await rawRequest({
			method: 'POST',
			path: REGISTER,
			headers: { 'Content-Type': 'application/json' },
			body: twoMiB(),
		});
		assertProblem(res, 413, 'payload_too_large');
	});

	test('2 MiB JSON sent chunked -> 413 payload_too_large', async () => {
		const res = await rawRequest({
			method: 'POST',
			path: REGISTER,
			headers: { 'Content-Type': 'application/json' },
			body: twoMiB(),
			chunked: true,
			chunkSize: 16 * 1024,
		});
		assertProblem(res, 413, 'payload_too_large');
	});

	test('a body just under 1 MiB is read and validated, not refused', async () => {
		const email = uniqueEmail('almost');
		const body = JSON.stringify({ email, password: 'p'.repeat(1000 * 1000) });
		assert.ok(body.length < 1024 * 1024);
		const res = await post(REGISTER, { body, headers: { 'content-type': 'application/json' } });
		assertValidation(res, ['password']);
		// and the server is still fine afterwards
		assertJson(await get('/healthz'), 200);
	});

	test('a body with a non-JSON content type -> 415 unsupported_media_type', async () => {
		const body = JSON.stringify({ email: uniqueEmail('ct'), password: 'whatever-123' });
		for (const ct of ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/xml', 'application/jsonx']) {
			const res = await post(LOGIN, { body, headers: { 'content-type': ct } });
			assertProblem(res, 415, 'unsupported_media_type');
		}
	});

	test('application/json; charset=utf-8 is accepted', async () => {
		const body = JSON.stringify({ email: uniqueEmail('charset'), password: 'whatever-123' });
		const res = await post(LOGIN, { body, headers: { 'content-type': 'application/json; charset=utf-8' } });
		// an unknown account: the body was parsed and the credentials judged
		assertProblem(res, 401, 'invalid_credentials');
	});

	test('malformed JSON -> 400 malformed_json', async () => {
		for (const body of ['{"email":', '{email: "a@b.c"}', '{"a":1}}', "{'a':1}", '{"a":1,}', 'nul']) {
			const res = await post(LOGIN, { body, headers: { 'content-type': 'application/json' } });
			assertProblem(res, 400, 'malformed_json');
		}
	});

	test('JSON that is not an object -> 400 invalid_body', async () => {
		for (const body of ['[]', '[{"email":"a@b.co","password":"0123456789"}]', '"a string"', '42', 'true']) {
			const res = await post(LOGIN, { body, headers: { 'content-type': 'application/json' } });
			assertProblem(res, 400, 'invalid_body');
		}
	});

	test('every field problem is listed at once', async () => {
		const res = await post(REGISTER, {
			json: { email: 12, password: true, first_name: ['x'], nickname: 'unknown field' },
		});
		const p = assertValidation(res, ['email', 'password', 'first_name', 'nickname']);
		assert.ok(p.errors.length >= 4);

		const missing = await post(REGISTER, { json: {} });
		assertValidation(missing, ['email', 'password']);
	});

	test('a header line over 8 KB -> 431 header_too_large', async () => {
		const res = await rawRequest({ method: 'GET', path: '/healthz', headers: { 'X-Junk': 'a'.repeat(9000) } });
		assertProblem(res, 431, 'header_too_large');
		// the server survives it
		assertJson(await get('/healthz'), 200);
	});

	test('raw requests parse like fetch ones (sanity check of the raw client)', async () => {
		const res = await rawRequest({ method: 'GET', path: '/healthz', headers: { 'X-Request-Id': 'raw-check-1' } });
		assert.equal(res.status, 200);
		assert.equal(res.body.status, 'ok');
		assert.equal(res.headers.get('x-request-id'), 'raw-check-1');
	});
});

describe('CORS', T, () => {
	test('an allowed origin is reflected with Vary: Origin', async () => {
		for (const res of [
			await get('/healthz', { headers: { origin: ALLOWED_ORIGIN } }),
			await get('/api/v1/users/me', { headers: { origin: ALLOWED_ORIGIN } }),
		]) {
			assert.equal(res.headers.get('access-control-allow-origin'), ALLOWED_ORIGIN, show(res));
			const vary = (res.headers.get('vary') || '').split(',').map((v) => v.trim().toLowerCase());
			assert.ok(vary.includes('origin'), `Vary should include Origin, got ${res.headers.get('vary')}`);
		}
	});

	test('a preflight from an allowed origin -> 204 with methods and headers', async () => {
		const res = await request('OPTIONS', LOGIN, {
			headers: {
				origin: ALLOWED_ORIGIN,
				'access-control-request-method': 'POST',
				'access-control-request-headers': 'authorization, content-type',
			},
		});
		assert.equal(res.status, 204, show(res));
		assert.equal(res.text, '');
		assert.equal(res.headers.get('access-control-allow-origin'), ALLOWED_ORIGIN);
		const methods = (res.headers.get('access-control-allow-methods') || '').split(',').map((m) => m.trim().toUpperCase());
		assert.ok(methods.includes('POST'), `Allow-Methods: ${res.headers.get('access-control-allow-methods')}`);
		const hdrs = (res.headers.get('access-control-allow-headers') || '').split(',').map((m) => m.trim().toLowerCase());
		assert.ok(hdrs.includes('authorization'), `Allow-Headers: ${res.headers.get('access-control-allow-headers')}`);
		assert.ok(hdrs.includes('content-type'), `Allow-Headers: ${res.headers.get('access-control-allow-headers')}`);
		assertSecurityHeaders(res);
	});

	test('a preflight for an authenticated route works the same', async () => {
		const res = await request('OPTIONS', '/api/v1/users/me', {
			headers: { origin: ALLOWED_ORIGIN, 'access-control-request-method': 'PUT', 'access-control-request-headers': 'Authorization' },
		});
		assert.equal(res.status, 204, show(res));
		assert.equal(res.headers.get('access-control-allow-origin'), ALLOWED_ORIGIN);
	});

	test('an origin not in the list gets no Access-Control-Allow-Origin', async () => {
		for (const origin of ['http://evil.example', 'http://allowed.example.evil.com', 'https://allowed.example', 'null']) {
			const res = await get('/healthz', { headers: { origin } });
			assert.equal(res.status, 200);
			assert.equal(res.headers.get('access-control-allow-origin'), null, `origin ${origin}`);
			const pre = await request('OPTIONS', LOGIN, {
				headers: { origin, 'access-control-request-method': 'POST' },
			});
			assert.equal(pre.headers.get('access-control-allow-origin'), null, `preflight from ${origin}`);
			assert.equal(pre.headers.get('access-control-allow-credentials'), null);
		}
	});

	test('no Origin, no CORS headers', async () => {
		const res = await get('/healthz');
		assert.equal(res.headers.get('access-control-allow-origin'), null);
	});
});

describe('web app', T, () => {
	test('client routes get index.html, hashed assets are cached for a year, API paths never fall through', async (t) => {
		const res = await get('/meetings/a-client-route');
		if (res.status === 404) return t.skip('web/dist is not built in this checkout');
		assert.equal(res.status, 200, show(res));
		assert.match(res.headers.get('content-type'), /^text\/html/);
		assert.equal(res.headers.get('cache-control'), 'no-cache');
		assert.match(res.headers.get('content-security-policy'), /default-src 'self'/);
		assert.match(res.headers.get('content-security-policy'), /frame-ancestors 'none'/);
		const script = String(res.text).match(/\/assets\/[^"']+\.js/);
		assert.ok(script, 'index.html loads a content-hashed script');
		const asset = await get(script[0]);
		assert.equal(asset.status, 200);
		assert.match(asset.headers.get('content-type'), /javascript/);
		assert.equal(asset.headers.get('cache-control'), 'public, max-age=31536000, immutable');
		// The root is the app too; a missing asset and anything under /api are not.
		assert.equal((await get('/')).status, 200);
		assertProblem(await get('/assets/missing-0000.js'), 404, 'not_found');
		assertProblem(await get('/api/v1/meetings-of-nowhere'), 404, 'not_found');
		// Traversal never escapes the app directory.
		for (const path of ['/../../etc/passwd', '/assets/../../../etc/passwd', '/%2e%2e/%2e%2e/etc/passwd']) {
			const raw = await rawRequest({ path });
			assert.ok(!/root:x?:0:/.test(raw.text), `${path} must not serve a file outside web/dist`);
		}
	});
});

describe('caching of private media', T, () => {
	test('authenticated audio is Cache-Control: private, no-store (gone from the browser cache at logout)', async () => {
		const a = await register({ tag: 'cache' });
		const m = await createMeeting(a.access, { title: 'cached?' });
		await uploadOk(a.access, m.id, silence(1, 'wav'), { transcribe: false });
		const res = await requestBytes('GET', `${MEETINGS}/${m.id}/audio`, { token: a.access });
		assert.equal(res.status, 200, show(res));
		const cc = (res.headers.get('cache-control') || '').split(',').map((x) => x.trim().toLowerCase());
		assert.ok(cc.includes('no-store'), `Cache-Control: ${res.headers.get('cache-control')}`);
		assert.ok(cc.includes('private'), `Cache-Control: ${res.headers.get('cache-control')}`);
		assert.ok(!cc.some((x) => x.startsWith('max-age=') && x !== 'max-age=0'), `Cache-Control: ${res.headers.get('cache-control')}`);
	});
});
