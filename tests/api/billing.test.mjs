// Stripe billing against a local stand-in (tests/api/stripe-standin.mjs):
// Checkout Session and Customer Portal as Stripe's wire format has them,
// and the webhook: Stripe-Signature made with the official `stripe`
// package (tolerance, rotation, forgery, replay), the subscription state
// machine driven by signed events, in and out of order. Runs its own iamd
// on the test database (SQLite or PostgreSQL) with the Stripe settings.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Stripe from 'stripe';
import { assertProblem, randomSecret, registerAt, requestAt, show, startIamd } from './helpers.mjs';
import { startStripeStandin } from './stripe-standin.mjs';
import { checksumOf, md5, startPaygateStandin } from './paygate-standin.mjs';
import { spawnSync } from 'node:child_process';
import { plans } from './plans-admin.mjs';

const T = { timeout: 120000 };
const SK = 'sk_test_standin_4eC39HqLyjWDarjtT1zdp7dc';
const WHSEC = `whsec_${crypto.randomBytes(16).toString('hex')}`;
const WHSEC_OLD = `whsec_${crypto.randomBytes(16).toString('hex')}`;
const stripe = new Stripe(SK);

let sx; // the Stripe stand-in
let pg; // the PayGate stand-in
const PG_ID = '10011072130';
const PG_KEY = 'secret';
let srv; // our iamd
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'iam-billing-'));

before(async () => {
	sx = await startStripeStandin({ secretKey: SK });
	pg = await startPaygateStandin({ paygateId: PG_ID, key: PG_KEY });
	srv = await startIamd(dir, {
		IAM_DATABASE_URL: process.env.IAM_TEST_DATABASE_URL,
		IAM_JWT_SECRET: randomSecret(),
		IAM_WORKERS: '1',
		IAM_REGISTER_PER_HOUR: '0',
		IAM_STRIPE_SECRET_KEY: SK,
		// The new secret first, the one being rolled out second.
		IAM_STRIPE_WEBHOOK_SECRET: `${WHSEC},${WHSEC_OLD}`,
		IAM_STRIPE_API_BASE: sx.base,
		IAM_PUBLIC_URL: 'https://iam.example.com',
		IAM_BILLING_GRACE_DAYS: '0',
		IAM_PAYGATE_ID: PG_ID,
		IAM_PAYGATE_KEY: PG_KEY,
		IAM_PAYGATE_BASE: pg.base,
		IAM_VAT_PERCENT: '15',
	});
});

after(async () => {
	await srv?.stop();
	await sx?.close();
	await pg?.close();
	fs.rmSync(dir, { recursive: true, force: true });
});

const api = (method, p, opts) => requestAt(srv.base, method, p, opts);
const HOOK = '/api/v1/billing/stripe/webhook';

/** POST an event to our webhook, signed as Stripe signs it (or with the header given). */
function deliver(ev, { secret = WHSEC, timestamp, header, payload } = {}) {
	const body = payload ?? JSON.stringify(ev);
	const sig = header ?? stripe.webhooks.generateTestHeaderString({ payload: body, secret, ...(timestamp ? { timestamp } : {}) });
	return api('POST', HOOK, { body, headers: { 'content-type': 'application/json; charset=utf-8', 'stripe-signature': sig } });
}

async function usage(token) {
	const res = await api('GET', '/api/v1/usage', { token });
	assert.equal(res.status, 200, show(res));
	return res.body;
}

/** A fresh organization that has gone through Checkout for plan and paid. */
async function subscribed(plan = 'pro') {
	const a = await registerAt(srv.base, 'billing');
	const res = await api('POST', '/api/v1/billing/checkout', { token: a.access, json: { plan, currency: 'USD' } });
	assert.equal(res.status, 201, show(res));
	const done = sx.completeCheckout(res.body.session_id);
	for (const ev of done.events) {
		const r = await deliver(ev);
		assert.equal(r.status, 200, `${ev.type}: ${show(r)}`);
		assert.equal(r.body.outcome, 'applied', `${ev.type}: ${show(r)}`);
	}
	return { ...a, ...done, session: res.body };
}

