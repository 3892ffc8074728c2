// Overage minutes reported to Stripe's metered billing (issue 12 item 4):
// a plan with overage and a Stripe meter (`iamd plans set --stripe-meter`)
// reports, for each transcription that goes past the plan's minutes, the
// whole overage minutes it added as a Billing Meter event
// (POST /v1/billing/meter_events) by a "stripe_meter" job, identified by the
// usage record's id. The Stripe stand-in (tests/api/stripe-standin.mjs)
// validates and records meter events as Stripe does; the official `stripe`
// package checks the stand-in's wire format first. Retries: 500s then OK
// report once; a reply lost after Stripe recorded the event, retried with
// the same identifier, is not counted twice; a 4xx ends the job for good.
// Own iamd and database (its workers must be the ones with Stripe settings).

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Stripe from 'stripe';
import { dropPrivateDatabases, iamEnv, privateDatabaseEnv, randomSecret, registerAt, requestAt, show, sleep, startIamd, uploadRaw } from './helpers.mjs';
import { plansOn } from './plans-admin.mjs';
import { silence } from './audio.mjs';
import { startStripeStandin } from './stripe-standin.mjs';

const T = { timeout: 240000 };
const SK = 'sk_test_meter_4eC39HqLyjWDarjtT1zdp7dc';
const WHSEC = `whsec_${crypto.randomBytes(16).toString('hex')}`;
const METER = 'iam_overage_minutes';
const EVENTS = '/v1/billing/meter_events';
const tmpRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'iam-meter-'));
const stripe = new Stripe(SK);

let sx, iam, dbUrl;
const api = (method, p, opts) => requestAt(iam.base, method, p, opts);


before(async () => {
	sx = await startStripeStandin({ secretKey: SK });
	const dataDir = fs.mkdtempSync(path.join(tmpRoot, 'srv-'));
	const own = privateDatabaseEnv('meter');
	dbUrl = own.IAM_DATABASE_URL || `sqlite:${path.join(dataDir, 'iam.db')}`;
	iam = await startIamd(dataDir, {
		IAM_JWT_SECRET: randomSecret(),
		IAM_WORKERS: '2',
		IAM_REGISTER_PER_HOUR: '0',
		IAM_STRIPE_SECRET_KEY: SK,
		IAM_STRIPE_WEBHOOK_SECRET: WHSEC,
		IAM_STRIPE_API_BASE: sx.base,
		IAM_PUBLIC_URL: 'https://iam.example.com',
		IAM_JOB_BACKOFF_MS: '200',
		IAM_LOG_LEVEL: 'info',
		...own,
	});
});

after(async () => {
	// It ends cleanly (under the sanitizers too: no leak, no error report).
	const exit = await iam?.stop();
	await sx?.close();
	dropPrivateDatabases();
	fs.rmSync(tmpRoot, { recursive: true, force: true });
	if (exit) assert.equal(exit.code, 0, `iamd exit ${JSON.stringify(exit)}: ${iam.stderr().slice(-4000)}`);
});

/** An organization subscribed through Stripe (a signed subscription event) to a fresh overage plan. */
async function overageCustomer({ minutes = 1 } = {}) {
	const code = `t-${crypto.randomBytes(4).toString('hex')}`;
	plansOn(dbUrl, 'set', code, '--name', `Over ${code}`, '--minutes', String(minutes), '--overage', 'on', '--price-usd', '2900', '--overage-usd', '5', '--stripe-meter', METER);
	const a = await registerAt(iam.base, 'meter');
	const customer = `cus_test_${crypto.randomBytes(8).toString('hex')}`;
	const now = Math.floor(Date.now() / 1000);
	const sub = {
		id: `sub_test_${crypto.randomBytes(8).toString('hex')}`,
		object: 'subscription',
		customer,
		status: 'active',
		metadata: { org_id: a.organization.id, plan: code },
		current_period_start: now - 60,
		current_period_end: now + 30 * 86400,
		items: { object: 'list', data: [] },
	};
	const body = JSON.stringify(sx.event('customer.subscription.created', sub, now));
	const res = await api('POST', '/api/v1/billing/stripe/webhook', { body, headers: { 'content-type': 'application/json', 'stripe-signature': stripe.webhooks.generateTestHeaderString({ payload: body, secret: WHSEC }) } });
	assert.equal(res.status, 200, show(res));
	const u = await api('GET', '/api/v1/usage', { token: a.access });
	assert.equal(u.body.plan.code, code, show(u));
	assert.equal(u.body.minutes.overage_allowed, true);
	return { ...a, code, customer };
}

