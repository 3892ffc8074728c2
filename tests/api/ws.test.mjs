// WebSocket (GET /api/v2/messages/ws/{user_id}) with the npm `ws` client:
// tickets (POST /api/v1/realtime/ticket) and their expiry (401 before the
// upgrade), authentication by the first message (ticket or token; 1008 for a
// bad one, another message first or silence; no events before it; a cap per
// address), sockets counted against IAM_MAX_CONNECTIONS, ping/pong, meeting.status events from a real transcription,
// tenant isolation, close codes 1008 (not my socket, logout), 1009 (a 10 MB
// frame), 1002 (unmasked frame, bad opcode: raw TCP), a ping flood, and
// back-pressure (a client that stops reading gets 1013 while iamd's memory
// stays bounded; events pushed through a private Redis). Runs its own iamd
// and redis-server; all waits are bounded.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import WebSocket from 'ws';

import { PASSWORD, UUID_RE, randomSecret, requestAt, sleep, startIamd, uniqueEmail, uploadOk } from './helpers.mjs';
import { silence } from './audio.mjs';
import { redisPublish, redisStart, redisStop, redisSubscribe, wireEvent } from './redis.mjs';

const T = { timeout: 120000 };
const SECRET = randomSecret();
const QUEUE_BYTES = 65536;
// On the PostgreSQL run, the test's database (already migrated); else SQLite in the data dir.
const PG = process.env.IAM_ENGINE === 'postgres' ? { IAM_DATABASE_URL: process.env.IAM_TEST_DATABASE_URL } : {};

let srv;
let dir;
let redis;

before(async () => {
	dir = fs.mkdtempSync(path.join(os.tmpdir(), 'iam-ws-'));
	redis = redisStart(path.join(dir, 'redis'));
	srv = await startIamd(path.join(dir, 'data'), {
		...PG,
		IAM_JWT_SECRET: SECRET,
		IAM_WORKERS: '1',
		IAM_ASR: 'sphinx',
		IAM_REGISTER_PER_HOUR: '0',
		IAM_REDIS_URL: redis.url,
		IAM_WS_PING_S: '1',
		IAM_WS_IDLE_S: '30',
		IAM_WS_MAX_MESSAGE: '1048576',
		IAM_WS_QUEUE_BYTES: String(QUEUE_BYTES),
		IAM_WS_PER_USER: '8',
		IAM_WS_AUTH_TIMEOUT_S: '2',
		IAM_WS_UNAUTH_PER_IP: '4',
		// Under AddressSanitizer freed memory waits in a quarantine (256 MB by default) and
		// would count as resident: keep it small so the memory bound below means the same there.
		ASAN_OPTIONS: [process.env.ASAN_OPTIONS, 'quarantine_size_mb=4:thread_local_quarantine_size_kb=64'].filter(Boolean).join(':'),
	});
});

after(async () => {
	if (srv) {
		// A clean exit: every socket closed on SIGTERM (and, under the sanitizers, no leak).
		const r = await srv.stop();
		assert.equal(r.code, 0, `iamd exit ${JSON.stringify(r)}: ${srv.stderr().slice(-3000)}`);
	}
	if (redis) redisStop(redis);
	fs.rmSync(dir, { recursive: true, force: true });
});

async function account() {
	const email = uniqueEmail('ws');
	const res = await requestAt(srv.base, 'POST', '/api/v1/auth/register', { json: { email, password: PASSWORD } });
	assert.equal(res.status, 201, res.text);
	return { token: res.body.access_token, refresh: res.body.refresh_token, user: res.body.user.id, org: res.body.organization.id };
}

/** One SQL statement on the test server's database. */
function sql(stmt) {
	if (PG.IAM_DATABASE_URL) execFileSync('psql', [PG.IAM_DATABASE_URL, '-v', 'ON_ERROR_STOP=1', '-qc', stmt]);
	else execFileSync('sqlite3', ['-cmd', '.timeout 10000', path.join(dir, 'data', 'iam.db'), stmt]);
}

/** Make `who` a member of `owner`'s organization (the row the rules read). */
function joinOrg(owner, who) {
	assert.match(owner.org, UUID_RE);
	assert.match(who.user, UUID_RE);
	sql(`INSERT INTO memberships (org_id, user_id, role, created_at) VALUES ('${owner.org}', '${who.user}', 'member', 0)`);
}

async function ticketFor(a) {
	const res = await requestAt(srv.base, 'POST', '/api/v1/realtime/ticket', { token: a.token });
	assert.equal(res.status, 201, res.text);
	assert.equal(typeof res.body.ticket, 'string');
	assert.equal(res.body.url, `/api/v2/messages/ws/${a.user}`);
	return res.body.ticket;
}

