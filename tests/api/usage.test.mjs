// Plans, metering and quotas: GET /api/v1/usage, every plan limit at its
// edge (402 quota_exceeded before work starts), the per-hour API request
// limit (429 + RateLimit-*), the storage race rule, and the catalogue as data
// (`iamd plans` run against the test server's own database).

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
	MEETINGS,
	RFC3339_UTC_RE,
	assertProblem,
	createApiKey,
	createMeeting,
	get,
	getMeeting,
	post,
	register,
	requestAt,
	BASE,
	show,
	uploadRaw,
	waitCompleted,
} from './helpers.mjs';
import { silence } from './audio.mjs';
import { accountOnPlan, plans } from './plans-admin.mjs';

const T = { timeout: 180000 };

function firstOfNextMonthUtc() {
	const d = new Date();
	return new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1)).toISOString();
}

async function usage(token) {
	const res = await get('/api/v1/usage', { token });
	assert.equal(res.status, 200, show(res));
	return res.body;
}

function assertQuota(res, resource, { limit, used } = {}) {
	assertProblem(res, 402, 'quota_exceeded');
	assert.equal(res.body.resource, resource, show(res));
	if (limit !== undefined) assert.equal(res.body.limit, limit, show(res));
	if (used !== undefined) assert.equal(res.body.used, used, show(res));
	assert.match(res.body.resets_at, RFC3339_UTC_RE);
	assert.equal(res.body.upgrade_url, '/billing');
	assert.ok(res.body.detail.length > 20, res.body.detail);
}

describe('plan catalogue (iamd plans)', () => {
	test('the seeded catalogue is the product table', T, () => {
		const r = plans('list', '--json');
		assert.equal(r.status, 0, r.stderr);
		const byCode = Object.fromEntries(JSON.parse(r.stdout).map((p) => [p.code, p]));
		const GB = 1024 ** 3;
		assert.deepEqual(
			['free', 'pro', 'enterprise'].map((c) => {
				const p = byCode[c];
				return [p.name, p.usd_cents, p.zar_cents, p.minutes_per_month, p.storage_bytes, p.chat_messages_per_month, p.api_requests_per_hour, p.overage_allowed];
			}),
			[
				['Free', 0, 0, 60, 1 * GB, 50, 100, false],
				['Pro', 2900, 36000, 500, 50 * GB, 500, 5000, false],
				['Enterprise', 9900, 72000, null, 500 * GB, null, 50000, false],
			],
		);
	});

	test('bad admin input is refused with exit status 2 and nothing changes', T, () => {
		for (const args of [
			['set', 'Bad Code!'],
			['set', 'free', '--minutes', '-5'],
			['set', 'free', '--minutes', 'lots'],
			['set', 'free', '--overage', 'maybe'],
			['set', 'free', '--price-usd', 'unlimited'],
			['set', 'free', '--bogus', '1'],
			['assign', 'not-a-uuid', 'free'],
			['frobnicate'],
		]) {
			const r = plans(...args);
			assert.equal(r.status, 2, `iamd plans ${args.join(' ')}: ${r.status} ${r.stderr}`);
			assert.ok(r.stderr.length > 0);
		}
		const r = plans('list', '--json');
		const free = JSON.parse(r.stdout).find((p) => p.code === 'free');
		assert.equal(free.minutes_per_month, 60);
		assert.equal(free.overage_allowed, false);
	});

	test('GET /api/v1/billing/plans shows limits and prices in minor units', T, async () => {
		const a = await register();
		const res = await get('/api/v1/billing/plans', { token: a.access });
		assert.equal(res.status, 200, show(res));
		const pro = res.body.data.find((p) => p.code === 'pro');
		assert.deepEqual(pro.prices_minor, { USD: 2900, ZAR: 36000 });
		assert.equal(pro.limits.minutes_per_month, 500);
	});
});

describe('GET /api/v1/usage', () => {
	test('a new organization is on Free for the calendar month', T, async () => {
		const a = await register();
		const u = await usage(a.access);
		assert.equal(u.plan.code, 'free');
		assert.equal(u.subscription.state, 'active');
		assert.equal(u.resets_at, firstOfNextMonthUtc().replace(/\.\d+Z$/, '.000Z'));
		assert.deepEqual(
			[u.minutes.limit, u.minutes.used, u.minutes.remaining, u.storage.limit, u.storage.used, u.chat_messages.limit, u.api_requests.limit],
			[60, 0, 60, 1024 ** 3, 0, 50, 100],
		);
		assert.deepEqual(u.history, []);
		assert.equal((await get('/api/v1/usage')).status, 401);
	});
});

