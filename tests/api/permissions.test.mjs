// The permission matrix, table-driven: every role (owner, admin, member,
// viewer) tries every action of the API that a role decides, and gets a 2xx
// where README's matrix says yes and 403 forbidden (naming the role and the
// permission) where it says no. Runs on SQLite and on PostgreSQL.

import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
	MEETINGS,
	assertProblem,
	createMeeting,
	del,
	get,
	post,
	put,
	request,
	requestBytes,
	show,
	uniqueEmail,
	uploadRaw,
	waitCompleted,
} from './helpers.mjs';
import { SENTENCES, silence, speech } from './audio.mjs';
import { ORGS, invite, makeTeam, signupByInvite } from './team_helpers.mjs';

const T = { timeout: 120000 };
const ROLES = ['owner', 'admin', 'member', 'viewer'];
const ALL = ROLES;
const WRITERS = ['owner', 'admin', 'member'];
const ADMINS = ['owner', 'admin'];
const patch = (path, opts) => request('PATCH', path, opts);

let team; // { org, members: {owner, admin, member, viewer} }
let wav; // one second of silence
let spoken; // a meeting of the owner's with a transcript (made once)

// What the owner prepares for one attempt (a fresh meeting, invitation, ...).
async function meeting() {
	return createMeeting(team.members.owner.access, { title: 'perm target' });
}
async function meetingWithAudio() {
	const m = await meeting();
	const res = await uploadRaw(team.members.owner.access, m.id, wav, { filename: 'a.wav', transcribe: false });
	assert.equal(res.status, 200, `owner upload: ${show(res)}`);
	return m;
}
async function invitation() {
	return invite(team.members.owner.access, team.org.id, uniqueEmail('perm-inv'), 'viewer');
}
async function extraMember() {
	const email = uniqueEmail('perm-extra');
	const inv = await invite(team.members.owner.access, team.org.id, email, 'viewer');
	return signupByInvite(inv.token, email);
}

const url = (p) => `${ORGS}/${team.org.id}${p}`;
const tr = (p = '') => `${MEETINGS}/${spoken.id}/transcript${p}`;

/*
 * Each action: the permission it needs (README's name), the roles allowed,
 * how to prepare (as the owner) and how to try it (as the role), and the
 * 2xx it answers when allowed.
 */
