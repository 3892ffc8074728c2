// The Billing page: upgrade from Free to Pro through the Stripe stand-in's
// hosted Checkout page (which delivers signed webhooks back to iamd) and
// see the new limits. Runs its own iamd (SQLite) with the Stripe settings.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { chromium } from 'playwright-core';
import { freePort, startIamd } from '../api/helpers.mjs';
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
		IAM_BILLING_PUBLIC_URL: base,
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
