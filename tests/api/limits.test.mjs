// Protocol limits and hostile clients, over raw sockets (node `net`): request
// smuggling primitives, oversized or odd request targets, missing Host, slow
// request heads (slowloris), per-address and global connection caps, and a
// body cut off over its limit that must still get a readable 413. Every
// wait is bounded; everything talks to 127.0.0.1 only.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import { BASE, randomSecret, sleep, startIamd } from './helpers.mjs';

const T = { timeout: 60000 };

/**
 * Write `data` on a fresh connection and collect what comes back until the
 * server closes or `waitMs` passes. Resolves { text, closed, ms, responses }
 * where responses counts HTTP status lines.
 */
function exchange(data, { base = BASE, waitMs = 5000, localAddress } = {}) {
	const url = new URL(base);
	return new Promise((resolve) => {
		const t0 = Date.now();
		const sock = net.connect({ host: url.hostname, port: Number(url.port), localAddress });
		const got = [];
		let done = false;
		const finish = (closed) => {
			if (done) return;
			done = true;
			clearTimeout(timer);
			sock.destroy();
			const text = Buffer.concat(got).toString('latin1');
			resolve({ text, closed, ms: Date.now() - t0, responses: (text.match(/^HTTP\/1\.1 \d{3}/gm) || []).length });
		};
		const timer = setTimeout(() => finish(false), waitMs);
		sock.on('connect', () => sock.write(data));
		sock.on('data', (d) => got.push(d));
		sock.on('error', () => finish(true));
		sock.on('close', () => finish(true));
	});
}

/** Status and parsed problem body of the first response in text. */
function firstProblem(text) {
	const m = /^HTTP\/1\.1 (\d{3})/.exec(text);
	assert.ok(m, `no HTTP response: ${JSON.stringify(text.slice(0, 200))}`);
	const head = text.slice(0, text.indexOf('\r\n\r\n'));
	assert.match(head, /content-type: application\/problem\+json/i, head);
	const lenM = /content-length: (\d+)/i.exec(head);
	const start = text.indexOf('\r\n\r\n') + 4;
	const body = JSON.parse(text.slice(start, lenM ? start + Number(lenM[1]) : undefined));
	assert.equal(body.status, Number(m[1]));
	assert.ok(body.request_id && body.detail && body.code, JSON.stringify(body));
	return { status: Number(m[1]), body, head };
}

const host = new URL(BASE).host;

describe('request smuggling primitives are refused and the connection closed', T, () => {
	test('Content-Length with Transfer-Encoding: chunked -> 400, close, nothing smuggled', async () => {
		const r = await exchange(
			`POST /api/v1/auth/login HTTP/1.1\r\nHost: ${host}\r\nContent-Type: application/json\r\n` +
				'Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n' +
				`GET /healthz HTTP/1.1\r\nHost: ${host}\r\n\r\n`,
		);
		const p = firstProblem(r.text);
		assert.equal(p.status, 400);
		assert.equal(p.body.code, 'ambiguous_body_length');
		assert.equal(r.responses, 1, `the bytes after the body were served as a request: ${r.text}`);
		assert.ok(r.closed, 'connection left open');
	});

	test('two different Content-Length values -> 400 and close at once', async () => {
		const r = await exchange(
			`POST /api/v1/auth/login HTTP/1.1\r\nHost: ${host}\r\nContent-Type: application/json\r\n` +
				'Content-Length: 2\r\nContent-Length: 40\r\n\r\n{}',
		);
		const p = firstProblem(r.text);
		assert.equal(p.status, 400);
		assert.equal(p.body.code, 'invalid_content_length');
		assert.ok(r.closed && r.ms < 3000, `not closed promptly (${r.ms} ms)`);
	});

	test('a transfer coding other than chunked -> 501 and close', async () => {
		const r = await exchange(
			`POST /api/v1/auth/login HTTP/1.1\r\nHost: ${host}\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n`,
		);
		assert.equal(firstProblem(r.text).body.code, 'unsupported_transfer_encoding');
		assert.ok(r.closed);
	});
});