/** Upload seconds of silence and wait for the transcription to complete. */
async function transcribe(a, seconds) {
	const m = await api('POST', '/api/v1/meetings', { token: a.access, json: { title: `${seconds} s` } });
	assert.equal(m.status, 201, show(m));
	const res = await uploadRaw(a.access, m.body.id, silence(seconds), { filename: 'quiet.wav', base: iam.base });
	assert.equal(res.status, 200, show(res));
	const deadline = Date.now() + 90000;
	for (;;) {
		const g = await api('GET', `/api/v1/meetings/${m.body.id}`, { token: a.access });
		if (g.body.status === 'completed') return g.body;
		assert.notEqual(g.body.status, 'failed', show(g));
		assert.ok(Date.now() < deadline, `not transcribed: ${show(g)}`);
		await sleep(200);
	}
}

const eventsOf = (customer) => sx.meterEvents.filter((e) => e.payload.stripe_customer_id === customer);
const requestsOf = (customer) => sx.requests.filter((r) => r.path === EVENTS && r.form.payload?.stripe_customer_id === customer);

async function waitEvents(customer, n, ms = 20000) {
	const deadline = Date.now() + ms;
	while (eventsOf(customer).length < n) {
		assert.ok(Date.now() < deadline, `${n} meter event(s) for ${customer} within ${ms} ms; got ${JSON.stringify(eventsOf(customer))}; requests ${requestsOf(customer).length}`);
		await sleep(100);
	}
	return eventsOf(customer);
}

