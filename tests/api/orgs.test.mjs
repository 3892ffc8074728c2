// Organizations: several per account, the active one in the token, switching,
// settings, deletion (owner only; everything in it goes), members (roles,
// removal cuts tokens and keys at once, leaving, the last owner stays), the
// audit log.

import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { silence } from './audio.mjs';
import {
	MEETINGS,
	assertJson,
	assertProblem,
	assertValidation,
	createMeeting,
	del,
	get,
	login,
	post,
	randomSecret,
	register,
	registerAt,
	request,
	requestAt,
	startIamd,
	uploadRaw,
} from './helpers.mjs';
import { ORGS, createOrg, makeTeam, orgOf, switchOrg } from './team_helpers.mjs';

const T = { timeout: 60000 };
const patch = (path, opts) => request('PATCH', path, opts);

describe('organizations', () => {
	test('an account creates more than one and lists them with its role', T, async () => {
		const a = await register({ tag: 'orgs-list' });
		const one = await createOrg(a.access, 'Acme Research', { default_language: 'de', retention_days: 30 });
		assert.equal(one.role, 'owner');
		assert.equal(one.personal, false);
		assert.equal(one.active, false);
		assert.equal(one.default_language, 'de');
		assert.equal(one.retention_days, 30);
		assert.equal(one.members, 1);
		const two = await createOrg(a.access, 'Acme Sales');
		assert.equal(two.retention_days, null);
		const list = assertJson(await get(ORGS, { token: a.access }), 200);
		const ids = list.data.map((o) => o.id);
		assert.deepEqual(ids, [a.organization.id, one.id, two.id]);
		assert.equal(list.data[0].active, true);
		assert.equal(list.data[0].personal, true);
		assert.ok(list.data.every((o) => o.role === 'owner'));
		// Someone else sees none of them.
		const b = await register({ tag: 'orgs-other' });
		const theirs = assertJson(await get(ORGS, { token: b.access }), 200);
		assert.deepEqual(theirs.data.map((o) => o.id), [b.organization.id]);
	});

	test('bad settings are refused with every field named', T, async () => {
		const a = await register({ tag: 'orgs-bad' });
		assertValidation(await post(ORGS, { token: a.access, json: {} }), ['name']);
		assertValidation(
			await post(ORGS, { token: a.access, json: { name: 'x\u202Ey', default_language: 'english!', retention_days: 0 } }),
			['name', 'default_language', 'retention_days'],
		);
		assertProblem(await post(ORGS, { token: a.access, json: { name: 'ok', colour: 'red' } }), 400);
		assertProblem(await post(ORGS, { json: { name: 'anon' } }), 401, 'unauthorized');
	});

	test('switching issues a token pair for the other organization; the old one ends', T, async () => {
		const a = await register({ tag: 'orgs-switch' });
		const org = await createOrg(a.access, 'Switch Co');
		const own = await createMeeting(a.access, { title: 'personal meeting' });
		const sw = await switchOrg(a.access, org.id);
		assert.equal(sw.body.organization.id, org.id);
		assert.equal(sw.body.organization.role, 'owner');
		assert.equal((await orgOf(sw.access)).id, org.id);
		// The meeting list is the new organization's.
		const list = assertJson(await get(MEETINGS, { token: sw.access }), 200);
		assert.equal(list.data.length, 0);
		assertProblem(await get(`${MEETINGS}/${own.id}`, { token: sw.access }), 404);
		// The calling session ended.
		assertProblem(await get(ORGS, { token: a.access }), 401, 'invalid_token');
		// Not a member: 404 naming the field; not a UUID: 404 too.
		const b = await register({ tag: 'orgs-switch-b' });
		const p = assertProblem(
			await post('/api/v1/auth/switch-org', { token: sw.access, json: { organization_id: b.organization.id } }),
			404,
			'organization_not_found',
		);
		assert.equal(p.errors[0].field, 'organization_id');
		assertProblem(await post('/api/v1/auth/switch-org', { token: sw.access, json: { organization_id: 'nope' } }), 404);
		// And back.
		const back = await switchOrg(sw.access, a.organization.id);
		const mine = assertJson(await get(MEETINGS, { token: back.access }), 200);
		assert.deepEqual(mine.data.map((m) => m.id), [own.id]);
	});

	test('read and update the active organization; another id is 404', T, async () => {
		const a = await register({ tag: 'orgs-update' });
		const org = await createOrg(a.access, 'Before');
		const sw = await switchOrg(a.access, org.id);
		const got = assertJson(await get(`${ORGS}/${org.id}`, { token: sw.access }), 200);
		assert.equal(got.name, 'Before');
		assert.equal(got.active, true);
		const up = assertJson(
			await patch(`${ORGS}/${org.id}`, { token: sw.access, json: { name: 'After', default_language: 'fr', retention_days: 90 } }),
			200,
		);
		assert.equal(up.name, 'After');
		assert.equal(up.default_language, 'fr');
		assert.equal(up.retention_days, 90);
		// New meetings take the organization's default language unless they name one.
		assert.equal((await createMeeting(sw.access, { title: 'in French' })).language, 'fr');
		assert.equal((await createMeeting(sw.access, { title: 'in English', language: 'en' })).language, 'en');
		const cleared = assertJson(await patch(`${ORGS}/${org.id}`, { token: sw.access, json: { retention_days: null } }), 200);
		assert.equal(cleared.retention_days, null);
		assert.equal(cleared.name, 'After');
		// Another organization, even one the caller belongs to, is 404 until switched to.
		assertProblem(await get(`${ORGS}/${a.organization.id}`, { token: sw.access }), 404, 'organization_not_found');
		const b = await register({ tag: 'orgs-update-b' });
		assertProblem(await patch(`${ORGS}/${org.id}`, { token: b.access, json: { name: 'Mine now' } }), 404, 'organization_not_found');
		assertProblem(await del(`${ORGS}/${org.id}`, { token: b.access }), 404, 'organization_not_found');
		assert.equal(assertJson(await get(`${ORGS}/${org.id}`, { token: sw.access }), 200).name, 'After');
	});

	test('deleting an organization removes everything in it; only owners may; personal ones stay', T, async () => {
		const { org, owner, members } = await makeTeam(['admin'], 'orgs-del');
		const m = await createMeeting(owner.access, { title: 'to be deleted' });
		const key = assertJson(await post('/api/v1/api-keys', { token: owner.access, json: { name: 'k' } }), 201).key;
		const p = assertProblem(await del(`${ORGS}/${org.id}`, { token: members.admin.access }), 403, 'forbidden');
		assert.match(p.detail, /'admin'/);
		assert.match(p.detail, /delete_org/);
		assertJson(await get(`${MEETINGS}/${m.id}`, { token: owner.access }), 200);
		const res = await del(`${ORGS}/${org.id}`, { token: owner.access });
		assert.equal(res.status, 204);
		// Sessions, keys and members went with it.
		assertProblem(await get(`${MEETINGS}/${m.id}`, { token: owner.access }), 401);
		assertProblem(await get(MEETINGS, { token: key }), 401);
		assertProblem(await get(MEETINGS, { token: members.admin.access }), 401);
		const relog = await login(owner.email);
		assert.ok(!assertJson(await get(ORGS, { token: relog.access }), 200).data.some((o) => o.id === org.id));
		assertProblem(await get(`${MEETINGS}/${m.id}`, { token: relog.access }), 404);
		// The personal organization cannot be deleted.
		const mine = await orgOf(relog.access);
		assert.equal(mine.personal, true);
		assertProblem(await del(`${ORGS}/${mine.id}`, { token: relog.access }), 409, 'personal_organization');
	});
});

