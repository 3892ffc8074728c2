// The app's one WebSocket (web/src/lib/live.ts): the meeting page takes its
// status updates from it (meeting.status events) instead of an event stream
// or polling, and after the socket drops it reconnects by itself and catches
// up on what happened meanwhile.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import { BASE, SPEECH, apiJson, launch, openLoggedIn, registerApi, screenshot, speechFile } from './helpers.mjs';

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
	// Every socket of this page counts (the app may replace one, e.g. after an unanswered ping
	// on a loaded machine): the statuses must come over the WebSocket, whichever it is.
	const statuses = [];
	const listen = (w) =>
		w.on('framereceived', (f) => {
			try {
				const msg = JSON.parse(f.payload);
				if (msg.type === 'meeting.status' && msg.data.id === m.id) statuses.push(msg.data.status);
			} catch {
				/* not JSON */
			}
		});
	for (const w of sockets.slice(earlier)) listen(w);
	page.on('websocket', listen);
	await page.evaluate(() => (window.__noReload = true));
	await page.getByRole('button', { name: 'Transcribe' }).click();
	await page.locator('.segment').first().waitFor({ timeout: 120000 });
	page.off('websocket', listen);
	assert.equal(await page.evaluate(() => window.__noReload), true);
	assert.ok(statuses.includes('completed'), `statuses over the socket: ${statuses}`);
	assert.deepEqual(streams, [], 'no event stream while the socket is up');
});

// ------------------------------------------------------------------ a drop
//
// A real drop: the page is served through a TCP proxy of our own, which we
// cut (every connection reset, new ones refused) and restore. Playwright's
// setOffline would not do: Chromium keeps open WebSockets when the network
// emulation goes offline.

/** A TCP proxy to iamd on 127.0.0.1; cut() drops every connection and refuses new ones until restore(). */
async function tcpProxy() {
	const target = new URL(BASE);
	const open = new Set();
	const sockets = new Set(); // the WebSocket connections: { client, upstream }
	let down = false;
	const server = net.createServer((client) => {
		if (down) {
			client.destroy();
			return;
		}
		const upstream = net.connect(Number(target.port), target.hostname);
		open.add(client);
		open.add(upstream);
		client.once('data', (chunk) => {
			if (chunk.toString('latin1').startsWith('GET /api/v2/messages/ws/')) sockets.add({ client, upstream });
		});
		const done = () => {
			client.destroy();
			upstream.destroy();
			open.delete(client);
			open.delete(upstream);
		};
		client.on('error', done).on('close', done);
		upstream.on('error', done).on('close', done);
		client.pipe(upstream);
		upstream.pipe(client);
	});
	await new Promise((r) => server.listen(0, '127.0.0.1', r));
	return {
		base: `http://127.0.0.1:${server.address().port}`,
		cut() {
			down = true;
			for (const s of open) s.resetAndDestroy ? s.resetAndDestroy() : s.destroy();
			open.clear();
		},
		restore() {
			down = false;
		},
		/** Half-open WebSockets: nothing passes either way any more, but no side sees a close. */
		freezeSockets() {
			for (const { client, upstream } of sockets) {
				client.unpipe(upstream);
				upstream.unpipe(client);
				client.pause();
				upstream.pause();
			}
			sockets.clear();
		},
		close() {
			for (const s of open) s.destroy(); // frozen ones too: server.close waits for every connection
			open.clear();
			return new Promise((r) => server.close(r));
		},
	};
}

/** Dana, and Pat in her organization who writes to her: { me, sendToMe(subject) }. */
async function pair(tag) {
	const me = await registerApi({ tag: `${tag}-me`, first_name: 'Dana' });
	const peer = await registerApi({ tag: `${tag}-peer`, first_name: 'Pat', last_name: 'Reyes' });
	// Pat joins Dana's organization, so they may write to each other.
	const org = await apiJson('POST', '/api/v1/organizations', { token: me.access, json: { name: 'Drop test' } });
	assert.equal(org.status, 201, org.text);
	const sw = await apiJson('POST', '/api/v1/auth/switch-org', { token: me.access, json: { organization_id: org.body.id } });
	assert.equal(sw.status, 200, sw.text);
	me.access = sw.body.access_token;
	me.refresh = sw.body.refresh_token;
	const inv = await apiJson('POST', `/api/v1/organizations/${org.body.id}/invitations`, { token: me.access, json: { email: peer.email, role: 'member' } });
	assert.equal(inv.status, 201, inv.text);
	const acc = await apiJson('POST', '/api/v1/invitations/accept', { token: peer.access, json: { token: inv.body.token } });
	assert.equal(acc.status, 200, acc.text);
	const sendToMe = async (subject) => {
		const r = await apiJson('POST', '/api/v2/messages', { token: peer.access, json: { recipient_id: me.user.id, subject, body: 'hello' } });
		assert.equal(r.status, 201, r.text);
	};
	return { me, sendToMe };
}

