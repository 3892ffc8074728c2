// Share links (issue 10 item 7): a public read-only link to one meeting,
// optional expiry, revocable; the token is unguessable and stored hashed;
// nothing else is reachable from it; not indexed; every dead link is 404.

import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
	BASE,
	MEETINGS,
	assertJson,
	assertProblem,
	assertRfc3339,
	assertValidation,
	createMeeting,
	del,
	get,
	post,
	randomSecret,
	register,
	registerAt,
	requestAt,
	show,
	sleep,
	startIamd,
	uploadOk,
	waitCompleted,
} from './helpers.mjs';
import { SENTENCES, speech } from './audio.mjs';
import { makeTeam } from './team_helpers.mjs';

const T = { timeout: 180000 };

async function makeLink(token, mid, json = {}) {
	const res = await post(`${MEETINGS}/${mid}/shares`, { token, json });
	assert.equal(res.status, 201, `create link: ${show(res)}`);
	return res.body;
}
const pub = (token) => get(`/api/v1/shares/${encodeURIComponent(token)}`);

let fixture = null;
function setup() {
	if (!fixture) {
		fixture = (async () => {
			const team = await makeTeam(['member', 'viewer'], 'share');
			const m = await createMeeting(team.owner.access, { title: 'Launch review', meeting_date: '2026-11-20T09:30:00Z' });
			await uploadOk(team.owner.access, m.id, speech(SENTENCES.meeting, 'wav'), { filename: 'a.wav', contentType: 'audio/wav' });
			await waitCompleted(team.owner.access, m.id);
			// Name a speaker so the public page shows names.
			const tr = (await get(`${MEETINGS}/${m.id}/transcript`, { token: team.owner.access })).body;
			const spk = tr.segments.find((s) => s.speaker)?.speaker;
			if (spk) {
				const res = await fetch(`${BASE}${MEETINGS}/${m.id}/transcript/speakers/${spk}`, {
					method: 'PUT',
					headers: { authorization: `Bearer ${team.owner.access}`, 'content-type': 'application/json' },
					body: JSON.stringify({ name: 'Thandi' }),
				});
				assert.equal(res.status, 200);
			}
			const other = await createMeeting(team.owner.access, { title: 'Not shared' });
			return { team, m, other, spk };
		})();
	}
	return fixture;
}

