// Chat with a meeting (issue 13): POST /api/v1/chats, GET /api/v1/chats,
// GET /api/v1/chats/{id}, POST /api/v1/chats/{id}/messages answered over
// Server-Sent Events (token events, then done with citations, or error).
//
// Two iamd processes of this file share one private database and data
// directory: one with no language model (the offline excerpt answer), one
// talking to a local stand-in (tests/api/llm-standin.mjs) that speaks the
// exact OpenAI chat-completions streaming format and can be scripted to
// rate-limit, fail, send garbage, go silent or cut off.
//
// The meeting is a real two-voice conversation transcribed by iamd, then
// edited to known sentences (so what is retrieved does not depend on the
// recognizer).

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
	MEETINGS,
	assertProblem,
	createMeeting,
	randomSecret,
	registerAt,
	requestAt,
	show,
	startIamd,
	uploadOk,
	waitCompleted,
} from './helpers.mjs';
import { plansOn } from './plans-admin.mjs';
import { VOICES, conversationFile } from './audio.mjs';
import { bagOfWords, startLlmStandin } from './llm-standin.mjs';

const T = { timeout: 240000 };
const CHATS = '/api/v1/chats';
const SEG0 = 'The giraffe budget was approved by the board on Monday';
const SEG1 = 'We must not forget the giraffe enclosure near the river';
const CONVERSATION = [
	{ voice: VOICES.a, text: 'good morning everyone. we need to finish the project by next week.' },
	{ voice: VOICES.b, text: 'she went to the store to buy some milk. the company reported strong sales this year.' },
	{ voice: VOICES.a, text: 'please send the report before friday afternoon.' },
];

const tmpRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'iam-chat-'));
const privateDbs = [];

/** A database of this file's own: a private PostgreSQL database, or SQLite in the data dir. */
function dbUrl() {
	const url = process.env.IAM_TEST_DATABASE_URL;
	if (process.env.IAM_ENGINE !== 'postgres' || !url) return `sqlite:${path.join(tmpRoot, 'chat.db')}`;
	const name = `iam_chat_${process.pid}_${crypto.randomBytes(3).toString('hex')}`;
	const r = spawnSync('psql', [url, '-v', 'ON_ERROR_STOP=1', '-qc', `CREATE DATABASE ${name}`], { encoding: 'utf8' });
	assert.equal(r.status, 0, `create database ${name}: ${r.stderr}`);
	privateDbs.push(name);
	const u = new URL(url);
	u.pathname = `/${name}`;
	return u.href;
}


/**
 * Ask a question: POST .../messages and read the event stream. Resolves to
 * { status, headers, body (problems), events: [{event, json, at}], tokens
 * (the token texts), done, error, ended }.
 */
async function ask(base, token, chatId, content, { timeout = 60000 } = {}) {
	const started = Date.now();
	const res = await fetch(`${base}${CHATS}/${chatId}/messages`, {
		method: 'POST',
		headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', accept: 'text/event-stream' },
		body: JSON.stringify({ content }),
		signal: AbortSignal.timeout(timeout),
	});
	const out = { status: res.status, headers: res.headers, events: [], tokens: [], done: null, error: null, ended: false, started };
	if (!/^text\/event-stream/.test(res.headers.get('content-type') || '')) {
		out.text = await res.text();
		try {
			out.body = JSON.parse(out.text);
		} catch {
			out.body = null;
		}
		return out;
	}
	const dec = new TextDecoder();
	let buf = '';
	for await (const chunk of res.body) {
		buf += dec.decode(chunk, { stream: true });
		let i;
		while ((i = buf.indexOf('\n\n')) >= 0) {
			const block = buf.slice(0, i);
			buf = buf.slice(i + 2);
			let event = 'message';
			const data = [];
			for (const line of block.split('\n')) {
				if (line.startsWith('event:')) event = line.slice(6).trim();
				else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
			}
			if (!data.length) continue;
			const json = JSON.parse(data.join('\n'));
			out.events.push({ event, json, at: Date.now() });
			if (event === 'token') out.tokens.push(json.text);
			if (event === 'done') out.done = json;
			if (event === 'error') out.error = json;
		}
	}
	out.ended = true;
	return out;
}

