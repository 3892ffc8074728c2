// Sign in with OpenID Connect (issue 10 item 5) against a real provider run
// here (npm oidc-provider, its development login and consent pages driven
// with plain fetch), plus a real SMTP peer for the address verification
// that linking needs. The bad cases tamper with what the provider answers
// (a middleware in front of its token endpoint) or with the callback.
// Everything listens on 127.0.0.1; every loop is bounded.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Provider from 'oidc-provider';
import { PASSWORD, freePort, randomSecret, requestAt, show, sleep, startIamd, uniqueEmail, dropPrivateDatabases, privateDatabaseEnv } from './helpers.mjs';
import { smtpPeer } from './smtp-peer.mjs';

const T = { timeout: 120000 };
const tmpRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'iam-oidc-'));
/*
 * On PostgreSQL each server here gets a database of its own: the suite's
 * shared server has no SMTP settings, and workers of every process sharing
 * a database take mail jobs (a deployment gives all of them the same settings).
 */

const b64u = (buf) => Buffer.from(buf).toString('base64url');
const rsaKey = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
const ecKey = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
const otherRsa = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
const rsaJwk = { ...rsaKey.export({ format: 'jwk' }), kid: 'rsa-1', use: 'sig', alg: 'RS256' };
const ecJwk = { ...ecKey.export({ format: 'jwk' }), kid: 'ec-1', use: 'sig', alg: 'ES256' };

