// API keys: create, list (cursor paging), use as Bearer, delete, tenancy.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import {
	UUID_RE,
	assertJson,
	assertNoStore,
	assertProblem,
	assertRfc3339,
	assertSecurityHeaders,
	assertValidation,
	del,
	get,
	me,
	post,
	register,
	show,
	sleep,
} from './helpers.mjs';

const T = { timeout: 60000 };
const KEYS = '/api/v1/api-keys';

async function createKey(token, name = 'test key') {
	const res = await post(KEYS, { token, json: { name } });
	const k = assertJson(res, 201);
	return k;
}

async function list(token, query = '') {
	const res = await get(KEYS + query, { token });
	return res;
}

function assertListed(item) {
	for (const f of ['id', 'name', 'prefix', 'created_at', 'last_used_at']) assert.ok(f in item, `list item lacks ${f}: ${JSON.stringify(item)}`);
	for (const f of Object.keys(item)) assert.ok(!/key|hash|secret/i.test(f), `list item must not carry ${f}`);
	assert.match(item.id, UUID_RE);
	assertRfc3339(item.created_at, 'created_at');
	assert.ok(item.last_used_at === null || typeof item.last_used_at === 'string');
}

describe('create', T, () => {
	test('201 with the key shown once', async () => {
		const a = await register({ tag: 'key' });
		const res = await post(KEYS, { token: a.access, json: { name: 'CI pipeline' } });
		const k = assertJson(res, 201);
		assertNoStore(res);
		assert.match(k.id, UUID_RE);
		assert.equal(k.name, 'CI pipeline');
		assert.equal(typeof k.key, 'string');
		assert.ok(k.key.startsWith('iam_'), `key should start with iam_: ${k.key}`);
		assert.ok(k.key.length >= 24, 'key too short to hold a real secret');
		assert.match(k.key, /^[A-Za-z0-9._~+/-]+=*$/, 'key should be an RFC 6750 b64token (safe after "Bearer ")');
		assert.equal(typeof k.prefix, 'string');
		assert.ok(k.prefix.length > 0 && k.prefix.length < k.key.length, `prefix ${k.prefix}`);
		assert.ok(k.key.startsWith(k.prefix), 'prefix is the first characters of the key');
		assertRfc3339(k.created_at, 'created_at');
		assert.equal(k.last_used_at, null);

		const k2 = await createKey(a.access, 'CI pipeline');
		assert.notEqual(k2.key, k.key);
		assert.notEqual(k2.id, k.id);
	});

	test('name must be 1..100 characters', async () => {
		const a = await register({ tag: 'keyname' });
		const k = await createKey(a.access, 'n'.repeat(100));
		assert.equal(k.name, 'n'.repeat(100));
		assert.equal((await createKey(a.access, 'x')).name, 'x');
		for (const json of [{}, { name: '' }, { name: 'n'.repeat(101) }, { name: 5 }, { name: null }]) {
			assertValidation(await post(KEYS, { token: a.access, json }), ['name']);
		}
		assertValidation(await post(KEYS, { token: a.access, json: { name: 'ok', scopes: ['all'] } }), ['scopes']);
		// nothing but the two good keys was made
		const body = assertJson(await list(a.access), 200);
		assert.equal(body.data.length, 2);
	});

	test('needs authentication', async () => {
		assertProblem(await post(KEYS, { json: { name: 'x' } }), 401, 'unauthorized');
		assertProblem(await get(KEYS), 401, 'unauthorized');
	});
});

