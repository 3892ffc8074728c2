// Register, login (with throttling), access tokens, refresh rotation and
// reuse detection, logout.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
	PASSWORD,
	SECRET,
	UUID_RE,
	assertJson,
	assertNoSecrets,
	assertNoStore,
	assertProblem,
	assertRfc3339,
	assertSecurityHeaders,
	assertValidation,
	decodeJwt,
	forgeAccess,
	get,
	jwtSignatureValid,
	kidFor,
	login,
	me,
	post,
	register,
	show,
	signJwt,
	uniqueEmail,
} from './helpers.mjs';

const T = { timeout: 60000 };
const REGISTER = '/api/v1/auth/register';
const LOGIN = '/api/v1/auth/login';
const REFRESH = '/api/v1/auth/refresh';
const LOGOUT = '/api/v1/auth/logout';

function assertUser(u, expect = {}) {
	assert.ok(u && typeof u === 'object', 'user object expected');
	assert.match(u.id, UUID_RE, 'user.id is a UUID');
	assert.equal(typeof u.email, 'string');
	for (const k of ['first_name', 'last_name', 'company_name']) {
		assert.ok(k in u, `user.${k} missing`);
		assert.ok(u[k] === null || typeof u[k] === 'string', `user.${k} must be null or a string`);
	}
	assertRfc3339(u.created_at, 'user.created_at');
	assertRfc3339(u.updated_at, 'user.updated_at');
	assertNoSecrets(u, 'user');
	for (const [k, v] of Object.entries(expect)) assert.equal(u[k], v, `user.${k}`);
}

/** Omitted optional names may come back as null or "" (see report). */
function assertBlank(v, what) {
	assert.ok(v === null || v === '', `${what} should be empty (null or ""), got ${JSON.stringify(v)}`);
}

function assertAccessToken(token, { user, organization }) {
	assert.equal(typeof token, 'string');
	const { header, payload } = decodeJwt(token);
	assert.equal(header.alg, 'HS256');
	assert.equal(header.typ, 'JWT');
	assert.equal(header.kid, kidFor(SECRET), 'kid = first 16 hex chars of sha256(secret)');
	assert.ok(jwtSignatureValid(token), 'access token must be HS256-signed with IAM_JWT_SECRET');
	assert.equal(payload.sub, user.id);
	assert.equal(payload.email, user.email);
	assert.equal(payload.org, organization.id);
	assert.equal(typeof payload.sid, 'string');
	assert.ok(payload.sid.length > 0);
	assert.equal(payload.type, 'access');
	assert.ok(Number.isInteger(payload.iat) && Number.isInteger(payload.exp));
	assert.equal(payload.exp - payload.iat, 900);
	const now = Math.floor(Date.now() / 1000);
	assert.ok(Math.abs(payload.iat - now) <= 60, `iat ${payload.iat} is not now (${now})`);
	return payload;
}

function assertTokenReply(body, { user, organization }) {
	assert.equal(body.token_type, 'Bearer');
	assert.equal(body.expires_in, 900);
	assert.equal(typeof body.refresh_token, 'string');
	assert.ok(body.refresh_token.length >= 20, 'refresh token too short to be secret');
	assert.notEqual(body.refresh_token, body.access_token);
	assertUser(body.user, { id: user.id, email: user.email });
	return assertAccessToken(body.access_token, { user, organization });
}

async function failLogin(email, password = 'wrong-password-123') {
	return post(LOGIN, { json: { email, password } });
}