/** Re-sign the payload of jwt (changed by edit) with header and key. */
function resign(jwt, { header, key, edit = (p) => p, alg = 'RS256' }) {
	const [h, p] = jwt.split('.');
	const hdr = header || JSON.parse(Buffer.from(h, 'base64url'));
	const payload = edit(JSON.parse(Buffer.from(p, 'base64url')));
	const input = `${b64u(JSON.stringify(hdr))}.${b64u(JSON.stringify(payload))}`;
	let sig = '';
	if (alg === 'RS256') sig = b64u(crypto.sign('sha256', Buffer.from(input), key));
	else if (alg === 'ES256') sig = b64u(crypto.sign('sha256', Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' }));
	else if (alg === 'HS256') sig = b64u(crypto.createHmac('sha256', key).update(input).digest());
	return `${input}.${sig}`;
}

/** A tiny cookie jar for one origin (names only: the servers here set simple cookies). */
class Jar {
	constructor() {
		this.c = new Map();
	}
	take(res) {
		for (const line of res.headers.getSetCookie()) {
			const [pair] = line.split(';');
			const i = pair.indexOf('=');
			const name = pair.slice(0, i).trim();
			const value = pair.slice(i + 1).trim();
			if (/max-age=0/i.test(line) || /expires=Thu, 01 Jan 1970/i.test(line)) this.c.delete(name);
			else this.c.set(name, value);
		}
	}
	header() {
		return [...this.c].map(([k, v]) => `${k}=${v}`).join('; ');
	}
}

async function fetchIn(jar, url, opts = {}) {
	const headers = new Headers(opts.headers || {});
	if (jar.c.size) headers.set('cookie', jar.header());
	const res = await fetch(url, { ...opts, headers, redirect: 'manual', signal: AbortSignal.timeout(15000) });
	jar.take(res);
	const text = await res.text();
	return { status: res.status, headers: res.headers, text, location: res.headers.get('location') };
}

describe('sign in with OpenID Connect through a real provider', () => {
	let op, opServer, issuer, iam, base, smtp;
	let inbox = [];
	const users = {};
	let tamper = null;

	before(async () => {
		// Mail peer: accounts must verify their address before a provider may link to them.
		smtp = await smtpPeer();
		inbox = smtp.inbox;

		const opPort = await freePort();
		const iamPort = await freePort();
		issuer = `http://127.0.0.1:${opPort}`;
		const iamBase = `http://127.0.0.1:${iamPort}`;
		for (const [id, verified] of [['alice', true], ['mallory', false], ['carol', true], ['dave', true], ['erin', true]]) {
			users[id] = { email: uniqueEmail(id), email_verified: verified, given_name: id[0].toUpperCase() + id.slice(1), family_name: 'Tester' };
		}
		op = new Provider(issuer, {
			clients: [
				{ client_id: 'iam-rs', client_secret: 'rs-secret-0123456789abcdef', redirect_uris: [`${iamBase}/api/v1/auth/oidc/test/callback`], id_token_signed_response_alg: 'RS256' },
				{ client_id: 'iam-es', client_secret: 'es-secret-0123456789abcdef', redirect_uris: [`${iamBase}/api/v1/auth/oidc/test_ec/callback`], id_token_signed_response_alg: 'ES256' },
			],
			jwks: { keys: [rsaJwk, ecJwk] },
			cookies: { keys: ['oidc-test-cookie-key'] },
			conformIdTokenClaims: false,
			claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['given_name', 'family_name'] },
			findAccount: async (ctx, id) => (users[id] ? { accountId: id, claims: async () => ({ sub: `sub-${id}`, ...users[id] }) } : undefined),
			pkce: { required: () => true },
		});
		op.use(async (ctx, next) => {
			await next();
			if (ctx.path === '/token' && tamper && ctx.body && ctx.body.id_token) ctx.body = { ...ctx.body, id_token: tamper(ctx.body.id_token) };
		});
		opServer = op.listen(opPort, '127.0.0.1');
		await new Promise((r) => opServer.once('listening', r));

		iam = await startIamd(
			fs.mkdtempSync(path.join(tmpRoot, 'srv-')),
			{
				IAM_JWT_SECRET: randomSecret(),
				IAM_WORKERS: '1',
				IAM_ASR: 'sphinx',
				IAM_PUBLIC_URL: iamBase,
				IAM_SMTP_URL: `smtp://127.0.0.1:${smtp.port}`,
				IAM_REGISTER_PER_HOUR: '0',
				IAM_OIDC_TEST_ISSUER: issuer,
				IAM_OIDC_TEST_CLIENT_ID: 'iam-rs',
				IAM_OIDC_TEST_CLIENT_SECRET: 'rs-secret-0123456789abcdef',
				IAM_OIDC_TEST_EC_ISSUER: issuer,
				IAM_OIDC_TEST_EC_CLIENT_ID: 'iam-es',
				IAM_OIDC_TEST_EC_CLIENT_SECRET: 'es-secret-0123456789abcdef',
				...privateDatabaseEnv('oidc'),
			},
			{ port: iamPort },
		);
		base = iam.base;
	});
	after(async () => {
		await iam?.stop();
		await new Promise((r) => (opServer ? opServer.close(r) : r()));
		await smtp?.close();
		dropPrivateDatabases();
		fs.rmSync(tmpRoot, { recursive: true, force: true });
	});

	/**
	 * Start at iamd, log in at the provider as `who` (login, then consent),
	 * and stop at the redirect back to iamd. Returns { callback (URL), iamJar }.
	 */
	async function loginAt(provider, who) {
		const iamJar = new Jar();
		const opJar = new Jar();
		const start = await fetchIn(iamJar, `${base}/api/v1/auth/oidc/${provider}/start`);
		assert.equal(start.status, 302, `start: ${start.status} ${start.text}`);
		const auth = new URL(start.location);
		assert.equal(auth.origin, issuer);
		assert.equal(auth.searchParams.get('code_challenge_method'), 'S256');
		assert.match(auth.searchParams.get('code_challenge'), /^[A-Za-z0-9_-]{43}$/);
		assert.ok(auth.searchParams.get('nonce') && auth.searchParams.get('state'));
		assert.match(start.headers.get('set-cookie') || '', /HttpOnly/i);
		let url = start.location;
		for (let step = 0; step < 12; step++) {
			if (url.startsWith(base)) return { callback: new URL(url), iamJar };
			const res = await fetchIn(opJar, new URL(url, issuer).href);
			if (res.status >= 300 && res.status < 400) {
				url = new URL(res.location, issuer).href;
				continue;
			}
			assert.equal(res.status, 200, `provider page ${url}: ${res.status} ${res.text.slice(0, 300)}`);
			const form = /action="([^"]+)"/.exec(res.text);
			assert.ok(form, `a form on ${url}`);
			const body = /name="prompt" value="consent"/.test(res.text)
				? new URLSearchParams({ prompt: 'consent' })
				: new URLSearchParams({ prompt: 'login', login: who, password: 'any' });
			const sub = await fetchIn(opJar, new URL(form[1].replaceAll('&amp;', '&'), issuer).href, {
				method: 'POST',
				headers: { 'content-type': 'application/x-www-form-urlencoded' },
				body: body.toString(),
			});
			assert.ok(sub.status >= 300 && sub.status < 400, `submit ${form[1]}: ${sub.status} ${sub.text.slice(0, 300)}`);
			url = new URL(sub.location, issuer).href;
		}
		assert.fail('the provider did not send the browser back within 12 steps');
	}

	async function finish(callback, iamJar) {
		return fetchIn(iamJar, callback.href, { headers: { accept: 'application/json' } });
	}

	async function signIn(provider, who) {
		const { callback, iamJar } = await loginAt(provider, who);
		const done = await finish(callback, iamJar);
		assert.equal(done.status, 302, `callback: ${done.status} ${done.text}`);
		const back = new URL(done.location);
		assert.equal(back.origin, base);
		assert.equal(back.pathname, '/login');
		const code = back.searchParams.get('oidc_code');
		assert.ok(code, done.location);
		const ex = await requestAt(base, 'POST', '/api/v1/auth/oidc/exchange', { json: { code } });
		assert.equal(ex.status, 200, show(ex));
		const again = await requestAt(base, 'POST', '/api/v1/auth/oidc/exchange', { json: { code } });
		assert.equal(again.status, 410, `the one-time code works once: ${show(again)}`);
		return { tokens: ex.body, callback, iamJar };
	}

	test('the login page lists the configured providers', T, async () => {
		const res = await requestAt(base, 'GET', '/api/v1/auth/oidc');
		assert.equal(res.status, 200, show(res));
		assert.deepEqual(res.body.data.map((p) => p.name).sort(), ['test', 'test_ec']);
		for (const p of res.body.data) assert.equal(p.start_url, `/api/v1/auth/oidc/${p.name}/start`);
		const none = await requestAt(base, 'GET', '/api/v1/auth/oidc/nope/start');
		assert.equal(none.status, 404, show(none));
		assert.equal(none.body.code, 'oidc_provider_not_found');
	});

	test('RS256: a new verified person gets an account; signing in again finds it', T, async () => {
		const { tokens } = await signIn('test', 'alice');
		assert.equal(tokens.user.email, users.alice.email);
		assert.equal(tokens.user.email_verified, true);
		assert.equal(tokens.user.first_name, 'Alice');
		const me = await requestAt(base, 'GET', '/api/v1/users/me', { token: tokens.access_token });
		assert.equal(me.status, 200, show(me));
		const second = await signIn('test', 'alice');
		assert.equal(second.tokens.user.id, tokens.user.id, 'the same account');
	});

	test('ES256 tokens are verified too', T, async () => {
		const { tokens } = await signIn('test_ec', 'erin');
		assert.equal(tokens.user.email, users.erin.email);
	});

	test('an existing account is linked only once its address is verified', T, async () => {
		const reg = await requestAt(base, 'POST', '/api/v1/auth/register', { json: { email: users.carol.email, password: PASSWORD } });
		assert.equal(reg.status, 201, show(reg));
		const { callback, iamJar } = await loginAt('test', 'carol');
		const refused = await finish(callback, iamJar);
		assert.equal(refused.status, 409, refused.text);
		const p = JSON.parse(refused.text);
		assert.equal(p.code, 'oidc_link_unverified');
		assert.ok(p.detail.includes(users.carol.email), p.detail);

		// Verify the address through the mail, then the provider may sign in to the same account.
		const deadline = Date.now() + 20000;
		let mail;
		while (!(mail = inbox.find((x) => x.to.includes(users.carol.email)))) {
			assert.ok(Date.now() < deadline, 'the verification mail arrives');
			await sleep(100);
		}
		const token = new URL(/https?:\/\/\S+verify-email\?token=[\w-]+/.exec(mail.parsed.text)[0]).searchParams.get('token');
		const v = await requestAt(base, 'POST', '/api/v1/auth/verify-email', { json: { token } });
		assert.equal(v.status, 200, show(v));
		const { tokens } = await signIn('test', 'carol');
		assert.equal(tokens.user.id, reg.body.user.id, 'linked to the existing account');
	});

	test('an unverified address at the provider is refused and no account is made', T, async () => {
		const { callback, iamJar } = await loginAt('test', 'mallory');
		const res = await finish(callback, iamJar);
		assert.equal(res.status, 403, res.text);
		assert.equal(JSON.parse(res.text).code, 'oidc_email_unverified');
		const reg = await requestAt(base, 'POST', '/api/v1/auth/register', { json: { email: users.mallory.email, password: PASSWORD } });
		assert.equal(reg.status, 201, `no account was made for the address: ${show(reg)}`);
	});

	test('a browser asking for HTML is sent back to the login page with the reason', T, async () => {
		const { callback, iamJar } = await loginAt('test', 'mallory');
		const res = await fetchIn(iamJar, callback.href, { headers: { accept: 'text/html' } });
		assert.equal(res.status, 302);
		const back = new URL(res.location);
		assert.equal(back.pathname, '/login');
		assert.equal(back.searchParams.get('oidc_error'), 'oidc_email_unverified');
		assert.match(back.searchParams.get('message'), /not verified/);
	});

	test('wrong or replayed state, another browser, and a replayed code are refused', T, async () => {
		const first = await signIn('test', 'dave');
		// The same callback again: its state is used up.
		const replay = await finish(first.callback, first.iamJar);
		assert.equal(replay.status, 400, replay.text);
		assert.equal(JSON.parse(replay.text).code, 'oidc_bad_state');

		const { callback, iamJar } = await loginAt('test', 'dave');
		const bogus = new URL(callback);
		bogus.searchParams.set('state', 'os_' + 'x'.repeat(43));
		const bad = await finish(bogus, iamJar);
		assert.equal(bad.status, 400, bad.text);
		assert.equal(JSON.parse(bad.text).code, 'oidc_bad_state');

		// The right state from a browser without the cookie.
		const other = await finish(callback, new Jar());
		assert.equal(other.status, 400, other.text);
		assert.equal(JSON.parse(other.text).code, 'oidc_browser_mismatch');

		// A fresh login whose callback carries the first login's (used) code.
		const fresh = await loginAt('test', 'dave');
		const swapped = new URL(fresh.callback);
		swapped.searchParams.set('code', first.callback.searchParams.get('code'));
		const reused = await finish(swapped, fresh.iamJar);
		assert.equal(reused.status, 401, reused.text);
		assert.equal(JSON.parse(reused.text).code, 'oidc_code_refused');
	});

	const tampered = [
		['alg none', (t) => { const [, p] = t.split('.'); return `${b64u(JSON.stringify({ alg: 'none', typ: 'JWT' }))}.${p}.`; }, /alg 'none'|only RS256 and ES256/],
		['HS256 with the client secret', (t) => resign(t, { header: { alg: 'HS256', typ: 'JWT', kid: 'rsa-1' }, key: 'rs-secret-0123456789abcdef', alg: 'HS256' }), /HS256/],
		['signed by another key', (t) => resign(t, { key: otherRsa }), /signature does not match/],
		['a wrong nonce', (t) => resign(t, { key: rsaKey, edit: (p) => ({ ...p, nonce: 'not-the-nonce' }) }), /nonce/],
		['another audience', (t) => resign(t, { key: rsaKey, edit: (p) => ({ ...p, aud: 'someone-else' }) }), /another client/],
		['expired', (t) => resign(t, { key: rsaKey, edit: (p) => ({ ...p, exp: Math.floor(Date.now() / 1000) - 3600 }) }), /expired/],
		['another issuer', (t) => resign(t, { key: rsaKey, edit: (p) => ({ ...p, iss: 'https://evil.example' }) }), /issued by/],
	];
	for (const [what, fn, why] of tampered) {
		test(`an ID token with ${what} is refused and makes no account`, T, async () => {
			const who = 'bob' + crypto.randomBytes(3).toString('hex');
			users[who] = { email: uniqueEmail('tamper'), email_verified: true };
			const { callback, iamJar } = await loginAt('test', who);
			tamper = fn;
			let res;
			try {
				res = await finish(callback, iamJar);
			} finally {
				tamper = null;
			}
			assert.equal(res.status, 401, res.text);
			const p = JSON.parse(res.text);
			assert.equal(p.code, 'oidc_token_invalid');
			assert.match(p.detail, why);
			const reg = await requestAt(base, 'POST', '/api/v1/auth/register', { json: { email: users[who].email, password: PASSWORD } });
			assert.equal(reg.status, 201, `no account was made: ${show(reg)}`);
		});
	}

	test('the provider saying no (access_denied) is reported', T, async () => {
		const iamJar = new Jar();
		const start = await fetchIn(iamJar, `${base}/api/v1/auth/oidc/test/start`);
		const state = new URL(start.location).searchParams.get('state');
		const res = await fetchIn(iamJar, `${base}/api/v1/auth/oidc/test/callback?error=access_denied&error_description=user+said+no&state=${state}`, { headers: { accept: 'application/json' } });
		assert.equal(res.status, 400, res.text);
		const p = JSON.parse(res.text);
		assert.equal(p.code, 'oidc_denied');
		assert.match(p.detail, /user said no/);
	});
});
