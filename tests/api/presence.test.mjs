// GET /api/v2/presence: who among the people I share an organization with
// has a WebSocket open now (the state a page needs at load; the socket's
// presence events tell the changes after that). Strangers' sockets never
// show; closing the last socket takes a person off the list.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { BASE, assertJson, assertNoStore, assertProblem, get, post, register, sleep } from './helpers.mjs';
import { makeTeam } from './team_helpers.mjs';

const T = { timeout: 60000 };
const PRESENCE = '/api/v2/presence';

/** Open user's WebSocket with a ticket and wait until the hub answers a ping (adopted). */
async function openSocket(access, userId) {
	const t = await post('/api/v1/realtime/ticket', { token: access });
	assert.equal(t.status, 201, t.text);
	const ws = new WebSocket(`${BASE.replace(/^http/, 'ws')}/api/v2/messages/ws/${userId}?ticket=${encodeURIComponent(t.body.ticket)}`);
	await new Promise((resolve, reject) => {
		const timer = setTimeout(() => reject(new Error('no pong within 10 s')), 10000);
		ws.on('open', () => ws.send(JSON.stringify({ type: 'ping', timestamp: 1 })));
		ws.on('message', (d) => {
			if (JSON.parse(String(d)).type === 'pong') {
				clearTimeout(timer);
				resolve();
			}
		});
		ws.on('error', (e) => {
			clearTimeout(timer);
			reject(e);
		});
	});
	return ws;
}

async function closeSocket(ws) {
	const done = new Promise((r) => ws.once('close', r));
	ws.close(1000);
	await done;
}

async function onlineSeenBy(access) {
	const res = await get(PRESENCE, { token: access });
	const body = assertJson(res, 200);
	assertNoStore(res);
	assert.ok(Array.isArray(body.online), 'online is a list');
	return body.online;
}

/** Poll until pred(online) holds (the hub drops a closed socket a moment after the close). */
async function until(access, pred, what) {
	const deadline = Date.now() + 10000;
	for (;;) {
		const online = await onlineSeenBy(access);
		if (pred(online)) return online;
		assert.ok(Date.now() < deadline, `${what}: still ${JSON.stringify(online)}`);
		await sleep(100);
	}
}

describe('presence', () => {
	test('a member with a socket open is online for the others of the organization, not for strangers; offline once it closes', T, async () => {
		const { owner, members } = await makeTeam(['member'], 'presence');
		const member = members.member;
		const stranger = await register({ tag: 'presence-stranger' });

		assert.ok(!(await onlineSeenBy(owner.access)).includes(member.userId), 'offline before any socket');
		const ws = await openSocket(member.access, member.userId);
		const seen = await onlineSeenBy(owner.access);
		assert.ok(seen.includes(member.userId), `owner sees the member online: ${JSON.stringify(seen)}`);
		assert.ok(!seen.includes(owner.userId), 'the owner has no socket: not online');
		// A stranger with a socket of their own sees neither, and is seen by nobody.
		const sws = await openSocket(stranger.access, stranger.user.id);
		assert.deepEqual(await onlineSeenBy(stranger.access), [stranger.user.id]);
		assert.ok(!(await onlineSeenBy(owner.access)).includes(stranger.user.id));

		await closeSocket(ws);
		await until(owner.access, (o) => !o.includes(member.userId), 'the member goes offline when the socket closes');
		await closeSocket(sws);
	});

	test('without a token: 401', T, async () => {
		assertProblem(await get(PRESENCE), 401);
	});
});