describe('register', T, () => {
	test('201 with user, personal organization and tokens; email normalised', async () => {
		const local = `Mixed.Case.${Date.now()}.${Math.random().toString(36).slice(2, 8)}`;
		const sent = `  ${local}@Example.COM  `;
		const t0 = Date.now();
		const res = await post(REGISTER, {
			json: { email: sent, password: PASSWORD, first_name: 'Ada', last_name: 'Lovelace', company_name: 'Analytical Engines Ltd' },
		});
		const b = assertJson(res, 201);
		assertNoStore(res);
		assertUser(b.user, {
			email: `${local}@example.com`.toLowerCase(),
			first_name: 'Ada',
			last_name: 'Lovelace',
			company_name: 'Analytical Engines Ltd',
		});
		for (const k of ['created_at', 'updated_at']) {
			const t = Date.parse(b.user[k]);
			assert.ok(Math.abs(t - t0) < 60000, `${k} ${b.user[k]} is not now`);
		}
		assert.match(b.organization.id, UUID_RE);
		assert.equal(typeof b.organization.name, 'string');
		assert.ok(b.organization.name.length > 0, 'organization.name is empty');
		assert.equal(b.organization.role, 'owner');
		assertTokenReply(b, b);
		assertNoSecrets(b.organization, 'organization');

		// the token is good for the API
		const m = await me(b.access_token);
		assert.equal(assertJson(m, 200).id, b.user.id);
	});

	test('optional fields may be omitted or null', async () => {
		const a = await register({ tag: 'noopt' });
		for (const k of ['first_name', 'last_name', 'company_name']) assertBlank(a.user[k], k);
		const b = await register({ tag: 'nullopt', first_name: null, last_name: null, company_name: null });
		for (const k of ['first_name', 'last_name', 'company_name']) assertBlank(b.user[k], k);
		assert.notEqual(a.user.id, b.user.id);
		assert.notEqual(a.organization.id, b.organization.id, 'each user gets a personal organization');
	});

	test('optional fields up to 100 characters; longer or non-strings are refused', async () => {
		const ok = await register({ tag: 'len100', first_name: 'f'.repeat(100), last_name: 'l'.repeat(100), company_name: 'c'.repeat(100) });
		assert.equal(ok.user.first_name, 'f'.repeat(100));
		assert.equal(ok.user.company_name, 'c'.repeat(100));

		const res = await post(REGISTER, {
			json: { email: uniqueEmail('len101'), password: PASSWORD, first_name: 'f'.repeat(101), last_name: 7, company_name: { a: 1 } },
		});
		assertValidation(res, ['first_name', 'last_name', 'company_name']);
	});

	test('duplicate email in any case or with spaces -> 409 email_taken', async () => {
		const a = await register({ tag: 'dup' });
		for (const email of [a.email, a.email.toUpperCase(), `  ${a.email}\t`, a.email.replace(/^./, (c) => c.toUpperCase())]) {
			const res = await post(REGISTER, { json: { email, password: 'another-password-1' } });
			assertProblem(res, 409, 'email_taken');
		}
		// the original account is untouched
		await login(a.email, a.password);
	});

	test('invalid emails -> 400 validation_failed on email', async () => {
		const longLocal = 'a'.repeat(64);
		const tooLong = `${longLocal}.${'b'.repeat(60)}.${'c'.repeat(60)}@${'d'.repeat(60)}.example.com`;
		assert.ok(tooLong.length > 254);
		for (const email of ['no-at-sign.example.com', 'two words@example.com', 'user@localhost', '@example.com', 'user@', '', 'a@b@example.com', tooLong]) {
			const res = await post(REGISTER, { json: { email, password: PASSWORD } });
			assertValidation(res, ['email']);
		}
	});

	test('weak or oversized passwords -> 400 validation_failed on password', async () => {
		const email = uniqueEmail('pw');
		const cases = [
			'short',
			'123456789', // 9 characters
			email.toUpperCase(), // same as the email, other case
			'a'.repeat(1025), // over 1024 bytes
			'é'.repeat(513), // 513 characters but 1026 bytes
		];
		for (const password of cases) {
			const res = await post(REGISTER, { json: { email, password } });
			assertValidation(res, ['password']);
		}
		const p = assertValidation(await post(REGISTER, { json: { email, password: email } }), ['password']);
		assert.ok(!p.errors.some((e) => e.field === 'email'), 'the email itself was fine');
	});

	test('boundaries: 10 characters and 1024 bytes are accepted', async () => {
		const a = await register({ tag: 'pw10', password: 'abcdefghij' });
		await login(a.email, 'abcdefghij');
		const long = 'Z'.repeat(1024);
		const b = await register({ tag: 'pw1024', password: long });
		await login(b.email, long);
	});

	test('a failed register writes nothing', async () => {
		const email = uniqueEmail('nothing');
		const res = await post(REGISTER, { json: { email, password: PASSWORD, first_name: 'x'.repeat(101) } });
		assertValidation(res, ['first_name']);
		assertProblem(await failLogin(email, PASSWORD), 401, 'invalid_credentials');
		// and the address is still free
		const ok = await register({ email, password: PASSWORD });
		assert.equal(ok.email, email);
	});

	test('unknown fields and wrong types are refused', async () => {
		const res = await post(REGISTER, { json: { email: uniqueEmail('unk'), password: PASSWORD, role: 'admin' } });
		const p = assertValidation(res, ['role']);
		assert.ok(!p.errors.some((e) => e.field === 'email' || e.field === 'password'));
		assertValidation(await post(REGISTER, { json: { email: null, password: null } }), ['email', 'password']);
	});
});