describe('list', T, () => {
	test('no secrets, newest first', async () => {
		const a = await register({ tag: 'keylist' });
		const made = [];
		for (const name of ['first', 'second', 'third']) made.push(await createKey(a.access, name));
		const res = await list(a.access);
		const body = assertJson(res, 200);
		assertNoStore(res);
		assert.ok(Array.isArray(body.data));
		assert.equal(body.next_cursor, null);
		assert.deepEqual(body.data.map((k) => k.id), made.map((k) => k.id).reverse());
		for (const [i, item] of body.data.entries()) {
			assertListed(item);
			const orig = made[made.length - 1 - i];
			assert.equal(item.name, orig.name);
			assert.equal(item.prefix, orig.prefix);
			assert.equal(item.created_at, orig.created_at);
			assert.ok(!('key' in item), 'a listed key must not carry the secret');
		}
		for (const k of made) assert.ok(!res.text.includes(k.key), 'the secret must not appear anywhere in the list');
	});

	test('limit must be 1..100', async () => {
		const a = await register({ tag: 'keylimit' });
		for (const l of ['0', '101', '-1', 'abc', '1.5']) {
			assertValidation(await list(a.access, `?limit=${l}`), ['limit']);
		}
		for (const l of ['1', '100']) assertJson(await list(a.access, `?limit=${l}`), 200);
	});

	test('cursor paging walks every key once: 25 keys by 10 -> 10, 10, 5', async () => {
		const a = await register({ tag: 'keypage' });
		const made = [];
		for (let i = 0; i < 25; i++) made.push((await createKey(a.access, `k${i}`)).id);
		const expected = [...made].reverse();

		const seen = [];
		const sizes = [];
		let cursor = null;
		for (let page = 0; page < 10; page++) {
			const q = `?limit=10${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
			const body = assertJson(await list(a.access, q), 200);
			sizes.push(body.data.length);
			seen.push(...body.data.map((k) => k.id));
			if (body.next_cursor === null) break;
			assert.equal(typeof body.next_cursor, 'string');
			assert.ok(body.next_cursor.length > 0);
			cursor = body.next_cursor;
		}
		assert.deepEqual(sizes, [10, 10, 5]);
		assert.equal(new Set(seen).size, 25, 'no duplicates');
		assert.deepEqual(seen, expected, 'all keys, newest first');

		// default limit is 20
		const first = assertJson(await list(a.access), 200);
		assert.equal(first.data.length, 20);
		assert.equal(typeof first.next_cursor, 'string');
		const rest = assertJson(await list(a.access, `?cursor=${encodeURIComponent(first.next_cursor)}`), 200);
		assert.equal(rest.data.length, 5);
		assert.equal(rest.next_cursor, null);
		assert.deepEqual([...first.data, ...rest.data].map((k) => k.id), expected);
	});

	test('a garbage cursor -> 400 on cursor', async () => {
		const a = await register({ tag: 'keycursor' });
		await createKey(a.access);
		for (const c of ['garbage', '!!!!', 'eyJpZCI6MX0', crypto.randomBytes(24).toString('base64url')]) {
			assertValidation(await list(a.access, `?cursor=${encodeURIComponent(c)}`), ['cursor']);
		}
	});
});

describe('use', T, () => {
	test('Bearer iam_... authenticates as the owner and sets last_used_at', async () => {
		const a = await register({ tag: 'keyuse' });
		const k = await createKey(a.access, 'use me');
		const before = assertJson(await list(a.access), 200).data.find((x) => x.id === k.id);
		assert.equal(before.last_used_at, null);

		const t0 = Date.now();
		const res = await me(k.key);
		const u = assertJson(res, 200);
		assert.equal(u.id, a.user.id);
		assert.equal(u.email, a.email);
		assert.equal(u.organization.id, a.organization.id);

		let used = null;
		for (let i = 0; i < 40 && !used; i++) {
			used = assertJson(await list(a.access), 200).data.find((x) => x.id === k.id).last_used_at;
			if (!used) await sleep(50);
		}
		assert.ok(used, 'last_used_at was not set');
		assertRfc3339(used, 'last_used_at');
		assert.ok(Math.abs(Date.parse(used) - t0) < 60000, `last_used_at ${used} is not now`);
	});

	test('made-up and mangled keys -> 401', async () => {
		const a = await register({ tag: 'keyfake' });
		const k = await createKey(a.access);
		const fakes = [
			'iam_' + crypto.randomBytes(24).toString('base64url').replace(/[-_]/g, 'x'),
			'iam_',
			k.key.slice(0, -1),
			k.key + 'x',
			k.prefix,
			k.key.toUpperCase() === k.key ? k.key.toLowerCase() : k.key.toUpperCase(),
		];
		for (const fake of fakes) {
			const res = await me(fake);
			assertProblem(res, 401);
		}
		assertJson(await me(k.key), 200);
	});
});

describe('delete', T, () => {
	test('204, then the key is dead and a second delete is 404', async () => {
		const a = await register({ tag: 'keydel' });
		const k = await createKey(a.access, 'doomed');
		const keep = await createKey(a.access, 'kept');
		assertJson(await me(k.key), 200);

		const res = await del(`${KEYS}/${k.id}`, { token: a.access });
		assert.equal(res.status, 204, show(res));
		assert.equal(res.text, '');
		assertSecurityHeaders(res);

		assertProblem(await me(k.key), 401);
		assertProblem(await del(`${KEYS}/${k.id}`, { token: a.access }), 404, 'not_found');
		const body = assertJson(await list(a.access), 200);
		assert.deepEqual(body.data.map((x) => x.id), [keep.id]);
		assertJson(await me(keep.key), 200);
	});

	test('a path id that is not a UUID -> 400 invalid_path_parameter; an unknown UUID -> 404', async () => {
		const a = await register({ tag: 'keypath' });
		for (const id of ['not-a-uuid', '123', 'zzzzzzzz-zzzz-zzzz-zzzz-zzzzzzzzzzzz', '0190d3f4-7a6b-7c8d-9e0f-123456789ab']) {
			assertProblem(await del(`${KEYS}/${id}`, { token: a.access }), 400, 'invalid_path_parameter');
		}
		assertProblem(await del(`${KEYS}/${crypto.randomUUID()}`, { token: a.access }), 404, 'not_found');
	});

	test('delete needs authentication', async () => {
		assertProblem(await del(`${KEYS}/${crypto.randomUUID()}`), 401, 'unauthorized');
	});
});

describe('tenancy', T, () => {
	test('another user can neither see nor delete my keys', async () => {
		const a = await register({ tag: 'tenanta' });
		const b = await register({ tag: 'tenantb' });
		const ka = await createKey(a.access, 'secret of a');

		const bl = assertJson(await list(b.access), 200);
		assert.deepEqual(bl.data, []);
		assert.equal(bl.next_cursor, null);

		assertProblem(await del(`${KEYS}/${ka.id}`, { token: b.access }), 404, 'not_found');
		// B using A's cursor cannot reach A's keys either
		await createKey(a.access, 'second of a');
		const ap = assertJson(await list(a.access, '?limit=1'), 200);
		assert.equal(typeof ap.next_cursor, 'string');
		const bc = await list(b.access, `?limit=1&cursor=${encodeURIComponent(ap.next_cursor)}`);
		if (bc.status === 200) assert.deepEqual(bc.body.data, []);
		else assertValidation(bc, ['cursor']);

		// A's key survived and still authenticates as A
		const u = assertJson(await me(ka.key), 200);
		assert.equal(u.id, a.user.id);
		assert.ok(assertJson(await list(a.access), 200).data.some((x) => x.id === ka.id));

		// and the other way round
		const kb = await createKey(b.access, 'b key');
		assertProblem(await del(`${KEYS}/${kb.id}`, { token: a.access }), 404, 'not_found');
		assert.equal(assertJson(await me(kb.key), 200).id, b.user.id);
		assert.ok(!assertJson(await list(a.access), 200).data.some((x) => x.id === kb.id));
	});
});

// ---------------------------------------------------------------- issue 8 items 14, 16, 19

const MEETINGS = '/api/v1/meetings';

async function keyWith(token, json) {
	return assertJson(await post(KEYS, { token, json: { name: 'scoped', ...json } }), 201);
}

describe('scopes and expiry (issue 8 item 19)', T, () => {
	test('a new key lists its scopes; by default read, write, transcribe (not admin)', async () => {
		const a = await register({ tag: 'scopedef' });
		const k = await createKey(a.access);
		assert.deepEqual(k.scopes, ['read', 'write', 'transcribe']);
		assert.equal(k.expires_at, null);
		const listed = assertJson(await list(a.access), 200).data[0];
		assert.deepEqual(listed.scopes, ['read', 'write', 'transcribe']);
	});

	test('a key cannot create, list or delete keys unless it has the admin scope', async () => {
		const a = await register({ tag: 'keyadmin' });
		const plain = await createKey(a.access);
		assertProblem(await post(KEYS, { token: plain.key, json: { name: 'child' } }), 403, 'insufficient_scope');
		assertProblem(await list(plain.key), 403, 'insufficient_scope');
		assertProblem(await del(`${KEYS}/${plain.id}`, { token: plain.key }), 403, 'insufficient_scope');
		// an admin key may manage keys, but hands out no scope it lacks
		const admin = await keyWith(a.access, { scopes: ['read', 'admin'] });
		const child = await keyWith(admin.key, { scopes: ['read'] });
		assert.deepEqual(child.scopes, ['read']);
		assertProblem(await post(KEYS, { token: admin.key, json: { name: 'wider', scopes: ['write'] } }), 403, 'insufficient_scope');
		assertJson(await list(admin.key), 200);
	});

	test('read-only keys read; write and transcribe are enforced per route', async () => {
		const a = await register({ tag: 'scopes' });
		const ro = await keyWith(a.access, { scopes: ['read'] });
		const rw = await keyWith(a.access, { scopes: ['read', 'write'] });
		assertJson(await me(ro.key), 200);
		assertJson(await get(MEETINGS, { token: ro.key }), 200);
		const denied = assertProblem(await post(MEETINGS, { token: ro.key, json: { title: 'no' } }), 403, 'insufficient_scope');
		assert.match(denied.detail, /write/);
		const m = assertJson(await post(MEETINGS, { token: rw.key, json: { title: 'yes' } }), 201);
		// uploads and transcription need transcribe
		const up = await post(`${MEETINGS}/${m.id}/upload?filename=a.wav`, { token: rw.key, body: Buffer.alloc(64), headers: { 'content-type': 'audio/wav' } });
		assertProblem(up, 403, 'insufficient_scope');
		assertProblem(await post(`${MEETINGS}/${m.id}/transcribe`, { token: rw.key, json: {} }), 403, 'insufficient_scope');
		const oai = await post('/v1/audio/transcriptions', { token: rw.key, body: 'x', headers: { 'content-type': 'text/plain' } });
		assert.equal(oai.status, 403, show(oai));
		// a read-only key may still ask for a ticket (it only opens things for reading)
		assertJson(await post(`${MEETINGS}/${m.id}/ticket`, { token: ro.key }), 201);
	});

	test('bad scopes and expiry are refused with the field named', async () => {
		const a = await register({ tag: 'scopebad' });
		for (const scopes of [[], ['root'], ['read', 'read'], 'read', [1]]) {
			assertValidation(await post(KEYS, { token: a.access, json: { name: 'x', scopes } }), ['scopes']);
		}
		assertValidation(await post(KEYS, { token: a.access, json: { name: 'x', expires_at: '2001-01-01T00:00:00Z' } }), ['expires_at']);
		assertValidation(await post(KEYS, { token: a.access, json: { name: 'x', expires_at: 'tomorrow' } }), ['expires_at']);
		assertValidation(await post(KEYS, { token: a.access, json: { name: 'x', expires_in_days: 0 } }), ['expires_in_days']);
		assertValidation(await post(KEYS, { token: a.access, json: { name: 'x', expires_in_days: 1, expires_at: new Date(Date.now() + 86400e3).toISOString() } }), ['expires_at']);
		const k = await keyWith(a.access, { expires_in_days: 30 });
		const left = Date.parse(k.expires_at) - Date.now();
		assert.ok(left > 29 * 86400e3 && left <= 30 * 86400e3 + 5000, `expires in ${left} ms`);
	});

	test('an expired key gets 401 saying it expired', async () => {
		const a = await register({ tag: 'keyexp' });
		const k = await keyWith(a.access, { expires_at: new Date(Date.now() + 1500).toISOString() });
		assertJson(await me(k.key), 200);
		await sleep(2000);
		const p = assertProblem(await me(k.key), 401, 'invalid_token');
		assert.match(p.detail, /expired/i);
	});
});

describe('tickets (issue 8 items 14 and 27)', T, () => {
	test('tickets live five minutes at most', async () => {
		const a = await register({ tag: 'tickttl' });
		const m = assertJson(await post(MEETINGS, { token: a.access, json: { title: 't' } }), 201);
		const t = assertJson(await post(`${MEETINGS}/${m.id}/ticket`, { token: a.access }), 201);
		const left = Date.parse(t.expires_at) - Date.now();
		assert.ok(left > 0 && left <= 300 * 1000 + 2000, `a ticket should live at most 5 minutes: ${left} ms`);
	});

	test('a ticket issued through an API key stops working when the key is deleted', async () => {
		const a = await register({ tag: 'tickkey' });
		const k = await createKey(a.access);
		const m = assertJson(await post(MEETINGS, { token: a.access, json: { title: 't' } }), 201);
		const t = assertJson(await post(`${MEETINGS}/${m.id}/ticket`, { token: k.key }), 201);
		const url = `${MEETINGS}/${m.id}/audio?ticket=${encodeURIComponent(t.ticket)}`;
		// the ticket is accepted (the meeting has no audio yet: 404, not 401)
		assertProblem(await get(url), 404);
		assert.equal((await del(`${KEYS}/${k.id}`, { token: a.access })).status, 204);
		assertProblem(await get(url), 401, 'invalid_ticket');
	});
});

describe('key names (issue 8 item 16)', T, () => {
	test('control and bidi-override characters in a key name -> 400 on name', async () => {
		const a = await register({ tag: 'keyname' });
		for (const name of ['bad\u001b[31m', 'bell\u0007', 'evil\u202egnp.exe', 'iso\u2066x\u2069', 'tab\there']) {
			assertValidation(await post(KEYS, { token: a.access, json: { name } }), ['name']);
		}
		const ok = await createKey(a.access, 'Ünïcødé ключ 鍵');
		assert.equal(ok.name, 'Ünïcødé ключ 鍵');
	});
});
