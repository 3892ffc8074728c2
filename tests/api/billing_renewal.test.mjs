// PayGate monthly renewal (issue 12 item 5): a ZAR subscription paid
// through PayGate renews by a pay link. The renewal sweep (hourly job, run
// here at chosen times with `iamd plans renew --now`) queues, three days
// before the period ends, a job that issues the next month's invoice
// (open), initiates the PayWeb3 payment and mails/notifies the owner the pay
// link; the paid notify (the existing callback) marks the invoice paid and
// the next month follows the old one; unpaid, the subscription is past due
// from the period's end and falls back to Free after the grace period.
// PayGate stand-in (tests/api/paygate-standin.mjs) and a real SMTP peer.
// Own iamd and database. Everything on 127.0.0.1; every wait bounded.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PASSWORD, dropPrivateDatabases, freePort, iamEnv, privateDatabaseEnv, randomSecret, requestAt, show, sleep, startIamd, uniqueEmail } from './helpers.mjs';
import { smtpPeer } from './smtp-peer.mjs';
import { startPaygateStandin } from './paygate-standin.mjs';

const T = { timeout: 180000 };
const PG_ID = '10011072130';
const PG_KEY = 'secret';
const GRACE_DAYS = 7;
const DAY = 86400000;
const tmpRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'iam-renew-'));

let pg, smtp, iam, dbUrl;
let inbox = [];
const api = (method, p, opts) => requestAt(iam.base, method, p, opts);

/** `iamd plans renew --now T` on the server's database; the JSON it prints. */
function sweep(nowMs) {
	const r = spawnSync(process.env.IAM_BIN, ['plans', 'renew', '--now', new Date(nowMs).toISOString()], {
		env: iamEnv({ IAM_DATABASE_URL: dbUrl, IAM_DATA_DIR: path.join(tmpRoot, 'admin'), IAM_LOG_LEVEL: 'error', IAM_BILLING_GRACE_DAYS: String(GRACE_DAYS) }),
		encoding: 'utf8',
		timeout: 30000,
	});
	assert.equal(r.status, 0, `iamd plans renew: ${r.stderr}`);
	return JSON.parse(r.stdout);
}

before(async () => {
	pg = await startPaygateStandin({ paygateId: PG_ID, key: PG_KEY });
	smtp = await smtpPeer();
	inbox = smtp.inbox;
	const port = await freePort();
	const dataDir = fs.mkdtempSync(path.join(tmpRoot, 'srv-'));
	const own = privateDatabaseEnv('renew');
	dbUrl = own.IAM_DATABASE_URL || `sqlite:${path.join(dataDir, 'iam.db')}`;
	iam = await startIamd(
		dataDir,
		{
			IAM_JWT_SECRET: randomSecret(),
			IAM_WORKERS: '1',
			IAM_REGISTER_PER_HOUR: '0',
			IAM_PUBLIC_URL: `http://127.0.0.1:${port}`,
			IAM_SMTP_URL: `smtp://127.0.0.1:${smtp.port}`,
			IAM_MAIL_FROM: 'billing@iam.test',
			IAM_BILLING_GRACE_DAYS: String(GRACE_DAYS),
			IAM_PAYGATE_ID: PG_ID,
			IAM_PAYGATE_KEY: PG_KEY,
			IAM_PAYGATE_BASE: pg.base,
			IAM_VAT_PERCENT: '15',
			...own,
		},
		{ port },
	);
});

after(async () => {
	// It ends cleanly (under the sanitizers too: no leak, no error report).
	const exit = await iam?.stop();
	await pg?.close();
	await smtp?.close();
	dropPrivateDatabases();
	fs.rmSync(tmpRoot, { recursive: true, force: true });
	if (exit) assert.equal(exit.code, 0, `iamd exit ${JSON.stringify(exit)}: ${iam.stderr().slice(-4000)}`);
});

const notify = (body) => api('POST', '/api/v1/billing/paygate/notify', { body, headers: { 'content-type': 'application/x-www-form-urlencoded' } });

async function usage(token) {
	const res = await api('GET', '/api/v1/usage', { token });
	assert.equal(res.status, 200, show(res));
	return res.body;
}