describe('login', T, () => {
	test('200 with tokens and user; email matched case-insensitively', async () => {
		const a = await register({ tag: 'login', first_name: 'Grace' });
		for (const email of [a.email, a.email.toUpperCase()]) {
			const res = await post(LOGIN, { json: { email, password: a.password } });
			const b = assertJson(res, 200);
			assertNoStore(res);
			const payload = assertTokenReply(b, a);
			assert.equal(b.user.first_name, 'Grace');
			assert.notEqual(payload.sid, decodeJwt(a.access).payload.sid, 'a login is a new session');
			assert.notEqual(b.refresh_token, a.refresh);
			assertJson(await me(b.access_token), 200);
		}
	});

	test('wrong password and unknown email are indistinguishable 401s', async () => {
		const a = await register({ tag: 'wrongpw' });
		const wrong = assertProblem(await failLogin(a.email), 401, 'invalid_credentials');
		const unknown = assertProblem(await failLogin(uniqueEmail('ghost')), 401, 'invalid_credentials');
		assert.equal(wrong.title, unknown.title);
		assert.equal(wrong.detail, unknown.detail);
		assert.equal(wrong.type, unknown.type);
	});

	test('missing or bad fields -> 400 validation_failed', async () => {
		assertValidation(await post(LOGIN, { json: { email: uniqueEmail('nopw') } }), ['password']);
		assertValidation(await post(LOGIN, { json: { password: PASSWORD } }), ['email']);
		assertValidation(await post(LOGIN, { json: { email: 1, password: PASSWORD, remember: true } }), ['email', 'remember']);
	});

	test('after 5 consecutive failures -> 429 too_many_attempts with Retry-After; others unaffected', async () => {
		const victim = await register({ tag: 'throttle' });
		const bystander = await register({ tag: 'bystander' });
		for (let i = 1; i <= 5; i++) {
			assertProblem(await failLogin(victim.email), 401, 'invalid_credentials');
		}
		for (const password of [victim.password, 'wrong-password-123']) {
			const res = await post(LOGIN, { json: { email: victim.email.toUpperCase(), password } });
			assertProblem(res, 429, 'too_many_attempts');
			const ra = res.headers.get('retry-after');
			assert.match(String(ra), /^\d+$/, `Retry-After must be integer seconds, got ${ra}`);
			assert.ok(Number(ra) >= 1);
		}
		// another account logs in fine, and a wrong password there is a plain 401
		await login(bystander.email, bystander.password);
		assertProblem(await failLogin(bystander.email), 401, 'invalid_credentials');
		await login(bystander.email, bystander.password);
		// the victim's existing session is not cut by the lock
		assertJson(await me(victim.access), 200);
	});

	test('only consecutive failures count: a success resets them', async () => {
		const a = await register({ tag: 'consec' });
		for (let i = 0; i < 4; i++) assertProblem(await failLogin(a.email), 401, 'invalid_credentials');
		await login(a.email, a.password);
		for (let i = 0; i < 4; i++) assertProblem(await failLogin(a.email), 401, 'invalid_credentials');
		await login(a.email, a.password);
	});
});

