// Hardening of authentication and start-up that needs servers of its own
// (its own settings, data directories): issue 8 items 7, 8, 14, 18, 27.
// Every server here listens on 127.0.0.1 only, and every loop is bounded.

import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { iamEnv, randomSecret, startIamd } from './helpers.mjs';

const T = { timeout: 120000 };
const BIN = process.env.IAM_BIN;

const tmpRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'iam-authhard-'));
const servers = [];
after(async () => {
	for (const s of servers) await s.stop();
	fs.rmSync(tmpRoot, { recursive: true, force: true });
});

function tmpDir(name) {
	return fs.mkdtempSync(path.join(tmpRoot, `${name}-`));
}

async function serve(env = {}, name = 'srv') {
	const s = await startIamd(tmpDir(name), { IAM_JWT_SECRET: randomSecret(), IAM_WORKERS: '0', ...env });
	servers.push(s);
	return s;
}

function migrate(dataDir) {
	assert.ok(BIN, 'IAM_BIN is not set (run through scripts/run-api-tests)');
	const r = spawnSync(BIN, ['migrate'], { env: iamEnv({ IAM_DATA_DIR: dataDir, IAM_LOG_LEVEL: 'warn' }), encoding: 'utf8', timeout: 30000 });
	assert.equal(r.error, undefined, String(r.error));
	return r;
}

describe('data directory and JWT secret file (item 27)', T, () => {
	test('a world-writable data directory is refused, naming IAM_DATA_DIR', () => {
		const dir = tmpDir('ww');
		fs.chmodSync(dir, 0o777);
		const r = migrate(dir);
		assert.notEqual(r.status, 0, `iamd must refuse a world-writable data dir: ${r.stderr}`);
		assert.match(r.stderr, /IAM_DATA_DIR/);
		assert.match(r.stderr, /writable/i);
	});

	test('a data directory owned by another user is refused', () => {
		const dir = tmpDir('owner');
		fs.chownSync(dir, 65534, 65534);
		const r = migrate(dir);
		assert.notEqual(r.status, 0, `iamd must refuse a data dir another user owns: ${r.stderr}`);
		assert.match(r.stderr, /IAM_DATA_DIR/);
		assert.match(r.stderr, /owned by/i);
	});

	test('a data directory it creates is 0700', () => {
		const dir = path.join(tmpDir('fresh'), 'a', 'b');
		const r = migrate(dir);
		assert.equal(r.status, 0, r.stderr);
		assert.equal(fs.statSync(dir).mode & 0o777, 0o700);
	});

	test('a planted jwt.secret.tmp symlink is not followed', async () => {
		const dir = tmpDir('symlink');
		const victim = path.join(tmpRoot, `victim-${process.pid}`);
		fs.writeFileSync(victim, 'precious\n');
		fs.symlinkSync(victim, path.join(dir, 'jwt.secret.tmp'));
		const s = await startIamd(dir, { IAM_WORKERS: '0' });
		await s.stop();
		assert.equal(fs.readFileSync(victim, 'utf8'), 'precious\n', 'the symlink target must not be overwritten');
		const st = fs.lstatSync(path.join(dir, 'jwt.secret'));
		assert.ok(st.isFile() && !st.isSymbolicLink(), 'jwt.secret is a regular file');
		assert.equal(st.mode & 0o777, 0o600);
	});
});

// ---------------------------------------------------------------- item 18

function client(base) {
	const call = async (method, p, opts = {}) => {
		const headers = new Headers(opts.headers || {});
		let body;
		if (opts.json !== undefined) {
			body = JSON.stringify(opts.json);
			headers.set('content-type', 'application/json');
		}
		if (opts.token) headers.set('authorization', `Bearer ${opts.token}`);
		const res = await fetch(base + p, { method, headers, body, signal: AbortSignal.timeout(opts.timeout || 30000) });
		const text = await res.text();
		let json = null;
		try {
			json = text ? JSON.parse(text) : null;
		} catch {
			/* not JSON */
		}
		return { status: res.status, headers: res.headers, text, body: json };
	};
	let n = 0;
	return {
		call,
		async register(tag = 'u', extra = {}) {
			n += 1;
			const email = `${tag}.${process.pid}.${Date.now().toString(36)}.${n}@example.com`;
			const res = await call('POST', '/api/v1/auth/register', { json: { email, password: 'Correct-horse-battery-9' }, ...extra });
			assert.equal(res.status, 201, `register: ${res.status} ${res.text}`);
			return { email, password: 'Correct-horse-battery-9', access: res.body.access_token, refresh: res.body.refresh_token, body: res.body };
		},
		refresh: (token) => call('POST', '/api/v1/auth/refresh', { json: { refresh_token: token } }),
		me: (token) => call('GET', '/api/v1/users/me', { token }),
		login: (email, password, headers = {}) => call('POST', '/api/v1/auth/login', { json: { email, password }, headers }),
	};
}

const sidOf = (jwt) => JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url').toString()).sid;

describe('concurrent refresh (item 18)', T, () => {
	test('ten simultaneous refreshes of one token all get the same successor; the session lives on', async () => {
		const s = await serve({}, 'refresh10');
		const c = client(s.base);
		const a = await c.register('par');
		const results = await Promise.all(Array.from({ length: 10 }, () => c.refresh(a.refresh)));
		for (const r of results) assert.equal(r.status, 200, `every refresh succeeds: ${r.status} ${r.text}`);
		const successors = new Set(results.map((r) => r.body.refresh_token));
		assert.equal(successors.size, 1, 'one successor for all ten');
		const sids = new Set(results.map((r) => sidOf(r.body.access_token)));
		assert.deepEqual([...sids], [sidOf(a.access)], 'the same session');
		// the session still works: every access token, and the successor rotates
		for (const r of results) assert.equal((await c.me(r.body.access_token)).status, 200);
		const next = await c.refresh([...successors][0]);
		assert.equal(next.status, 200, next.text);
		assert.equal((await c.me(next.body.access_token)).status, 200);
	});

	test('reuse after the grace window still revokes the whole session', async () => {
		const s = await serve({ IAM_REFRESH_GRACE_S: '1' }, 'refreshgrace');
		const c = client(s.base);
		const a = await c.register('reuse');
		const other = await c.login(a.email, a.password);
		assert.equal(other.status, 200);
		const second = await c.refresh(a.refresh);
		assert.equal(second.status, 200);
		// within the window: the same successor
		const within = await c.refresh(a.refresh);
		assert.equal(within.status, 200);
		assert.equal(within.body.refresh_token, second.body.refresh_token);
		await new Promise((r) => setTimeout(r, 1600));
		const late = await c.refresh(a.refresh);
		assert.equal(late.status, 401, late.text);
		assert.equal(late.body.code, 'invalid_refresh_token');
		// the newest refresh token and every access token of that session are dead
		assert.equal((await c.refresh(second.body.refresh_token)).status, 401);
		assert.equal((await c.me(second.body.access_token)).status, 401);
		assert.equal((await c.me(a.access)).status, 401);
		// another session of the same user is unaffected
		assert.equal((await c.me(other.body.access_token)).status, 200);
	});
});
