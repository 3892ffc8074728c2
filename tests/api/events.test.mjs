// Server-Sent Event streams (GET /api/v1/meetings/{id}/events): the caps per
// user (429 beyond, counted in /metrics) and a stream that ends when the
// session that opened it logs out (by bearer token or by ticket). Runs its
// own iamd with small caps; all waits are bounded.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import { PASSWORD, randomSecret, requestAt, sleep, startIamd, uniqueEmail } from './helpers.mjs';

const T = { timeout: 60000 };

let srv;
let dir;

before(async () => {
	dir = fs.mkdtempSync(path.join(os.tmpdir(), 'iam-events-'));
	srv = await startIamd(dir, {
		IAM_JWT_SECRET: randomSecret(),
		IAM_WORKERS: '0',
		IAM_SSE_PER_USER: '2',
		IAM_SSE_PER_MEETING: '3',
	});
});

after(async () => {
	if (srv) await srv.stop();
	fs.rmSync(dir, { recursive: true, force: true });
});

async function account() {
	const email = uniqueEmail('ev');
	const res = await requestAt(srv.base, 'POST', '/api/v1/auth/register', { json: { email, password: PASSWORD } });
	assert.equal(res.status, 201, res.text);
	const token = res.body.access_token;
	const m = await requestAt(srv.base, 'POST', '/api/v1/meetings', { token, json: { title: 'watched' } });
	assert.equal(m.status, 201, m.text);
	return { email, token, refresh: res.body.refresh_token, meeting: m.body.id };
}

/**
 * Open an event stream and keep reading it in the background. Returns
 * { status, body (problem, when not 200), text(), ended (promise of ms until
 * the server ended it), close() }.
 */
async function open(pathAndQuery, token) {
	const ctl = new AbortController();
	const headers = { accept: 'text/event-stream' };
	if (token) headers.authorization = `Bearer ${token}`;
	const res = await fetch(srv.base + pathAndQuery, { headers, signal: ctl.signal });
	if (res.status !== 200) {
		const text = await res.text();
		return { status: res.status, headers: res.headers, body: JSON.parse(text), close() {} };
	}
	let text = '';
	const t0 = Date.now();
	const reader = res.body.getReader();
	const dec = new TextDecoder();
	const ended = (async () => {
		try {
			for (;;) {
				const { value, done } = await reader.read();
				if (done) return Date.now() - t0;
				text += dec.decode(value, { stream: true });
			}
		} catch {
			return null; // we aborted it
		}
	})();
	return { status: 200, text: () => text, ended, close: () => ctl.abort() };
}

describe('event stream caps', T, () => {
	test('a user may hold 2 streams; the 3rd is 429 too_many_streams with Retry-After, counted in /metrics', async () => {
		const a = await account();
		const p = `/api/v1/meetings/${a.meeting}/events`;
		const s1 = await open(p, a.token);
		const s2 = await open(p, a.token);
		assert.equal(s1.status, 200);
		assert.equal(s2.status, 200);
		const s3 = await open(p, a.token);
		assert.equal(s3.status, 429);
		assert.equal(s3.body.code, 'too_many_streams');
		assert.match(s3.headers.get('content-type'), /application\/problem\+json/);
		assert.ok(Number(s3.headers.get('retry-after')) > 0);
		const metrics = await requestAt(srv.base, 'GET', '/metrics');
		assert.match(metrics.text, /^iam_sse_streams_open 2$/m);
		assert.match(metrics.text, /^iam_sse_streams_refused_total\{cap="user"\} [1-9]/m);

		// Another user is not affected by the first one's streams.
		const b = await account();
		const o = await open(`/api/v1/meetings/${b.meeting}/events`, b.token);
		assert.equal(o.status, 200);
		o.close();

		// Closing one frees its place.
		s1.close();
		await s1.ended;
		let s4;
		for (let i = 0; i < 20; i++) {
			s4 = await open(p, a.token);
			if (s4.status === 200) break;
			await sleep(100);
		}
		assert.equal(s4.status, 200, 'a closed stream still counted');
		s2.close();
		s4.close();
	});
});

describe('streams end with their session', T, () => {
	test('bearer stream: logout ends it within a few seconds', async () => {
		const a = await account();
		const s = await open(`/api/v1/meetings/${a.meeting}/events`, a.token);
		assert.equal(s.status, 200);
		await sleep(300);
		const out = await requestAt(srv.base, 'POST', '/api/v1/auth/logout', { token: a.token, json: {} });
		assert.equal(out.status, 204, out.text);
		const ms = await Promise.race([s.ended, sleep(6000).then(() => null)]);
		s.close();
		assert.ok(ms !== null, 'the stream was still open 6 s after logout');
		assert.match(s.text(), /event: end\ndata: \{"reason":"session_ended"\}/);
	});

	test('ticket stream: logout of the session that asked for the ticket ends it', async () => {
		const a = await account();
		const t = await requestAt(srv.base, 'POST', `/api/v1/meetings/${a.meeting}/ticket`, { token: a.token });
		assert.equal(t.status, 201, t.text);
		const s = await open(`/api/v1/meetings/${a.meeting}/events?ticket=${encodeURIComponent(t.body.ticket)}`);
		assert.equal(s.status, 200);
		await sleep(300);
		const out = await requestAt(srv.base, 'POST', '/api/v1/auth/logout', { token: a.token, json: {} });
		assert.equal(out.status, 204, out.text);
		const ms = await Promise.race([s.ended, sleep(6000).then(() => null)]);
		s.close();
		assert.ok(ms !== null, 'the ticket stream was still open 6 s after logout');
		assert.match(s.text(), /session_ended/);
	});

	test('a stream whose session lives on stays open', async () => {
		const a = await account();
		const s = await open(`/api/v1/meetings/${a.meeting}/events`, a.token);
		assert.equal(s.status, 200);
		const ms = await Promise.race([s.ended, sleep(3000).then(() => null)]);
		s.close();
		assert.equal(ms, null, 'the stream ended by itself');
	});
});
