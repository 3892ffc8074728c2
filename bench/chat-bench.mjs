// Chat benchmark (issue 13, "Measure"), run by bench/chat.sh: the time from
// sending a question (POST /api/v1/chats/{id}/messages) to the first
// streamed token event, offline (the excerpt answer: retrieval from the
// search index, building the answer, storing it) and through the local
// language-model stand-in (retrieval, the request to the provider, its
// first chunk). Target offline: < 300 ms. Also the time to the done event.
//
// One meeting of about a minute of espeak-ng speech, transcribed by iamd
// (SQLite, a private data dir); questions are made of words the recognizer
// heard, so retrieval finds passages. The organization is put on the
// Enterprise plan (no chat quota) so that the runs are not refused.
// Then (CORPUS meetings > 0) the search benchmark's generated corpus is
// added to the organization and a chat over all its meetings is timed:
// retrieval then searches CORPUS x CORPUS_WORDS words.
//
//   IAM_BIN=build/iamd node bench/chat-bench.mjs [RUNS] [CORPUS] [CORPUS_WORDS]

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { iamEnv, randomSecret, registerAt, requestAt, startIamd, uploadOk, waitCompleted, createMeeting } from '../tests/api/helpers.mjs';
import { LONG_TEXT, speechFile } from '../tests/api/audio.mjs';
import { startLlmStandin } from '../tests/api/llm-standin.mjs';
import { vocabulary } from './search-corpus.mjs';

const RUNS = Number(process.argv[2] || 20);
const CORPUS = Number(process.argv[3] ?? 2000);
const CORPUS_WORDS = Number(process.argv[4] || 500);
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'iam-chat-bench-'));
const db = `sqlite:${path.join(tmp, 'bench.db')}`;
const secret = randomSecret();

async function firstToken(base, token, chatId, content) {
	const t0 = performance.now();
	const res = await fetch(`${base}/api/v1/chats/${chatId}/messages`, {
		method: 'POST',
		headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', accept: 'text/event-stream' },
		body: JSON.stringify({ content }),
	});
	if (res.status !== 200) throw new Error(`POST message: ${res.status} ${await res.text()}`);
	let first = null;
	let done = null;
	let buf = '';
	const dec = new TextDecoder();
	for await (const chunk of res.body) {
		buf += dec.decode(chunk, { stream: true });
		if (first === null && buf.includes('event: token')) first = performance.now() - t0;
		if (buf.includes('event: done')) done = performance.now() - t0;
		if (buf.includes('event: error')) throw new Error(`error event: ${buf}`);
	}
	if (first === null || done === null) throw new Error(`no token or no done: ${buf}`);
	return { first, done };
}

const pct = (xs, p) => {
	const s = [...xs].sort((a, b) => a - b);
	return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};
const fmt = (x) => `${x.toFixed(1)} ms`;

async function series(label, base, token, chatId, questions) {
	const firsts = [];
	const dones = [];
	await firstToken(base, token, chatId, questions[0]); // warm-up (connections, caches)
	for (let i = 0; i < RUNS; i++) {
		const r = await firstToken(base, token, chatId, questions[i % questions.length]);
		firsts.push(r.first);
		dones.push(r.done);
	}
	console.log(
		`${label.padEnd(22)} first token p50 ${fmt(pct(firsts, 50))}  p95 ${fmt(pct(firsts, 95))}  max ${fmt(Math.max(...firsts))}` +
			`   |  done p50 ${fmt(pct(dones, 50))}  p95 ${fmt(pct(dones, 95))}`,
	);
	return firsts;
}

