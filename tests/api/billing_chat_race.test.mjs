// Issue 13: the chat quota is one atomic step with the count. A message
// reserves its place in the plan's monthly chat messages when it is
// accepted (check and reservation in one transaction under the
// organization's lock), so messages sent together at the edge of the quota
// cannot all pass while their answers are still being written: exactly the
// remaining number are answered, the rest get 402 quota_exceeded before
// anything streams. The answers come from a language-model stand-in that
// streams slowly, so every message is in flight at once.
// Own iamd and database; everything on 127.0.0.1.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { dropPrivateDatabases, privateDatabaseEnv, randomSecret, registerAt, requestAt, show, startIamd } from './helpers.mjs';
import { plansOn } from './plans-admin.mjs';
import { startLlmStandin } from './llm-standin.mjs';

const T = { timeout: 120000 };
const tmpRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'iam-chatrace-'));
let llm, iam, dbUrl;


before(async () => {
	llm = await startLlmStandin();
	llm.tokenDelayMs = 120; // about 1.5 s an answer: every message below is in flight together
	const dataDir = fs.mkdtempSync(path.join(tmpRoot, 'srv-'));
	const own = privateDatabaseEnv('chatrace');
	dbUrl = own.IAM_DATABASE_URL || `sqlite:${path.join(dataDir, 'iam.db')}`;
	iam = await startIamd(dataDir, {
		IAM_JWT_SECRET: randomSecret(),
		IAM_WORKERS: '1',
		IAM_REGISTER_PER_HOUR: '0',
		IAM_HTTP_THREADS: '8',
		IAM_LLM_BASE_URL: llm.base,
		IAM_LLM_API_KEY: 'sk-standin',
		IAM_LLM_MODEL: llm.model,
		IAM_LLM_TIMEOUT_S: '10',
		...own,
	});
});

after(async () => {
	// It ends cleanly (under the sanitizers too: no leak, no error report).
	const exit = await iam?.stop();
	await llm?.close();
	dropPrivateDatabases();
	fs.rmSync(tmpRoot, { recursive: true, force: true });
	if (exit) assert.equal(exit.code, 0, `iamd exit ${JSON.stringify(exit)}: ${iam.stderr().slice(-4000)}`);
});

/** One message: { status, done } (done: the answer's done event arrived). */
async function ask(token, chatId, content) {
	const res = await fetch(`${iam.base}/api/v1/chats/${chatId}/messages`, {
		method: 'POST',
		headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', accept: 'text/event-stream' },
		body: JSON.stringify({ content }),
		signal: AbortSignal.timeout(60000),
	});
	const text = await res.text();
	return { status: res.status, done: /event: done/.test(text), body: res.status === 200 ? null : JSON.parse(text), text };
}

describe('the chat quota under concurrency', () => {
	test('N messages at once at the edge of the quota: exactly the remaining number are answered, the rest get 402', T, async () => {
		const code = `t-${crypto.randomBytes(4).toString('hex')}`;
		plansOn(dbUrl, 'set', code, '--name', `Race ${code}`, '--chat', '4');
		const a = await registerAt(iam.base, 'chatrace');
		plansOn(dbUrl, 'assign', a.organization.id, code);
		const chat = await requestAt(iam.base, 'POST', '/api/v1/chats', { token: a.access, json: {} });
		assert.equal(chat.status, 201, show(chat));
		const first = await ask(a.access, chat.body.id, 'the first question?');
		assert.equal(first.status, 200, first.text);
		assert.ok(first.done, first.text);

		// 1 of 4 used: 3 left, 8 sent together.
		const N = 8;
		const results = await Promise.all(Array.from({ length: N }, (_, i) => ask(a.access, chat.body.id, `question ${i} at once?`)));
		const answered = results.filter((r) => r.status === 200);
		const refused = results.filter((r) => r.status === 402);
		assert.equal(answered.length, 3, `exactly the 3 left are answered: ${results.map((r) => r.status).join(',')}`);
		assert.equal(refused.length, N - 3);
		for (const r of answered) assert.ok(r.done, r.text);
		for (const r of refused) {
			assert.equal(r.body.code, 'quota_exceeded', r.text);
			assert.equal(r.body.resource, 'chat_messages');
			assert.equal(r.body.limit, 4);
		}
		const u = await requestAt(iam.base, 'GET', '/api/v1/usage', { token: a.access });
		assert.equal(u.body.chat_messages.used, 4, show(u));
		const msgs = await requestAt(iam.base, 'GET', `/api/v1/chats/${chat.body.id}`, { token: a.access });
		assert.equal(msgs.status, 200, show(msgs));
		const list = msgs.body.messages ?? msgs.body.data;
		assert.equal(list.length, 2 * 4, 'four questions with their answers are kept');
		// Nothing left: the next one is refused too.
		assert.equal((await ask(a.access, chat.body.id, 'one more?')).status, 402);
	});
});