async function invoices(token) {
	const res = await api('GET', '/api/v1/invoices', { token });
	assert.equal(res.status, 200, show(res));
	return res.body.data;
}

/** An owner whose organization bought Pro in rand through PayGate (checkout, paid notify). */
async function paygateCustomer(tag) {
	const email = uniqueEmail(tag);
	const reg = await api('POST', '/api/v1/auth/register', { json: { email, password: PASSWORD, first_name: 'Thandi' } });
	assert.equal(reg.status, 201, show(reg));
	const a = { email, access: reg.body.access_token, org: reg.body.organization.id };
	const c = await api('POST', '/api/v1/billing/checkout', { token: a.access, json: { plan: 'pro', currency: 'ZAR' } });
	assert.equal(c.status, 201, show(c));
	const res = await notify(pg.pay(c.body.session_id, { status: 1 }));
	assert.equal(res.text, 'OK', show(res));
	const u = await usage(a.access);
	assert.equal(u.plan.code, 'pro');
	assert.equal(u.subscription.state, 'active');
	return { ...a, periodStart: Date.parse(u.period.start), periodEnd: Date.parse(u.period.end) };
}

function addMonth(ms) {
	const d = new Date(ms);
	d.setUTCMonth(d.getUTCMonth() + 1);
	return d.getTime();
}

async function waitFor(what, fn, ms = 20000) {
	const deadline = Date.now() + ms;
	for (;;) {
		const v = await fn();
		if (v) return v;
		assert.ok(Date.now() < deadline, `${what} within ${ms} ms`);
		await sleep(150);
	}
}