describe('share links', () => {
	before(setup);

	test('a member makes a link; anyone opens it without login: title, date, transcript, audio', T, async () => {
		const { team, m, spk } = await setup();
		const link = await makeLink(team.members.member.access, m.id);
		assert.match(link.token, /^shr_[A-Za-z0-9_-]{43,}$/); // >= 256 bits
		assert.equal(link.url, `/s/${link.token}`);
		assert.equal(link.expires_at, null);
		assertRfc3339(link.created_at);
		const res = await pub(link.token);
		const body = assertJson(res, 200);
		assert.match(res.headers.get('x-robots-tag') || '', /noindex/);
		assert.equal(body.title, 'Launch review');
		assert.equal(Date.parse(body.meeting_date), Date.parse('2026-11-20T09:30:00Z'));
		assert.ok(body.transcript.segments.length > 0);
		assert.ok(body.transcript.segments[0].text.length > 0);
		if (spk) assert.equal(body.transcript.speakers.find((s) => s.id === spk).name, 'Thandi');
		// Nothing that names the organization, its people or other meetings.
		const text = JSON.stringify(body);
		assert.ok(!text.includes(team.org.id) && !text.includes(team.owner.email) && !text.includes(m.id));
		assert.ok(!('words' in body.transcript.segments[0]));
		// Audio: a short-lived URL for this meeting only.
		assertRfc3339(body.audio.expires_at);
		const ttl = Date.parse(body.audio.expires_at) - Date.now();
		assert.ok(ttl > 0 && ttl <= 3600e3, `audio URL lives ${ttl} ms`);
		const audio = await fetch(`${BASE}${body.audio.url}`);
		assert.equal(audio.status, 200);
		assert.match(audio.headers.get('x-robots-tag') || '', /noindex/);
		assert.ok((await audio.arrayBuffer()).byteLength > 1000);
		// A forged signature or a stretched expiry is refused.
		const u = new URL(body.audio.url, BASE);
		const forged = new URL(u);
		forged.searchParams.set('sig', '0'.repeat(64));
		assertProblem(await get(forged.pathname + forged.search), 403, 'audio_url_expired');
		const stretched = new URL(u);
		stretched.searchParams.set('exp', String(Number(u.searchParams.get('exp')) + 86400e3));
		assertProblem(await get(stretched.pathname + stretched.search), 403, 'audio_url_expired');
		const past = new URL(u);
		past.searchParams.set('exp', '1');
		assertProblem(await get(past.pathname + past.search), 403, 'audio_url_expired');
		assertProblem(await get(u.pathname), 403, 'audio_url_expired');
	});

	test('revoke: the link and its audio URL are 404 at once; listing shows no tokens', T, async () => {
		const { team, m } = await setup();
		const tok = team.owner.access;
		const link = await makeLink(tok, m.id);
		const audioUrl = assertJson(await pub(link.token), 200).audio.url;
		const list = assertJson(await get(`${MEETINGS}/${m.id}/shares`, { token: tok }), 200);
		const row = list.data.find((s) => s.id === link.id);
		assert.ok(row, 'the link is listed');
		assert.equal(row.created_by, team.owner.email);
		assert.ok(!('token' in row) && !('url' in row));
		assert.equal((await del(`${MEETINGS}/${m.id}/shares/${link.id}`, { token: tok })).status, 204);
		const gone = await pub(link.token);
		assertProblem(gone, 404, 'share_not_found');
		assert.match(gone.headers.get('x-robots-tag') || '', /noindex/);
		assertProblem(await get(audioUrl), 404, 'share_not_found');
		assertProblem(await del(`${MEETINGS}/${m.id}/shares/${link.id}`, { token: tok }), 404, 'share_not_found');
		const after = assertJson(await get(`${MEETINGS}/${m.id}/shares`, { token: tok }), 200);
		assert.ok(!after.data.some((s) => s.id === link.id));
	});

	test('expiry: in the past or malformed is 400; a link dies when it expires', T, async () => {
		const { team, m } = await setup();
		const tok = team.owner.access;
		assertValidation(await post(`${MEETINGS}/${m.id}/shares`, { token: tok, json: { expires_at: '2020-01-01T00:00:00Z' } }), ['expires_at']);
		assertValidation(await post(`${MEETINGS}/${m.id}/shares`, { token: tok, json: { expires_at: 'tomorrow' } }), ['expires_at']);
		assertValidation(await post(`${MEETINGS}/${m.id}/shares`, { token: tok, json: { expires_at: '2999-01-01T00:00:00Z' } }), ['expires_at']);
		assertProblem(await post(`${MEETINGS}/${m.id}/shares`, { token: tok, json: { expires_at: 5 } }), 400);
		assertProblem(await post(`${MEETINGS}/${m.id}/shares`, { token: tok, json: { public: true } }), 400);
		const soon = new Date(Date.now() + 2500).toISOString();
		const link = await makeLink(tok, m.id, { expires_at: soon });
		assertRfc3339(link.expires_at);
		assertJson(await pub(link.token), 200);
		await sleep(Date.parse(link.expires_at) - Date.now() + 300);
		assertProblem(await pub(link.token), 404, 'share_not_found');
	});

	test('who may: viewers 403, another organization 404, no login 401; guessed tokens 404', T, async () => {
		const { team, m } = await setup();
		assertProblem(await post(`${MEETINGS}/${m.id}/shares`, { token: team.members.viewer.access, json: {} }), 403, 'forbidden');
		assertProblem(await get(`${MEETINGS}/${m.id}/shares`, { token: team.members.viewer.access }), 403, 'forbidden');
		const stranger = await register({ tag: 'share-stranger' });
		assertProblem(await post(`${MEETINGS}/${m.id}/shares`, { token: stranger.access, json: {} }), 404, 'not_found');
		assertProblem(await get(`${MEETINGS}/${m.id}/shares`, { token: stranger.access }), 404, 'not_found');
		const link = await makeLink(team.owner.access, m.id);
		assertProblem(await del(`${MEETINGS}/${m.id}/shares/${link.id}`, { token: stranger.access }), 404);
		assertProblem(await post(`${MEETINGS}/${m.id}/shares`, { json: {} }), 401);
		// Guessing: random tokens of the right shape, near misses, junk, huge.
		for (let i = 0; i < 20; i++) assertProblem(await pub(`shr_${crypto.randomBytes(32).toString('base64url')}`), 404, 'share_not_found');
		assertProblem(await pub(link.token.slice(0, -1)), 404, 'share_not_found');
		assertProblem(await pub(`${link.token}x`), 404, 'share_not_found');
		assertProblem(await pub(link.token.toUpperCase()), 404, 'share_not_found');
		assertProblem(await pub('x'), 404, 'share_not_found');
		// Longer than any path parameter: the router refuses it before any lookup.
		const huge = await pub('shr_' + 'A'.repeat(3000));
		assert.ok(huge.status === 400 || huge.status === 404, show(huge));
		// The link opens that meeting and nothing else: no path from it to other routes.
		assertProblem(await get(`/api/v1/shares/${link.token}/transcript`), 404);
		assertJson(await pub(link.token), 200);
	});

	test('audit: share created, viewed, revoked', T, async () => {
		const { team, m } = await setup();
		const tok = team.owner.access;
		const link = await makeLink(tok, m.id);
		assertJson(await pub(link.token), 200);
		assert.equal((await del(`${MEETINGS}/${m.id}/shares/${link.id}`, { token: tok })).status, 204);
		const ev = assertJson(await get('/api/v1/audit-events?action=share.&limit=100', { token: tok }), 200);
		const mine = ev.data.filter((e) => e.details && e.details.share_id === link.id);
		assert.deepEqual(new Set(mine.map((e) => e.action)), new Set(['share.create', 'share.view', 'share.revoke']));
		const view = mine.find((e) => e.action === 'share.view');
		assert.equal(view.target.id, m.id);
		assert.equal(view.actor, null);
	});

	test('the public page /s/{token} is not indexed', T, async () => {
		const { team, m } = await setup();
		const link = await makeLink(team.owner.access, m.id);
		const res = await fetch(`${BASE}/s/${link.token}`);
		if (res.status === 404) return; // no web app built into this server
		assert.equal(res.status, 200);
		assert.match(res.headers.get('x-robots-tag') || '', /noindex/);
		// The page itself adds <meta name="robots" content="noindex">: see tests/browser/collections.test.mjs.
		assert.match(await res.text(), /<div id="root">/);
	});

	test("the token never reaches the server's log", T, async () => {
		const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'iam-share-log-'));
		const srv = await startIamd(dir, { IAM_LOG_LEVEL: 'info', IAM_JWT_SECRET: randomSecret() });
		try {
			const a = await registerAt(srv.base, 'share-log');
			const m = await requestAt(srv.base, 'POST', MEETINGS, { token: a.access, json: { title: 'Logged' } });
			assert.equal(m.status, 201, show(m));
			const link = await requestAt(srv.base, 'POST', `${MEETINGS}/${m.body.id}/shares`, { token: a.access, json: {} });
			assert.equal(link.status, 201, show(link));
			assert.equal((await requestAt(srv.base, 'GET', `/api/v1/shares/${link.body.token}`)).status, 200);
			assert.equal((await requestAt(srv.base, 'GET', `/api/v1/shares/${link.body.token}/audio`)).status, 403);
			await fetch(`${srv.base}/s/${link.body.token}`).then((r) => r.text());
			await sleep(300);
			const log = srv.stderr();
			assert.ok(log.includes('/api/v1/shares/[token]'), 'the request is logged, without its token');
			assert.ok(!log.includes(link.body.token.slice(4)), 'the token is not in the log');
		} finally {
			await srv.stop();
			fs.rmSync(dir, { recursive: true, force: true });
		}
	});
});