test('after a drop the socket comes back by itself (new ticket, backoff) and catches up: the badge counts what came meanwhile, and a later message arrives live', T, async () => {
	const proxy = await tcpProxy();
	const d = await launch();
	try {
		const { me, sendToMe } = await pair('drop');
		const { page } = d;
		const socks = [];
		const tickets = [];
		const stats = [];
		page.on('websocket', (ws) => {
			const s = { ws, at: Date.now(), pongs: 0 };
			ws.on('framereceived', (f) => String(f.payload).includes('"pong"') && s.pongs++);
			socks.push(s);
		});
		page.on('request', (r) => {
			const p = new URL(r.url()).pathname;
			if (p === '/api/v1/realtime/ticket') tickets.push(Date.now());
			if (p === '/api/v2/messages/stats/summary') stats.push(Date.now());
		});
		// Logged in on the proxy's origin (as openLoggedIn does on BASE).
		await page.goto(`${proxy.base}/favicon.svg`);
		await page.evaluate((t) => localStorage.setItem('iam.refresh', JSON.stringify({ token: t, gen: 1 })), me.refresh);
		await page.goto(`${proxy.base}/inbox`);
		await page.getByText('Your inbox is empty.').waitFor();
		const answered = async (s) => {
			const deadline = Date.now() + 10000;
			while (!s.pongs && Date.now() < deadline) await page.waitForTimeout(50);
			assert.ok(s.pongs > 0, 'the socket answered our ping');
		};
		const wsOpen = async (n) => {
			const deadline = Date.now() + 30000;
			while (socks.length < n && Date.now() < deadline) await page.waitForTimeout(50);
			assert.ok(socks.length >= n, `socket ${n} opened (${socks.length} so far)`);
			const s = socks[n - 1];
			assert.ok(s.ws.url().startsWith(`${proxy.base.replace('http', 'ws')}/api/v2/messages/ws/${me.user.id}?ticket=`), s.ws.url());
			return s;
		};
		const first = await wsOpen(1);
		await answered(first);
		const firstClosed = new Promise((r) => first.ws.on('close', r));
		const ticketsBefore = tickets.length;

		// The drop.
		proxy.cut();
		await Promise.race([firstClosed, page.waitForTimeout(5000).then(() => assert.fail('the page never saw its socket close'))]);
		// Meanwhile Pat writes; the app retries and fails (the proxy refuses) for a while.
		await sendToMe('While you were away');
		await page.waitForTimeout(2500);
		assert.equal(socks.length, 1, 'no socket while the network is down');
		assert.equal(await page.locator('.inbox-unread').count(), 0, 'nothing could arrive meanwhile');

		// Back: a new socket with a fresh ticket, within the backoff.
		const back = Date.now();
		proxy.restore();
		const second = await wsOpen(2);
		assert.ok(second.at - back < 10000, `reconnected ${second.at - back} ms after the network came back`);
		assert.ok(tickets.length > ticketsBefore, 'a fresh ticket for the new socket');
		// Caught up: the unread badge, the bell and the inbox list show the message, without a reload.
		const nav = page.getByRole('navigation', { name: 'Main' });
		await nav.locator('.inbox-unread').waitFor({ timeout: 10000 });
		assert.equal((await nav.locator('.inbox-unread').textContent()).trim(), '1');
		await page.waitForFunction(() => document.querySelector('#notification-bell')?.getAttribute('aria-label') === 'Notifications, 1 unread');
		await page.getByRole('list', { name: 'Messages' }).getByText('While you were away').waitFor({ timeout: 10000 });
		// ...because of the reconnect, not the 30 s poll: the counts were asked for right after it.
		assert.ok(stats.some((t) => t >= second.at && t - second.at < 3000), `counts re-read after the reconnect (${stats.map((t) => t - second.at)})`);

		// And the socket works: the next message arrives live (badge, toast, list).
		await answered(second);
		const t0 = Date.now();
		await sendToMe('After the drop');
		await page.waitForFunction(() => document.querySelector('.inbox-unread')?.textContent?.trim() === '2', null, { timeout: 10000 });
		assert.ok(Date.now() - t0 < 10000);
		await page.getByText(/New message from Pat Reyes: After the drop/).first().waitFor({ timeout: 5000 });
		await page.getByRole('list', { name: 'Messages' }).getByText('After the drop').waitFor({ timeout: 5000 });
		assert.equal(socks.length, 2, 'one reconnect, no storm');
		await screenshot(page, 'live-after-drop');
	} finally {
		await d.close();
		await proxy.close();
	}
});