const wsUrl = (userId, ticket) => `${srv.base.replace('http', 'ws')}/api/v2/messages/ws/${userId}${ticket ? `?ticket=${encodeURIComponent(ticket)}` : ''}`;

/**
 * Open a socket; resolves once open with { ws, messages, next(pred, ms), closed }
 * or rejects with the HTTP status when the upgrade is refused.
 */
// 'open' fires on the 101; the hub thread adopts the socket a moment later. A pong proves
// a socket is adopted (indexed for events, counted for presence).
async function adopted(...sockets) {
	for (const s of sockets) {
		const n = s.messages.filter((m) => m.type === 'pong').length;
		s.ws.send(JSON.stringify({ type: 'ping', timestamp: 'adopted' }));
		await s.next((m) => m.type === 'pong' && s.messages.filter((x) => x.type === 'pong').length > n);
	}
}

function openSocket(url, opts = {}) {
	return new Promise((resolve, reject) => {
		const ws = new WebSocket(url, { maxPayload: 64 * 1024 * 1024, ...opts });
		const messages = [];
		const waiters = [];
		const closed = new Promise((r) => ws.once('close', (code, reason) => r({ code, reason: reason.toString() })));
		ws.on('message', (data) => {
			const m = JSON.parse(data.toString());
			messages.push(m);
			for (const w of [...waiters]) if (w.pred(m)) w.done(m);
		});
		ws.once('unexpected-response', (req, res) => {
			let body = '';
			res.setEncoding('utf8');
			res.on('data', (d) => (body += d));
			res.on('end', () => reject(Object.assign(new Error(`upgrade refused: ${res.statusCode}`), { status: res.statusCode, headers: res.headers, body })));
		});
		ws.once('error', (e) => reject(e));
		ws.once('open', () =>
			resolve({
				ws,
				messages,
				closed,
				next(pred, ms = 10000) {
					const have = messages.find(pred);
					if (have) return Promise.resolve(have);
					return new Promise((res2, rej2) => {
						const w = {
							pred,
							done: (m) => {
								clearTimeout(w.t);
								waiters.splice(waiters.indexOf(w), 1);
								res2(m);
							},
						};
						w.t = setTimeout(() => {
							waiters.splice(waiters.indexOf(w), 1);
							rej2(new Error(`no matching message within ${ms} ms; got ${JSON.stringify(messages.slice(-5))}`));
						}, ms);
						waiters.push(w);
					});
				},
			}),
		);
	});
}

async function refused(url, opts) {
	try {
		const s = await openSocket(url, opts);
		s.ws.terminate();
	} catch (e) {
		if (e.status) return e;
		throw e;
	}
	assert.fail('the upgrade was accepted');
}

function withTimeout(p, ms, what) {
	return Promise.race([p, sleep(ms).then(() => assert.fail(`${what}: nothing within ${ms} ms`))]);
}

/** A ticket signed like the server's (key derived from the JWT secret), with any expiry. */
function forgeTicket(a, expSeconds) {
	const tkey = crypto.createHmac('sha256', SECRET).update('iam-ticket-v1').digest();
	const sid = JSON.parse(Buffer.from(a.token.split('.')[1], 'base64url').toString()).sid;
	assert.ok(sid, 'the access token names its session');
	const payload = `t2|realtime|${a.org}|${a.user}|${sid}|-|${expSeconds}`;
	const mac = crypto.createHmac('sha256', tkey).update(payload).digest();
	return `${Buffer.from(payload).toString('base64url')}.${mac.toString('base64url')}`;
}

async function rssKb(pid) {
	const s = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
	return Number(/VmRSS:\s+(\d+)/.exec(s)[1]);
}