/** Every object file under a blob store (not the spool). */
function objects(dataDir) {
	const out = [];
	const walk = (d) => {
		for (const e of fs.readdirSync(d, { withFileTypes: true })) {
			const p = path.join(d, e.name);
			if (e.isDirectory()) walk(p);
			else if (!e.name.startsWith('.')) out.push(p);
		}
	};
	walk(path.join(dataDir, 'blobs', 'objects'));
	return out;
}

describe('deleting an organization removes its audio files', () => {
	const tmpRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'iam-orgs-'));
	let srv;
	after(async () => {
		await srv?.stop();
		fs.rmSync(tmpRoot, { recursive: true, force: true });
	});

	test('the audio of every meeting in it is gone from the blob store; other tenants keep theirs', T, async () => {
		const db = process.env.IAM_ENGINE === 'postgres' && process.env.IAM_TEST_DATABASE_URL ? { IAM_DATABASE_URL: process.env.IAM_TEST_DATABASE_URL } : {};
		srv = await startIamd(fs.mkdtempSync(path.join(tmpRoot, 'srv-')), { IAM_JWT_SECRET: randomSecret(), IAM_WORKERS: '0', ...db });
		const base = srv.base;
		const a = await registerAt(base, 'orgs-blobs');
		const org = assertJson(await requestAt(base, 'POST', ORGS, { token: a.access, json: { name: 'Doomed' } }), 201);
		const sw = assertJson(await requestAt(base, 'POST', '/api/v1/auth/switch-org', { token: a.access, json: { organization_id: org.id } }), 200);
		const wav = silence(1, 'wav');
		const other = await registerAt(base, 'orgs-blobs-other');
		const theirs = await createMeeting(other.access, { title: 'theirs' }, base);
		assert.equal((await uploadRaw(other.access, theirs.id, wav, { base, filename: 'b.wav', transcribe: false })).status, 200);
		const before = objects(srv.dataDir).length;
		for (const title of ['one', 'two']) {
			const m = await createMeeting(sw.access_token, { title }, base);
			const up = await uploadRaw(sw.access_token, m.id, wav, { base, filename: 'a.wav', transcribe: false });
			assert.equal(up.status, 200, up.text);
		}
		assert.equal(objects(srv.dataDir).length, before + 2);
		const res = await requestAt(base, 'DELETE', `${ORGS}/${org.id}`, { token: sw.access_token });
		assert.equal(res.status, 204, res.text);
		assert.equal(objects(srv.dataDir).length, before);
		// The other tenant's audio is still served.
		const audio = await requestAt(base, 'GET', `${MEETINGS}/${theirs.id}/audio`, { token: other.access });
		assert.equal(audio.status, 200);
		assert.equal(audio.bytes.length, wav.length);
	});
});