describe('minutes at the edge', () => {
	test('a file longer than the minutes left is refused before transcription; exactly the limit is allowed', T, async () => {
		const a = await accountOnPlan(['--minutes', '1']);
		// 61 s with 60 s left: refused whole, nothing stored, nothing queued.
		const m1 = await createMeeting(a.access);
		let res = await uploadRaw(a.access, m1.id, silence(61), { filename: 'long.wav' });
		assertQuota(res, 'minutes', { limit: 1, used: 0 });
		assert.ok(res.body.requested > 1 && res.body.requested < 1.1, show(res));
		let m = await getMeeting(a.access, m1.id);
		assert.equal(m.status, 'pending');
		assert.equal((await usage(a.access)).storage.used, 0);

		// 45 s fits; it is metered once transcribed.
		const m2 = await createMeeting(a.access);
		res = await uploadRaw(a.access, m2.id, silence(45), { filename: 'a.wav' });
		assert.equal(res.status, 200, show(res));
		await waitCompleted(a.access, m2.id);
		let u = await usage(a.access);
		assert.equal(u.minutes.used_seconds, 45);
		assert.equal(u.minutes.used, 0.75);
		assert.equal(u.history.length, 1);
		assert.equal(u.history[0].seconds, 45);

		// 16 s would pass 60 s: refused, with what is left in the detail.
		const m3 = await createMeeting(a.access);
		res = await uploadRaw(a.access, m3.id, silence(16), { filename: 'b.wav' });
		assertQuota(res, 'minutes', { limit: 1, used: 0.75 });
		assert.match(res.body.detail, /0\.25 of your 1 transcription minutes are left/);

		// Uploaded without transcribing (storage only), then transcribed: 15 s fits exactly.
		res = await uploadRaw(a.access, m3.id, silence(15), { filename: 'c.wav', transcribe: false });
		assert.equal(res.status, 200, show(res));
		res = await post(`${MEETINGS}/${m3.id}/transcribe`, { token: a.access, json: {} });
		assert.equal(res.status, 202, show(res));
		await waitCompleted(a.access, m3.id);
		u = await usage(a.access);
		assert.equal(u.minutes.used_seconds, 60);
		assert.equal(u.minutes.remaining, 0);

		// Nothing left: transcribing again is refused before it is queued.
		res = await post(`${MEETINGS}/${m2.id}/transcribe`, { token: a.access, json: {} });
		assertQuota(res, 'minutes', { limit: 1, used: 1 });
		m = await getMeeting(a.access, m2.id);
		assert.equal(m.status, 'completed');
		// The OpenAI-compatible endpoint refuses too, in its own error shape, before reading the file.
		const key = await createApiKey(a.access);
		const form = new FormData();
		form.append('file', new Blob([silence(1)]), 'x.wav');
		form.append('model', 'whisper-1');
		res = await requestAt(BASE, 'POST', '/v1/audio/transcriptions', { token: key, form });
		assert.equal(res.status, 402, show(res));
		assert.equal(res.body.error.code, 'quota_exceeded');
		assert.equal(res.body.error.type, 'insufficient_quota');
	});

	test('transcriptions racing for the last minutes never pass the limit together', T, async () => {
		const a = await accountOnPlan(['--minutes', '1']);
		const ms = [];
		for (let i = 0; i < 3; i++) {
			const m = await createMeeting(a.access);
			const res = await uploadRaw(a.access, m.id, silence(30), { filename: `r${i}.wav`, transcribe: false });
			assert.equal(res.status, 200, show(res));
			ms.push(m);
		}
		// Three 30 s files at once against 60 s: exactly two fit.
		const results = await Promise.all(ms.map((m) => post(`${MEETINGS}/${m.id}/transcribe`, { token: a.access, json: {} })));
		const accepted = results.filter((r) => r.status === 202).length;
		for (const r of results) if (r.status !== 202) assertQuota(r, 'minutes', { limit: 1 });
		assert.equal(accepted, 2, results.map((r) => r.status).join(','));
		const u = await usage(a.access);
		assert.ok(u.minutes.used_seconds <= 60, `used ${u.minutes.used_seconds} s of 60`);
	});

	test('a plan with overage transcribes past its minutes and shows what is billed per minute', T, async () => {
		const a = await accountOnPlan(['--minutes', '1', '--overage', 'on', '--price-usd', '1000', '--overage-usd', '5']);
		const m = await createMeeting(a.access);
		const res = await uploadRaw(a.access, m.id, silence(61), { filename: 'over.wav' });
		assert.equal(res.status, 200, show(res));
		await waitCompleted(a.access, m.id);
		const u = await usage(a.access);
		assert.equal(u.minutes.overage_allowed, true);
		assert.equal(u.minutes.used_seconds, 61);
		assert.equal(u.minutes.overage_minutes, 0.02);
		assert.equal(u.minutes.remaining, 0);
		const p = (await get('/api/v1/billing/plans', { token: a.access })).body.data.find((x) => x.code === a.code);
		assert.deepEqual(p.overage_minor_per_minute, { USD: 5 });
		assert.equal(plans('set', a.code, '--overage-zar', '50').status, 2, 'no ZAR price: no ZAR overage');
	});

	test('an unlimited plan never refuses minutes', T, async () => {
		const a = await accountOnPlan(['--minutes', 'unlimited']);
		const m = await createMeeting(a.access);
		const res = await uploadRaw(a.access, m.id, silence(2), { filename: 'a.wav' });
		assert.equal(res.status, 200, show(res));
		const u = await usage(a.access);
		assert.equal(u.minutes.limit, null);
		assert.equal(u.minutes.remaining, null);
	});
});