describe('request targets and Host', T, () => {
	test('1,000 query parameters -> 414 problem+json at once', async () => {
		const q = Array(1000).fill('a=1').join('&');
		const r = await exchange(`GET /healthz?${q} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`);
		const p = firstProblem(r.text);
		assert.equal(p.status, 414);
		assert.equal(p.body.code, 'too_many_query_parameters');
		assert.ok(r.ms < 3000, `${r.ms} ms`);
	});

	test('a 20 KB request target -> 414; a 9 KB header line -> 431; 150 headers -> 431', async () => {
		let r = await exchange(`GET /healthz?a=${'x'.repeat(20000)} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`);
		assert.equal(firstProblem(r.text).body.code, 'uri_too_long');
		r = await exchange(`GET /healthz HTTP/1.1\r\nHost: ${host}\r\nX-Big: ${'y'.repeat(9000)}\r\nConnection: close\r\n\r\n`);
		assert.equal(firstProblem(r.text).status, 431);
		const many = Array.from({ length: 150 }, (_, i) => `X-H${i}: 1\r\n`).join('');
		r = await exchange(`GET /healthz HTTP/1.1\r\nHost: ${host}\r\n${many}Connection: close\r\n\r\n`);
		assert.equal(firstProblem(r.text).body.code, 'too_many_headers');
	});

	test('%00 in the path or the query -> 400, never a value cut short', async () => {
		for (const target of ['/api/v1/meetings/abc%00def', '/healthz?x=a%00b', '/api/v1/meetings?status=queued%00x']) {
			const r = await exchange(`GET ${target} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`);
			const p = firstProblem(r.text);
			assert.equal(p.status, 400, target);
			assert.equal(p.body.code, 'invalid_request_target', target);
		}
	});

	test('an absolute-form target routes by its path (not to the web app)', async () => {
		const r = await exchange(`GET http://${host}/healthz HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`);
		assert.match(r.text, /^HTTP\/1\.1 200/);
		assert.match(r.text, /\{"status":"ok"\}/);
		const r2 = await exchange(`GET foo HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`);
		assert.equal(firstProblem(r2.text).body.code, 'invalid_request_target');
	});

	test('HTTP/1.1 without Host -> 400 missing_host; HTTP/1.0 without Host is fine', async () => {
		const r = await exchange('GET /healthz HTTP/1.1\r\nConnection: close\r\n\r\n');
		assert.equal(firstProblem(r.text).body.code, 'missing_host');
		const r10 = await exchange('GET /healthz HTTP/1.0\r\n\r\n');
		assert.match(r10.text, /^HTTP\/1\.[01] 200/);
	});
});

describe('a body too long to drain still gets its 413', T, () => {
	test('chunked JSON body of 12 MiB -> the client reads 413 problem+json before the close', async () => {
		const url = new URL(BASE);
		const res = await new Promise((resolve) => {
			const sock = net.connect({ host: url.hostname, port: Number(url.port) });
			const got = [];
			let stop = false;
			const finish = () => {
				stop = true;
				clearTimeout(timer);
				sock.destroy();
				resolve(Buffer.concat(got).toString('latin1'));
			};
			const timer = setTimeout(finish, 20000);
			sock.on('data', (d) => {
				got.push(d);
				stop = true; // an answer: stop sending
			});
			sock.on('close', finish);
			sock.on('error', finish);
			sock.on('connect', async () => {
				sock.write(`POST /api/v1/auth/login HTTP/1.1\r\nHost: ${host}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n`);
				const piece = Buffer.alloc(256 * 1024, 0x20);
				const chunk = Buffer.concat([Buffer.from(piece.length.toString(16) + '\r\n'), piece, Buffer.from('\r\n')]);
				for (let i = 0; i < 48 && !stop; i++) {
					await new Promise((r) => sock.write(chunk, r));
					await new Promise((r) => setImmediate(r));
				}
			});
		});
		const p = firstProblem(res);
		assert.equal(p.status, 413);
		assert.equal(p.body.code, 'payload_too_large');
		assert.match(p.head, /connection: close/i);
	});
});

