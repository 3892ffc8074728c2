// The driver of bench/ws.sh, run once against iamd and once against the Node
// anchor with the same steps:
//  1. SOCKETS idle authenticated sockets to server A (FANOUT of them for the
//     first user, the rest spread over the others): RSS of A before/after.
//  2. One organization-wide event, published on the Redis channel, fanned out
//     to the FANOUT sockets of that organization, ROUNDS times: p50/p99 of
//     the delay from publish to each socket's receipt.
//  3. Messages per second across processes: MESSAGES events published into
//     Redis as fast as it takes them, all delivered to one socket on server B.
//  4. With POST_URL: POSTS messages sent by POST to server A (16 at a time),
//     each delivered as new_message to the recipient's socket on server B:
//     messages/s and the POST-to-delivery delay.
//
//   node bench/ws-bench.mjs NAME WS_A WS_B PID_A REDIS_PORT USERS_JSON [POST_URL]
//   env SOCKETS (10000) FANOUT (1000) ROUNDS (20) MESSAGES (20000) POSTS (2000),
//   ONLY=idle (steps 1 and 2 only: the sockets' memory and the fan-out)
// Prints one JSON line of figures.

import fs from 'node:fs';
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import WebSocket from 'ws';

const [name, wsA, wsB, pidA, redisPort, usersFile, postUrl] = process.argv.slice(2);
const users = JSON.parse(fs.readFileSync(usersFile, 'utf8'));
const SOCKETS = Number(process.env.SOCKETS || 10000);
const FANOUT = Number(process.env.FANOUT || 1000);
const ROUNDS = Number(process.env.ROUNDS || 20);
const MESSAGES = Number(process.env.MESSAGES || 20000);
const POSTS = Number(process.env.POSTS || 2000);
const ONLY_IDLE = process.env.ONLY === 'idle';
const POST_CONCURRENCY = 16;
const now = () => performance.timeOrigin + performance.now();
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function rssKb(pid) {
	return Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))[1]);
}