test('going offline closes the socket (Chromium would keep it), coming back online reconnects at once and catches up', T, async () => {
	const d = await launch();
	try {
		const { me, sendToMe } = await pair('offline');
		const { page, context } = d;
		const socks = [];
		page.on('websocket', (ws) => socks.push({ ws, at: Date.now() }));
		await openLoggedIn(page, me, '/inbox');
		await page.getByText('Your inbox is empty.').waitFor();
		const deadline = Date.now() + 15000;
		while (!socks.length && Date.now() < deadline) await page.waitForTimeout(50);
		assert.equal(socks.length, 1, 'the app opened its socket');
		// The notifications panel is open through it all.
		await page.locator('#notification-bell').click();
		const panel = page.getByRole('region', { name: 'Notifications' });
		await panel.getByText('Nothing yet.').waitFor();
		const closed = new Promise((r) => socks[0].ws.on('close', r));
		await context.setOffline(true);
		await Promise.race([closed, page.waitForTimeout(5000).then(() => assert.fail('the socket stayed open while offline'))]);
		await sendToMe('Sent while offline');
		await page.waitForTimeout(1500);
		const back = Date.now();
		await context.setOffline(false);
		while (socks.length < 2 && Date.now() < back + 10000) await page.waitForTimeout(50);
		assert.equal(socks.length, 2, 'a new socket once back online');
		// at once (the online event), not at the end of a backoff grown while offline
		assert.ok(socks[1].at - back < 3000, `reconnected ${socks[1].at - back} ms after coming back online`);
		await page.getByRole('navigation', { name: 'Main' }).locator('.inbox-unread').waitFor({ timeout: 10000 });
		await page.getByRole('list', { name: 'Messages' }).getByText('Sent while offline').waitFor({ timeout: 10000 });
		await panel.getByText(/New message from Pat Reyes.*Sent while offline/).waitFor({ timeout: 10000 });
		await screenshot(page, 'live-back-online');
	} finally {
		await d.close();
	}
});

test('a socket that silently stops working (half-open: no close, nothing passes) is given up after an unanswered ping and replaced', { timeout: 150000 }, async () => {
	const proxy = await tcpProxy();
	const d = await launch();
	try {
		const { me, sendToMe } = await pair('halfopen');
		const { page } = d;
		const socks = [];
		page.on('websocket', (ws) => socks.push({ ws, at: Date.now() }));
		await page.goto(`${proxy.base}/favicon.svg`);
		await page.evaluate((t) => localStorage.setItem('iam.refresh', JSON.stringify({ token: t, gen: 1 })), me.refresh);
		await page.goto(`${proxy.base}/inbox`);
		await page.getByText('Your inbox is empty.').waitFor();
		let deadline = Date.now() + 15000;
		while (!socks.length && Date.now() < deadline) await page.waitForTimeout(50);
		assert.equal(socks.length, 1);
		await page.waitForTimeout(1000); // its first ping answered
		const frozen = Date.now();
		proxy.freezeSockets();
		await sendToMe('Lost in the dead socket');
		// Our ping goes every 25 s and waits 10 s for its answer: a new socket within ~36 s.
		deadline = Date.now() + 45000;
		while (socks.length < 2 && Date.now() < deadline) await page.waitForTimeout(200);
		assert.equal(socks.length, 2, 'a new socket after the silent one was given up');
		const took = socks[1].at - frozen;
		assert.ok(took <= 37000, `replaced ${took} ms after it went silent`);
		await page.getByRole('navigation', { name: 'Main' }).locator('.inbox-unread').waitFor({ timeout: 10000 });
		await page.getByRole('list', { name: 'Messages' }).getByText('Lost in the dead socket').waitFor({ timeout: 10000 });
	} finally {
		await d.close();
		await proxy.close();
	}
});