describe('checkout and portal', () => {
	test('POST /billing/checkout creates a Checkout Session the way Stripe expects it', T, async () => {
		const a = await registerAt(srv.base, 'checkout');
		const before = sx.requests.length;
		const res = await api('POST', '/api/v1/billing/checkout', { token: a.access, json: { plan: 'pro', currency: 'USD' } });
		assert.equal(res.status, 201, show(res));
		assert.equal(res.body.gateway, 'stripe');
		assert.equal(res.body.amount_minor, 2900);
		assert.ok(res.body.url.startsWith(`${sx.base}/c/pay/cs_test_`), res.body.url);
		const sent = sx.requests.slice(before);
		assert.equal(sent.length, 1);
		const { form, headers } = sent[0];
		assert.equal(headers.authorization, `Bearer ${SK}`);
		assert.match(headers['content-type'], /^application\/x-www-form-urlencoded/);
		assert.ok(headers['idempotency-key'], 'an Idempotency-Key so a retry never makes two sessions');
		assert.equal(form.mode, 'subscription');
		assert.equal(form.client_reference_id, a.organization.id);
		assert.deepEqual(form.metadata, { org_id: a.organization.id, plan: 'pro' });
		assert.deepEqual(form.subscription_data.metadata, { org_id: a.organization.id, plan: 'pro' });
		assert.equal(form.customer_email, a.email);
		assert.equal(form.line_items[0].quantity, '1');
		assert.equal(form.line_items[0].price_data.unit_amount, '2900');
		assert.equal(form.line_items[0].price_data.currency, 'usd');
		assert.equal(form.line_items[0].price_data.recurring.interval, 'month');
		assert.ok(form.success_url.startsWith('https://iam.example.com/billing?checkout=success'), form.success_url);
	});

	test('bad checkout requests are refused before Stripe is called', T, async () => {
		const a = await registerAt(srv.base, 'checkout-bad');
		const before = sx.requests.length;
		for (const [json, field] of [
			[{ plan: 'platinum' }, 'plan'],
			[{ plan: 'free' }, 'plan'],
			[{ plan: 'pro', currency: 'EUR' }, 'currency'],
			[{}, 'plan'],
			[{ plan: 'pro', extra: 1 }, null],
		]) {
			const res = await api('POST', '/api/v1/billing/checkout', { token: a.access, json });
			assertProblem(res, 400);
			if (field) assert.ok(res.body.errors.some((e) => e.field === field), show(res));
		}
		assert.equal((await api('POST', '/api/v1/billing/checkout', { json: { plan: 'pro' } })).status, 401);
		assert.equal(sx.requests.length, before);
	});

	test('Stripe refusing or unreachable is a clear 502/503', T, async () => {
		const a = await registerAt(srv.base, 'checkout-fail');
		sx.failNext(400, 'Your account cannot currently make live charges.', { code: 'account_invalid' });
		let res = await api('POST', '/api/v1/billing/checkout', { token: a.access, json: { plan: 'pro' } });
		assertProblem(res, 502, 'payment_provider_refused');
		assert.match(res.body.detail, /cannot currently make live charges/);
		sx.failNext(500, 'Something went wrong on Stripe\'s end.', {});
		res = await api('POST', '/api/v1/billing/checkout', { token: a.access, json: { plan: 'pro' } });
		assertProblem(res, 503, 'payment_provider_unavailable');
		assert.ok(res.headers.get('retry-after'));
	});

	test('the portal needs a Stripe customer; then it opens for that customer', T, async () => {
		const fresh = await registerAt(srv.base, 'portal');
		let res = await api('POST', '/api/v1/billing/portal', { token: fresh.access });
		assertProblem(res, 409, 'no_billing_account');
		const a = await subscribed();
		res = await api('POST', '/api/v1/billing/portal', { token: a.access });
		assert.equal(res.status, 201, show(res));
		assert.ok(res.body.url.startsWith(`${sx.base}/p/session/bps_test_`), res.body.url);
		const last = sx.requests.at(-1);
		assert.equal(last.path, '/v1/billing_portal/sessions');
		assert.equal(last.form.customer, a.customer);
		assert.equal(last.form.return_url, 'https://iam.example.com/billing');
	});
});