describe('storage at the edge', () => {
	test('an upload that would not fit is refused; after a downgrade nothing stored is touched', T, async () => {
		const file = silence(1);
		const size = file.length;
		const a = await accountOnPlan(['--storage-bytes', String(2 * size)]);
		const m1 = await createMeeting(a.access);
		let res = await uploadRaw(a.access, m1.id, file, { filename: 'a.wav', transcribe: false });
		assert.equal(res.status, 200, show(res));
		const m2 = await createMeeting(a.access);
		res = await uploadRaw(a.access, m2.id, file, { filename: 'b.wav', transcribe: false });
		assert.equal(res.status, 200, 'exactly the limit fits: ' + show(res));
		assert.equal((await usage(a.access)).storage.used, 2 * size);
		const m3 = await createMeeting(a.access);
		res = await uploadRaw(a.access, m3.id, file, { filename: 'c.wav', transcribe: false });
		assertQuota(res, 'storage', { limit: 2 * size, used: 2 * size });
		assert.equal(res.body.requested, size);

		// Downgrade below what is stored: new uploads refused, stored audio still served.
		const r = plans('set', a.code, '--storage-bytes', '1');
		assert.equal(r.status, 0, r.stderr);
		res = await uploadRaw(a.access, m3.id, silence(0.5), { filename: 'd.wav', transcribe: false });
		assertQuota(res, 'storage', { limit: 1 });
		res = await requestAt(BASE, 'GET', `${MEETINGS}/${m1.id}/audio`, { token: a.access });
		assert.equal(res.status, 200, show(res));
		assert.equal(res.bytes.length, size);
		// The tus door is refused at creation too.
		res = await requestAt(BASE, 'POST', '/api/v1/uploads', {
			token: a.access,
			headers: { 'tus-resumable': '1.0.0', 'upload-length': String(size), 'upload-metadata': `filename ${Buffer.from('t.wav').toString('base64')}` },
		});
		assertQuota(res, 'storage');
	});

	test('uploads racing for the last bytes: at most one lands past the limit', T, async () => {
		const file = silence(1);
		const size = file.length;
		const limit = Math.floor(1.5 * size);
		const a = await accountOnPlan(['--storage-bytes', String(limit)]);
		const ms = [];
		for (let i = 0; i < 4; i++) ms.push(await createMeeting(a.access));
		const results = await Promise.all(ms.map((m, i) => uploadRaw(a.access, m.id, file, { filename: `r${i}.wav`, transcribe: false })));
		const ok = results.filter((r) => r.status === 200).length;
		for (const r of results) if (r.status !== 200) assertQuota(r, 'storage');
		const used = (await usage(a.access)).storage.used;
		assert.ok(ok >= 1 && ok <= 2, `accepted ${ok}: ${results.map((r) => r.status)}`);
		assert.equal(used, ok * size);
		assert.ok(used - limit < size, `stored ${used} with a limit of ${limit}: more than one upload past it`);
	});
});

describe('API requests per hour', () => {
	test('API-key requests past the plan limit get 429 with Retry-After and RateLimit-*', T, async () => {
		const a = await accountOnPlan(['--api-per-hour', '3']);
		const key = await createApiKey(a.access);
		for (let i = 1; i <= 3; i++) {
			const res = await get('/api/v1/usage', { token: key });
			assert.equal(res.status, 200, show(res));
			assert.equal(res.headers.get('ratelimit-limit'), '3');
			assert.equal(res.headers.get('ratelimit-remaining'), String(3 - i));
			const reset = Number(res.headers.get('ratelimit-reset'));
			assert.ok(reset >= 1 && reset <= 3600, `RateLimit-Reset ${reset}`);
		}
		const res = await get(MEETINGS, { token: key });
		assertProblem(res, 429, 'rate_limited');
		const retry = Number(res.headers.get('retry-after'));
		assert.ok(retry >= 1 && retry <= 3600, `Retry-After ${retry}`);
		assert.equal(res.headers.get('ratelimit-remaining'), '0');
		// The web app's session is not developer API traffic.
		const web = await get('/api/v1/usage', { token: a.access });
		assert.equal(web.status, 200, show(web));
		assert.equal(web.headers.get('ratelimit-limit'), null);
		assert.ok(web.body.api_requests.used >= 4);
		// Another organization is not affected.
		const b = await register();
		const keyB = await createApiKey(b.access);
		assert.equal((await get(MEETINGS, { token: keyB })).status, 200);
	});
});