describe('PayGate monthly renewal', () => {
	test('three days ahead: the next invoice, a PayWeb3 payment request and the pay link to the owner, once; paid, the next month follows the old one', T, async () => {
		const a = await paygateCustomer('renew');
		const initiates = () => pg.requests.filter((r) => r.path === '/payweb3/initiate.trans');
		const before = initiates().length;

		sweep(a.periodEnd - 10 * DAY); // too early: nothing
		await sleep(1500);
		assert.equal(initiates().length, before);

		sweep(a.periodEnd - 2 * DAY);
		const mail = await waitFor('the pay-link mail', () => inbox.find((m) => m.to.includes(a.email) && /renew/.test(m.parsed.subject)));
		const init = initiates().slice(before);
		assert.equal(init.length, 1, 'one payment request');
		assert.equal(init[0].fields.AMOUNT, '36000');
		assert.equal(init[0].fields.CURRENCY, 'ZAR');
		assert.equal(init[0].fields.EMAIL, a.email);
		const reqId = [...pg.transactions.values()].find((t) => t.fields.REFERENCE === init[0].fields.REFERENCE).id;

		// The mail: what, how much, by when, and the link to PayGate's page for this request.
		assert.match(mail.parsed.subject, /pay ZAR 360\.00 to renew the Pro plan/);
		const text = mail.parsed.text;
		assert.match(text, /^Hello Thandi,/);
		const due = new Date(a.periodEnd).toISOString();
		assert.ok(text.includes(`renews on ${due.slice(0, 10)} ${due.slice(11, 16)} UTC`), text);
		assert.match(text, /Invoice INV-000002 for the next month is ZAR 360\.00/);
		assert.match(text, new RegExp(`falls back to Free ${GRACE_DAYS} days later`));
		const link = new RegExp(`${pg.base.replace(/[.]/g, '\\.')}/process\\.trans\\?PAY_REQUEST_ID=${reqId}&CHECKSUM=[0-9a-f]{32}`).exec(text);
		assert.ok(link, `the pay link in: ${text}`);
		assert.equal((await requestAt(pg.base, 'GET', link[0])).status, 200, 'PayGate shows its payment page for the link');

		// The notification says the same, with the link.
		const n = await api('GET', '/api/v1/notifications', { token: a.access });
		const note = n.body.data.find((x) => x.type === 'billing');
		assert.ok(note && note.content.includes(link[0]), show(n));

		// The next month's invoice, issued open.
		let inv = await invoices(a.access);
		assert.deepEqual(inv.map((i) => [i.number, i.status]), [['INV-000002', 'open'], ['INV-000001', 'paid']]);
		assert.equal(inv[0].total_minor, 36000);
		assert.equal(Date.parse(inv[0].period.start), a.periodEnd);
		assert.equal(Date.parse(inv[0].period.end), addMonth(a.periodEnd));
		const pdf = await api('GET', inv[0].pdf_url, { token: a.access });
		assert.equal(pdf.status, 200, show(pdf));
		const pdfText = spawnSync('pdftotext', ['-', '-'], { input: pdf.bytes, encoding: 'utf8' }).stdout;
		for (const want of ['Invoice INV-000002', 'Total due', 'ZAR 360.00', `Not paid yet: due by ${due.slice(0, 10)}`]) assert.ok(pdfText.includes(want), `${want} in:\n${pdfText}`);

		// The sweep again (the next hour): nothing new.
		sweep(a.periodEnd - 2 * DAY + 3600000);
		await sleep(2000);
		assert.equal(initiates().length, before + 1, 'no second payment request');
		assert.equal(inbox.filter((m) => m.to.includes(a.email) && /renew/.test(m.parsed.subject)).length, 1, 'no second mail');

		// Paid (ahead of the end): the invoice is paid; the current month goes on to its end.
		const res = await notify(pg.pay(reqId, { status: 1 }));
		assert.equal(res.text, 'OK', show(res));
		inv = await invoices(a.access);
		assert.deepEqual(inv.map((i) => [i.number, i.status]), [['INV-000002', 'paid'], ['INV-000001', 'paid']], 'paid, and no third invoice');
		let u = await usage(a.access);
		assert.equal(u.subscription.state, 'active');
		assert.equal(Date.parse(u.period.end), a.periodEnd);

		// At the end of the period the next month starts where the old one ended.
		sweep(a.periodEnd + 1000);
		u = await usage(a.access);
		assert.equal(u.subscription.state, 'active');
		assert.equal(u.plan.code, 'pro');
		assert.equal(Date.parse(u.period.start), a.periodEnd);
		assert.equal(Date.parse(u.period.end), addMonth(a.periodEnd));
	});

	test('unpaid: past due from the period\'s end (the plan kept through the grace period), then Free; paid late, the next month from the old end', T, async () => {
		const a = await paygateCustomer('unpaid');
		const b = await paygateCustomer('late');
		sweep(Math.max(a.periodEnd, b.periodEnd) - 2 * DAY);
		await waitFor('both pay links', () => inbox.some((m) => m.to.includes(a.email)) && inbox.some((m) => m.to.includes(b.email)));

		sweep(Math.max(a.periodEnd, b.periodEnd) + 1000);
		for (const x of [a, b]) {
			const u = await usage(x.access);
			assert.equal(u.subscription.state, 'past_due', JSON.stringify(u.subscription));
			assert.equal(Date.parse(u.subscription.past_due_since), x.periodEnd, 'the grace period starts at the end of the paid month');
			assert.equal(u.plan.code, 'pro', 'the plan is kept during the grace period');
		}

		// b pays within the grace period: the next month follows the old one.
		const bInit = pg.requests.filter((r) => r.path === '/payweb3/initiate.trans' && r.fields.EMAIL === b.email).pop();
		const bReq = [...pg.transactions.values()].find((t) => t.fields.REFERENCE === bInit.fields.REFERENCE).id;
		assert.equal((await notify(pg.pay(bReq, { status: 1 }))).text, 'OK');
		let u = await usage(b.access);
		assert.equal(u.subscription.state, 'active');
		assert.equal(Date.parse(u.period.start), b.periodEnd);
		assert.equal(Date.parse(u.period.end), addMonth(b.periodEnd));

		// a never pays: after the grace period, Free (nothing deleted), and the sweep says so.
		const r = sweep(a.periodEnd + GRACE_DAYS * DAY + 1000);
		assert.ok(r.downgraded >= 1, JSON.stringify(r));
		u = await usage(a.access);
		assert.equal(u.plan.code, 'free');
		assert.equal(u.subscription.state, 'canceled');
		const inv = await invoices(a.access);
		assert.deepEqual(inv.map((i) => i.status), ['open', 'paid'], 'the unpaid invoice stays open; nothing deleted');
		u = await usage(b.access);
		assert.equal(u.plan.code, 'pro', 'the one that paid keeps its plan');
	});
});