describe('access tokens', T, () => {
	test('a correctly forged token is accepted (the forging helpers are right)', async () => {
		const a = await register({ tag: 'forge' });
		const res = await me(forgeAccess(a.access));
		assert.equal(assertJson(res, 200).id, a.user.id);
	});

	test('alg none -> 401 invalid_token', async () => {
		const a = await register({ tag: 'none' });
		const { payload } = decodeJwt(a.access);
		for (const alg of ['none', 'None', 'NONE']) {
			const token = signJwt({ alg, typ: 'JWT', kid: kidFor() }, payload).replace(/\.[^.]*$/, '.');
			assertProblem(await me(token), 401, 'invalid_token');
		}
		// alg none but carrying the real signature
		const [, p, s] = a.access.split('.');
		const noneHeader = Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT', kid: kidFor() })).toString('base64url');
		assertProblem(await me(`${noneHeader}.${p}.${s}`), 401, 'invalid_token');
	});

	test('other algorithms, other secrets, other kids -> 401 invalid_token', async () => {
		const a = await register({ tag: 'badsig' });
		const tokens = [
			forgeAccess(a.access, { secret: 'another-secret-another-secret-another-secret!!' }),
			forgeAccess(a.access, { secret: 'another-secret-another-secret-another-secret!!', header: { kid: kidFor() } }),
			forgeAccess(a.access, { header: { alg: 'HS512' } }),
			forgeAccess(a.access, { header: { kid: '0123456789abcdef' } }),
			// payload changed after signing
			(() => {
				const [h, , s] = a.access.split('.');
				const { payload } = decodeJwt(a.access);
				const p2 = Buffer.from(JSON.stringify({ ...payload, sub: '00000000-0000-7000-8000-000000000000' })).toString('base64url');
				return `${h}.${p2}.${s}`;
			})(),
		];
		for (const token of tokens) assertProblem(await me(token), 401, 'invalid_token');
	});

	test('an expired token -> 401 invalid_token mentioning expiry', async () => {
		const a = await register({ tag: 'expired' });
		const now = Math.floor(Date.now() / 1000);
		const token = forgeAccess(a.access, { claims: { iat: now - 7200, exp: now - 3600 } });
		const p = assertProblem(await me(token), 401, 'invalid_token');
		assert.match(p.detail, /expir/i);
	});

	test('truncated, malformed and wrong-type tokens -> 401', async () => {
		const a = await register({ tag: 'trunc' });
		const parts = a.access.split('.');
		const now = Math.floor(Date.now() / 1000);
		const cases = [
			a.access.slice(0, -5),
			a.access.slice(0, Math.floor(a.access.length / 2)),
			`${parts[0]}.${parts[1]}`,
			`${parts[0]}.${parts[1]}.`,
			'not-a-jwt',
			'a.b.c',
			`${a.access}.${parts[2]}`,
			forgeAccess(a.access, { claims: { type: 'refresh' } }),
			forgeAccess(a.access, { claims: { type: undefined } }),
			forgeAccess(a.access, { claims: { exp: undefined } }),
			forgeAccess(a.access, { claims: { sid: undefined } }),
			forgeAccess(a.access, { claims: { exp: String(now + 900) } }),
			'x'.repeat(5000),
		];
		for (const token of cases) {
			const p = assertProblem(await me(token), 401);
			assert.ok(['invalid_token', 'unauthorized'].includes(p.code), `code ${p.code} for ${token.slice(0, 40)}`);
		}
	});

	test('a token for a session that does not exist -> 401', async () => {
		const a = await register({ tag: 'nosid' });
		const token = forgeAccess(a.access, { claims: { sid: '01900000-0000-7000-8000-000000000000' } });
		assertProblem(await me(token), 401);
	});

	test('the refresh token is not an access token', async () => {
		const a = await register({ tag: 'refasacc' });
		assertProblem(await me(a.refresh), 401);
	});

	test('no Authorization -> 401 unauthorized with WWW-Authenticate: Bearer', async () => {
		const res = await get('/api/v1/users/me');
		assertProblem(res, 401, 'unauthorized');
		assert.match(res.headers.get('www-authenticate') || '', /^Bearer\b/i);
		for (const auth of ['Basic dXNlcjpwYXNz', 'Bearer', 'Bearer ', 'Token abc']) {
			const r = await get('/api/v1/users/me', { headers: { authorization: auth } });
			assertProblem(r, 401);
		}
	});
});