const ACTIONS = [
	{ perm: 'read', what: 'list meetings', allowed: ALL, ok: 200, run: (t) => get(MEETINGS, { token: t }) },
	{ perm: 'read', what: 'read a meeting', allowed: ALL, ok: 200, prep: meeting, run: (t, m) => get(`${MEETINGS}/${m.id}`, { token: t }) },
	{ perm: 'read', what: 'download audio', allowed: ALL, ok: 200, prep: meetingWithAudio, run: (t, m) => requestBytes('GET', `${MEETINGS}/${m.id}/audio`, { token: t }) },
	{ perm: 'read', what: 'get a playback ticket', allowed: ALL, ok: 201, prep: meeting, run: (t, m) => post(`${MEETINGS}/${m.id}/ticket`, { token: t }) },
	{ perm: 'read', what: 'read the organization', allowed: ALL, ok: 200, run: (t) => get(url(''), { token: t }) },
	{ perm: 'read', what: 'list members', allowed: ALL, ok: 200, run: (t) => get(url('/members'), { token: t }) },
	{ perm: 'read', what: 'list models (OpenAI)', allowed: ALL, ok: 200, run: (t) => get('/v1/models', { token: t }) },
	{ perm: 'create_meeting', what: 'create a meeting', allowed: WRITERS, ok: 201, run: (t) => post(MEETINGS, { token: t, json: { title: 'new' } }) },
	{ perm: 'create_meeting', what: 'rename a meeting', allowed: WRITERS, ok: 200, prep: meeting, run: (t, m) => put(`${MEETINGS}/${m.id}`, { token: t, json: { title: 'renamed' } }) },
	{ perm: 'upload', what: 'upload audio', allowed: WRITERS, ok: 200, prep: meeting, run: (t, m) => uploadRaw(t, m.id, wav, { filename: 'a.wav', transcribe: false }) },
	{
		perm: 'upload',
		what: 'start a tus upload',
		allowed: WRITERS,
		ok: 201,
		run: (t) =>
			requestBytes('POST', '/api/v1/uploads', {
				token: t,
				headers: { 'tus-resumable': '1.0.0', 'upload-length': String(wav.length), 'upload-metadata': `filename ${Buffer.from('a.wav').toString('base64')}` },
			}),
	},
	{ perm: 'transcribe', what: 'transcribe', allowed: WRITERS, ok: 202, prep: meetingWithAudio, run: (t, m) => post(`${MEETINGS}/${m.id}/transcribe`, { token: t, json: {} }) },
	{ perm: 'delete_meeting', what: 'delete a meeting', allowed: ADMINS, ok: 204, prep: meeting, run: (t, m) => del(`${MEETINGS}/${m.id}`, { token: t }) },
	{ perm: 'manage_keys', what: 'create an API key', allowed: ADMINS, ok: 201, run: (t) => post('/api/v1/api-keys', { token: t, json: { name: 'k' } }) },
	{ perm: 'manage_keys', what: 'list API keys', allowed: ADMINS, ok: 200, run: (t) => get('/api/v1/api-keys', { token: t }) },
	{
		perm: 'manage_keys',
		what: 'delete an API key',
		allowed: ADMINS,
		ok: 204,
		prep: async () => (await post('/api/v1/api-keys', { token: team.members.owner.access, json: { name: 'victim' } })).body,
		run: (t, k) => del(`/api/v1/api-keys/${k.id}`, { token: t }),
	},
	{ perm: 'manage_members', what: 'invite', allowed: ADMINS, ok: 201, run: (t) => post(url('/invitations'), { token: t, json: { email: uniqueEmail('perm-i'), role: 'viewer' } }) },
	{ perm: 'manage_members', what: 'list invitations', allowed: ADMINS, ok: 200, run: (t) => get(url('/invitations'), { token: t }) },
	{ perm: 'manage_members', what: 'resend an invitation', allowed: ADMINS, ok: 200, prep: invitation, run: (t, i) => post(url(`/invitations/${i.id}/resend`), { token: t }) },
	{ perm: 'manage_members', what: 'revoke an invitation', allowed: ADMINS, ok: 204, prep: invitation, run: (t, i) => del(url(`/invitations/${i.id}`), { token: t }) },
	{ perm: 'manage_members', what: 'change a role', allowed: ADMINS, ok: 200, prep: extraMember, run: (t, u) => patch(url(`/members/${u.userId}`), { token: t, json: { role: 'member' } }) },
	{ perm: 'manage_members', what: 'remove a member', allowed: ADMINS, ok: 204, prep: extraMember, run: (t, u) => del(url(`/members/${u.userId}`), { token: t }) },
	{ perm: 'read', what: 'read a transcript', allowed: ALL, ok: 200, run: (t) => get(tr(), { token: t }) },
	{ perm: 'read', what: 'export a transcript', allowed: ALL, ok: 200, run: (t) => requestBytes('GET', tr('?format=srt'), { token: t }) },
	{ perm: 'read', what: 'list transcript revisions', allowed: ALL, ok: 200, run: (t) => get(tr('/revisions'), { token: t }) },
	{ perm: 'edit_transcript', what: 'edit a segment', allowed: WRITERS, ok: 200, run: (t) => patch(tr('/segments/0'), { token: t, json: { text: 'the meeting starts now' } }) },
	{ perm: 'edit_transcript', what: 'name a speaker', allowed: WRITERS, ok: 200, run: (t) => put(tr('/speakers/S1'), { token: t, json: { name: 'Thandi' } }) },
	{ perm: 'see_billing', what: 'read usage', allowed: ADMINS, ok: 200, run: (t) => get('/api/v1/usage', { token: t }) },
	{ perm: 'see_billing', what: 'list invoices', allowed: ADMINS, ok: 200, run: (t) => get('/api/v1/invoices', { token: t }) },
	{ perm: 'read_audit', what: 'read the audit log', allowed: ADMINS, ok: 200, run: (t) => get('/api/v1/audit-events', { token: t }) },
	{ perm: 'manage_org', what: 'change the organization', allowed: ADMINS, ok: 200, run: (t) => patch(url(''), { token: t, json: { default_language: 'en' } }) },
	// Last: the owner's attempt deletes the organization.
	{ perm: 'delete_org', what: 'delete the organization', allowed: ['owner'], ok: 204, order: ['viewer', 'member', 'admin', 'owner'], run: (t) => del(url(''), { token: t }) },
];