describe('the Stripe stand-in speaks Billing Meter events', () => {
	test('the official stripe package creates a meter event; missing fields are refused in Stripe\'s error shape; an identifier is counted once', T, async () => {
		const client = new Stripe(SK, { host: '127.0.0.1', port: new URL(sx.base).port, protocol: 'http', maxNetworkRetries: 0 });
		const id = `probe-${crypto.randomBytes(6).toString('hex')}`;
		const ev = await client.billing.meterEvents.create({ event_name: METER, payload: { stripe_customer_id: 'cus_probe', value: '7' }, identifier: id, timestamp: Math.floor(Date.now() / 1000) });
		assert.equal(ev.object, 'billing.meter_event');
		assert.deepEqual(ev.payload, { stripe_customer_id: 'cus_probe', value: '7' });
		assert.equal(ev.identifier, id);
		const raw = (form) => fetch(`${sx.base}${EVENTS}`, { method: 'POST', headers: { authorization: `Bearer ${SK}`, 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(form) });
		for (const [form, param] of [
			[{ 'payload[stripe_customer_id]': 'cus_probe', 'payload[value]': '1' }, 'event_name'],
			[{ event_name: METER, 'payload[value]': '1' }, 'payload[stripe_customer_id]'],
			[{ event_name: METER, 'payload[stripe_customer_id]': 'cus_probe' }, 'payload[value]'],
		]) {
			const r = await raw(form);
			assert.equal(r.status, 400);
			const b = await r.json();
			assert.deepEqual(b.error, { type: 'invalid_request_error', message: `Missing required param: ${param}.`, code: 'parameter_missing', param });
		}
		await assert.rejects(
			client.billing.meterEvents.create({ event_name: METER, payload: { stripe_customer_id: 'cus_probe', value: '7' }, identifier: id }),
			(e) => e.type === 'StripeInvalidRequestError' && /already exists with identifier/.test(e.message),
		);
		assert.equal(sx.meterEvents.filter((e) => e.identifier === id).length, 1);
		// Idempotency-Key as Stripe v1 keeps it: the first answer replayed, other parameters refused.
		const key = `idem-${crypto.randomBytes(6).toString('hex')}`;
		const params = { event_name: METER, payload: { stripe_customer_id: 'cus_probe', value: '2' }, identifier: `${id}-k` };
		const one = await client.billing.meterEvents.create(params, { idempotencyKey: key });
		const two = await client.billing.meterEvents.create(params, { idempotencyKey: key });
		assert.deepEqual(two, one);
		assert.equal(sx.meterEvents.filter((e) => e.identifier === `${id}-k`).length, 1);
		await assert.rejects(client.billing.meterEvents.create({ ...params, identifier: `${id}-other` }, { idempotencyKey: key }), (e) => e.type === 'StripeIdempotencyError');
		// A timestamp older than 35 days is refused.
		await assert.rejects(client.billing.meterEvents.create({ ...params, identifier: `${id}-old`, timestamp: Math.floor(Date.now() / 1000) - 40 * 86400 }), (e) => e.type === 'StripeInvalidRequestError' && e.param === 'timestamp');
	});
});

describe('the catalogue names each plan\'s Stripe meter', () => {
	test('iamd plans set --stripe-meter: shown by plans list, cleared with none, bad names refused with exit 2', T, () => {
		const code = `t-${crypto.randomBytes(4).toString('hex')}`;
		plansOn(dbUrl, 'set', code, '--stripe-meter', 'iam.overage-minutes_2');
		const meterOf = () => JSON.parse(plansOn(dbUrl, 'list', '--json').stdout).find((p) => p.code === code).stripe_meter_event;
		assert.equal(meterOf(), 'iam.overage-minutes_2');
		for (const bad of ['', 'has space', 'x'.repeat(101), 'semi;colon']) {
			const r = spawnSync(process.env.IAM_BIN, ['plans', 'set', code, '--stripe-meter', bad], { env: iamEnv({ IAM_DATABASE_URL: dbUrl, IAM_DATA_DIR: path.join(tmpRoot, 'admin'), IAM_LOG_LEVEL: 'error' }), encoding: 'utf8' });
			assert.equal(r.status, 2, `'${bad}': ${r.stderr}`);
			assert.match(r.stderr, /--stripe-meter/);
		}
		assert.equal(meterOf(), 'iam.overage-minutes_2', 'nothing changed');
		plansOn(dbUrl, 'set', code, '--stripe-meter', 'none');
		assert.equal(meterOf(), null);
	});
});

describe('overage minutes reported to Stripe', () => {
	test('past the plan\'s minutes each transcription reports the whole overage minutes it added, once, identified by its usage record', T, async () => {
		const a = await overageCustomer({ minutes: 1 });
		await transcribe(a, 45); // 45 of 60 s: nothing past the quota
		await sleep(1000);
		assert.equal(requestsOf(a.customer).length, 0, 'nothing to report within the quota');

		await transcribe(a, 45); // 90 s: 30 s over -> 1 minute
		let evs = await waitEvents(a.customer, 1);
		assert.equal(evs[0].event_name, METER);
		assert.equal(evs[0].payload.value, '1');
		assert.match(evs[0].identifier, /^[0-9a-f-]{36}$/, 'the usage record id');
		assert.ok(Math.abs(evs[0].timestamp - Date.now() / 1000) < 120, 'the time of the transcription');
		const req = requestsOf(a.customer)[0];
		assert.equal(req.headers.authorization, `Bearer ${SK}`);
		assert.match(req.headers['content-type'], /^application\/x-www-form-urlencoded/);

		await transcribe(a, 20); // 110 s: 50 s over, still 1 whole minute: nothing more
		await transcribe(a, 40); // 150 s: 90 s over -> 2 minutes: one more
		evs = await waitEvents(a.customer, 2);
		await sleep(1000);
		assert.deepEqual(eventsOf(a.customer).map((e) => e.payload.value), ['1', '1']);
		assert.equal(new Set(evs.map((e) => e.identifier)).size, 2);
		assert.equal(requestsOf(a.customer).length, 2, 'one request per report');
		const u = await api('GET', '/api/v1/usage', { token: a.access });
		assert.equal(u.body.minutes.overage_minutes, 1.5, show(u));
	});

	test('Stripe answering 500 twice, then OK: the job retries with backoff and the overage is reported once', T, async () => {
		const a = await overageCustomer({ minutes: 1 });
		sx.failPath(EVENTS, 2, 500);
		await transcribe(a, 100); // 40 s over -> 1 minute
		const evs = await waitEvents(a.customer, 1);
		await sleep(1500);
		assert.equal(requestsOf(a.customer).length, 3, 'two refused attempts, then the one that counted');
		assert.equal(eventsOf(a.customer).length, 1);
		assert.equal(evs[0].payload.value, '1');
		assert.equal(new Set(requestsOf(a.customer).map((r) => r.form.identifier)).size, 1, 'every attempt carries the same identifier');
	});

	test('a reply lost after Stripe recorded the event: the retry\'s duplicate identifier is not counted twice, and the job ends done', T, async () => {
		const a = await overageCustomer({ minutes: 1 });
		sx.failPath(EVENTS, 1, 500, { accept: true });
		await transcribe(a, 125); // 65 s over -> 2 minutes
		await waitEvents(a.customer, 1);
		const deadline = Date.now() + 20000;
		while (requestsOf(a.customer).length < 2) {
			assert.ok(Date.now() < deadline, 'the job retried');
			await sleep(100);
		}
		await sleep(1500);
		assert.equal(requestsOf(a.customer).length, 2, 'no third attempt: "already exists" means reported');
		assert.deepEqual(eventsOf(a.customer).map((e) => e.payload.value), ['2']);
		assert.match(iam.stderr(), /overage reported to stripe/);
	});

	test('a 4xx from Stripe fails the job for good, with the reason logged, and nothing is retried', T, async () => {
		const a = await overageCustomer({ minutes: 1 });
		sx.failPath(EVENTS, 1, 400, { message: 'No such customer: the test said so' });
		await transcribe(a, 70);
		const deadline = Date.now() + 20000;
		while (requestsOf(a.customer).length < 1) {
			assert.ok(Date.now() < deadline, 'the job ran');
			await sleep(100);
		}
		await sleep(2000);
		assert.equal(requestsOf(a.customer).length, 1, 'not retried');
		assert.equal(eventsOf(a.customer).length, 0);
		assert.match(iam.stderr(), /overage refused by stripe: not retried[^\n]*No such customer: the test said so/);
	});
});