describe('token claims and look-alike addresses (issue 8 items 14 and 16)', T, () => {
	test('a token whose nbf is in the future -> 401', async () => {
		const a = await register({ tag: 'nbf' });
		const now = Math.floor(Date.now() / 1000);
		assertJson(await me(forgeAccess(a.access, { claims: { nbf: now - 5 } })), 200);
		const p = assertProblem(await me(forgeAccess(a.access, { claims: { nbf: now + 3600 } })), 401, 'invalid_token');
		assert.match(p.detail, /not valid yet/i);
	});

	test('the org claim must be an organization the user belongs to (its session\'s)', async () => {
		const a = await register({ tag: 'orga' });
		const b = await register({ tag: 'orgb' });
		assertJson(await post('/api/v1/meetings', { token: b.access, json: { title: 'B only' } }), 201);
		// a's own session, but b's organization in the org claim
		const forged = forgeAccess(a.access, { claims: { org: b.organization.id } });
		assertProblem(await get('/api/v1/meetings', { token: forged }), 401, 'invalid_token');
		assertProblem(await me(forged), 401);
		assertJson(await get('/api/v1/meetings', { token: a.access }), 200);
	});

	test('fullwidth and case variants of an address are the same account', async () => {
		const local = `fw${Date.now().toString(36)}${process.pid}`;
		const email = `${local}@example.com`;
		const a = await register({ email });
		const toFull = (s) => [...s].map((c) => (c >= '!' && c <= '~' ? String.fromCodePoint(c.codePointAt(0) + 0xfee0) : c)).join('');
		const fullwidth = toFull(email.toUpperCase());
		const res = await post(REGISTER, { json: { email: fullwidth, password: PASSWORD } });
		assertProblem(res, 409, 'email_taken');
		// and the fullwidth form logs in to the same account
		const l = await login(fullwidth, PASSWORD);
		assert.equal(l.body.user.id, a.user.id);
	});

	test('look-alikes that do not fold to ASCII (dotless i, Cyrillic) are refused, not new accounts', async () => {
		const base = `admin${Date.now().toString(36)}${process.pid}`;
		await register({ email: `${base}@example.com` });
		for (const email of [`adm\u0131n${base.slice(5)}@example.com`, `\u0430dmin${base.slice(5)}@example.com`, `${base}@ex\u0430mple.com`, `${base}@example.com\u202e`]) {
			const res = await post(REGISTER, { json: { email, password: PASSWORD } });
			assertValidation(res, ['email']);
		}
	});
});

describe('refresh', T, () => {
	test('rotates: new pair in the same session, old refresh token dead', async () => {
		const a = await register({ tag: 'refresh' });
		const res = await post(REFRESH, { json: { refresh_token: a.refresh } });
		const b = assertJson(res, 200);
		assertNoStore(res);
		const payload = assertTokenReply(b, a);
		assert.notEqual(b.refresh_token, a.refresh, 'a new refresh token');
		assert.equal(payload.sid, decodeJwt(a.access).payload.sid, 'same session');
		assertJson(await me(b.access_token), 200);

		const again = await post(REFRESH, { json: { refresh_token: b.refresh_token } });
		assertJson(again, 200);
	});

	test('reusing a just-used refresh token within the grace window gives the same successor', async () => {
		// (Reuse after the window revokes the session: tests/api/auth_hardening.test.mjs,
		// on a server with a short IAM_REFRESH_GRACE_S.)
		const a = await register({ tag: 'reuse' });
		const second = assertJson(await post(REFRESH, { json: { refresh_token: a.refresh } }), 200);
		const again = assertJson(await post(REFRESH, { json: { refresh_token: a.refresh } }), 200);
		assert.equal(again.refresh_token, second.refresh_token, 'the same successor');
		assert.equal(decodeJwt(again.access_token).payload.sid, decodeJwt(second.access_token).payload.sid);
		assertJson(await me(second.access_token), 200);
		assertJson(await me(again.access_token), 200);
		// the successor rotates normally
		assertJson(await post(REFRESH, { json: { refresh_token: second.refresh_token } }), 200);
	});

	test('garbage refresh tokens -> 401 invalid_refresh_token', async () => {
		const a = await register({ tag: 'garbage' });
		const [id] = a.refresh.split('.');
		for (const t of ['nope', `${a.refresh}x`, a.refresh.slice(0, -1), `${id}.AAAA`, a.access]) {
			assertProblem(await post(REFRESH, { json: { refresh_token: t } }), 401, 'invalid_refresh_token');
		}
		// none of that hurt the real one
		assertJson(await post(REFRESH, { json: { refresh_token: a.refresh } }), 200);
	});

	test('missing or wrong-typed refresh_token -> 400', async () => {
		assertValidation(await post(REFRESH, { json: {} }), ['refresh_token']);
		assertValidation(await post(REFRESH, { json: { refresh_token: 5 } }), ['refresh_token']);
		assertValidation(await post(REFRESH, { json: { refresh_token: 'x', extra: 1 } }), ['extra']);
	});
});

