// The iamd binary itself: subcommands, configuration errors, graceful
// shutdown, and the generated JWT secret surviving a restart. These tests
// start their own servers (SQLite in a temporary data dir, their own port).

import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { PASSWORD, sleep, uniqueEmail } from './helpers.mjs';

const BIN = process.env.IAM_BIN;
const T = { timeout: 120000 };

const tmpRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'iam-cli-test-'));
const running = new Set();
after(() => {
	for (const p of running) p.kill('SIGKILL');
	fs.rmSync(tmpRoot, { recursive: true, force: true });
});

function tmpDir(name) {
	return fs.mkdtempSync(path.join(tmpRoot, `${name}-`));
}

function requireBin() {
	assert.ok(BIN, 'IAM_BIN is not set (run through scripts/run-api-tests)');
	assert.ok(fs.existsSync(BIN), `IAM_BIN ${BIN} does not exist`);
}

/** The environment without any IAM_* the caller happened to have, plus `extra`. */
function envWith(extra) {
	const env = {};
	for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('IAM_')) env[k] = v;
	return { ...env, ...extra };
}

function freePort() {
	return new Promise((resolve, reject) => {
		const s = net.createServer();
		s.once('error', reject);
		s.listen(0, '127.0.0.1', () => {
			const { port } = s.address();
			s.close(() => resolve(port));
		});
	});
}

function run(args, env, timeout = 15000) {
	requireBin();
	const r = spawnSync(BIN, args, { env, encoding: 'utf8', timeout });
	assert.equal(r.error, undefined, `iamd ${args.join(' ')}: ${r.error}`);
	return r;
}

function waitExit(proc, ms) {
	if (proc.exitCode !== null || proc.signalCode !== null) {
		return Promise.resolve({ code: proc.exitCode, signal: proc.signalCode });
	}
	return new Promise((resolve) => {
		const timer = setTimeout(() => resolve(null), ms);
		proc.once('exit', (code, signal) => {
			clearTimeout(timer);
			resolve({ code, signal });
		});
	});
}

