// Defence in depth on PostgreSQL (issue 10, item 9): row-level security on
// every tenant table, keyed on the connection's tenant scope (iam.scope /
// iam.org_ids, set per transaction with SET LOCAL or per pool checkout),
// and the application's role is neither superuser nor BYPASSRLS.
//
// The test talks to the database as the same role iamd uses (the URL the
// runner gives both) and writes the queries a buggy store function would:
// no organization filter at all. Scoped to organization A they return A's
// rows and nothing of B's; with no scope they return nothing; a write of a
// row for B while scoped to A is refused. PostgreSQL only: SQLite has no
// roles or policies.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
	ENGINE,
	UUID_RE,
	createMeeting,
	dropPrivateDatabases,
	get,
	privateDatabaseEnv,
	randomSecret,
	register,
	startIamd,
} from './helpers.mjs';

const PG = ENGINE === 'postgres' && process.env.IAM_TEST_DATABASE_URL;

/**
 * Run SQL as the application's role in a session of its own, with no scope
 * inherited from the environment (the runner gives the tests' own psql
 * calls system scope through PGOPTIONS). Returns { status, out, err }.
 */
function psql(sql) {
	const env = { ...process.env, PGOPTIONS: '' };
	const r = spawnSync('psql', [process.env.IAM_TEST_DATABASE_URL, '-XAtq', '-F', '|', '-v', 'ON_ERROR_STOP=1', '-c', sql], {
		encoding: 'utf8',
		env,
	});
	return { status: r.status, out: (r.stdout || '').trim(), err: r.stderr || '' };
}

function psqlOk(sql) {
	const r = psql(sql);
	assert.equal(r.status, 0, `psql failed: ${r.err}\n${sql}`);
	return r.out;
}

const lines = (s) => (s ? s.split('\n') : []);