describe('logout', T, () => {
	test('204; that session is gone, other sessions live on', async () => {
		const a = await register({ tag: 'logout' });
		const s1 = await login(a.email, a.password);
		const s2 = await login(a.email, a.password);

		const res = await post(LOGOUT, { token: s1.access });
		assert.equal(res.status, 204, show(res));
		assert.equal(res.text, '');
		assertSecurityHeaders(res);

		assertProblem(await me(s1.access), 401);
		assertProblem(await post(REFRESH, { json: { refresh_token: s1.refresh } }), 401, 'invalid_refresh_token');
		assertProblem(await post(LOGOUT, { token: s1.access }), 401);

		assertJson(await me(s2.access), 200);
		assertJson(await me(a.access), 200);
		assertJson(await post(REFRESH, { json: { refresh_token: s2.refresh } }), 200);
	});

	test('an empty JSON object body is fine too', async () => {
		const a = await register({ tag: 'logout2' });
		const res = await post(LOGOUT, { token: a.access, json: {} });
		assert.equal(res.status, 204, show(res));
		assertProblem(await me(a.access), 401);
		assertProblem(await post(REFRESH, { json: { refresh_token: a.refresh } }), 401, 'invalid_refresh_token');
	});

	test('a refresh token alone ends the session (the access token may have expired)', async () => {
		const a = await register({ tag: 'logoutrt' });
		const other = await login(a.email, a.password);
		const res = await post(LOGOUT, { json: { refresh_token: a.refresh } });
		assert.equal(res.status, 204, show(res));
		assertProblem(await me(a.access), 401);
		assertProblem(await post(REFRESH, { json: { refresh_token: a.refresh } }), 401, 'invalid_refresh_token');
		// a second logout with the same (now dead) token is refused, not a silent success
		assertProblem(await post(LOGOUT, { json: { refresh_token: a.refresh } }), 401, 'invalid_refresh_token');
		// only that session ended
		assertJson(await me(other.access), 200);
		// garbage and wrong types
		assertProblem(await post(LOGOUT, { json: { refresh_token: 'rt_nope' } }), 401, 'invalid_refresh_token');
		assertValidation(await post(LOGOUT, { json: { refresh_token: 5 } }), ['refresh_token']);
	});

	test('an already used refresh token (rotated away) still ends its session', async () => {
		const a = await register({ tag: 'logoutrt2' });
		const next = assertJson(await post(REFRESH, { json: { refresh_token: a.refresh } }), 200);
		const res = await post(LOGOUT, { json: { refresh_token: next.refresh_token } });
		assert.equal(res.status, 204, show(res));
		assertProblem(await me(next.access_token), 401);
	});

	test('without a token -> 401 unauthorized', async () => {
		const res = await post(LOGOUT, {});
		assertProblem(res, 401, 'unauthorized');
		assert.match(res.headers.get('www-authenticate') || '', /^Bearer\b/i);
	});
});