describe('webhook signature', () => {
	test('a subscription paid through Checkout lifts the limits to Pro', T, async () => {
		const a = await subscribed('pro');
		const u = await usage(a.access);
		assert.equal(u.plan.code, 'pro');
		assert.equal(u.subscription.state, 'active');
		assert.equal(u.minutes.limit, 500);
		assert.equal(u.storage.limit, 50 * 1024 ** 3);
		const sub = sx.subscriptionObject(a.subscription);
		assert.equal(u.period.start, new Date(sub.current_period_start * 1000).toISOString());
		assert.equal(u.resets_at, new Date(sub.current_period_end * 1000).toISOString());
	});

	test('forged, tampered, stale, missing and replayed deliveries change nothing', T, async () => {
		const a = await registerAt(srv.base, 'forged');
		const res0 = await api('POST', '/api/v1/billing/checkout', { token: a.access, json: { plan: 'pro' } });
		const done = sx.completeCheckout(res0.body.session_id);
		const ev = done.events[1]; // checkout.session.completed
		const body = JSON.stringify(ev);
		const cases = [
			['another secret', deliver(ev, { secret: `whsec_${crypto.randomBytes(16).toString('hex')}` }), 'invalid_signature'],
			['payload changed after signing', deliver(ev, { header: stripe.webhooks.generateTestHeaderString({ payload: body, secret: WHSEC }), payload: body.replace('"pro"', '"enterprise"') }), 'invalid_signature'],
			['6 minutes old', deliver(ev, { timestamp: Math.floor(Date.now() / 1000) - 360 }), 'stale_signature'],
			['6 minutes ahead', deliver(ev, { timestamp: Math.floor(Date.now() / 1000) + 360 }), 'stale_signature'],
			['no header', api('POST', HOOK, { body, headers: { 'content-type': 'application/json' } }), 'invalid_signature'],
			['garbage header', deliver(ev, { header: 't=abc,v1=xyz' }), 'invalid_signature'],
			['only a v0 signature', deliver(ev, { header: `t=${Math.floor(Date.now() / 1000)},v0=${'0'.repeat(64)}` }), 'invalid_signature'],
		];
		for (const [what, p, code] of cases) {
			const r = await p;
			assert.equal(r.status, 400, `${what}: ${show(r)}`);
			assertProblem(r, 400, code);
		}
		assert.equal((await usage(a.access)).plan.code, 'free', 'nothing changed');

		// 4 minutes 50 s old is still within Stripe's 5-minute tolerance.
		let res = await deliver(ev, { timestamp: Math.floor(Date.now() / 1000) - 290 });
		assert.equal(res.status, 200, show(res));
		assert.equal((await usage(a.access)).plan.code, 'pro');
		// The same event id again: 409, nothing changed (even when re-signed and newer).
		res = await deliver(ev);
		assertProblem(res, 409, 'event_already_processed');
	});

	test('several v1 signatures during rotation, and our own old secret, are accepted', T, async () => {
		const a = await registerAt(srv.base, 'rotation');
		const res0 = await api('POST', '/api/v1/billing/checkout', { token: a.access, json: { plan: 'pro' } });
		const done = sx.completeCheckout(res0.body.session_id);
		const [created, completed, paid] = done.events;
		// Stripe signs with the new and the expiring secret: one v1 each.
		let body = JSON.stringify(created);
		const t = Math.floor(Date.now() / 1000);
		const foreign = stripe.webhooks.generateTestHeaderString({ payload: body, secret: 'whsec_someone_elses', timestamp: t });
		const ours = stripe.webhooks.generateTestHeaderString({ payload: body, secret: WHSEC, timestamp: t });
		let res = await deliver(created, { header: `${foreign},${ours.split(',')[1]}` });
		assert.equal(res.status, 200, show(res));
		// Signed with the secret we are rolling away from (second in our list).
		res = await deliver(completed, { secret: WHSEC_OLD });
		assert.equal(res.status, 200, show(res));
		body = JSON.stringify(paid);
		res = await deliver(paid);
		assert.equal(res.status, 200, show(res));
		assert.equal((await usage(a.access)).plan.code, 'pro');
	});

	test('an event for a customer we do not know: logged, 200, nothing changed', T, async () => {
		const ev = sx.event('customer.subscription.updated', { id: 'sub_test_unknown', object: 'subscription', customer: 'cus_test_nobody', status: 'canceled', metadata: {}, items: { data: [] } });
		const res = await deliver(ev);
		assert.equal(res.status, 200, show(res));
		assert.equal(res.body.outcome, 'ignored_unknown_customer');
		// Metadata naming an organization that does not exist is no better.
		const ev2 = sx.event('checkout.session.completed', { id: 'cs_test_x', object: 'checkout.session', customer: 'cus_test_nobody2', client_reference_id: '01890000-0000-7000-8000-000000000000', metadata: { org_id: '01890000-0000-7000-8000-000000000000', plan: 'enterprise' } });
		const res2 = await deliver(ev2);
		assert.equal(res2.status, 200, show(res2));
		assert.equal(res2.body.outcome, 'ignored_unknown_customer');
	});
});