let off, llm, standin;
try {
	const common = { IAM_DATABASE_URL: db, IAM_JWT_SECRET: secret, IAM_REGISTER_PER_HOUR: '0', IAM_LOG_LEVEL: 'error' };
	off = await startIamd(path.join(tmp, 'data'), { ...common, IAM_WORKERS: '1' });
	standin = await startLlmStandin();
	standin.tokenDelayMs = 5;
	llm = await startIamd(path.join(tmp, 'data'), {
		...common,
		IAM_WORKERS: '0',
		IAM_LLM_BASE_URL: standin.base,
		IAM_LLM_API_KEY: 'sk-standin',
		IAM_LLM_MODEL: standin.model,
	});
	const A = await registerAt(off.base, 'chatbench');
	const r = spawnSync(process.env.IAM_BIN, ['plans', 'assign', A.organization.id, 'enterprise'], {
		env: iamEnv({ IAM_DATABASE_URL: db, IAM_DATA_DIR: path.join(tmp, 'admin'), IAM_LOG_LEVEL: 'error' }),
		encoding: 'utf8',
	});
	if (r.status !== 0) throw new Error(`plans assign: ${r.stderr}`);
	const m = await createMeeting(A.access, { title: 'Bench meeting' }, off.base);
	await uploadOk(A.access, m.id, fs.readFileSync(speechFile(LONG_TEXT, 'wav')), { filename: 'bench.wav', contentType: 'audio/wav', base: off.base });
	await waitCompleted(A.access, m.id, { base: off.base });
	const tr = await requestAt(off.base, 'GET', `/api/v1/meetings/${m.id}/transcript`, { token: A.access });
	const heard = tr.body.segments.flatMap((s) => s.text.split(/\s+/)).filter((w) => /^[a-z]{4,}$/i.test(w));
	const questions = [];
	for (let i = 0; i < 10; i++) questions.push(`What was said about ${heard[(i * 7) % heard.length]} and ${heard[(i * 11 + 3) % heard.length]}?`);
	const chat = await requestAt(off.base, 'POST', '/api/v1/chats', { token: A.access, json: { meeting_id: m.id } });
	console.log(`chat bench: ${RUNS} questions each; transcript of ${tr.body.segments.length} segments, ${heard.length} words; ${os.cpus().length} cores`);
	const offFirst = await series('offline (excerpt)', off.base, A.access, chat.body.id, questions);
	await series('stand-in model', llm.base, A.access, chat.body.id, questions);
	let p95 = pct(offFirst, 95);
	if (CORPUS > 0) {
		const t0 = Date.now();
		const gen = spawnSync('sh', ['-c', `node bench/search-corpus.mjs sql sqlite ${A.organization.id} ${A.user.id} ${CORPUS} ${CORPUS_WORDS} | sqlite3 -bail ${path.join(tmp, 'bench.db')} >/dev/null`], { encoding: 'utf8' });
		if (gen.status !== 0) throw new Error(`corpus: ${gen.stderr}`);
		// The server closed the keep-alive connections that idled through the load
		// (IAM_HEADER_TIMEOUT_S): let the client find out on a request that does not count.
		for (let i = 0; i < 3; i++) {
			try {
				await (await fetch(`${off.base}/readyz`)).text();
				break;
			} catch {
				/* a closed connection: the next try opens a new one */
			}
		}
		const { vocab } = vocabulary();
		const qs = [];
		for (let i = 0; i < 10; i++) qs.push(`What did they decide about ${vocab[200 + i * 37]} and ${vocab[1500 + i * 53]} ${vocab[40 + i]}?`);
		const all = await requestAt(off.base, 'POST', '/api/v1/chats', { token: A.access, json: {} });
		console.log(`corpus: ${CORPUS} more meetings x ${CORPUS_WORDS} words loaded in ${((Date.now() - t0) / 1000).toFixed(0)} s; a chat over all meetings:`);
		const allFirst = await series('offline, all meetings', off.base, A.access, all.body.id, qs);
		p95 = Math.max(p95, pct(allFirst, 95));
	}
	console.log(`target: offline first token < 300 ms: ${p95 < 300 ? 'met' : 'NOT met'} (worst p95 ${fmt(p95)})`);
} catch (e) {
	console.error(`chat bench failed: ${e.message}`);
	if (off) console.error(`offline iamd (exit ${off.proc.exitCode ?? off.proc.signalCode ?? 'running'}): ${off.stderr().slice(-3000)}`);
	process.exitCode = 1;
} finally {
	await off?.stop();
	await llm?.stop();
	await standin?.close();
	fs.rmSync(tmp, { recursive: true, force: true });
}
