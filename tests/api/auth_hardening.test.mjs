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