describe('subscription state machine', () => {
	test('upgrade by price, cancel, and events out of order end in the right state', T, async () => {
		const ent = plans('set', 'enterprise', '--stripe-price', 'price_test_enterprise_monthly');
		assert.equal(ent.status, 0, ent.stderr);
		const a = await subscribed('pro');
		const now = Math.floor(Date.now() / 1000);
		const sub = sx.subscriptionObject(a.subscription);
		// updated (to Enterprise, newer) arrives before an older updated (still Pro).
		const toEnt = structuredClone(sub);
		toEnt.items.data[0].price = { id: 'price_test_enterprise_monthly', object: 'price' };
		const newer = sx.event('customer.subscription.updated', toEnt, now + 20);
		const older = sx.event('customer.subscription.updated', structuredClone(sub), now + 10);
		let res = await deliver(newer);
		assert.equal(res.body.outcome, 'applied', show(res));
		res = await deliver(older);
		assert.equal(res.status, 200, show(res));
		assert.equal(res.body.outcome, 'ignored_out_of_order');
		let u = await usage(a.access);
		assert.equal(u.plan.code, 'enterprise');
		assert.equal(u.minutes.limit, null);

		// deleted, then a late "updated: active" from before it: stays canceled, on Free.
		const del = structuredClone(toEnt);
		del.status = 'canceled';
		res = await deliver(sx.event('customer.subscription.deleted', del, now + 40));
		assert.equal(res.status, 200, show(res));
		res = await deliver(sx.event('customer.subscription.updated', structuredClone(toEnt), now + 30));
		assert.equal(res.body.outcome, 'ignored_out_of_order');
		u = await usage(a.access);
		assert.equal(u.subscription.state, 'canceled');
		assert.equal(u.plan.code, 'free');
		assert.equal(u.minutes.limit, 60);
	});

	test('payment failed: past due, then Free after the grace period (0 days here); paid again: back', T, async () => {
		const a = await subscribed('pro');
		const now = Math.floor(Date.now() / 1000);
		const failed = { ...a.invoice, id: 'in_test_failed_' + crypto.randomBytes(4).toString('hex'), status: 'open', amount_paid: 0 };
		let res = await deliver(sx.event('invoice.payment_failed', failed, now + 10));
		assert.equal(res.status, 200, show(res));
		let u = await usage(a.access);
		assert.equal(u.subscription.state, 'past_due');
		assert.ok(u.subscription.past_due_since);
		assert.equal(u.plan.code, 'free', 'grace of 0 days: Free at once');
		res = await deliver(sx.event('invoice.paid', { ...a.invoice, id: 'in_test_paid_' + crypto.randomBytes(4).toString('hex') }, now + 20));
		assert.equal(res.status, 200, show(res));
		u = await usage(a.access);
		assert.equal(u.subscription.state, 'active');
		assert.equal(u.subscription.past_due_since, null);
		assert.equal(u.plan.code, 'pro');
	});

	test('created arriving after updated does not undo it', T, async () => {
		const a = await registerAt(srv.base, 'order');
		const res0 = await api('POST', '/api/v1/billing/checkout', { token: a.access, json: { plan: 'pro' } });
		const done = sx.completeCheckout(res0.body.session_id);
		const now = Math.floor(Date.now() / 1000);
		const sub = sx.subscriptionObject(done.subscription);
		const pastDue = { ...structuredClone(sub), status: 'past_due' };
		const created = { ...structuredClone(sub), status: 'incomplete' };
		let res = await deliver(sx.event('customer.subscription.updated', structuredClone(sub), now + 5));
		assert.equal(res.body.outcome, 'applied', show(res));
		res = await deliver(sx.event('customer.subscription.created', created, now));
		assert.equal(res.body.outcome, 'ignored_out_of_order', show(res));
		let u = await usage(a.access);
		assert.equal(u.plan.code, 'pro');
		assert.equal(u.subscription.state, 'active');
		res = await deliver(sx.event('customer.subscription.updated', pastDue, now + 9));
		u = await usage(a.access);
		assert.equal(u.subscription.state, 'past_due');
	});
});

/** Text of a PDF, through Debian's pdftotext. */
function pdfText(bytes) {
	const f = path.join(dir, `inv-${crypto.randomBytes(4).toString('hex')}.pdf`);
	fs.writeFileSync(f, bytes);
	const r = spawnSync('pdftotext', ['-layout', f, '-'], { encoding: 'utf8' });
	assert.equal(r.status, 0, r.stderr);
	return r.stdout;
}