describe('row-level security (PostgreSQL)', { skip: !PG && 'PostgreSQL only (IAM_ENGINE=postgres)' }, () => {
	let a, b, ma, mb;
	before(async () => {
		a = await register({ tag: 'rls-a' });
		b = await register({ tag: 'rls-b' });
		assert.match(a.organization.id, UUID_RE);
		assert.notEqual(a.organization.id, b.organization.id);
		ma = await createMeeting(a.access, { title: 'A only' });
		mb = await createMeeting(b.access, { title: 'B only' });
	});
	after(() => dropPrivateDatabases());

	test('the application role is neither superuser nor BYPASSRLS, and /readyz says RLS is enforced', async () => {
		assert.equal(psqlOk('SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user'), 'f|f');
		const res = await get('/readyz');
		assert.equal(res.status, 200);
		assert.equal(res.body.row_level_security, 'enforced');
	});

	test('every table with an org_id has forced row-level security (sessions and search_docs excepted)', () => {
		const out = psqlOk(`SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity
			FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'org_id' AND NOT a.attisdropped
			JOIN pg_namespace n ON n.oid = c.relnamespace
			WHERE c.relkind = 'r' AND n.nspname = current_schema() AND c.relname NOT IN ('sessions', 'search_docs') ORDER BY 1`);
		const rows = lines(out).map((l) => l.split('|'));
		assert.ok(rows.length >= 20, `tenant tables found: ${out}`);
		for (const [name, enabled, forced] of rows) assert.deepEqual([name, enabled, forced], [name, 't', 't'], `${name} lacks forced RLS`);
		assert.ok(rows.some(([n]) => n === 'meetings'));
	});

	test('scoped to organization A, a query with no organization filter sees A and nothing of B', () => {
		const orgs = lines(
			psqlOk(`BEGIN; SET LOCAL iam.org_ids = '${a.organization.id}';
				SELECT DISTINCT org_id FROM meetings; COMMIT;`),
		);
		assert.deepEqual(orgs, [a.organization.id]);
		const ids = lines(psqlOk(`BEGIN; SET LOCAL iam.org_ids = '${a.organization.id}'; SELECT id FROM meetings; COMMIT;`));
		assert.ok(ids.includes(ma.id), 'A sees its own meeting');
		assert.ok(!ids.includes(mb.id), "A must not see B's meeting");
		// Nor B's organization's other rows: memberships, audit events, ...
		const leaked = psqlOk(`BEGIN; SET LOCAL iam.org_ids = '${a.organization.id}';
			SELECT (SELECT count(*) FROM memberships WHERE org_id = '${b.organization.id}')
			     + (SELECT count(*) FROM audit_events WHERE org_id = '${b.organization.id}')
			     + (SELECT count(*) FROM meetings WHERE id = '${mb.id}'); COMMIT;`);
		assert.equal(leaked, '0');
	});

	test('with no scope at all a query sees no tenant rows (fail closed)', () => {
		assert.equal(psqlOk('SELECT count(*) FROM meetings'), '0');
		assert.equal(psqlOk('SELECT count(*) FROM memberships'), '0');
		// SET LOCAL ends with its transaction: nothing is left behind.
		assert.equal(
			psqlOk(`BEGIN; SET LOCAL iam.org_ids = '${a.organization.id}'; COMMIT; SELECT count(*) FROM meetings;`),
			'0',
		);
		// The system scope (jobs, the janitor, authentication by hash) sees both.
		const both = lines(
			psqlOk(`BEGIN; SET LOCAL iam.scope = 'system';
				SELECT id FROM meetings WHERE id IN ('${ma.id}', '${mb.id}') ORDER BY id; COMMIT;`),
		);
		assert.deepEqual(both, [ma.id, mb.id].sort());
	});

	test("scoped to A, writing a row for B is refused; the same row for A is accepted", () => {
		const copy = (org) => `BEGIN; SET LOCAL iam.org_ids = '${a.organization.id}';
			CREATE TEMP TABLE m ON COMMIT DROP AS SELECT * FROM meetings WHERE id = '${ma.id}';
			UPDATE m SET id = gen_random_uuid()::text, org_id = '${org}';
			INSERT INTO meetings SELECT * FROM m; ROLLBACK;`;
		const refused = psql(copy(b.organization.id));
		assert.notEqual(refused.status, 0, 'the insert for B must fail');
		assert.match(refused.err, /row-level security/);
		// Control: the very same statement for A works, so the refusal above is the policy.
		const ok = psql(copy(a.organization.id));
		assert.equal(ok.status, 0, ok.err);
		// Nor can A move its own row into B, or touch B's rows.
		const moved = psql(`BEGIN; SET LOCAL iam.org_ids = '${a.organization.id}';
			UPDATE meetings SET org_id = '${b.organization.id}' WHERE id = '${ma.id}'; ROLLBACK;`);
		assert.notEqual(moved.status, 0);
		assert.match(moved.err, /row-level security/);
		assert.equal(
			psqlOk(`BEGIN; SET LOCAL iam.org_ids = '${a.organization.id}';
				WITH d AS (DELETE FROM meetings WHERE id = '${mb.id}' RETURNING 1) SELECT count(*) FROM d; ROLLBACK;`),
			'0',
		);
	});

	test('the API still works for both tenants under the policies, and keeps them apart', async () => {
		const la = await get('/api/v1/meetings', { token: a.access });
		assert.equal(la.status, 200);
		assert.deepEqual(la.body.data.map((m) => m.id), [ma.id]);
		const cross = await get(`/api/v1/meetings/${mb.id}`, { token: a.access });
		assert.equal(cross.status, 404);
	});

	test('run as a superuser, iamd warns at start-up and /readyz says RLS is bypassed', async (t) => {
		const su = new URL(privateDatabaseEnv('rlssu').IAM_DATABASE_URL);
		su.username = 'postgres'; // pg-test-cluster's superuser (trust authentication)
		const probe = spawnSync('psql', [su.href, '-XAtc', 'SELECT rolsuper FROM pg_roles WHERE rolname = current_user'], {
			encoding: 'utf8',
		});
		if (probe.status !== 0 || probe.stdout.trim() !== 't') {
			t.skip('no superuser login on this cluster');
			return;
		}
		const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'iam-rls-su-'));
		const s = await startIamd(dir, { IAM_DATABASE_URL: su.href, IAM_JWT_SECRET: randomSecret(), IAM_WORKERS: '1' });
		try {
			const res = await fetch(`${s.base}/readyz`);
			assert.equal(res.status, 200);
			assert.equal((await res.json()).row_level_security, 'bypassed');
			assert.match(s.stderr(), /bypasses row-level security/);
		} finally {
			await s.stop();
			fs.rmSync(dir, { recursive: true, force: true });
		}
	});
});
