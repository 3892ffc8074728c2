// `iamd plans ...` run against the test server's own database (the
// catalogue is data): shared by usage.test.mjs and billing.test.mjs.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { iamEnv, register } from './helpers.mjs';

const adminDir = fs.mkdtempSync(path.join(os.tmpdir(), 'iam-plans-'));
process.on('exit', () => fs.rmSync(adminDir, { recursive: true, force: true }));

function run(url, args) {
	const bin = process.env.IAM_BIN;
	assert.ok(bin && url, 'IAM_BIN and IAM_TEST_DATABASE_URL come from scripts/run-api-tests');
	return spawnSync(bin, ['plans', ...args], {
		env: iamEnv({ IAM_DATABASE_URL: url, IAM_DATA_DIR: adminDir, IAM_LOG_LEVEL: 'error' }),
		encoding: 'utf8',
		timeout: 30000,
	});
}

/** Run `iamd plans ...` on the test server's database (the caller checks the status). */
export function plans(...args) {
	return run(process.env.IAM_TEST_DATABASE_URL, args);
}

/** Run `iamd plans ...` on the database at url (a test's own server), which must succeed. */
export function plansOn(url, ...args) {
	const r = run(url, args);
	assert.equal(r.status, 0, `iamd plans ${args.join(' ')}: ${r.stderr}`);
	return r;
}

/** A fresh plan with the given `iamd plans set` options, and a fresh account on it. */
export async function accountOnPlan(opts) {
	const code = `t-${crypto.randomBytes(4).toString('hex')}`;
	let r = plans('set', code, '--name', `Test ${code}`, ...opts);
	assert.equal(r.status, 0, `plans set: ${r.stderr}`);
	const acct = await register();
	r = plans('assign', acct.organization.id, code);
	assert.equal(r.status, 0, `plans assign: ${r.stderr}`);
	return { ...acct, code };
}