const NOTIFY = '/api/v1/billing/paygate/notify';
const notify = (body) => api('POST', NOTIFY, { body, headers: { 'content-type': 'application/x-www-form-urlencoded' } });

describe('PayGate (ZAR)', () => {
	async function started(plan = 'pro') {
		const a = await registerAt(srv.base, 'paygate');
		const res = await api('POST', '/api/v1/billing/checkout', { token: a.access, json: { plan, currency: 'ZAR' } });
		assert.equal(res.status, 201, show(res));
		return { ...a, checkout: res.body };
	}

	test('initiate: the documented fields in order, checksummed; the hosted page accepts the redirect', T, async () => {
		const before = pg.requests.length;
		const a = await started();
		const c = a.checkout;
		assert.equal(c.gateway, 'paygate');
		assert.equal(c.currency, 'ZAR');
		assert.equal(c.amount_minor, 36000);
		const init = pg.requests.slice(before).find((r) => r.path === '/payweb3/initiate.trans');
		assert.deepEqual(init.pairs.map(([k]) => k), ['PAYGATE_ID', 'REFERENCE', 'AMOUNT', 'CURRENCY', 'RETURN_URL', 'TRANSACTION_DATE', 'LOCALE', 'COUNTRY', 'EMAIL', 'NOTIFY_URL', 'CHECKSUM']);
		const f = init.fields;
		assert.deepEqual([f.PAYGATE_ID, f.AMOUNT, f.CURRENCY, f.LOCALE, f.COUNTRY, f.EMAIL], [PG_ID, '36000', 'ZAR', 'en-za', 'ZAF', a.email]);
		assert.match(f.TRANSACTION_DATE, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
		assert.equal(f.NOTIFY_URL, 'https://iam.example.com/api/v1/billing/paygate/notify');
		assert.equal(f.CHECKSUM, checksumOf(init.pairs, PG_KEY));
		assert.equal(c.form.action, `${pg.base}/process.trans`);
		assert.equal(c.form.method, 'POST');
		assert.equal(c.session_id, c.form.fields.PAY_REQUEST_ID);
		assert.equal(c.form.fields.CHECKSUM, md5(PG_ID + c.session_id + f.REFERENCE + PG_KEY));
		// The browser's form post to the hosted page (and the URL form of it) is accepted there.
		const page = await requestAt(pg.base, 'POST', `${pg.base}/process.trans`, { body: new URLSearchParams(c.form.fields).toString(), headers: { 'content-type': 'application/x-www-form-urlencoded' } });
		assert.equal(page.status, 200, show(page));
		assert.match(page.text, /R 360\.00/);
		assert.equal((await requestAt(pg.base, 'GET', c.url)).status, 200);
		// Coming back from PayGate: to the billing page.
		const back = await api('POST', '/api/v1/billing/paygate/return', { body: 'PAY_REQUEST_ID=x', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
		assert.equal(back.status, 303);
		assert.equal(back.headers.get('location'), '/billing?payment=return');
	});

	test('a notify with a wrong checksum, amount, currency or merchant is refused and nothing is paid', T, async () => {
		const a = await started();
		const id = a.checkout.session_id;
		const set = (k, v) => (pairs) => pairs.map(([pk, pv]) => [pk, pk === k ? v : pv]);
		for (const [what, body] of [
			['checksum of other values', pg.pay(id, { tamper: set('AMOUNT', '100'), sign: false })],
			['amount (signed)', pg.pay(id, { tamper: set('AMOUNT', '100') })],
			['currency (signed)', pg.pay(id, { tamper: set('CURRENCY', 'USD') })],
			['merchant (signed)', pg.pay(id, { tamper: set('PAYGATE_ID', '10011099999') })],
			['request id (signed)', pg.pay(id, { tamper: set('PAY_REQUEST_ID', crypto.randomUUID()) })],
			['garbage', 'PAYGATE_ID=%zz&&=='],
			['no checksum', 'PAYGATE_ID=1&REFERENCE=2'],
		]) {
			const res = await notify(body);
			assert.equal(res.status, 400, `${what}: ${show(res)}`);
			assert.equal(res.text, 'ERROR');
		}
		const u = await usage(a.access);
		assert.equal(u.plan.code, 'free');
		const inv = await api('GET', '/api/v1/invoices', { token: a.access });
		assert.deepEqual(inv.body.data, []);
	});

	test('paid: confirmed with query.trans, Pro in rand, an invoice with VAT; the callback again changes nothing', T, async () => {
		const a = await started();
		const id = a.checkout.session_id;
		const before = pg.requests.length;
		let res = await notify(pg.pay(id, { status: 1 }));
		assert.equal(res.status, 200, show(res));
		assert.equal(res.text, 'OK');
		const q = pg.requests.slice(before).find((r) => r.path === '/payweb3/query.trans');
		assert.ok(q, 'confirmed with query.trans');
		assert.deepEqual(q.pairs.map(([k]) => k), ['PAYGATE_ID', 'PAY_REQUEST_ID', 'REFERENCE', 'CHECKSUM']);
		let u = await usage(a.access);
		assert.equal(u.plan.code, 'pro');
		assert.equal(u.subscription.currency, 'ZAR');
		const end = new Date(u.period.end).getTime();
		assert.ok(end - Date.now() > 27 * 86400000 && end - Date.now() < 32 * 86400000, u.period.end);
		res = await notify(pg.pay(id, { status: 1 }));
		assert.equal(res.status, 200);
		assert.equal(res.text, 'OK');
		const list = await api('GET', '/api/v1/invoices', { token: a.access });
		assert.equal(list.status, 200, show(list));
		assert.equal(list.body.data.length, 1, 'one invoice, whatever the retries');
		const inv = list.body.data[0];
		assert.deepEqual([inv.number, inv.currency, inv.total_minor, inv.vat_percent, inv.vat_minor, inv.subtotal_minor, inv.provider], ['INV-000001', 'ZAR', 36000, 15, 4696, 31304, 'paygate']);
		// The PDF says the same, read back with pdftotext.
		const pdf = await api('GET', inv.pdf_url, { token: a.access });
		assert.equal(pdf.status, 200, show(pdf));
		assert.equal(pdf.headers.get('content-type'), 'application/pdf');
		assert.ok(pdf.bytes.subarray(0, 5).toString() === '%PDF-');
		const text = pdfText(pdf.bytes);
		for (const want of ['Invoice INV-000001', 'Pro plan', 'VAT 15%', 'ZAR 46.96', 'ZAR 313.04', 'ZAR 360.00', 'PayGate']) assert.ok(text.includes(want), `${want} in:\n${text}`);
		// Another organization cannot see it.
		const b = await registerAt(srv.base, 'other');
		assertProblem(await api('GET', inv.pdf_url, { token: b.access }), 404, 'not_found');
		assertProblem(await api('GET', `/api/v1/invoices/${inv.id}`, { token: b.access }), 404, 'not_found');
		assertProblem(await api('GET', '/api/v1/invoices/not-an-id.pdf', { token: a.access }), 404, 'not_found');
	});

	test('declined: nothing paid, OK to PayGate', T, async () => {
		const a = await started();
		const res = await notify(pg.pay(a.checkout.session_id, { status: 2 }));
		assert.equal(res.status, 200, show(res));
		assert.equal(res.text, 'OK');
		assert.equal((await usage(a.access)).plan.code, 'free');
	});
});

describe('invoices for Stripe payments', () => {
	test('each paid Stripe invoice is one of ours, numbered per organization, in USD with VAT', T, async () => {
		const a = await subscribed('pro');
		let list = await api('GET', '/api/v1/invoices', { token: a.access });
		assert.equal(list.body.data.length, 1, show(list));
		let inv = list.body.data[0];
		assert.deepEqual([inv.number, inv.currency, inv.total_minor, inv.vat_minor, inv.subtotal_minor, inv.provider], ['INV-000001', 'USD', 2900, 378, 2522, 'stripe']);
		// Next month's invoice: the next number. Its re-delivery: no new invoice.
		const next = sx.event('invoice.paid', { ...a.invoice, id: 'in_test_next_' + crypto.randomBytes(4).toString('hex') });
		assert.equal((await deliver(next)).status, 200);
		assert.equal((await deliver({ ...next, id: next.id + '_again' })).status, 200);
		list = await api('GET', '/api/v1/invoices', { token: a.access });
		assert.deepEqual(list.body.data.map((i) => i.number), ['INV-000002', 'INV-000001']);
		const text = pdfText((await api('GET', list.body.data[0].pdf_url, { token: a.access })).bytes);
		assert.ok(text.includes('USD 29.00') && text.includes('Stripe'), text);
	});
});
