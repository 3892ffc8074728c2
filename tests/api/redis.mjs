// A private redis-server for tests (scripts/redis-test-server) and a tiny
// RESP client to PUBLISH on the event bus's channel the way another iamd
// process would.

import { execFileSync } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const SCRIPT = path.join(ROOT, 'scripts/redis-test-server');
export const CHANNEL = 'iam:events';

/** Start (or find running) a redis-server kept in dir. Returns { dir, url, port }. */
export function redisStart(dir) {
	const url = execFileSync(SCRIPT, ['start', dir], { encoding: 'utf8' }).trim();
	return { dir, url, port: Number(new URL(url).port) };
}
/** Kill it at once (the port is kept for redisStart). */
export function redisKill(r) {
	execFileSync(SCRIPT, ['kill', r.dir]);
	if (r.conn) r.conn.destroy();
	r.conn = null;
}
export function redisStop(r) {
	if (r.conn) r.conn.destroy();
	r.conn = null;
	execFileSync(SCRIPT, ['stop', r.dir]);
}

function encode(args) {
	const parts = [Buffer.from(`*${args.length}\r\n`)];
	for (const a of args) {
		const b = Buffer.isBuffer(a) ? a : Buffer.from(String(a));
		parts.push(Buffer.from(`$${b.length}\r\n`), b, Buffer.from('\r\n'));
	}
	return Buffer.concat(parts);
}

/** PUBLISH msg on the bus channel; resolves with the number of subscribers that got it. */
export function redisPublish(r, msg) {
	if (!r.conn) {
		const c = net.connect(r.port, '127.0.0.1');
		c.waiters = [];
		c.buf = '';
		c.on('data', (d) => {
			c.buf += d.toString();
			let i;
			while ((i = c.buf.indexOf('\r\n')) >= 0) {
				const line = c.buf.slice(0, i);
				c.buf = c.buf.slice(i + 2);
				const w = c.waiters.shift();
				if (w) line[0] === ':' ? w.resolve(Number(line.slice(1))) : w.reject(new Error(line));
			}
		});
		c.on('error', (e) => {
			for (const w of c.waiters.splice(0)) w.reject(e);
		});
		c.on('close', () => {
			for (const w of c.waiters.splice(0)) w.reject(new Error('redis closed'));
			if (r.conn === c) r.conn = null;
		});
		r.conn = c;
	}
	const c = r.conn;
	return new Promise((resolve, reject) => {
		c.waiters.push({ resolve, reject });
		c.write(encode(['PUBLISH', CHANNEL, msg]));
	});
}

/** The bus's wire form of one event (scope 1 user, 2 organization) from a foreign origin. */
export function wireEvent(scope, id, type, data, origin = 'test0000') {
	return `iam1 ${origin} ${scope} ${id} ${type} ${Date.now()}\n${JSON.stringify(data)}`;
}

/** SUBSCRIBE to the bus channel: { events (decoded {origin, scope, id, type, data}), ready, close() }. */
export function redisSubscribe(r) {
	const c = net.connect(r.port, '127.0.0.1');
	const events = [];
	let buf = Buffer.alloc(0);
	let readyResolve;
	const ready = new Promise((res) => (readyResolve = res));
	c.on('connect', () => c.write(encode(['SUBSCRIBE', CHANNEL])));
	c.on('data', (d) => {
		buf = Buffer.concat([buf, d]);
		for (;;) {
			const m = parseArray(buf);
			if (!m) break;
			buf = buf.subarray(m.used);
			if (m.items[0] === 'subscribe') readyResolve();
			if (m.items[0] === 'message') {
				const msg = m.items[2];
				const nl = msg.indexOf('\n');
				const [, origin, scope, id, type] = msg.slice(0, nl).split(' ');
				events.push({ origin, scope: Number(scope), id, type, data: JSON.parse(msg.slice(nl + 1)) });
			}
		}
	});
	c.on('error', () => {});
	return { events, ready, close: () => c.destroy() };
}

function parseArray(b) {
	const line = (off) => {
		const i = b.indexOf('\r\n', off);
		return i < 0 ? null : { text: b.toString('latin1', off, i), next: i + 2 };
	};
	const h = line(0);
	if (!h || h.text[0] !== '*') return null;
	let off = h.next;
	const items = [];
	for (let i = 0; i < Number(h.text.slice(1)); i++) {
		const l = line(off);
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
