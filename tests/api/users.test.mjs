// GET/PUT /api/v1/users/me: profile, e-mail and password changes.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
	UUID_RE,
	assertJson,
	assertNoSecrets,
	assertNoStore,
	assertProblem,
	assertRfc3339,
	assertValidation,
	login,
	me,
	post,
	put,
	register,
	sleep,
	uniqueEmail,
} from './helpers.mjs';

const T = { timeout: 60000 };
const ME = '/api/v1/users/me';
const LOGIN = '/api/v1/auth/login';
const REFRESH = '/api/v1/auth/refresh';

const update = (token, json) => put(ME, { token, json });

describe('GET /users/me', T, () => {
	test('the caller, with their organization', async () => {
		const a = await register({ tag: 'me', first_name: 'Alan', last_name: 'Turing', company_name: 'Bletchley' });
		const res = await me(a.access);
		const u = assertJson(res, 200);
		assertNoStore(res);
		assert.equal(u.id, a.user.id);
		assert.equal(u.email, a.email);
		assert.equal(u.first_name, 'Alan');
		assert.equal(u.last_name, 'Turing');
		assert.equal(u.company_name, 'Bletchley');
		assert.equal(u.created_at, a.user.created_at);
		assertRfc3339(u.created_at, 'created_at');
		assertRfc3339(u.updated_at, 'updated_at');
		// extra organization fields are fine; these three are the contract
		assert.ok(u.organization && typeof u.organization === 'object', 'organization object expected');
		assert.equal(u.organization.id, a.organization.id);
		assert.equal(u.organization.name, a.organization.name);
		assert.equal(u.organization.role, 'owner');
		assert.match(u.organization.id, UUID_RE);
		assertNoSecrets(u, 'GET /users/me');
	});

	test('each caller sees only themselves', async () => {
		const a = await register({ tag: 'mea' });
		const b = await register({ tag: 'meb' });
		const ua = assertJson(await me(a.access), 200);
		const ub = assertJson(await me(b.access), 200);
		assert.equal(ua.id, a.user.id);
		assert.equal(ub.id, b.user.id);
		assert.notEqual(ua.organization.id, ub.organization.id);
	});
});

describe('PUT /users/me', T, () => {
	test('names change and stick; updated_at moves, created_at does not', async () => {
		const a = await register({ tag: 'names', first_name: 'Old' });
		await sleep(20);
		const res = await update(a.access, { first_name: 'New', last_name: 'Name', company_name: 'ACME' });
		const u = assertJson(res, 200);
		assertNoStore(res);
		assert.equal(u.id, a.user.id);
		assert.equal(u.email, a.email);
		assert.equal(u.first_name, 'New');
		assert.equal(u.last_name, 'Name');
		assert.equal(u.company_name, 'ACME');
		assert.equal(u.created_at, a.user.created_at);
		assertRfc3339(u.updated_at, 'updated_at');
		assert.ok(Date.parse(u.updated_at) > Date.parse(a.user.updated_at), 'updated_at should move forward');
		assertNoSecrets(u, 'PUT /users/me');

		const again = assertJson(await me(a.access), 200);
		assert.equal(again.first_name, 'New');
		assert.equal(again.last_name, 'Name');
		assert.equal(again.company_name, 'ACME');

		// a partial update leaves the other fields alone
		const p = assertJson(await update(a.access, { last_name: 'Only' }), 200);
		assert.equal(p.first_name, 'New');
		assert.equal(p.last_name, 'Only');
		assert.equal(p.company_name, 'ACME');
	});

	test('bad fields are all listed; nothing changes', async () => {
		const a = await register({ tag: 'putbad', first_name: 'Keep' });
		const res = await update(a.access, { first_name: 'x'.repeat(101), last_name: 12, is_admin: true });
		assertValidation(res, ['first_name', 'last_name', 'is_admin']);
		const u = assertJson(await me(a.access), 200);
		assert.equal(u.first_name, 'Keep');
	});

	test('not an object, malformed, no token', async () => {
		const a = await register({ tag: 'putshape' });
		assertProblem(await put(ME, { token: a.access, body: '[1]', headers: { 'content-type': 'application/json' } }), 400, 'invalid_body');
		assertProblem(await put(ME, { token: a.access, body: '{"first_name":', headers: { 'content-type': 'application/json' } }), 400, 'malformed_json');
		assertProblem(await put(ME, { json: { first_name: 'X' } }), 401, 'unauthorized');
	});

	test('email change needs the right current_password; new email must be free', async () => {
		const a = await register({ tag: 'email' });
		const other = await register({ tag: 'taken' });
		const target = uniqueEmail('newaddr');

		assertValidation(await update(a.access, { email: target }), ['current_password']);
		assertProblem(await update(a.access, { email: target, current_password: 'not-my-password' }), 403, 'invalid_current_password');
		assertProblem(await update(a.access, { email: ` ${other.email.toUpperCase()} `, current_password: a.password }), 409, 'email_taken');
		assertValidation(await update(a.access, { email: 'not an email', current_password: a.password }), ['email']);
		// none of that changed anything
		assert.equal(assertJson(await me(a.access), 200).email, a.email);

		const u = assertJson(await update(a.access, { email: `  ${target.toUpperCase()} `, current_password: a.password }), 200);
		assert.equal(u.email, target, 'new email is normalised');
		assert.equal(assertJson(await me(a.access), 200).email, target);

		await login(target, a.password);
		assertProblem(await post(LOGIN, { json: { email: a.email, password: a.password } }), 401, 'invalid_credentials');
		// the old address is free again
		await register({ email: a.email });
	});

	test('password change: needs current_password; old password dead; other sessions revoked', async () => {
		const a = await register({ tag: 'pwchange' });
		const other = await login(a.email, a.password);
		const newPassword = 'Brand-new-passphrase-42';

		assertValidation(await update(a.access, { password: newPassword }), ['current_password']);
		assertProblem(await update(a.access, { password: newPassword, current_password: 'wrong-current-1' }), 403, 'invalid_current_password');
		assertValidation(await update(a.access, { password: 'short', current_password: a.password }), ['password']);
		// the password still works and the other session is still alive
		assertJson(await me(other.access), 200);

		const res = await update(a.access, { password: newPassword, current_password: a.password });
		const u = assertJson(res, 200);
		assert.equal(u.id, a.user.id);
		assertNoSecrets(u, 'PUT /users/me (password)');

		assertProblem(await post(LOGIN, { json: { email: a.email, password: a.password } }), 401, 'invalid_credentials');
		const fresh = await login(a.email, newPassword);
		assertJson(await me(fresh.access), 200);

		// the session that made the change keeps working, access and refresh
		assertJson(await me(a.access), 200);
		const rotated = assertJson(await post(REFRESH, { json: { refresh_token: a.refresh } }), 200);
		assertJson(await me(rotated.access_token), 200);

		// other sessions are revoked
		assertProblem(await me(other.access), 401);
		assertProblem(await post(REFRESH, { json: { refresh_token: other.refresh } }), 401, 'invalid_refresh_token');
	});

	test('email and names together in one update', async () => {
		const a = await register({ tag: 'combo' });
		const target = uniqueEmail('combo-new');
		const u = assertJson(await update(a.access, { email: target, current_password: a.password, first_name: 'Both' }), 200);
		assert.equal(u.email, target);
		assert.equal(u.first_name, 'Both');
	});
});

