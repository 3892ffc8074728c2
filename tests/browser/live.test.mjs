// The app's one WebSocket (web/src/lib/live.ts): the meeting page takes its
// status updates from it (meeting.status events) instead of an event stream
// or polling, and after the socket drops it reconnects by itself and catches
// up on what happened meanwhile.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { BASE, SPEECH, apiJson, launch, openLoggedIn, registerApi, speechFile } from './helpers.mjs';

const T = { timeout: 150000 };

let b;
let acc;
const sockets = [];
const streams = [];
before(async () => {
	b = await launch();
	acc = await registerApi({ tag: 'live' });
	b.page.on('websocket', (ws) => sockets.push(ws));
	b.page.on('request', (r) => {
		if (/\/api\/v1\/meetings\/[^/]+\/events/.test(r.url())) streams.push(r.url());
	});
	await openLoggedIn(b.page, acc, '/meetings');
});
after(async () => {
	await b?.close();
});

async function storedMeeting(title) {
	const r = await apiJson('POST', '/api/v1/meetings', { token: acc.access, json: { title } });
	assert.equal(r.status, 201, r.text);
	const res = await fetch(`${BASE}/api/v1/meetings/${r.body.id}/upload?filename=live.mp3&transcribe=false`, {
		method: 'POST',
		headers: { authorization: `Bearer ${acc.access}`, 'content-type': 'application/octet-stream' },
		body: fs.readFileSync(speechFile(SPEECH, 'mp3', 'live')),
	});
	assert.equal(res.status, 200, await res.text());
	return r.body;
}

test('the meeting page follows a transcription over the WebSocket, with no event stream', T, async () => {
	const { page } = b;
	const m = await storedMeeting('Live status');
	const earlier = sockets.length; // the header's bell opened one on the page before
	await page.goto(`/meetings/${m.id}`);
	await page.getByText('The audio is stored but not transcribed.').waitFor();
	// this page's socket, not one of the page before
	const open = () => sockets.slice(earlier).filter((w) => w.url().includes(`/api/v2/messages/ws/${acc.user.id}?ticket=`) && !w.isClosed()).at(-1);
	const deadline = Date.now() + 15000;
	while (!open() && Date.now() < deadline) await page.waitForTimeout(100);
	const ws = open();
	assert.ok(ws, 'the app opened its WebSocket with a ticket');
	const statuses = [];
	ws.on('framereceived', (f) => {
		try {
			const msg = JSON.parse(f.payload);
			if (msg.type === 'meeting.status' && msg.data.id === m.id) statuses.push(msg.data.status);
		} catch {
			/* not JSON */
		}
	});
	await page.evaluate(() => (window.__noReload = true));
	await page.getByRole('button', { name: 'Transcribe' }).click();
	await page.locator('.segment').first().waitFor({ timeout: 120000 });
	assert.equal(await page.evaluate(() => window.__noReload), true);
	assert.ok(statuses.includes('processing') && statuses.includes('completed'), `statuses over the socket: ${statuses}`);
	assert.deepEqual(streams, [], 'no event stream while the socket is up');
});