async function newChat(base, token, json = {}) {
	const res = await requestAt(base, 'POST', CHATS, { token, json });
	assert.equal(res.status, 201, `create chat: ${show(res)}`);
	return res.body;
}

async function messagesOf(base, token, chatId) {
	const res = await requestAt(base, 'GET', `${CHATS}/${chatId}`, { token });
	assert.equal(res.status, 200, show(res));
	return res.body.messages;
}

let url, secret, off, llm, standin, A, B, mA, segs, insightsA;

before(async () => {
	url = dbUrl();
	secret = randomSecret();
	const common = { IAM_DATABASE_URL: url, IAM_JWT_SECRET: secret, IAM_REGISTER_PER_HOUR: '0' };
	const dataDir = path.join(tmpRoot, 'data');
	// The jobs (transcription, then insights with the model's summary) run on the model's server.
	off = await startIamd(dataDir, { ...common, IAM_WORKERS: '0' });
	standin = await startLlmStandin();
	llm = await startIamd(dataDir, {
		...common,
		IAM_WORKERS: '1',
		IAM_LLM_BASE_URL: standin.base,
		IAM_LLM_API_KEY: 'sk-standin',
		IAM_LLM_MODEL: standin.model,
		IAM_LLM_TIMEOUT_S: '1',
		IAM_LLM_EMBEDDING_MODEL: 'standin-embed-1',
	});
	A = await registerAt(off.base, 'chata');
	B = await registerAt(off.base, 'chatb');
	mA = await createMeeting(A.access, { title: 'Zoo planning' }, off.base);
	const conv = conversationFile(CONVERSATION);
	await uploadOk(A.access, mA.id, fs.readFileSync(conv.file), { filename: 'sync.wav', contentType: 'audio/wav', base: llm.base });
	await waitCompleted(A.access, mA.id, { base: off.base });
	const deadline = Date.now() + 60000;
	for (;;) {
		const r = await requestAt(off.base, 'GET', `${MEETINGS}/${mA.id}/insights`, { token: A.access });
		assert.equal(r.status, 200, show(r));
		if (r.body.status === 'done' || r.body.status === 'failed') {
			insightsA = r.body;
			break;
		}
		assert.ok(Date.now() < deadline, `insights not done: ${show(r)}`);
		await new Promise((res) => setTimeout(res, 250));
	}
	for (const [i, text, speaker] of [[0, SEG0, 'S1'], [1, SEG1, 'S2']]) {
		const res = await requestAt(off.base, 'PATCH', `${MEETINGS}/${mA.id}/transcript/segments/${i}`, { token: A.access, json: { text, speaker } });
		assert.equal(res.status, 200, show(res));
	}
	const sp = await requestAt(off.base, 'PUT', `${MEETINGS}/${mA.id}/transcript/speakers/S1`, { token: A.access, json: { name: 'Thandi' } });
	assert.equal(sp.status, 200, show(sp));
	segs = (await requestAt(off.base, 'GET', `${MEETINGS}/${mA.id}/transcript`, { token: A.access })).body.segments;
}, T);

after(async () => {
	// Both servers end cleanly (under the sanitizers too: no leak, no error report).
	for (const srv of [off, llm]) {
		if (!srv) continue;
		const r = await srv.stop();
		assert.equal(r.code, 0, `iamd exit ${JSON.stringify(r)}: ${srv.stderr().slice(-4000)}`);
	}
	await standin?.close();
	for (const name of privateDbs) spawnSync('psql', [process.env.IAM_TEST_DATABASE_URL, '-qc', `DROP DATABASE IF EXISTS ${name}`]);
	fs.rmSync(tmpRoot, { recursive: true, force: true });
});