/** Raw handshake over TCP; returns { sock, frames() } where frames() resolves the next server frame. */
async function rawSocket(userId, ticket) {
	const sock = net.connect(srv.port, '127.0.0.1');
	await new Promise((r, j) => sock.once('connect', r).once('error', j));
	const key = crypto.randomBytes(16).toString('base64');
	sock.write(
		`GET /api/v2/messages/ws/${userId}?ticket=${encodeURIComponent(ticket)} HTTP/1.1\r\nHost: 127.0.0.1\r\n` +
			`Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
	);
	let buf = Buffer.alloc(0);
	let wake = null;
	let ended = false;
	sock.on('data', (d) => {
		buf = Buffer.concat([buf, d]);
		if (wake) wake();
	});
	sock.on('close', () => {
		ended = true;
		if (wake) wake();
	});
	const waitData = () => new Promise((r) => (wake = r));
	const deadline = Date.now() + 10000;
	while (buf.indexOf('\r\n\r\n') < 0) {
		assert.ok(!ended && Date.now() < deadline, 'no handshake reply');
		await withTimeout(waitData(), 10000, 'handshake');
	}
	const head = buf.subarray(0, buf.indexOf('\r\n\r\n')).toString();
	assert.match(head, /^HTTP\/1\.1 101/, head);
	const accept = crypto.createHash('sha1').update(key + '258EAFA5-E914-47DA-95CA-C5AB0DC85B11').digest('base64');
	assert.match(head, new RegExp(`Sec-WebSocket-Accept: ${accept.replace(/[+/=]/g, '\\$&')}`, 'i'));
	buf = buf.subarray(buf.indexOf('\r\n\r\n') + 4);
	async function frame() {
		for (;;) {
			if (buf.length >= 2) {
				let len = buf[1] & 0x7f;
				let off = 2;
				if (len === 126) {
					if (buf.length < 4) len = -1;
					else {
						len = buf.readUInt16BE(2);
						off = 4;
					}
				} else if (len === 127) {
					len = buf.length < 10 ? -1 : Number(buf.readBigUInt64BE(2));
					off = 10;
				}
				if (len >= 0 && buf.length >= off + len) {
					const f = { opcode: buf[0] & 0x0f, payload: buf.subarray(off, off + len) };
					buf = buf.subarray(off + len);
					return f;
				}
			}
			if (ended) return null;
			await withTimeout(waitData(), 10000, 'frame');
		}
	}
	/** The next close frame's code (skipping pings), or null if the socket ended without one. */
	async function closeCode() {
		for (;;) {
			const f = await frame();
			if (!f) return null;
			if (f.opcode === 8) return f.payload.readUInt16BE(0);
		}
	}
	return { sock, frame, closeCode };
}

describe('WebSocket', () => {
	test('a ticket opens the socket; ping is answered with pong and its timestamp', T, async () => {
		const a = await account();
		const s = await openSocket(wsUrl(a.user, await ticketFor(a)));
		s.ws.send(JSON.stringify({ type: 'ping', timestamp: 1234567 }));
		const pong = await s.next((m) => m.type === 'pong');
		assert.deepEqual(pong, { type: 'pong', timestamp: 1234567 });
		s.ws.send('not json');
		const err = await s.next((m) => m.type === 'error');
		assert.equal(err.data.code, 'invalid_message');
		s.ws.close(1000);
		assert.equal((await s.closed).code, 1000);
	});

	test('a Bearer header opens it too; the server pings on its interval', T, async () => {
		const a = await account();
		const s = await openSocket(wsUrl(a.user), { headers: { authorization: `Bearer ${a.token}` } });
		const pinged = new Promise((r) => s.ws.once('ping', r));
		await withTimeout(pinged, 5000, 'server ping');
		s.ws.close(1000);
	});

	test('a bad ticket, an expired ticket, a meeting ticket, a bad token: 401 problem before the upgrade', T, async () => {
		const a = await account();
		let e = await refused(wsUrl(a.user), { headers: { authorization: 'Bearer not-a-token' } });
		assert.equal(e.status, 401);
		assert.match(e.headers['content-type'], /application\/problem\+json/);
		assert.equal(JSON.parse(e.body).code, 'invalid_token');

		const good = await ticketFor(a);
		const bad = good.slice(0, -3) + (good.endsWith('AAA') ? 'BBB' : 'AAA');
		e = await refused(wsUrl(a.user, bad));
		assert.equal(e.status, 401);
		assert.equal(JSON.parse(e.body).code, 'invalid_ticket');

		// Signed with the real key, expired a second ago: refused; the same with a live expiry opens.
		const now = Math.floor(Date.now() / 1000);
		e = await refused(wsUrl(a.user, forgeTicket(a, now - 1)));
		assert.equal(e.status, 401);
		assert.equal(JSON.parse(e.body).code, 'invalid_ticket');
		const s = await openSocket(wsUrl(a.user, forgeTicket(a, now + 60)));
		s.ws.close(1000);

		// A ticket for a meeting's event stream does not open the socket.
		const m = await requestAt(srv.base, 'POST', '/api/v1/meetings', { token: a.token, json: { title: 't' } });
		const mt = await requestAt(srv.base, 'POST', `/api/v1/meetings/${m.body.id}/ticket`, { token: a.token });
		assert.equal(mt.status, 201, mt.text);
		e = await refused(wsUrl(a.user, mt.body.ticket));
		assert.equal(e.status, 401);

		const t = await requestAt(srv.base, 'POST', '/api/v1/realtime/ticket', {});
		assert.equal(t.status, 401);
	});

	test('no credentials: the first message {"type":"auth","ticket"} authenticates; events before it are not delivered', T, async () => {
		const a = await account();
		const s = await openSocket(wsUrl(a.user));
		// Not authenticated yet: an event for the user now is not delivered to this socket.
		await sleep(200); // adopted by the hub
		await redisPublish(redis, wireEvent(1, a.user, 'probe', { n: 'before' }));
		await sleep(300);
		s.ws.send(JSON.stringify({ type: 'auth', ticket: await ticketFor(a) }));
		const ok = await s.next((m) => m.type === 'authenticated');
		assert.deepEqual(ok, { type: 'authenticated', data: { user_id: a.user } });
		await redisPublish(redis, wireEvent(1, a.user, 'probe', { n: 'after' }));
		await s.next((m) => m.type === 'probe' && m.data.n === 'after');
		assert.deepEqual(
			s.messages.filter((m) => m.type === 'probe').map((m) => m.data.n),
			['after'],
		);
		// An authenticated socket: ping works, and it closes normally.
		s.ws.send(JSON.stringify({ type: 'ping', timestamp: 7 }));
		assert.deepEqual(await s.next((m) => m.type === 'pong'), { type: 'pong', timestamp: 7 });
		s.ws.close(1000);
		assert.equal((await s.closed).code, 1000);
	});

	test('no credentials: {"type":"auth","token"} with an access token authenticates too, and the user counts as online only then', T, async () => {
		const a = await account();
		const sub = redisSubscribe(redis);
		await sub.ready;
		const s = await openSocket(wsUrl(a.user));
		await sleep(300);
		assert.deepEqual(sub.events.filter((e) => e.type === 'presence' && e.data.user_id === a.user), []);
		s.ws.send(JSON.stringify({ type: 'auth', token: a.token }));
		assert.deepEqual(await s.next((m) => m.type === 'authenticated'), { type: 'authenticated', data: { user_id: a.user } });
		const deadline = Date.now() + 5000;
		while (!sub.events.some((e) => e.type === 'presence' && e.data.user_id === a.user) && Date.now() < deadline) await sleep(50);
		assert.equal(sub.events.find((e) => e.type === 'presence' && e.data.user_id === a.user)?.data.status, 'online');
		sub.close();
		s.ws.close(1000);
	});

	test('first-message auth refused: bad ticket, expired ticket, another user\'s ticket, bad token, another message first, silence: 1008', T, async () => {
		const a = await account();
		const b = await account();
		const good = await ticketFor(a);
		const bad = good.slice(0, -3) + (good.endsWith('AAA') ? 'BBB' : 'AAA');
		const cases = [
			[{ type: 'auth', ticket: bad }, /ticket is not valid/],
			[{ type: 'auth', ticket: forgeTicket(a, Math.floor(Date.now() / 1000) - 1) }, /ticket is not valid/],
			[{ type: 'auth', token: 'nope' }, /token is not valid/],
			[{ type: 'auth' }, /"ticket"/],
			[{ type: 'ping', timestamp: 1 }, /authenticate first/],
			['not json', /authenticate first/],
		];
		for (const [msg, reason] of cases) {
			const s = await openSocket(wsUrl(a.user));
			s.ws.send(typeof msg === 'string' ? msg : JSON.stringify(msg));
			const c = await withTimeout(s.closed, 10000, `close after ${JSON.stringify(msg)}`);
			assert.equal(c.code, 1008, JSON.stringify(msg));
			assert.match(c.reason, reason);
			assert.deepEqual(s.messages, [], 'nothing was sent to it');
		}
		// A's good ticket on B's path: not yours.
		const s = await openSocket(wsUrl(b.user));
		s.ws.send(JSON.stringify({ type: 'auth', ticket: good }));
		const c = await withTimeout(s.closed, 10000, 'close');
		assert.equal(c.code, 1008);
		assert.match(c.reason, /not yours/);
		// Silence past IAM_WS_AUTH_TIMEOUT_S (2 s here).
		const t0 = Date.now();
		const quiet = await openSocket(wsUrl(a.user));
		const q = await withTimeout(quiet.closed, 10000, 'close of a silent socket');
		assert.equal(q.code, 1008);
		assert.match(q.reason, /not authenticated within 2 s/);
		const waited = Date.now() - t0;
		assert.ok(waited >= 1500 && waited < 6000, `closed after ${waited} ms`);
	});

	test('unauthenticated sockets are capped per address (IAM_WS_UNAUTH_PER_IP): 429, and authenticating frees a slot', T, async () => {
		const a = await account();
		await sleep(300); // sockets of the tests before have been let go
		const open = [];
		for (let i = 0; i < 4; i++) open.push(await openSocket(wsUrl(a.user)));
		const e = await refused(wsUrl(a.user));
		assert.equal(e.status, 429);
		assert.equal(JSON.parse(e.body).code, 'too_many_unauthenticated_sockets');
		// Authenticated sockets do not count against it.
		const authed = await openSocket(wsUrl(a.user, await ticketFor(a)));
		open[0].ws.send(JSON.stringify({ type: 'auth', ticket: await ticketFor(a) }));
		await open[0].next((m) => m.type === 'authenticated');
		const again = await openSocket(wsUrl(a.user));
		for (const s of [...open, again, authed]) s.ws.close(1000);
		await Promise.all([...open, again, authed].map((s) => s.closed));
	});

	for (const [name, caps] of [
		['IAM_MAX_CONNECTIONS', { IAM_MAX_CONNECTIONS: '16', IAM_MAX_CONN_PER_IP: '0' }],
		['IAM_MAX_CONN_PER_IP', { IAM_MAX_CONNECTIONS: '256', IAM_MAX_CONN_PER_IP: '16' }],
	])
	test(`open WebSockets count against ${name} like the connections they came from (503 past it)`, T, async () => {
		const d2 = fs.mkdtempSync(path.join(os.tmpdir(), 'iam-ws-cap-'));
		const s2 = await startIamd(d2, { ...PG, IAM_JWT_SECRET: SECRET, IAM_WORKERS: '0', IAM_REGISTER_PER_HOUR: '0', IAM_WS_PER_USER: '64', ...caps });
		const saved = srv;
		srv = s2;
		/** Status of GET /readyz on a fresh TCP connection. */
		const freshStatus = () =>
			new Promise((resolve, reject) => {
				const c = net.connect(s2.port, '127.0.0.1', () => c.write('GET /readyz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n'));
				let buf = '';
				c.on('data', (d) => (buf += d.toString()));
				c.on('end', () => resolve(Number(/^HTTP\/1\.1 (\d+)/.exec(buf)?.[1])));
				c.on('error', reject);
			});
		const socks = [];
		try {
			const a = await account();
			assert.equal(await freshStatus(), 200);
			const t = await ticketFor(a);
			// Open sockets until the server is full (the client's idle keep-alive connections count too).
			let refusedWith = null;
			for (let i = 0; i < 24 && !refusedWith; i++) {
				try {
					socks.push(await openSocket(wsUrl(a.user, t)));
					await adopted(socks.at(-1));
				} catch (e) {
					refusedWith = e.status;
				}
			}
			assert.equal(refusedWith, 503, `sockets past ${name} are refused`);
			assert.ok(socks.length >= 10 && socks.length <= 16, `${socks.length} sockets opened`);
			assert.equal(await freshStatus(), 503, `the sockets hold the connections ${name} allows`);
			socks.pop().ws.close(1000);
			socks.pop().ws.close(1000);
			let st = 0;
			for (let i = 0; i < 40 && st !== 200; i++) {
				st = await freshStatus();
				if (st !== 200) await sleep(50);
			}
			assert.equal(st, 200, 'closing sockets gives the room back');
		} finally {
			for (const x of socks) x.ws.terminate();
			srv = saved;
			await s2.stop();
			fs.rmSync(d2, { recursive: true, force: true });
		}
	});

	test('a plain GET is told to upgrade (426)', T, async () => {
		const a = await account();
		const res = await requestAt(srv.base, 'GET', `/api/v2/messages/ws/${a.user}`, { token: a.token });
		assert.equal(res.status, 426, res.text);
		assert.equal(res.body.code, 'upgrade_required');
		assert.equal(res.headers.get('upgrade'), 'websocket');
	});

	test("someone else's user id in the path: closed 1008 after the upgrade", T, async () => {
		const a = await account();
		const b = await account();
		const sub = redisSubscribe(redis);
		await sub.ready;
		const s = await openSocket(wsUrl(b.user, await ticketFor(a)));
		const c = await withTimeout(s.closed, 10000, 'close');
		assert.equal(c.code, 1008);
		await sleep(500);
		// A refused socket never counted: no presence online/offline for it.
		assert.deepEqual(sub.events.filter((e) => e.type === 'presence' && e.data.user_id === a.user), []);
		sub.close();
	});

	test('meeting.status events of a real transcription arrive, and only in its organization', T, async () => {
		const a = await account();
		const other = await account();
		const s = await openSocket(wsUrl(a.user, await ticketFor(a)));
		const o = await openSocket(wsUrl(other.user, await ticketFor(other)));
		await adopted(s, o);
		const m = await requestAt(srv.base, 'POST', '/api/v1/meetings', { token: a.token, json: { title: 'live' } });
		assert.equal(m.status, 201, m.text);
		await uploadOk(a.token, m.body.id, silence(2, 'wav'), { base: srv.base, filename: 's.wav', contentType: 'audio/wav' });
		const processing = await s.next((x) => x.type === 'meeting.status' && x.data.id === m.body.id && x.data.status === 'processing', 60000);
		assert.equal(typeof processing.data.progress, 'number');
		const done = await s.next((x) => x.type === 'meeting.status' && x.data.id === m.body.id && ['completed', 'failed'].includes(x.data.status), 90000);
		const got = await requestAt(srv.base, 'GET', `/api/v1/meetings/${m.body.id}`, { token: a.token });
		assert.equal(got.body.status, done.data.status, 'the event says what the API says');
		assert.equal(o.messages.filter((x) => x.type === 'meeting.status').length, 0, 'another tenant saw nothing');
		s.ws.close(1000);
		o.ws.close(1000);
	});

	test('a 10 MB message is closed 1009', T, async () => {
		const a = await account();
		const s = await openSocket(wsUrl(a.user, await ticketFor(a)));
		s.ws.send(Buffer.alloc(10 * 1024 * 1024, 0x61).toString());
		const c = await withTimeout(s.closed, 15000, 'close');
		assert.equal(c.code, 1009);
		assert.equal((await requestAt(srv.base, 'GET', '/healthz')).status, 200);
	});

	test('an unmasked client frame and a reserved opcode are closed 1002', T, async () => {
		const a = await account();
		const r1 = await rawSocket(a.user, await ticketFor(a));
		const text = Buffer.from('{"type":"ping"}');
		r1.sock.write(Buffer.concat([Buffer.from([0x81, text.length]), text])); // FIN|text, no mask bit
		assert.equal(await r1.closeCode(), 1002);
		r1.sock.destroy();

		const r2 = await rawSocket(a.user, await ticketFor(a));
		const mask = crypto.randomBytes(4);
		r2.sock.write(Buffer.concat([Buffer.from([0x83, 0x80 | 0]), mask])); // FIN|opcode 3 (reserved), masked, empty
		assert.equal(await r2.closeCode(), 1002);
		r2.sock.destroy();
	});

	test('a flood of pings is rate-limited, not a crash', T, async () => {
		const a = await account();
		const s = await openSocket(wsUrl(a.user, await ticketFor(a)));
		const t0 = Date.now();
		for (let i = 0; i < 150; i++) s.ws.send(JSON.stringify({ type: 'ping', timestamp: i }));
		for (let i = 0; i < 150; i++) s.ws.ping();
		const count = () => s.messages.filter((m) => m.type === 'pong').length;
		for (let i = 0; i < 200 && count() < 10; i++) await sleep(50); // a loaded machine may be slow
		await sleep(500);
		const pongs = count();
		const secs = (Date.now() - t0) / 1000;
		assert.ok(pongs >= 10, `some pings answered (${pongs})`);
		assert.ok(pongs <= 20 + 10 * secs + 1, `answers bounded by the rate: ${pongs} in ${secs}s`);
		assert.equal((await requestAt(srv.base, 'GET', '/healthz')).status, 200);
		// A flood that goes on is closed (policy violation), the server stays up.
		for (let i = 0; i < 1000 && s.ws.readyState === WebSocket.OPEN; i++) s.ws.send(JSON.stringify({ type: 'ping', timestamp: i }));
		const c = await withTimeout(s.closed, 10000, 'close after a sustained flood');
		assert.equal(c.code, 1008);
		assert.equal((await requestAt(srv.base, 'GET', '/healthz')).status, 200);
	});

	test('logout closes the socket (1008) within a few seconds', T, async () => {
		const a = await account();
		const s = await openSocket(wsUrl(a.user, await ticketFor(a)));
		const t = await ticketFor(a);
		const out = await requestAt(srv.base, 'POST', '/api/v1/auth/logout', { token: a.token, json: { refresh_token: a.refresh } });
		assert.ok(out.status === 204 || out.status === 200, out.text);
		const t0 = Date.now();
		const c = await withTimeout(s.closed, 10000, 'close after logout');
		assert.equal(c.code, 1008);
		assert.ok(Date.now() - t0 < 8000);
		// A ticket of the ended session opens nothing.
		const e = await refused(wsUrl(a.user, t));
		assert.equal(e.status, 401);
	});

	test('past IAM_WS_PER_USER sockets: 429 too_many_sockets before the upgrade; a slot frees when one closes', T, async () => {
		const a = await account();
		const t = await ticketFor(a);
		const open = [];
		for (let i = 0; i < 8; i++) open.push(await openSocket(wsUrl(a.user, t)));
		const e = await refused(wsUrl(a.user, t));
		assert.equal(e.status, 429);
		assert.equal(JSON.parse(e.body).code, 'too_many_sockets');
		open[0].ws.close(1000);
		await open[0].closed;
		let again = null;
		for (let i = 0; i < 40 && !again; i++) {
			again = await openSocket(wsUrl(a.user, t)).catch(() => null);
			if (!again) await sleep(50);
		}
		assert.ok(again, 'a slot came free');
		for (const s of [...open.slice(1), again]) s.ws.close(1000);
	});

	test('a silent client is closed after IAM_WS_IDLE_S (1001), one that answers pings is not', T, async () => {
		const d2 = fs.mkdtempSync(path.join(os.tmpdir(), 'iam-ws-idle-'));
		// Its own sign-up limit off too: on PostgreSQL it shares the suite's database, whose
		// per-address count the other tests' accounts have filled.
		const s2 = await startIamd(d2, { ...PG, IAM_JWT_SECRET: SECRET, IAM_WORKERS: '0', IAM_REGISTER_PER_HOUR: '0', IAM_WS_PING_S: '1', IAM_WS_IDLE_S: '2' });
		const saved = srv;
		srv = s2; // rawSocket, wsUrl and ticketFor speak to srv
		try {
			const a = await account();
			const raw = await rawSocket(a.user, await ticketFor(a)); // reads, never answers the pings
			const alive = await openSocket(wsUrl(a.user, await ticketFor(a))); // ws answers pings by itself
			const t0 = Date.now();
			assert.equal(await raw.closeCode(), 1001);
			const waited = Date.now() - t0;
			assert.ok(waited >= 1000 && waited < 8000, `closed after ${waited} ms`);
			await sleep(1500);
			assert.equal(alive.ws.readyState, WebSocket.OPEN, 'the socket that answers pings stays open');
			alive.ws.close(1000);
			raw.sock.destroy();
		} finally {
			srv = saved;
			await s2.stop();
			fs.rmSync(d2, { recursive: true, force: true });
		}
	});

	test('the inbox over the socket: a message sent by POST arrives as new_message, presence and typing between colleagues', T, async () => {
		const a = await account();
		const b = await account();
		joinOrg(a, b); // b joins a's organization before connecting (organizations load at connect)
		const sb = await openSocket(wsUrl(b.user, await ticketFor(b)));
		const sa = await openSocket(wsUrl(a.user, await ticketFor(a)));
		const online = await sb.next((m) => m.type === 'presence' && m.data.user_id === a.user);
		assert.equal(online.data.status, 'online');
		const sent = await requestAt(srv.base, 'POST', '/api/v2/messages/', {
			token: a.token,
			json: { recipient_id: b.user, subject: 'Test', body: 'Over the socket' },
		});
		assert.equal(sent.status, 201, sent.text);
		const nm = await sb.next((m) => m.type === 'new_message' && m.data.id === sent.body.id);
		assert.equal(nm.data.subject, 'Test');
		assert.equal(nm.data.body, 'Over the socket');
		assert.ok(nm.data.sender && typeof nm.data.created_at === 'string', JSON.stringify(nm.data));
		await sb.next((m) => m.type === 'notification');
		// typing from a colleague is shown, without the organizations it was checked against
		sa.ws.send(JSON.stringify({ type: 'typing', to: b.user }));
		assert.deepEqual(await sb.next((m) => m.type === 'typing'), { type: 'typing', data: { from: a.user } });
		sa.ws.close(1000);
		const off = await sb.next((m) => m.type === 'presence' && m.data.user_id === a.user && m.data.status === 'offline');
		assert.equal(off.data.status, 'offline');
		sb.ws.close(1000);
	});

	test("a member who leaves an organization stops getting its events on an open socket (and one who joins starts)", T, async () => {
		const a = await account();
		const b = await account();
		const c = await account();
		joinOrg(a, b);
		const sa = await openSocket(wsUrl(a.user, await ticketFor(a)));
		const sb = await openSocket(wsUrl(b.user, await ticketFor(b)));
		const sc = await openSocket(wsUrl(c.user, await ticketFor(c)));
		await adopted(sa, sb, sc);
		await redisPublish(redis, wireEvent(2, a.org, 'org.probe', { n: 1 }));
		await sb.next((m) => m.type === 'org.probe' && m.data.n === 1);
		sql(`DELETE FROM memberships WHERE org_id = '${a.org}' AND user_id = '${b.user}'`);
		joinOrg(a, c);
		await sleep(3500); // organizations are re-read every two ping intervals (2 s here)
		await redisPublish(redis, wireEvent(2, a.org, 'org.probe', { n: 2 }));
		await sa.next((m) => m.type === 'org.probe' && m.data.n === 2);
		await sc.next((m) => m.type === 'org.probe' && m.data.n === 2);
		await sleep(300);
		assert.equal(sb.messages.filter((m) => m.type === 'org.probe' && m.data.n === 2).length, 0, 'b left: nothing more');
		for (const s of [sa, sb, sc]) s.ws.close(1000);
	});

	test('presence: the first socket of a user announces online to their organizations, the last one offline', T, async () => {
		const sub = redisSubscribe(redis);
		await sub.ready;
		const a = await account();
		const mine = (status) => sub.events.filter((e) => e.type === 'presence' && e.id === a.org && e.data.user_id === a.user && e.data.status === status);
		const s1 = await openSocket(wsUrl(a.user, await ticketFor(a)));
		const s2 = await openSocket(wsUrl(a.user, await ticketFor(a)));
		await adopted(s1, s2); // both counted before the first one closes
		const deadline = Date.now() + 15000;
		while (mine('online').length < 1 && Date.now() < deadline) await sleep(50);
		assert.equal(mine('online').length, 1, 'online once, for the first socket');
		assert.equal(mine('online')[0].scope, 2, 'addressed to the organization');
		s1.ws.close(1000);
		await s1.closed;
		await sleep(500);
		assert.equal(mine('offline').length, 0, 'a socket is still open');
		assert.equal(s2.messages.filter((m) => m.type === 'presence').length, 0, "one's own presence is not echoed");
		s2.ws.close(1000);
		await s2.closed;
		const d2 = Date.now() + 15000;
		while (mine('offline').length < 1 && Date.now() < d2) await sleep(50);
		assert.equal(mine('offline').length, 1);
		sub.close();
	});

	test('typing: sent on the bus to the recipient, delivered only when they share an organization', T, async () => {
		const sub = redisSubscribe(redis);
		await sub.ready;
		const a = await account();
		const b = await account();
		const sa = await openSocket(wsUrl(a.user, await ticketFor(a)));
		const sb = await openSocket(wsUrl(b.user, await ticketFor(b)));
		await adopted(sa, sb);
		// a types to b: published for b with a's organizations, which b does not share: not shown.
		sa.ws.send(JSON.stringify({ type: 'typing', to: b.user }));
		const d = Date.now() + 15000;
		while (!sub.events.some((e) => e.type === 'typing' && e.id === b.user) && Date.now() < d) await sleep(50);
		const ev = sub.events.find((e) => e.type === 'typing' && e.id === b.user);
		assert.ok(ev, 'the typing event went out on the bus');
		assert.deepEqual(ev.data, { from: a.user, orgs: [a.org] });
		await sleep(300);
		assert.equal(sb.messages.filter((m) => m.type === 'typing').length, 0, 'no shared organization: nothing shown');
		// From someone in b's organization (another process, through Redis): shown, without the organizations.
		const colleague = '0192f0c1-7b1e-7cc3-9d7e-2b1c4a6f9e10';
		await redisPublish(redis, wireEvent(1, b.user, 'typing', { from: colleague, orgs: [b.org] }));
		const shown = await sb.next((m) => m.type === 'typing');
		assert.deepEqual(shown, { type: 'typing', data: { from: colleague } });
		// Typing to oneself or to no one is refused with an error message.
		sa.ws.send(JSON.stringify({ type: 'typing', to: a.user }));
		assert.equal((await sa.next((m) => m.type === 'error')).data.code, 'invalid_message');
		sa.ws.close(1000);
		sb.ws.close(1000);
		sub.close();
	});

	test('a client that stops reading is closed 1013 and iamd memory stays bounded', T, async () => {
		const a = await account();
		const s = await openSocket(wsUrl(a.user, await ticketFor(a)));
		const live = await openSocket(wsUrl(a.user, await ticketFor(a))); // a reading socket of the same user
		await adopted(s, live);
		// Make sure the Redis path is up end to end before pushing.
		await redisPublish(redis, wireEvent(1, a.user, 'probe', { n: 0 }));
		await s.next((m) => m.type === 'probe', 10000);
		const rss0 = await rssKb(srv.proc.pid);
		s.ws._socket.pause(); // stop reading: the kernel buffers fill, then the server's queue
		const big = 'x'.repeat(8000);
		let closedAt = 0;
		s.closed.then(() => (closedAt = Date.now()));
		for (let i = 0; i < 1500; i++) {
			await redisPublish(redis, wireEvent(1, a.user, 'bulk', { i, big }));
			// Paced by the reading socket (it must keep up, the paused one cannot).
			if (i % 20 === 19) await live.next((m) => m.type === 'bulk' && m.data.i === i, 10000);
		}
		const rss1 = await rssKb(srv.proc.pid);
		s.ws._socket.resume();
		const c = await withTimeout(s.closed, 20000, '1013');
		assert.equal(c.code, 1013, `closed ${c.code} ${c.reason}`);
		assert.ok(closedAt > 0);
		// 12 MB went to a socket that did not read: the server held no more than a few MB of it.
		assert.ok(rss1 - rss0 < 24 * 1024, `RSS grew ${rss1 - rss0} kB`);
		// The reading socket of the same user got them all and is still open.
		await live.next((m) => m.type === 'bulk' && m.data.i === 1499, 20000);
		assert.equal(live.ws.readyState, WebSocket.OPEN);
		live.ws.close(1000);
	});
});