function open(base, u, onMessage) {
	return new Promise((resolve, reject) => {
		const ws = new WebSocket(`${base}/${u.user}`, { headers: { authorization: `Bearer ${u.token}` }, perMessageDeflate: false });
		ws.once('open', () => resolve(ws));
		ws.once('error', reject);
		ws.once('unexpected-response', (req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
		if (onMessage) ws.on('message', onMessage);
	});
}

async function openMany(base, plan, onMessage) {
	const out = [];
	for (let i = 0; i < plan.length; i += 100) {
		const batch = plan.slice(i, i + 100).map((u) => open(base, u, onMessage(u)));
		out.push(...(await Promise.all(batch)));
	}
	return out;
}

// A pipelining RESP client for PUBLISH.
function redis(port) {
	const c = net.connect(port, '127.0.0.1');
	let acked = 0;
	let waiter = null;
	c.on('data', (d) => {
		for (const b of d) if (b === 0x0a) acked++;
		if (waiter && acked >= waiter.n) waiter.done();
	});
	const enc = (s) => {
		const b = Buffer.from(s);
		return `*3\r\n$7\r\nPUBLISH\r\n$10\r\niam:events\r\n$${b.length}\r\n${s}\r\n`;
	};
	let sent = 0;
	return {
		ready: new Promise((r) => c.once('connect', r)),
		publish(msg) {
			sent++;
			return c.write(enc(msg));
		},
		drain: () => new Promise((r) => c.once('drain', r)),
		acks: () => new Promise((r) => (acked >= sent ? r() : (waiter = { n: sent, done: r }))),
		close: () => c.destroy(),
	};
}
const wire = (scope, id, type, data) => `iam1 bench0000 ${scope} ${id} ${type} ${Date.now()}\n${JSON.stringify(data)}`;

function pct(a, p) {
	const s = [...a].sort((x, y) => x - y);
	return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
}

const r = redis(Number(redisPort));
await r.ready;
const fig = { name };

// 1. idle sockets
const fan = users[0];
const others = users.slice(1, -1);
const plan = [];
for (let i = 0; i < FANOUT; i++) plan.push(fan);
for (let i = 0; plan.length < SOCKETS; i++) plan.push(others[i % others.length]);
await sleep(500);
const rss0 = rssKb(pidA);
const lat = [];
let got = 0;
const t1 = Date.now();
const socks = await openMany(wsA, plan, (u) =>
	u === fan
		? (d) => {
				const m = JSON.parse(d.toString());
				if (m.type === 'bench.fanout') {
					lat.push(now() - m.data.t);
					got++;
				}
			}
		: null,
);
fig.open_s = (Date.now() - t1) / 1000;
await sleep(2000);
const rss1 = rssKb(pidA);
fig.sockets = socks.length;
fig.rss_before_mb = +(rss0 / 1024).toFixed(1);
fig.rss_with_sockets_mb = +(rss1 / 1024).toFixed(1);
fig.rss_per_socket_kb = +((rss1 - rss0) / socks.length).toFixed(2);

// 2. fan-out
for (let round = 0; round < ROUNDS; round++) {
	const want = (round + 1) * FANOUT;
	r.publish(wire(2, fan.org, 'bench.fanout', { round, t: now() }));
	const deadline = Date.now() + 5000;
	while (got < want && Date.now() < deadline) await sleep(2);
	await sleep(100);
}
fig.fanout_deliveries = lat.length;
fig.fanout_expected = ROUNDS * FANOUT;
fig.fanout_p50_ms = +pct(lat, 50).toFixed(2);
fig.fanout_p99_ms = +pct(lat, 99).toFixed(2);
fig.fanout_max_ms = +Math.max(...lat).toFixed(2);
for (const s of socks) s.terminate();
await sleep(1000);
if (ONLY_IDLE) {
	r.close();
	console.log(JSON.stringify(fig));
	process.exit(0);
}

// 3. messages per second across processes (into Redis, out of server B's socket)
const sink = users[users.length - 1];
let recv = 0;
let lastAt = 0;
const bs = await open(wsB, sink, () => {
	recv++;
	lastAt = now();
});
// A client that cannot keep up is closed 1013 (back-pressure): say so in the figures.
bs.on('close', (code) => (fig.sink_close_code = code));
await sleep(300);
const t0 = now();
for (let i = 0; i < MESSAGES; i++) {
	if (!r.publish(wire(1, sink.user, 'bench.msg', { i, body: 'hello there, this is a message of a typical size for the inbox' }))) await r.drain();
}
await r.acks();
const deadline = Date.now() + 30000;
while (recv < MESSAGES && Date.now() < deadline) await sleep(5);
fig.messages = MESSAGES;
fig.messages_delivered = recv;
fig.messages_per_s = Math.round(recv / ((lastAt - t0) / 1000));

// 4. Messages from POST (server A) to delivery (a socket of the recipient on server B).
if (postUrl) {
	const sender = users[0];
	const sent = new Map();
	const postLat = [];
	let done = 0;
	let lastAt2 = 0;
	const rs = await open(wsB, sink, (d) => {
		const m = JSON.parse(d.toString());
		if (m.type !== 'new_message') return;
		const t = sent.get(m.data.subject);
		if (t === undefined) return;
		postLat.push(now() - t);
		done++;
		lastAt2 = now();
	});
	await sleep(300);
	let next = 0;
	let failed = 0;
	const t2 = now();
	async function worker() {
		while (next < POSTS) {
			const i = next++;
			const subject = `bench ${i}`;
			sent.set(subject, now());
			const res = await fetch(postUrl, {
				method: 'POST',
				headers: { authorization: `Bearer ${sender.token}`, 'content-type': 'application/json' },
				body: JSON.stringify({ recipient_id: sink.user, subject, body: 'hello there, this is a message of a typical size for the inbox' }),
			});
			await res.arrayBuffer();
			if (res.status !== 201) failed++;
		}
	}
	await Promise.all(Array.from({ length: POST_CONCURRENCY }, worker));
	const dl = Date.now() + 30000;
	while (done < POSTS - failed && Date.now() < dl) await sleep(5);
	fig.posts = POSTS;
	fig.posts_failed = failed;
	fig.posts_delivered = done;
	fig.posts_per_s = Math.round(done / ((lastAt2 - t2) / 1000));
	fig.post_to_delivery_p50_ms = +pct(postLat, 50).toFixed(2);
	fig.post_to_delivery_p99_ms = +pct(postLat, 99).toFixed(2);
	rs.terminate();
}
bs.terminate();
r.close();
console.log(JSON.stringify(fig));
process.exit(0);