describe('slow request heads and connection caps (own server, small limits)', T, () => {
	let srv;
	let dir;
	before(async () => {
		dir = fs.mkdtempSync(path.join(os.tmpdir(), 'iam-limits-'));
		srv = await startIamd(dir, {
			IAM_JWT_SECRET: randomSecret(),
			IAM_WORKERS: '0',
			IAM_HEADER_TIMEOUT_S: '2',
			IAM_MAX_CONN_PER_IP: '4',
			IAM_MAX_CONNECTIONS: '16',
		});
	});
	after(async () => {
		if (srv) await srv.stop();
		fs.rmSync(dir, { recursive: true, force: true });
	});

	/** Open a connection that sends one header line every 500 ms and never ends its head. */
	function slowloris(localAddress) {
		const url = new URL(srv.base);
		const t0 = Date.now();
		const sock = net.connect({ host: url.hostname, port: Number(url.port), localAddress });
		let text = '';
		let timer;
		const closed = new Promise((resolve) => {
			sock.on('close', () => {
				clearInterval(timer);
				resolve({ ms: Date.now() - t0, text });
			});
		});
		sock.on('error', () => {});
		sock.on('data', (d) => (text += d.toString('latin1')));
		sock.on('connect', () => {
			sock.write(`GET /healthz HTTP/1.1\r\nHost: ${url.host}\r\n`);
			timer = setInterval(() => sock.write('X-Slow: 1\r\n'), 500);
		});
		return { sock, closed };
	}

	const healthz = (localAddress) =>
		exchange(`GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`, { base: srv.base, localAddress, waitMs: 5000 });

	test('a head dripping one line at a time is cut off at the deadline with 408', async () => {
		const s = slowloris('127.0.0.1');
		const r = await Promise.race([s.closed, sleep(8000).then(() => null)]);
		if (!r) s.sock.destroy();
		assert.ok(r, 'the slow connection was still open after 8 s (deadline 2 s)');
		assert.ok(r.ms >= 1500 && r.ms < 5000, `closed after ${r.ms} ms`);
		assert.equal(firstProblem(r.text).status, 408);
	});

	// healthz from addr until it is 200 (at most 3 s): the last reply.
	async function servedAgain(addr) {
		const until = Date.now() + 3000;
		for (;;) {
			const r = await healthz(addr);
			if (/^HTTP\/1\.1 200/.test(r.text) || Date.now() > until) return r;
			await sleep(100);
		}
	}

	test('slow connections from one address: others still served, that address told 503', async () => {
		const slow = Array.from({ length: 6 }, () => slowloris('127.0.0.1'));
		await sleep(300);
		// Another address is served at once.
		const other = await healthz('127.0.0.2');
		assert.match(other.text, /^HTTP\/1\.1 200/, other.text.slice(0, 200));
		// The crowded address gets a clear answer, not a hanging socket.
		const same = await healthz('127.0.0.1');
		const p = firstProblem(same.text);
		assert.equal(p.status, 503);
		assert.equal(p.body.code, 'too_many_connections');
		assert.ok(same.ms < 3000, `${same.ms} ms`);
		// All the slow ones are closed by the deadline; then the address is served again.
		const closed = await Promise.race([Promise.all(slow.map((s) => s.closed)), sleep(8000).then(() => null)]);
		for (const s of slow) s.sock.destroy();
		assert.ok(closed, 'slow connections still open after 8 s');
		// The server sees the closes when it next polls them: served again within a few seconds.
		const again = await servedAgain('127.0.0.1');
		assert.match(again.text, /^HTTP\/1\.1 200/);
	});

	test('over the global cap a request gets 503 server_busy, and is served once the slow ones go', async () => {
		// 16 slow connections from 16 addresses (4 per address at most).
		const slow = Array.from({ length: 16 }, (_, i) => slowloris(`127.0.1.${1 + (i % 8)}`));
		await sleep(400);
		const busy = await healthz('127.0.2.1');
		const p = firstProblem(busy.text);
		assert.equal(p.status, 503);
		assert.equal(p.body.code, 'server_busy');
		assert.match(p.head, /retry-after: \d+/i);
		const closed = await Promise.race([Promise.all(slow.map((s) => s.closed)), sleep(8000).then(() => null)]);
		for (const s of slow) s.sock.destroy();
		assert.ok(closed, 'slow connections still open after 8 s');
		const ok = await servedAgain('127.0.2.1');
		assert.match(ok.text, /^HTTP\/1\.1 200/);
		const m = await exchange('GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n', { base: srv.base });
		assert.match(m.text, /iam_http_connections_refused_total\{reason="head_timeout"\} [1-9]/);
		assert.match(m.text, /iam_http_connections_refused_total\{reason="global"\} [1-9]/);
		assert.match(m.text, /iam_http_connections_refused_total\{reason="per_ip"\} [1-9]/);
	});

	test('a chunked upload over the upload limit gets a readable 413', async () => {
		// The shared server allows 50 MB; this one is told 1 MB below.
		await srv.stop();
		srv = await startIamd(dir, { IAM_JWT_SECRET: randomSecret(), IAM_WORKERS: '0', IAM_MAX_UPLOAD_MB: '1' });
		const reg = await fetch(`${srv.base}/api/v1/auth/register`, {
			method: 'POST',
			headers: { 'content-type': 'application/json' },
			body: JSON.stringify({ email: `lim.${Date.now()}@example.com`, password: 'Correct-horse-battery-9' }),
		});
		const token = (await reg.json()).access_token;
		const mres = await fetch(`${srv.base}/api/v1/meetings`, {
			method: 'POST',
			headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
			body: JSON.stringify({ title: 'big' }),
		});
		const mid = (await mres.json()).id;
		const url = new URL(srv.base);
		const text = await new Promise((resolve) => {
			const sock = net.connect({ host: url.hostname, port: Number(url.port) });
			const got = [];
			let stop = false;
			const finish = () => {
				stop = true;
				clearTimeout(timer);
				sock.destroy();
				resolve(Buffer.concat(got).toString('latin1'));
			};
			const timer = setTimeout(finish, 20000);
			sock.on('data', (d) => {
				got.push(d);
				stop = true;
			});
			sock.on('close', finish);
			sock.on('error', finish);
			sock.on('connect', async () => {
				sock.write(
					`POST /api/v1/meetings/${mid}/upload HTTP/1.1\r\nHost: ${url.host}\r\nAuthorization: Bearer ${token}\r\n` +
						'Content-Type: audio/wav\r\nTransfer-Encoding: chunked\r\n\r\n',
				);
				const piece = Buffer.alloc(256 * 1024, 1);
				const chunk = Buffer.concat([Buffer.from(piece.length.toString(16) + '\r\n'), piece, Buffer.from('\r\n')]);
				for (let i = 0; i < 60 && !stop; i++) {
					await new Promise((r) => sock.write(chunk, r));
					await new Promise((r) => setImmediate(r));
				}
			});
		});
		const p = firstProblem(text);
		assert.equal(p.status, 413, text.slice(0, 300));
	});
});