// ---------------------------------------------------------------- issue 8 items 16 and 19

const BAD_TEXT = ['esc\u001b[2J', 'bell\u0007', 'rlo\u202etxt.exe', 'lre\u202a', 'fsi\u2068x\u2069', 'nul-ish\u0085', 'line\nbreak'];

describe('names and titles refuse control and bidi-override characters (item 16)', T, () => {
	test('PUT /users/me: each bad name -> 400 naming the field; nothing changes', async () => {
		const a = await register({ tag: 'ctlname', first_name: 'Ann' });
		for (const field of ['first_name', 'last_name', 'company_name']) {
			for (const v of BAD_TEXT) {
				assertValidation(await update(a.access, { [field]: v }), [field]);
			}
		}
		const u = assertJson(await me(a.access), 200);
		assert.equal(u.first_name, 'Ann');
		// ordinary non-ASCII names are fine
		const ok = assertJson(await update(a.access, { first_name: 'Zoë', last_name: 'Łukasiewicz', company_name: 'شركة' }), 200);
		assert.equal(ok.first_name, 'Zoë');
	});

	test('register: bad names -> 400 naming the field, and no account is made', async () => {
		const email = uniqueEmail('ctlreg');
		const res = await post('/api/v1/auth/register', { json: { email, password: 'Correct-horse-battery-9', first_name: 'x\u001b]0;pwned\u0007', company_name: 'a\u202eb' } });
		assertValidation(res, ['first_name', 'company_name']);
		assertProblem(await post(LOGIN, { json: { email, password: 'Correct-horse-battery-9' } }), 401, 'invalid_credentials');
	});

	test('meeting titles: bad titles -> 400 on title, on create and on rename', async () => {
		const a = await register({ tag: 'ctltitle' });
		for (const title of BAD_TEXT) {
			assertValidation(await post('/api/v1/meetings', { token: a.access, json: { title } }), ['title']);
		}
		const m = assertJson(await post('/api/v1/meetings', { token: a.access, json: { title: 'Réunion — 会議' } }), 201);
		assertValidation(await put(`/api/v1/meetings/${m.id}`, { token: a.access, json: { title: 'x\u2066y' } }), ['title']);
	});
});

describe('password change and API keys (item 19)', T, () => {
	test('the reply says how many API keys still work; revoke_api_keys deletes them', async () => {
		const a = await register({ tag: 'pwkeys' });
		const k1 = assertJson(await post('/api/v1/api-keys', { token: a.access, json: { name: 'one' } }), 201);
		assertJson(await post('/api/v1/api-keys', { token: a.access, json: { name: 'two' } }), 201);
		const p2 = 'Second-passphrase-77';
		const u = assertJson(await update(a.access, { password: p2, current_password: a.password }), 200);
		assert.equal(u.api_keys_active, 2, JSON.stringify(u));
		assert.equal(typeof u.notice, 'string');
		assert.match(u.notice, /revoke_api_keys/);
		assertJson(await me(k1.key), 200); // keys survive, but the person was told

		const p3 = 'Third-passphrase-88';
		const u2 = assertJson(await update(a.access, { password: p3, current_password: p2, revoke_api_keys: true }), 200);
		assert.equal(u2.api_keys_active, 0);
		assert.equal(u2.api_keys_revoked, 2);
		assertProblem(await me(k1.key), 401);
		// revoke_api_keys without a password change is refused
		assertValidation(await update(a.access, { revoke_api_keys: true }), ['revoke_api_keys']);
	});
});
