// The Billing page: upgrade from Free to Pro through the Stripe stand-in's
// hosted Checkout page (which delivers signed webhooks back to iamd) and
// see the new limits. Runs its own iamd (SQLite) with the Stripe settings.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { chromium } from 'playwright-core';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { freePort, iamEnv, startIamd } from '../api/helpers.mjs';
import { startStripeStandin } from '../api/stripe-standin.mjs';
import { CHROMIUM, PASSWORD, screenshot, tmpDir, uniqueEmail } from './helpers.mjs';

const T = { timeout: 120000 };
const SK = 'sk_test_browser_standin';
const WHSEC = `whsec_${crypto.randomBytes(16).toString('hex')}`;

let sx;
let srv;
let ctx;

before(async () => {
	const port = await freePort();
	const base = `http://127.0.0.1:${port}`;
	sx = await startStripeStandin({ secretKey: SK, webhook: { url: `${base}/api/v1/billing/stripe/webhook`, secret: WHSEC } });
	srv = await startIamd(tmpDir('billing-srv'), {
		IAM_JWT_SECRET: crypto.randomBytes(24).toString('hex'),
		IAM_WORKERS: '1',
		IAM_REGISTER_PER_HOUR: '0',
		IAM_STRIPE_SECRET_KEY: SK,
		IAM_STRIPE_WEBHOOK_SECRET: WHSEC,
		IAM_STRIPE_API_BASE: sx.base,
		IAM_PUBLIC_URL: base,
		IAM_WEB_DIR: new URL('../../web/dist', import.meta.url).pathname,
	}, { port });
	ctx = await chromium.launchPersistentContext(tmpDir('billing-profile'), {
		executablePath: CHROMIUM,
		headless: true,
		args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run'],
		baseURL: srv.base,
		locale: 'en-US',
		timezoneId: 'UTC',
	});
	ctx.setDefaultTimeout(20000);
});

after(async () => {
	await ctx?.close().catch(() => undefined);
	await srv?.stop();
	await sx?.close();
});

test('upgrade to Pro through Stripe Checkout and see the new limits', T, async () => {
	const email = uniqueEmail('billing');
	const reg = await fetch(`${srv.base}/api/v1/auth/register`, {
		method: 'POST',
		headers: { 'content-type': 'application/json' },
		body: JSON.stringify({ email, password: PASSWORD }),
	});
	assert.equal(reg.status, 201);
	const page = ctx.pages()[0] || (await ctx.newPage());
	// Log in through the form, as a person would.
	await page.goto('/login?next=%2Fbilling');
	await page.getByLabel('Email').fill(email);
	await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
	await page.getByRole('button', { name: /log in/i }).click();
	await page.waitForURL(/\/billing/);
	await page.locator('[data-plan="free"] .badge', { hasText: 'Current plan' }).waitFor();
	const minutes = page.locator('[data-resource="Transcription minutes"]');
	await minutes.getByText('of 60 min').waitFor();
	await screenshot(page, 'billing-free');

	await page.locator('[data-plan="pro"]').getByRole('button', { name: 'Choose Pro' }).click();
	await page.waitForURL(new RegExp(`^${sx.base}/c/pay/cs_test_`));
	await page.getByRole('heading', { name: 'Pay 29.00 USD' }).waitFor();
	await page.getByRole('button', { name: 'Subscribe' }).click();

	// Back on the billing page, the webhooks have run: Pro and its limits.
	await page.waitForURL(/\/billing\?checkout=success/);
	await page.locator('[data-plan="pro"] .badge', { hasText: 'Current plan' }).waitFor();
	await minutes.getByText('of 500 min').waitFor();
	await page.getByText(/You are on the Pro plan/).waitFor();
	await page.getByRole('button', { name: 'Manage card or cancel' }).waitFor();
	await page.locator('tr[data-invoice="INV-000001"]').waitFor();
	await screenshot(page, 'billing-pro');
});

/** A second of 16 kHz mono silence as WAV (32 KB). */
function wavFile() {
	const n = 16000;
	const b = Buffer.alloc(44 + n * 2);
	b.write('RIFF', 0);
	b.writeUInt32LE(36 + n * 2, 4);
	b.write('WAVEfmt ', 8);
	b.writeUInt32LE(16, 16);
	b.writeUInt16LE(1, 20);
	b.writeUInt16LE(1, 22);
	b.writeUInt32LE(16000, 24);
	b.writeUInt32LE(32000, 28);
	b.writeUInt16LE(2, 32);
	b.writeUInt16LE(16, 34);
	b.write('data', 36);
	b.writeUInt32LE(n * 2, 40);
	const f = `${tmpDir('wav')}/second.wav`;
	fs.writeFileSync(f, b);
	return f;
}

test('an upload past the storage quota says why and links to the plans', T, async () => {
	const email = uniqueEmail('quota');
	const reg = await fetch(`${srv.base}/api/v1/auth/register`, {
		method: 'POST',
		headers: { 'content-type': 'application/json' },
		body: JSON.stringify({ email, password: PASSWORD }),
	});
	assert.equal(reg.status, 201);
	const org = (await reg.json()).organization.id;
	const code = `tiny-${crypto.randomBytes(3).toString('hex')}`;
	const admin = (...args) => spawnSync(process.env.IAM_BIN, ['plans', ...args], { env: iamEnv({ IAM_DATA_DIR: srv.dataDir, IAM_LOG_LEVEL: 'error' }), encoding: 'utf8' });
	assert.equal(admin('set', code, '--storage-bytes', '1000').status, 0);
	assert.equal(admin('assign', org, code).status, 0);

	const page = await ctx.newPage();
	await page.goto('/favicon.svg');
	await page.evaluate(() => localStorage.clear());
	await page.goto('/login?next=%2Fupload');
	await page.getByLabel('Email').fill(email);
	await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
	await page.getByRole('button', { name: /log in/i }).click();
	await page.waitForURL(/\/upload/);
	await page.setInputFiles('#file-input', wavFile());
	const row = page.locator('[data-file-name="second.wav"][data-upload-state="rejected"]');
	await row.waitFor({ timeout: 30000 });
	const msg = await row.locator('[data-upload-error]').textContent();
	assert.match(msg, /storage/i, msg);
	const link = row.getByRole('link', { name: 'See plans and upgrade' });
	assert.equal(await link.getAttribute('href'), '/billing');
	await screenshot(page, 'upload-over-quota');
	await link.click();
	await page.waitForURL(/\/billing$/);
	await page.getByText('You are on the', { exact: false }).waitFor();
	await page.close();
});