describe('permission matrix: each role x each action', () => {
	before(async () => {
		wav = silence(1, 'wav');
		team = await makeTeam(['admin', 'member', 'viewer'], 'perm');
		spoken = await createMeeting(team.members.owner.access, { title: 'perm transcript' });
		const up = await uploadRaw(team.members.owner.access, spoken.id, speech(SENTENCES.meeting, 'wav'), { filename: 's.wav' });
		assert.equal(up.status, 200, show(up));
		await waitCompleted(team.members.owner.access, spoken.id);
	});

	// First (the matrix's last action deletes the organization).
	test('GET /meetings/{id} says what each role may do with it (permissions), as the matrix', T, async () => {
		for (const role of ROLES) {
			const res = await get(`${MEETINGS}/${spoken.id}`, { token: team.members[role].access });
			assert.equal(res.status, 200, show(res));
			const w = WRITERS.includes(role);
			assert.deepEqual(
				res.body.permissions,
				{ edit_transcript: w, rename: w, upload: w, transcribe: w, share: w, delete: ADMINS.includes(role) },
				role,
			);
		}
	});

	for (const a of ACTIONS) {
		for (const role of a.order || ROLES) {
			const allowed = a.allowed.includes(role);
			test(`${role} ${allowed ? 'may' : 'may not'} ${a.what} (${a.perm})`, T, async () => {
				const target = a.prep ? await a.prep() : undefined;
				const res = await a.run(team.members[role].access, target);
				if (allowed) {
					assert.equal(res.status, a.ok, `${role}: ${a.what}: ${show(res)}`);
					return;
				}
				if (res.url.startsWith('/v1/')) {
					assert.equal(res.status, 403, show(res));
					assert.equal(res.body.error.code, 'forbidden');
					return;
				}
				const p = assertProblem(res, 403, 'forbidden');
				assert.ok(p.detail.includes(`'${role}'`), `the problem names the role: ${p.detail}`);
				assert.ok(p.detail.includes(`'${a.perm}'`), `the problem names the permission: ${p.detail}`);
			});
		}
	}
});

describe('the OpenAI endpoint follows the role of the key', () => {
	test('a viewer key cannot transcribe; a member key can', T, async () => {
		const t = await makeTeam(['member', 'viewer'], 'perm-oai');
		// A key acts with its creator's current role.
		const k = await post('/api/v1/api-keys', { token: t.members.owner.access, json: { name: 'k' } });
		assert.equal(k.status, 201, show(k));
		const form = () => {
			const f = new FormData();
			f.append('file', new Blob([silence(1, 'wav')]), 'a.wav');
			f.append('model', 'whisper-1');
			return f;
		};
		const asOwner = await requestBytes('POST', '/v1/audio/transcriptions', { token: k.body.key, form: form(), timeout: 60000 });
		assert.equal(asOwner.status, 200, show(asOwner));
		// The owner hands ownership over and becomes a viewer: the key now acts as a viewer.
		const ok = await patch(`${ORGS}/${t.org.id}/members/${t.members.member.userId}`, { token: t.members.owner.access, json: { role: 'owner' } });
		assert.equal(ok.status, 200, show(ok));
		const down = await patch(`${ORGS}/${t.org.id}/members/${t.members.owner.userId}`, { token: t.members.owner.access, json: { role: 'viewer' } });
		assert.equal(down.status, 200, show(down));
		const asViewer = await requestBytes('POST', '/v1/audio/transcriptions', { token: k.body.key, form: form() });
		assert.equal(asViewer.status, 403, show(asViewer));
		assert.equal(asViewer.body.error.code, 'forbidden');
		assert.match(asViewer.body.error.message, /'viewer'/);
	});
});