describe('members', () => {
	test('list members with roles', T, async () => {
		const { org, owner, members } = await makeTeam(['admin', 'viewer'], 'mem-list');
		const list = assertJson(await get(`${ORGS}/${org.id}/members`, { token: members.viewer.access }), 200);
		const byRole = Object.fromEntries(list.data.map((m) => [m.role, m]));
		assert.deepEqual(Object.keys(byRole).sort(), ['admin', 'owner', 'viewer']);
		assert.equal(byRole.owner.user_id, owner.userId);
		assert.equal(byRole.viewer.you, true);
		assert.equal(byRole.owner.you, false);
		assert.equal(byRole.admin.email, members.admin.email);
	});

	test('change a role; nobody grants above their own; the last owner cannot be demoted', T, async () => {
		const { org, owner, members } = await makeTeam(['admin', 'member'], 'mem-role');
		const url = (u) => `${ORGS}/${org.id}/members/${u.userId}`;
		// The member becomes a viewer at once: their next request is a viewer's.
		const changed = assertJson(await patch(url(members.member), { token: owner.access, json: { role: 'viewer' } }), 200);
		assert.equal(changed.role, 'viewer');
		assertProblem(await post(MEETINGS, { token: members.member.access, json: { title: 'x' } }), 403, 'forbidden');
		// An admin may not make anyone an owner, nor touch an owner.
		const esc = assertProblem(await patch(url(members.member), { token: members.admin.access, json: { role: 'owner' } }), 403, 'role_escalation');
		assert.match(esc.detail, /'admin'/);
		assertProblem(await patch(url(owner), { token: members.admin.access, json: { role: 'viewer' } }), 403, 'forbidden');
		assertProblem(await del(url(owner), { token: members.admin.access }), 403, 'forbidden');
		// An admin may make someone an admin.
		assert.equal(assertJson(await patch(url(members.member), { token: members.admin.access, json: { role: 'admin' } }), 200).role, 'admin');
		// A viewer manages nobody.
		assertProblem(await patch(url(members.admin), { token: (await login(members.member.email)).access, json: { role: 'viewer' } }), 404);
		// The last owner stays an owner.
		const last = assertProblem(await patch(url(owner), { token: owner.access, json: { role: 'admin' } }), 409, 'last_owner');
		assert.match(last.detail, /last owner/);
		assertValidation(await patch(url(members.admin), { token: owner.access, json: { role: 'boss' } }), ['role']);
		assertProblem(await patch(`${ORGS}/${org.id}/members/00000000-0000-7000-8000-000000000000`, { token: owner.access, json: { role: 'viewer' } }), 404, 'member_not_found');
		// With a second owner, the first may step down.
		assertJson(await patch(url(members.admin), { token: owner.access, json: { role: 'owner' } }), 200);
		assert.equal(assertJson(await patch(url(owner), { token: owner.access, json: { role: 'member' } }), 200).role, 'member');
	});

	test('removing a member cuts their tokens and keys at once', T, async () => {
		const { org, owner, members } = await makeTeam(['admin', 'member'], 'mem-remove');
		const key = assertJson(await post('/api/v1/api-keys', { token: members.admin.access, json: { name: 'k' } }), 201).key;
		assertJson(await get(MEETINGS, { token: key }), 200);
		assertJson(await get(MEETINGS, { token: members.member.access }), 200);
		assert.equal((await del(`${ORGS}/${org.id}/members/${members.member.userId}`, { token: members.admin.access })).status, 204);
		assert.equal((await del(`${ORGS}/${org.id}/members/${members.admin.userId}`, { token: owner.access })).status, 204);
		const p = assertProblem(await get(MEETINGS, { token: members.member.access }), 401);
		assert.match(p.detail, /no longer a member|ended/);
		assertProblem(await get(MEETINGS, { token: key }), 401);
		assertProblem(await get(MEETINGS, { token: members.admin.access }), 401);
		// They can still log in, to their own organization.
		const back = await login(members.member.email);
		assert.notEqual(back.body.organization.id, org.id);
		const list = assertJson(await get(`${ORGS}/${org.id}/members`, { token: owner.access }), 200);
		assert.deepEqual(list.data.map((m) => m.role), ['owner']);
	});

	test('leaving: members may, the last owner may not', T, async () => {
		const { org, owner, members } = await makeTeam(['viewer'], 'mem-leave');
		const left = assertJson(await post(`${ORGS}/${org.id}/leave`, { token: members.viewer.access }), 200);
		assert.notEqual(left.organization.id, org.id);
		assert.equal(left.organization.personal, true);
		assertJson(await get(MEETINGS, { token: left.access_token }), 200);
		assertProblem(await get(MEETINGS, { token: members.viewer.access }), 401);
		assertProblem(await post(`${ORGS}/${org.id}/leave`, { token: owner.access }), 409, 'last_owner');
		assertJson(await get(`${ORGS}/${org.id}`, { token: owner.access }), 200);
	});
});

