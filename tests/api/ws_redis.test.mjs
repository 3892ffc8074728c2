// The event bus across processes: two iamd processes on one database (SQLite
// file, or the PostgreSQL database of the run) and
// one private redis-server. A (`serve`, with a worker) transcribes; a socket
// held by B (`api`) gets A's meeting.status events through Redis. With Redis
// killed, A's own sockets still get A's events, /readyz says "down" and
// requests still work; once Redis is back the bus reconnects by itself and
// events cross again.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import WebSocket from 'ws';

import { PASSWORD, freePort, iamEnv, randomSecret, requestAt, sleep, startIamd, uniqueEmail, uploadOk, dropPrivateDatabases, privateDatabaseEnv } from './helpers.mjs';
import { silence } from './audio.mjs';
import { redisKill, redisStart, redisStop } from './redis.mjs';

const T = { timeout: 180000 };
const SECRET = randomSecret();

let dir;
let redis;
let A;
let B;

async function startApi(dataDir, env) {
	const port = await freePort();
	const proc = spawn(process.env.IAM_BIN, ['api'], {
		env: iamEnv({ IAM_LISTEN: `127.0.0.1:${port}`, IAM_DATA_DIR: dataDir, IAM_LOG_LEVEL: 'warn', IAM_HTTP_THREADS: '2', ...env }),
		stdio: ['ignore', 'ignore', 'pipe'],
	});
	let stderr = '';
	proc.stderr.setEncoding('utf8').on('data', (d) => (stderr = (stderr + d).slice(-20000)));
	const exited = new Promise((r) => proc.once('exit', r));
	const base = `http://127.0.0.1:${port}`;
	for (let i = 0; i < 200; i++) {
		try {
			const r = await fetch(`${base}/readyz`);
			await r.text();
			if (r.status === 200) break;
		} catch {
			/* not yet */
		}
		assert.equal(proc.exitCode, null, `iamd api exited: ${stderr}`);
		await sleep(100);
	}
	return {
		base,
		port,
		proc,
		stop: async () => {
			if (proc.exitCode === null) proc.kill('SIGTERM');
			await Promise.race([exited, sleep(15000).then(() => proc.kill('SIGKILL'))]);
		},
	};
}

before(async () => {
	dir = fs.mkdtempSync(path.join(os.tmpdir(), 'iam-wsr-'));
	redis = redisStart(path.join(dir, 'redis'));
	const data = path.join(dir, 'data');
	fs.mkdirSync(data);
	// Both on one database of their own on the PostgreSQL run (the suite's shared server,
	// which has no Redis, would otherwise claim their jobs), else on one SQLite file.
	const pg = privateDatabaseEnv('wsr');
	const env = { ...pg, IAM_JWT_SECRET: SECRET, IAM_REDIS_URL: redis.url, IAM_REGISTER_PER_HOUR: '0', IAM_ASR: 'sphinx' };
	A = await startIamd(data, { ...env, IAM_WORKERS: '1' });
	B = await startApi(data, env);
});

after(async () => {
	if (B) await B.stop();
	if (A) await A.stop();
	if (redis) redisStop(redis);
	dropPrivateDatabases();
	fs.rmSync(dir, { recursive: true, force: true });
});

function socket(base, user, ticket) {
	return new Promise((resolve, reject) => {
		const ws = new WebSocket(`${base.replace('http', 'ws')}/api/v2/messages/ws/${user}?ticket=${encodeURIComponent(ticket)}`);
		const messages = [];
		ws.on('message', (d) => messages.push(JSON.parse(d.toString())));
		ws.once('error', reject);
		ws.once('open', () => resolve({ ws, messages }));
	});
}

async function until(pred, ms, what) {
	const deadline = Date.now() + ms;
	while (!pred()) {
		if (Date.now() > deadline) assert.fail(`${what}: not within ${ms} ms`);
		await sleep(50);
	}
}

async function redisState(base) {
	const r = await requestAt(base, 'GET', '/readyz');
	assert.equal(r.status, 200, 'ready whatever Redis does');
	return r.body.redis;
}

describe('event bus over Redis', () => {
	test('an event of process A reaches a socket on process B; Redis down: local delivery goes on, then it reconnects', T, async () => {
		const email = uniqueEmail('wsr');
		const reg = await requestAt(A.base, 'POST', '/api/v1/auth/register', { json: { email, password: PASSWORD } });
		assert.equal(reg.status, 201, reg.text);
		const token = reg.body.access_token;
		const user = reg.body.user.id;
		const ticket = async (base) => (await requestAt(base, 'POST', '/api/v1/realtime/ticket', { token })).body.ticket;
		assert.equal(await redisState(A.base), 'up');
		assert.equal(await redisState(B.base), 'up');
		const onA = await socket(A.base, user, await ticket(A.base));
		const onB = await socket(B.base, user, await ticket(B.base)); // ticket from B, served by B

		const transcribe = async () => {
			const m = await requestAt(B.base, 'POST', '/api/v1/meetings', { token, json: { title: 'x' } });
			assert.equal(m.status, 201, m.text);
			await uploadOk(token, m.body.id, silence(1, 'wav'), { base: A.base, filename: 's.wav', contentType: 'audio/wav' });
			return m.body.id;
		};
		const done = (s, id) => s.messages.some((x) => x.type === 'meeting.status' && x.data.id === id && ['completed', 'failed'].includes(x.data.status));

		const m1 = await transcribe();
		await until(() => done(onA, m1), 90000, 'A hears its own job');
		await until(() => done(onB, m1), 10000, 'B hears A through Redis');
		assert.equal(onB.messages.filter((x) => x.type === 'meeting.status' && x.data.id === m1 && x.data.status !== 'processing').length, 1, 'delivered once');
		assert.equal(onA.messages.filter((x) => x.type === 'meeting.status' && x.data.id === m1 && x.data.status !== 'processing').length, 1, 'not twice on A (its own event back from Redis)');

		redisKill(redis);
		let stateA = 'up';
		for (let i = 0; i < 60 && stateA !== 'down'; i++) {
			await sleep(100);
			stateA = await redisState(A.base);
		}
		assert.equal(stateA, 'down');
		const m2 = await transcribe(); // requests work without Redis
		await until(() => done(onA, m2), 90000, 'local delivery without Redis');
		assert.equal(done(onB, m2), false, 'nothing crosses while Redis is down');

		redisStart(redis.dir); // same port
		let upA = false;
		let upB = false;
		for (let i = 0; i < 150 && !(upA && upB); i++) {
			await sleep(100);
			upA = (await redisState(A.base)) === 'up';
			upB = (await redisState(B.base)) === 'up';
		}
		assert.ok(upA && upB, 'both reconnected within 15 s');
		const m3 = await transcribe();
		await until(() => done(onB, m3), 90000, 'B hears A again after Redis came back');
		onA.ws.close(1000);
		onB.ws.close(1000);
	});
});
