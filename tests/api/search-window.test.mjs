// The rank window of search (issue 13): when more rows match than
// IAM_SEARCH_RANK_WINDOW, only that many are ranked, and cursors stay within
// them. On SQLite they are the newest: the rows indexed last (a meeting's
// title row is written again when it is renamed); PostgreSQL takes the first
// in table order (ranking its newest cost a p95 of up to 209 ms on the
// bench). A server of our own with a window of 3 (on the suite's database
// when it runs on PostgreSQL).

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MEETINGS, createMeeting, randomSecret, registerAt, requestAt, show, startIamd } from './helpers.mjs';

const T = { timeout: 60000 };
const PG = process.env.IAM_ENGINE === 'postgres';
const tmpRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'iam-search-window-'));
let srv, acc;
const made = [];

async function search(params) {
	const res = await requestAt(srv.base, 'GET', `/api/v1/search?${new URLSearchParams(params)}`, { token: acc.access });
	assert.equal(res.status, 200, show(res));
	return res.body;
}

before(async () => {
	const db = process.env.IAM_ENGINE === 'postgres' && process.env.IAM_TEST_DATABASE_URL ? { IAM_DATABASE_URL: process.env.IAM_TEST_DATABASE_URL } : {};
	srv = await startIamd(fs.mkdtempSync(path.join(tmpRoot, 'srv-')), {
		IAM_JWT_SECRET: randomSecret(),
		IAM_WORKERS: '0',
		IAM_REGISTER_PER_HOUR: '0',
		IAM_SEARCH_RANK_WINDOW: '3',
		...db,
	});
	acc = await registerAt(srv.base, 'srchwin');
	// Five meetings whose titles rank alike, made one after the other.
	for (let i = 1; i <= 5; i++) made.push(await createMeeting(acc.access, { title: `Walrus colony ${i}` }, srv.base));
}, T);

after(async () => {
	if (srv) await srv.stop(5000).catch(() => {});
	fs.rmSync(tmpRoot, { recursive: true, force: true });
});

describe('rank window', () => {
	test('more matches than the window: that many rows (on SQLite the newest)', T, async () => {
		const body = await search({ q: 'walrus', limit: 10 });
		const titles = body.data.map((h) => h.meeting.title).sort();
		assert.equal(titles.length, 3);
		assert.equal(new Set(titles).size, 3);
		if (!PG) assert.deepEqual(titles, ['Walrus colony 3', 'Walrus colony 4', 'Walrus colony 5']);
		assert.equal(body.next_cursor, null);
	});

	test('cursors walk the window and stop at its end', T, async () => {
		const first = await search({ q: 'walrus', limit: 2 });
		assert.equal(first.data.length, 2);
		assert.ok(first.next_cursor, 'a second page');
		const second = await search({ q: 'walrus', limit: 2, cursor: first.next_cursor });
		assert.equal(second.data.length, 1);
		assert.equal(second.next_cursor, null);
		const titles = [...first.data, ...second.data].map((h) => h.meeting.title).sort();
		assert.equal(new Set(titles).size, 3);
		if (!PG) assert.deepEqual(titles, ['Walrus colony 3', 'Walrus colony 4', 'Walrus colony 5']);
	});

	test('a renamed meeting is indexed again, so it is among the newest (SQLite)', { ...T, skip: PG && 'PostgreSQL ranks the first rows in table order' }, async () => {
		const res = await requestAt(srv.base, 'PUT', `${MEETINGS}/${made[0].id}`, { token: acc.access, json: { title: 'Walrus colony one' } });
		assert.equal(res.status, 200, show(res));
		const body = await search({ q: 'walrus', limit: 10 });
		assert.deepEqual(body.data.map((h) => h.meeting.title).sort(), ['Walrus colony 4', 'Walrus colony 5', 'Walrus colony one']);
	});
});