describe('audit log', () => {
	test('records reads, role changes, invitations, keys and logins; owners and admins read it', T, async () => {
		const { org, owner, members } = await makeTeam(['admin', 'member'], 'audit');
		const m = await createMeeting(owner.access, { title: 'audited' });
		assertJson(await get(`${MEETINGS}/${m.id}`, { token: members.member.access, headers: { 'user-agent': 'audit-test/1' } }), 200);
		await patch(`${ORGS}/${org.id}/members/${members.member.userId}`, { token: owner.access, json: { role: 'viewer' } });
		assertJson(await post('/api/v1/api-keys', { token: members.admin.access, json: { name: 'audited key' } }), 201);
		const all = assertJson(await get('/api/v1/audit-events?limit=100', { token: members.admin.access }), 200);
		const actions = all.data.map((e) => e.action);
		for (const a of ['meeting.read', 'member.role_change', 'invitation.create', 'invitation.accept', 'api_key.create', 'auth.switch_org'])
			assert.ok(actions.includes(a), `audit log lacks ${a}: ${actions.join(', ')}`);
		// Reading it again soon (a page polling) is not recorded again.
		assertJson(await get(`${MEETINGS}/${m.id}`, { token: members.member.access }), 200);
		const reads = assertJson(await get(`/api/v1/audit-events?action=meeting.read&actor=${members.member.userId}`, { token: owner.access }), 200);
		assert.equal(reads.data.length, 1);
		const read = all.data.find((e) => e.action === 'meeting.read');
		assert.deepEqual(read.target, { type: 'meeting', id: m.id });
		assert.equal(read.actor.id, members.member.userId);
		assert.equal(read.actor.email, members.member.email);
		assert.equal(read.user_agent, 'audit-test/1');
		assert.ok(read.ip.length > 0);
		assert.match(read.request_id, /\S/);
		const role = all.data.find((e) => e.action === 'member.role_change');
		assert.equal(role.details.from, 'member');
		assert.equal(role.details.to, 'viewer');
		// Newest first.
		const times = all.data.map((e) => e.created_at);
		assert.deepEqual([...times].sort().reverse(), times);
		// Filters.
		const only = assertJson(await get('/api/v1/audit-events?action=meeting.read', { token: owner.access }), 200);
		assert.ok(only.data.length >= 1 && only.data.every((e) => e.action === 'meeting.read'));
		const inv = assertJson(await get('/api/v1/audit-events?action=invitation.', { token: owner.access }), 200);
		assert.ok(inv.data.length >= 4 && inv.data.every((e) => e.action.startsWith('invitation.')));
		const byActor = assertJson(await get(`/api/v1/audit-events?actor=${members.member.userId}`, { token: owner.access }), 200);
		assert.ok(byActor.data.length >= 1 && byActor.data.every((e) => e.actor.id === members.member.userId));
		const future = new Date(Date.now() + 3600e3).toISOString();
		assert.equal(assertJson(await get(`/api/v1/audit-events?since=${future}`, { token: owner.access }), 200).data.length, 0);
		const past = new Date(Date.now() - 3600e3).toISOString();
		assert.equal(assertJson(await get(`/api/v1/audit-events?until=${past}`, { token: owner.access }), 200).data.length, 0);
		// Paging: every event once.
		const seen = [];
		let cursor = '';
		for (let i = 0; i < 100; i++) {
			const page = assertJson(await get(`/api/v1/audit-events?limit=3${cursor ? `&cursor=${cursor}` : ''}`, { token: owner.access }), 200);
			assert.ok(page.data.length <= 3);
			seen.push(...page.data.map((e) => e.id));
			if (!page.next_cursor) break;
			cursor = page.next_cursor;
		}
		assert.deepEqual(seen, all.data.map((e) => e.id));
		// Members and viewers may not read it; bad filters are 400.
		const denied = assertProblem(await get('/api/v1/audit-events', { token: members.member.access }), 403, 'forbidden');
		assert.match(denied.detail, /read_audit/);
		assertValidation(await get('/api/v1/audit-events?since=yesterday&actor=bob&action=DROP%20TABLE', { token: owner.access }), ['since', 'actor', 'action']);
		assertValidation(await get('/api/v1/audit-events?cursor=nonsense', { token: owner.access }), ['cursor']);
		// Another organization's log shows none of this.
		const other = await register({ tag: 'audit-other' });
		const theirs = assertJson(await get('/api/v1/audit-events?limit=100', { token: other.access }), 200);
		assert.ok(!theirs.data.some((e) => e.action === 'meeting.read'));
	});

	test('behind a trusted proxy the client address is recorded, not the proxy', T, async () => {
		const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'iam-audit-proxy-'));
		const db = process.env.IAM_ENGINE === 'postgres' && process.env.IAM_TEST_DATABASE_URL ? { IAM_DATABASE_URL: process.env.IAM_TEST_DATABASE_URL } : {};
		const srv = await startIamd(dir, { IAM_JWT_SECRET: randomSecret(), IAM_WORKERS: '0', IAM_TRUSTED_PROXIES: '127.0.0.1', ...db });
		try {
			const a = await registerAt(srv.base, 'audit-proxy');
			const res = await requestAt(srv.base, 'POST', '/api/v1/auth/login', {
				json: { email: a.email, password: 'Correct-horse-battery-9' },
				headers: { 'x-forwarded-for': '203.0.113.9' },
			});
			assert.equal(res.status, 200, res.text);
			const list = assertJson(await requestAt(srv.base, 'GET', '/api/v1/audit-events?action=auth.login.success', { token: a.access }), 200);
			assert.equal(list.data[0].ip, '203.0.113.9');
		} finally {
			await srv.stop();
			fs.rmSync(dir, { recursive: true, force: true });
		}
	});

	test('logins are recorded', T, async () => {
		const a = await register({ tag: 'audit-login' });
		await login(a.email);
		const list = assertJson(await get('/api/v1/audit-events?action=auth.', { token: a.access }), 200);
		assert.ok(list.data.some((e) => e.action === 'auth.login.success' && e.actor.id === a.user.id));
	});
});