function assertSeg0Citation(c) {
	assert.equal(c.meeting_id, mA.id);
	assert.equal(c.segment_index, 0);
	assert.equal(c.speaker, 'Thandi');
	assert.equal(c.start, segs[0].start);
	assert.equal(c.text, SEG0);
}

describe('chat offline (no language model)', () => {
	test('an excerpt answer streams as tokens, says what it is, cites meeting, speaker and time, and is kept', T, async () => {
		const chat = await newChat(off.base, A.access, { meeting_id: mA.id });
		assert.equal(chat.meeting_id, mA.id);
		assert.equal(chat.title, 'Zoo planning');
		const r = await ask(off.base, A.access, chat.id, 'When was the giraffe budget approved?');
		assert.equal(r.status, 200, r.text);
		assert.ok(r.tokens.length >= 2, `several token events expected, got ${r.tokens.length}`);
		assert.ok(r.done, `a done event expected: ${JSON.stringify(r.events)}`);
		assert.equal(r.error, null);
		const text = r.tokens.join('');
		assert.equal(text, r.done.content, 'the tokens make up the stored answer');
		assert.match(text, /^This is an excerpt answer \(no language model is configured/);
		assert.ok(text.includes(SEG0), text);
		assert.equal(r.done.status, 'excerpt');
		assert.equal(r.done.source, 'offline');
		// The best passage is the one with both "giraffe" and "budget"/"approved".
		assertSeg0Citation(r.done.citations[0]);
		assert.equal(r.done.citations[0].n, 1);
		assert.ok(r.done.citations.some((c) => c.segment_index === 1 && c.speaker === 'Speaker 2'));
		const msgs = await messagesOf(off.base, A.access, chat.id);
		assert.deepEqual(msgs.map((m) => m.role), ['user', 'assistant']);
		assert.equal(msgs[0].content, 'When was the giraffe budget approved?');
		assert.equal(msgs[1].id, r.done.message_id);
		assert.equal(msgs[0].id, r.done.question_id);
		assert.equal(msgs[1].content, text);
		assert.deepEqual(msgs[1].citations, r.done.citations);
		const list = await requestAt(off.base, 'GET', `${CHATS}?limit=5`, { token: A.access });
		assert.equal(list.status, 200);
		assert.ok(list.body.data.some((c) => c.id === chat.id));
	});

	test('a chat over all my meetings finds the passage too', T, async () => {
		const chat = await newChat(off.base, A.access);
		assert.equal(chat.meeting_id, null);
		const r = await ask(off.base, A.access, chat.id, 'giraffe enclosure river');
		assert.ok(r.done, JSON.stringify(r.events));
		assert.equal(r.done.citations[0].segment_index, 1);
		assert.equal(r.done.citations[0].meeting_title, 'Zoo planning');
	});

	test('bad input: empty, blank, over 4,000 characters, unknown fields, no such chat', T, async () => {
		const chat = await newChat(off.base, A.access, { meeting_id: mA.id });
		for (const content of ['', '   \n ', 'x'.repeat(4001)]) {
			const r = await ask(off.base, A.access, chat.id, content);
			assertProblem({ status: r.status, headers: r.headers, body: r.body, text: r.text }, 400, 'validation_failed');
		}
		const extra = await requestAt(off.base, 'POST', `${CHATS}/${chat.id}/messages`, { token: A.access, json: { content: 'hi', model: 'x' } });
		assert.equal(extra.status, 400, show(extra));
		const bad = await requestAt(off.base, 'POST', CHATS, { token: A.access, json: { meeting_id: 'nope' } });
		assert.equal(bad.status, 400, show(bad));
		const none = await ask(off.base, A.access, crypto.randomUUID(), 'hello');
		assert.equal(none.status, 404);
		assert.deepEqual(await messagesOf(off.base, A.access, chat.id), [], 'nothing stored by refusals');
	});

	test('another tenant: its meeting and its chats are 404', T, async () => {
		const mine = await newChat(off.base, A.access, { meeting_id: mA.id });
		const r = await requestAt(off.base, 'POST', CHATS, { token: B.access, json: { meeting_id: mA.id } });
		assert.equal(r.status, 404, show(r));
		const get = await requestAt(off.base, 'GET', `${CHATS}/${mine.id}`, { token: B.access });
		assert.equal(get.status, 404, show(get));
		const q = await ask(off.base, B.access, mine.id, 'what about the giraffe budget?');
		assert.equal(q.status, 404);
		assert.equal(q.body.code, 'chat_not_found');
		// B's own chat over all its meetings never cites A's meeting.
		const bchat = await newChat(off.base, B.access);
		const b = await ask(off.base, B.access, bchat.id, 'giraffe budget approved');
		assert.ok(b.done);
		assert.deepEqual(b.done.citations, []);
		assert.ok(!b.done.content.includes('giraffe budget was'), b.done.content);
		const list = await requestAt(off.base, 'GET', CHATS, { token: B.access });
		assert.ok(!list.body.data.some((c) => c.id === mine.id));
	});

	test('a chat about a collection reads its meetings only; a guest chats about what was shared and loses it with the share', T, async () => {
		const api = (method, p, opts) => requestAt(off.base, method, p, opts);
		const coll = async (name) => {
			const c = await api('POST', '/api/v1/collections', { token: A.access, json: { name } });
			assert.equal(c.status, 201, show(c));
			return c.body;
		};
		const board = await coll('Board');
		assert.equal((await api('PUT', `/api/v1/collections/${board.id}/meetings/${mA.id}`, { token: A.access })).status, 204);
		const empty = await coll('Empty shelf');
		const inBoard = await newChat(off.base, A.access, { collection_id: board.id });
		assert.equal(inBoard.collection_id, board.id);
		assert.equal(inBoard.meeting_id, null);
		assert.equal(inBoard.title, 'Board');
		const r1 = await ask(off.base, A.access, inBoard.id, 'giraffe budget approved board');
		assert.ok(r1.done, JSON.stringify(r1.events));
		assertSeg0Citation(r1.done.citations[0]);
		const none = await newChat(off.base, A.access, { collection_id: empty.id });
		const r2 = await ask(off.base, A.access, none.id, 'giraffe budget approved board');
		assert.ok(r2.done, JSON.stringify(r2.events));
		assert.deepEqual(r2.done.citations, [], 'the meeting is not in that collection');
		assert.match(r2.done.content, /this collection's meetings/);
		// Bad input: both, a malformed id, another tenant's collection.
		assertProblem(await api('POST', CHATS, { token: A.access, json: { meeting_id: mA.id, collection_id: board.id } }), 400, 'validation_failed');
		assertProblem(await api('POST', CHATS, { token: A.access, json: { collection_id: 'nope' } }), 400, 'validation_failed');
		assertProblem(await api('POST', CHATS, { token: B.access, json: { collection_id: board.id } }), 404, 'collection_not_found');

		// A guest from outside: invited to the collection as a viewer.
		const gEmail = `chat-guest-${crypto.randomBytes(4).toString('hex')}@example.com`;
		const inv = await api('POST', `/api/v1/collections/${board.id}/invitations`, { token: A.access, json: { email: gEmail, role: 'viewer' } });
		assert.equal(inv.status, 201, show(inv));
		const g = await api('POST', '/api/v1/collection-invitations/signup', { json: { token: inv.body.token, password: 'Correct-horse-battery-9' } });
		assert.equal(g.status, 201, show(g));
		const G = g.body.access_token;
		const gm = await newChat(off.base, G, { meeting_id: mA.id });
		assert.equal(gm.title, 'Zoo planning');
		const r3 = await ask(off.base, G, gm.id, 'When was the giraffe budget approved?');
		assert.ok(r3.done, JSON.stringify(r3.events));
		assertSeg0Citation(r3.done.citations[0]);
		const gAll = await newChat(off.base, G);
		const r4 = await ask(off.base, G, gAll.id, 'giraffe budget approved');
		assert.ok(r4.done.citations.some((c) => c.meeting_id === mA.id), 'shared meetings are among "all my meetings"');
		// Unshared: the meeting is gone for them, and so are the chats about it.
		assert.equal((await api('DELETE', `/api/v1/collections/${board.id}/people/${g.body.user.id}`, { token: A.access })).status, 204);
		const r5 = await ask(off.base, G, gm.id, 'giraffe?');
		assert.equal(r5.status, 404, r5.text);
		const r6 = await ask(off.base, G, gAll.id, 'giraffe budget approved');
		assert.ok(r6.done, JSON.stringify(r6.events));
		assert.ok(!r6.done.citations.some((c) => c.meeting_id === mA.id), 'nothing of it any more');
	});

	test('the chat quota: a message past the plan is 402 before anything streams', T, async () => {
		const code = `t-${crypto.randomBytes(4).toString('hex')}`;
		plansOn(url, 'set', code, '--name', `Chat ${code}`, '--chat', '1');
		const C = await registerAt(off.base, 'chatq');
		plansOn(url, 'assign', C.organization.id, code);
		const chat = await newChat(off.base, C.access);
		const first = await ask(off.base, C.access, chat.id, 'anything about budgets?');
		assert.ok(first.done, JSON.stringify(first.events));
		const second = await ask(off.base, C.access, chat.id, 'and about rivers?');
		assert.equal(second.status, 402, second.text);
		assert.equal(second.body.code, 'quota_exceeded');
		assert.equal((await messagesOf(off.base, C.access, chat.id)).length, 2, 'only the first exchange is kept');
	});
});

describe('chat with a language model (stand-in)', () => {
	test('the model answer streams token by token, grounded in numbered passages, with the cited passage', T, async () => {
		standin.script = ['ok'];
		const before = standin.requests.length;
		const chat = await newChat(llm.base, A.access, { meeting_id: mA.id });
		const r = await ask(llm.base, A.access, chat.id, 'When was the giraffe budget approved?');
		assert.equal(r.status, 200, r.text);
		assert.ok(r.done, JSON.stringify(r.events));
		const words = standin.answer.match(/\S+\s*/g);
		assert.deepEqual(r.tokens, words, 'one token event per streamed chunk');
		const tokenTimes = r.events.filter((e) => e.event === 'token').map((e) => e.at);
		assert.ok(tokenTimes.at(-1) - tokenTimes[0] >= (words.length - 2) * 20, 'tokens arrive as they are produced, not at the end');
		assert.equal(r.done.content, standin.answer);
		assert.equal(r.done.status, 'answer');
		assert.equal(r.done.source, standin.model);
		assert.equal(r.done.citations.length, 1, 'only the passage the answer cites');
		assertSeg0Citation(r.done.citations[0]);
		// What the provider was asked.
		assert.equal(standin.requests.length, before + 1);
		const req = standin.requests.at(-1);
		assert.equal(req.body.model, standin.model);
		assert.equal(req.body.stream, true);
		assert.equal(req.headers.authorization, 'Bearer sk-standin');
		assert.equal(req.body.messages[0].role, 'system');
		const user = req.body.messages.at(-1);
		assert.equal(user.role, 'user');
		assert.ok(user.content.includes(`[1] (Thandi at`) && user.content.includes(SEG0), user.content);
		assert.match(user.content, /Question: When was the giraffe budget approved\?$/);
		const msgs = await messagesOf(llm.base, A.access, chat.id);
		assert.deepEqual(msgs.map((m) => [m.role, m.status]), [['user', 'complete'], ['assistant', 'answer']]);
		assert.equal(msgs[1].source, standin.model);
	});

	test('429 with Retry-After, then success: retried after the wait, one answer', T, async () => {
		standin.script = ['429', 'ok'];
		const before = standin.requests.length;
		const chat = await newChat(llm.base, A.access, { meeting_id: mA.id });
		const r = await ask(llm.base, A.access, chat.id, 'giraffe budget?');
		assert.ok(r.done, JSON.stringify(r.events));
		assert.equal(r.done.status, 'answer');
		const reqs = standin.requests.slice(before);
		assert.equal(reqs.length, 2);
		assert.ok(reqs[1].at - reqs[0].at >= 900, `Retry-After: 1 honoured (${reqs[1].at - reqs[0].at} ms)`);
		assert.equal((await messagesOf(llm.base, A.access, chat.id)).length, 2);
	});

	test('provider down (5xx on every try): the offline method answers and says so', T, async () => {
		standin.script = ['503', '503', '503'];
		const chat = await newChat(llm.base, A.access, { meeting_id: mA.id });
		const r = await ask(llm.base, A.access, chat.id, 'giraffe budget?');
		assert.ok(r.done, JSON.stringify(r.events));
		assert.equal(r.done.status, 'excerpt');
		assert.match(r.done.content, /^This is an excerpt answer \(the language model could not answer: .*HTTP 503/);
		assert.ok(!r.done.content.includes('overloaded'), 'the provider\'s own message stays in the logs');
		assertSeg0Citation(r.done.citations[0]);
		assert.equal(r.tokens.join(''), r.done.content);
	});

	test('embeddings re-rank the passages found by words by meaning before the model sees them', T, async () => {
		standin.script = ['ok'];
		const before = standin.embedRequests.length;
		// The question's meaning is the river passage's (and nothing else's).
		standin.embed = (t) => (/river|live/i.test(t) ? [1, 0, 0] : [0, 1, 0]);
		const Q = 'Where will the giraffe budget live?';
		try {
			// By words alone (the offline server) the budget passage comes first...
			const offChat = await newChat(off.base, A.access, { meeting_id: mA.id });
			const o = await ask(off.base, A.access, offChat.id, Q);
			assert.deepEqual(o.done.citations.map((c) => c.segment_index).slice(0, 2), [0, 1]);
			// ...by meaning, the river one.
			const chat = await newChat(llm.base, A.access, { meeting_id: mA.id });
			const r = await ask(llm.base, A.access, chat.id, Q);
			assert.ok(r.done, JSON.stringify(r.events));
			const er = standin.embedRequests.slice(before);
			assert.equal(er.length, 1);
			assert.equal(er[0].body.model, 'standin-embed-1');
			assert.equal(er[0].body.input[0], Q);
			assert.ok(er[0].body.input.includes(SEG0) && er[0].body.input.includes(SEG1));
			const user = standin.requests.at(-1).body.messages.at(-1).content;
			assert.ok(user.includes(`[1] (Speaker 2 at`) && user.indexOf(SEG1) < user.indexOf(SEG0), user);
		} finally {
			standin.embed = bagOfWords;
		}
	});

	test('the client goes away mid-answer: the model request is dropped and nothing is stored', T, async () => {
		standin.script = ['ok'];
		standin.tokenDelayMs = 300;
		try {
			const chat = await newChat(llm.base, A.access, { meeting_id: mA.id });
			const ctl = new AbortController();
			const res = await fetch(`${llm.base}${CHATS}/${chat.id}/messages`, {
				method: 'POST',
				headers: { authorization: `Bearer ${A.access}`, 'content-type': 'application/json' },
				body: JSON.stringify({ content: 'When was the giraffe budget approved?' }),
				signal: ctl.signal,
			});
			assert.equal(res.status, 200);
			const reader = res.body.getReader();
			let got = '';
			while (!got.includes('event: token')) got += new TextDecoder().decode((await reader.read()).value);
			ctl.abort();
			// Longer than the whole answer would have taken.
			await new Promise((r) => setTimeout(r, standin.answer.split(' ').length * 300 + 1500));
			assert.deepEqual(await messagesOf(llm.base, A.access, chat.id), []);
		} finally {
			standin.tokenDelayMs = 40;
		}
	});

	for (const [what, code, streamedFirst] of [
		['garbage', 'llm_bad_reply', false],
		['cutoff', 'llm_cut_off', true],
		['slow', 'llm_timeout', true],
	]) {
		test(`${what}: a clear error event, and nothing stored`, T, async () => {
			standin.script = [what];
			const chat = await newChat(llm.base, A.access, { meeting_id: mA.id });
			const r = await ask(llm.base, A.access, chat.id, 'When was the giraffe budget approved?');
			assert.equal(r.status, 200);
			assert.equal(r.done, null, JSON.stringify(r.events));
			assert.ok(r.error, `an error event expected: ${JSON.stringify(r.events)}`);
			assert.equal(r.error.code, code);
			assert.equal(r.error.status, 502);
			assert.equal(r.error.type, `/problems/${code}`);
			assert.ok(r.error.detail.length > 20 && /Nothing was saved/.test(r.error.detail), r.error.detail);
			assert.ok(r.error.request_id, 'request_id');
			assert.equal(r.events.at(-1).event, 'error', 'the error is the last event');
			if (streamedFirst) assert.ok(r.tokens.length >= 1, 'tokens came before the failure');
			assert.deepEqual(await messagesOf(llm.base, A.access, chat.id), [], 'nothing half-saved');
		});
	}

	test('a failed answer gives its place in the chat quota back at once', T, async () => {
		const code = `t-${crypto.randomBytes(4).toString('hex')}`;
		plansOn(url, 'set', code, '--name', `Chat ${code}`, '--chat', '1');
		const C = await registerAt(llm.base, 'chatr');
		plansOn(url, 'assign', C.organization.id, code);
		const chat = await newChat(llm.base, C.access);
		standin.script = ['garbage'];
		const failed = await ask(llm.base, C.access, chat.id, 'anything about budgets?');
		assert.ok(failed.error, JSON.stringify(failed.events));
		const usage = await requestAt(llm.base, 'GET', '/api/v1/usage', { token: C.access });
		assert.equal(usage.body.chat_messages.used, 0, show(usage));
		const ok = await ask(llm.base, C.access, chat.id, 'anything about budgets?');
		assert.ok(ok.done, `the one message of the plan is still there: ${JSON.stringify(ok.events).slice(0, 400)}`);
	});
});

describe('insights with a language model (stand-in)', () => {
	test('the summary is the model\'s, each sentence tied to the moment it names; ungrounded lines dropped', T, async () => {
		assert.equal(insightsA.status, 'done', JSON.stringify(insightsA));
		const sum = insightsA.summary;
		assert.equal(sum.source, standin.model);
		assert.deepEqual(sum.sentences.map((x) => x.text), ['The giraffe budget was approved by the board.', 'The enclosure near the river came up.']);
		const nearest = (t) => segs.reduce((best, sg) => (Math.abs(sg.start - t) < Math.abs(best.start - t) ? sg : best));
		assert.equal(sum.sentences[0].start, nearest(0).start);
		assert.equal(sum.sentences[1].start, nearest(4).start);
		assert.equal(sum.sentences[0].speaker, 'S1');
		// The other fields stay offline.
		assert.equal(insightsA.topics.source, 'offline');
		const req = standin.requests.find((r) => /summar/i.test(r.body.messages[0].content));
		assert.ok(req, 'the model was asked for a summary');
		assert.match(req.body.messages[1].content, /^\[0:00\] Speaker 1: /);
	});
});