function spawnServer(env) {
	requireBin();
	const proc = spawn(BIN, ['serve'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
	running.add(proc);
	proc.on('exit', () => running.delete(proc));
	let stderr = '';
	let stdout = '';
	proc.stderr.setEncoding('utf8').on('data', (d) => (stderr += d));
	proc.stdout.setEncoding('utf8').on('data', (d) => (stdout += d));
	return { proc, stderr: () => stderr, stdout: () => stdout };
}

/** Start `iamd serve` on dataDir and wait for /readyz. */
async function startServer(dataDir, { secret } = {}) {
	const port = await freePort();
	const extra = { IAM_LISTEN: `127.0.0.1:${port}`, IAM_DATA_DIR: dataDir, IAM_LOG_LEVEL: 'warn' };
	if (secret) extra.IAM_JWT_SECRET = secret;
	const s = spawnServer(envWith(extra));
	const base = `http://127.0.0.1:${port}`;
	const deadline = Date.now() + 20000;
	for (;;) {
		if (s.proc.exitCode !== null || s.proc.signalCode !== null) {
			assert.fail(`iamd serve exited early (${s.proc.exitCode ?? s.proc.signalCode}): ${s.stderr().slice(-2000)}`);
		}
		try {
			const res = await fetch(`${base}/readyz`, { signal: AbortSignal.timeout(1000) });
			await res.text();
			if (res.status === 200) break;
		} catch {
			/* not up yet */
		}
		if (Date.now() > deadline) {
			s.proc.kill('SIGKILL');
			assert.fail(`iamd serve not ready within 20 s: ${s.stderr().slice(-2000)}`);
		}
		await sleep(100);
	}
	return { ...s, base };
}

async function stopServer(s, ms = 10000) {
	const t0 = Date.now();
	s.proc.kill('SIGTERM');
	const r = await waitExit(s.proc, ms);
	if (r === null) {
		s.proc.kill('SIGKILL');
		assert.fail(`iamd did not exit within ${ms} ms of SIGTERM: ${s.stderr().slice(-2000)}`);
	}
	assert.equal(r.signal, null, `iamd died of ${r.signal}: ${s.stderr().slice(-2000)}`);
	assert.equal(r.code, 0, `iamd exited ${r.code} after SIGTERM: ${s.stderr().slice(-2000)}`);
	return Date.now() - t0;
}

async function jsonFetch(base, method, p, { json, token } = {}) {
	const headers = {};
	if (json !== undefined) headers['content-type'] = 'application/json';
	if (token) headers.authorization = `Bearer ${token}`;
	const res = await fetch(base + p, {
		method,
		headers,
		body: json === undefined ? undefined : JSON.stringify(json),
		signal: AbortSignal.timeout(10000),
	});
	const text = await res.text();
	return { status: res.status, text, body: text ? JSON.parse(text) : null };
}

describe('subcommands', T, () => {
	test('iamd version prints a version line and exits 0', () => {
		const r = run(['version'], envWith({}));
		assert.equal(r.status, 0, r.stderr);
		const line = r.stdout.split('\n')[0].trim();
		assert.ok(line.length > 0, 'version line is empty');
		assert.match(line, /\d/, `no version number in ${JSON.stringify(line)}`);
	});

	test('iamd --help prints usage naming serve, migrate and version', () => {
		const r = run(['--help'], envWith({}));
		assert.equal(r.status, 0, r.stderr);
		const out = r.stdout + r.stderr;
		for (const word of ['serve', 'migrate', 'version']) assert.ok(out.includes(word), `--help should mention ${word}: ${out}`);
	});

	test('iamd help config lists every setting with its default; --markdown gives the README table', () => {
		const text = run(['help', 'config'], envWith({}));
		assert.equal(text.status, 0, text.stderr);
		const md = run(['help', 'config', '--markdown'], envWith({}));
		assert.equal(md.status, 0, md.stderr);
		const names = [...md.stdout.matchAll(/^\| `(IAM_[A-Z0-9_]+)` \|/gm)].map((m) => m[1]);
		assert.ok(names.length >= 39, `too few settings: ${names.join(', ')}`);
		for (const n of ['IAM_LISTEN', 'IAM_DATABASE_URL', 'IAM_HTTP_THREADS', 'IAM_WEB_DIR', 'IAM_HASH_WAIT_MS']) {
			assert.ok(names.includes(n), `${n} missing from the table`);
		}
		for (const n of names) assert.match(text.stdout, new RegExp(`^  ${n}\n      default: `, 'm'), `${n} missing from help config`);
		assert.match(text.stdout, /^  IAM_MAX_UPLOAD_MB\n      default: 2048; allowed: 1–1048576\n/m);
		const readme = fs.readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
		assert.ok(readme.includes(md.stdout), 'README.md holds the generated table (scripts/config-table --write)');
		const bad = run(['help', 'config', '--nonsense'], envWith({}));
		assert.equal(bad.status, 2);
	});

	test('an out-of-range setting stops start-up naming the variable and the allowed range', () => {
		const r = run(['migrate'], envWith({ IAM_DATA_DIR: tmpDir('range'), IAM_HTTP_THREADS: '999' }), 10000);
		assert.equal(r.status, 1);
		assert.equal(r.stderr.trim(), 'iamd: IAM_HTTP_THREADS: 999 is out of range; allowed: 1 to 256');
	});

	test('an unknown subcommand exits non-zero without serving', () => {
		const r = run(['no-such-command'], envWith({ IAM_DATA_DIR: tmpDir('unknown'), IAM_LISTEN: '127.0.0.1:1' }), 10000);
		assert.notEqual(r.status, 0);
		assert.ok(r.stderr.length > 0, 'say what went wrong on stderr');
	});

	test('iamd migrate on a fresh data dir exits 0, and again', () => {
		const dataDir = path.join(tmpDir('migrate'), 'data');
		const env = envWith({ IAM_DATA_DIR: dataDir, IAM_LOG_LEVEL: 'warn' });
		const first = run(['migrate'], env, 30000);
		assert.equal(first.status, 0, `first migrate: ${first.stderr}`);
		assert.ok(fs.existsSync(path.join(dataDir, 'iam.db')), 'the default SQLite database is $IAM_DATA_DIR/iam.db');
		const second = run(['migrate'], env, 30000);
		assert.equal(second.status, 0, `second migrate: ${second.stderr}`);
	});

	test('iamd migrate against the running test server database is a no-op', () => {
		const url = process.env.IAM_TEST_DATABASE_URL;
		assert.ok(url, 'IAM_TEST_DATABASE_URL is not set');
		const r = run(['migrate'], envWith({ IAM_DATA_DIR: tmpDir('migrate-shared'), IAM_DATABASE_URL: url, IAM_LOG_LEVEL: 'warn' }), 30000);
		assert.equal(r.status, 0, r.stderr);
	});
});

describe('configuration errors', T, () => {
	const cases = [
		['IAM_LISTEN', 'nonsense'],
		['IAM_LISTEN', '127.0.0.1:70000'],
		['IAM_HTTP_THREADS', '0'],
		['IAM_HTTP_THREADS', 'many'],
		['IAM_HTTP_THREADS', '999'],
		['IAM_SSE_MAX', '-1'],
		['IAM_LOG_LEVEL', 'loud'],
		['IAM_DATABASE_URL', 'mysql://x'],
	];
	for (const [name, value] of cases) {
		test(`${name}=${value} -> quick non-zero exit naming ${name}`, async () => {
			const port = await freePort();
			const env = envWith({
				IAM_LISTEN: `127.0.0.1:${port}`,
				IAM_DATA_DIR: tmpDir('badcfg'),
				IAM_JWT_SECRET: crypto.randomBytes(24).toString('hex'),
				IAM_LOG_LEVEL: 'warn',
				[name]: value,
			});
			const s = spawnServer(env);
			const r = await waitExit(s.proc, 5000);
			if (r === null) {
				s.proc.kill('SIGKILL');
				assert.fail(`iamd kept running with ${name}=${value}`);
			}
			assert.ok(r.code !== 0 || r.signal !== null, `exit status should be non-zero with ${name}=${value}`);
			assert.equal(r.signal, null, `iamd crashed (${r.signal}) instead of exiting: ${s.stderr()}`);
			const lines = s.stderr().split('\n').filter((l) => l.trim() !== '');
			assert.ok(lines.length >= 1, 'nothing on stderr');
			assert.ok(lines.some((l) => l.includes(name)), `no stderr line names ${name}: ${s.stderr()}`);
		});
	}
});

describe('lifecycle', T, () => {
	test('SIGTERM -> exit 0 within 10 s', async () => {
		const s = await startServer(tmpDir('sigterm'), { secret: crypto.randomBytes(24).toString('hex') });
		const h = await jsonFetch(s.base, 'GET', '/healthz');
		assert.equal(h.status, 200);
		const reg = await jsonFetch(s.base, 'POST', '/api/v1/auth/register', { json: { email: uniqueEmail('sigterm'), password: PASSWORD } });
		assert.equal(reg.status, 201, reg.text);
		const ms = await stopServer(s, 10000);
		assert.ok(ms < 10000);
	});

	test('SIGTERM with an idle keep-alive connection open still exits promptly', async () => {
		const s = await startServer(tmpDir('keepalive'), { secret: crypto.randomBytes(24).toString('hex') });
		const url = new URL(s.base);
		const sock = net.connect({ host: url.hostname, port: Number(url.port) });
		await new Promise((resolve, reject) => {
			sock.once('error', reject);
			sock.once('connect', resolve);
		});
		sock.on('error', () => {});
		sock.write(`GET /healthz HTTP/1.1\r\nHost: ${url.host}\r\n\r\n`);
		await new Promise((resolve) => sock.once('data', resolve));
		try {
			await stopServer(s, 10000);
		} finally {
			sock.destroy();
		}
	});

	test('without IAM_JWT_SECRET, tokens survive a restart on the same data dir', async () => {
		const dataDir = tmpDir('secret');
		const email = uniqueEmail('restart');
		let s = await startServer(dataDir);
		const reg = await jsonFetch(s.base, 'POST', '/api/v1/auth/register', { json: { email, password: PASSWORD } });
		assert.equal(reg.status, 201, reg.text);
		const token = reg.body.access_token;
		assert.equal((await jsonFetch(s.base, 'GET', '/api/v1/users/me', { token })).status, 200);
		await stopServer(s);

		s = await startServer(dataDir);
		try {
			const m = await jsonFetch(s.base, 'GET', '/api/v1/users/me', { token });
			assert.equal(m.status, 200, `old token after restart: ${m.text}`);
			assert.equal(m.body.id, reg.body.user.id);
			const r = await jsonFetch(s.base, 'POST', '/api/v1/auth/refresh', { json: { refresh_token: reg.body.refresh_token } });
			assert.equal(r.status, 200, `old refresh token after restart: ${r.text}`);
		} finally {
			await stopServer(s);
		}

		// a different data dir has a different secret: the token means nothing there
		const other = await startServer(tmpDir('secret-other'));
		try {
			const m = await jsonFetch(other.base, 'GET', '/api/v1/users/me', { token });
			assert.equal(m.status, 401, m.text);
		} finally {
			await stopServer(other);
		}
	});
});
