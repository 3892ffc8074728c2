// The anchor for bench/ws.sh: a small Node `ws` server doing the same work
// as iamd's WebSocket hub. GET /ws/{user_id} with "Authorization: Bearer
// TOKEN" (tokens and each user's organizations come from ANCHOR_USERS, a JSON
// file {token: {user, orgs: [...]}}), an index of sockets per user and per
// organization, a Redis subscription to the bus channel with iamd's wire
// format ("iam1 ORIGIN SCOPE ID TYPE TS\n{data}"), each event framed once as
// {"type", "data"} and sent to the sockets it is addressed to, server pings.
//
//   node bench/ws-anchor.mjs PORT REDIS_PORT USERS_JSON

import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { WebSocketServer } from 'ws';

const [port, redisPort, usersFile] = process.argv.slice(2);
const users = JSON.parse(fs.readFileSync(usersFile, 'utf8'));
const byUser = new Map();
const byOrg = new Map();
const add = (m, k, ws) => (m.get(k) || m.set(k, new Set()).get(k)).add(ws);
const del = (m, k, ws) => {
	const s = m.get(k);
	if (s) {
		s.delete(ws);
		if (!s.size) m.delete(k);
	}
};

// POST /messages {recipient_id, subject, body} (Bearer): published on the bus
// channel as new_message for the recipient, like iamd's inbox (which also
// stores the message and a notification in its database: the anchor does not).
let pub = null;
const server = http.createServer((req, res) => {
	const auth = /^Bearer (.+)$/.exec(req.headers.authorization || '');
	const who = auth && users[auth[1]];
	if (req.method !== 'POST' || req.url !== '/messages' || !who) return res.writeHead(404).end();
	let body = '';
	req.on('data', (d) => (body += d));
	req.on('end', () => {
		let m;
		try {
			m = JSON.parse(body);
		} catch {
			return res.writeHead(400).end();
		}
		const msg = { id: crypto.randomUUID(), sender: { id: who.user }, subject: m.subject, body: m.body, created_at: new Date().toISOString() };
		const wire = Buffer.from(`iam1 anchor0 1 ${m.recipient_id} new_message ${Date.now()}\n${JSON.stringify(msg)}`);
		pub.write(Buffer.concat([Buffer.from(`*3\r\n$7\r\nPUBLISH\r\n$10\r\niam:events\r\n$${wire.length}\r\n`), wire, Buffer.from('\r\n')]));
		res.writeHead(201, { 'content-type': 'application/json' }).end(JSON.stringify(msg));
	});
});
const wss = new WebSocketServer({ noServer: true, maxPayload: 65536 });
server.on('upgrade', (req, socket, head) => {
	const m = /^\/ws\/([0-9a-f-]{36})$/.exec(req.url);
	const auth = /^Bearer (.+)$/.exec(req.headers.authorization || '');
	const who = auth && users[auth[1]];
	if (!m || !who) {
		socket.end('HTTP/1.1 401 Unauthorized\r\ncontent-length: 0\r\n\r\n');
		return;
	}
	wss.handleUpgrade(req, socket, head, (ws) => {
		if (m[1] !== who.user) return ws.close(1008);
		add(byUser, who.user, ws);
		for (const o of who.orgs) add(byOrg, o, ws);
		ws.on('message', (d) => {
			try {
				const msg = JSON.parse(d.toString());
				if (msg.type === 'ping') ws.send(JSON.stringify({ type: 'pong', timestamp: msg.timestamp ?? null }));
			} catch {
				/* ignored */
			}
		});
		ws.on('close', () => {
			del(byUser, who.user, ws);
			for (const o of who.orgs) del(byOrg, o, ws);
		});
	});
});
setInterval(() => {
	for (const ws of wss.clients) ws.ping();
}, 25000).unref();

function deliver(msg) {
	const nl = msg.indexOf('\n');
	if (!msg.startsWith('iam1 ') || nl < 0) return;
	const [, , scope, id, type] = msg.slice(0, nl).split(' ');
	const frame = `{"type":"${type}","data":${msg.slice(nl + 1)}}`;
	const set = (scope === '1' ? byUser : byOrg).get(id);
	if (set) for (const ws of set) ws.send(frame);
}

// Minimal RESP reader for a SUBSCRIBE connection: arrays of bulk strings.
const r = net.connect(Number(redisPort), '127.0.0.1');
let buf = Buffer.alloc(0);
r.on('connect', () => r.write('*2\r\n$9\r\nSUBSCRIBE\r\n$10\r\niam:events\r\n'));
r.on('data', (d) => {
	buf = buf.length ? Buffer.concat([buf, d]) : d;
	for (;;) {
		const parsed = parseArray(buf);
		if (!parsed) break;
		buf = buf.subarray(parsed.used);
		const [kind, , payload] = parsed.items;
		if (kind === 'message') deliver(payload);
	}
});
function line(b, off) {
	const i = b.indexOf('\r\n', off);
	return i < 0 ? null : { text: b.toString('latin1', off, i), next: i + 2 };
}
function parseArray(b) {
	const h = line(b, 0);
	if (!h || h.text[0] !== '*') return null;
	const n = Number(h.text.slice(1));
	let off = h.next;
	const items = [];
	for (let i = 0; i < n; i++) {
		const l = line(b, off);
		if (!l) return null;
		if (l.text[0] === ':') {
			items.push(Number(l.text.slice(1)));
			off = l.next;
			continue;
		}
		const len = Number(l.text.slice(1));
		if (b.length < l.next + len + 2) return null;
		items.push(b.toString('utf8', l.next, l.next + len));
		off = l.next + len + 2;
	}
	return { items, used: off };
}

pub = net.connect(Number(redisPort), '127.0.0.1');
pub.on('data', () => {}); // the PUBLISH replies
server.listen(Number(port), '127.0.0.1', () => console.log('ready'));
process.on('SIGTERM', () => process.exit(0));
