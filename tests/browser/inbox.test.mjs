// The inbox in Chromium: the product spec's own test (log in through
// #email / #password / #login-button, compose on /inbox, "Message sent
// successfully"), the unread badge on the Inbox link and the notifications
// bell, reading, and keyboard bulk actions.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { PASSWORD, apiJson, launch, openLoggedIn, registerApi, unexpectedErrors } from './helpers.mjs';

const T = { timeout: 90000 };

let b;
before(async () => {
	b = await launch();
});
after(async () => {
	await b?.close();
});

async function sendApi(acc, to, subject, body = 'Hello there') {
	const res = await apiJson('POST', '/api/v2/messages', { token: acc.access, json: { recipient_id: to.user.id, subject, body } });
	assert.equal(res.status, 201, res.text);
	return res.body;
}

test("the spec's browser test: log in, compose, send", T, async () => {
	const { page, errors } = b;
	const acc = await registerApi({ tag: 'inboxspec' });
	await page.goto('/login');
	await page.fill('#email', acc.email);
	await page.fill('#password', PASSWORD);
	await page.click('#login-button');
	await page.waitForURL(/\/meetings$/);
	await page.goto('/inbox');
	await page.click('#compose-button');
	await page.fill('#recipient', acc.email);
	await page.fill('#subject', 'Test Message');
	await page.fill('#body', 'This is a test message');
	await page.click('#send-button');
	const sent = page.locator('.message-sent');
	await sent.waitFor();
	assert.equal((await sent.textContent()).trim(), 'Message sent successfully');
	// A note to oneself lands in one's own inbox.
	await page.getByRole('list', { name: 'Messages' }).getByText('Test Message').waitFor();
	assert.deepEqual(unexpectedErrors(errors), []);
});

test('a stranger cannot be written to: the form says so', T, async () => {
	const { page } = b;
	const acc = await registerApi({ tag: 'inboxstranger' });
	const other = await registerApi({ tag: 'inboxother' });
	await openLoggedIn(page, acc, '/inbox');
	await page.click('#compose-button');
	await page.fill('#recipient', other.email);
	await page.fill('#subject', 'Hi');
	await page.fill('#body', 'Hello');
	await page.click('#send-button');
	await page.getByText('Nobody in your organizations has that address.').waitFor();
	assert.equal(await page.locator('.message-sent').count(), 0);
});

test('unread badge, bell, reading and keyboard bulk actions', T, async () => {
	const { page } = b;
	const acc = await registerApi({ tag: 'inboxbadge' });
	await sendApi(acc, acc, 'First note');
	await sendApi(acc, acc, 'Second note');
	await openLoggedIn(page, acc, '/meetings');
	const nav = page.getByRole('navigation', { name: 'Main' });
	const badge = nav.locator('.inbox-unread');
	await badge.waitFor();
	assert.equal((await badge.textContent()).trim(), '2');
	const bell = page.locator('#notification-bell');
	await page.waitForFunction(() => document.querySelector('#notification-bell')?.getAttribute('aria-label') === 'Notifications, 2 unread');
	assert.equal((await bell.locator('.bell__count').textContent()).trim(), '2');

	// The bell lists them; marking all read empties its count.
	await bell.click();
	const panel = page.getByRole('region', { name: 'Notifications' });
	await panel.getByText(/New message from .*Second note/).waitFor();
	await panel.getByRole('button', { name: 'Mark all read' }).click();
	await page.waitForFunction(() => document.querySelector('#notification-bell')?.getAttribute('aria-label') === 'Notifications');

	// Reading one lowers the inbox badge.
	await nav.getByRole('link', { name: /Inbox/ }).click();
	await page.getByRole('heading', { name: 'Inbox' }).waitFor();
	await page.getByRole('list', { name: 'Messages' }).getByText('First note').click();
	await page.getByRole('heading', { name: 'First note' }).waitFor();
	await page.waitForFunction(() => document.querySelector('.inbox-unread')?.textContent?.trim() === '1');

	// Back to the list; select both with the keyboard and archive them.
	await page.keyboard.press('u');
	const rows = page.locator('.inbox__row');
	await rows.first().waitFor();
	assert.equal(await rows.count(), 2);
	await page.locator('h1').first().focus();
	await page.keyboard.press('x');
	await page.keyboard.press('j');
	await page.keyboard.press('x');
	await page.getByText('2 selected').waitFor();
	await page.keyboard.press('e');
	await page.getByText('Your inbox is empty.').waitFor();
	await page.getByRole('button', { name: /^Archived/ }).click();
	await page.locator('.inbox__row').nth(1).waitFor();
	assert.equal(await page.locator('.inbox__row').count(), 2);
	const st = await apiJson('GET', '/api/v2/messages/stats/summary', { token: (await freshToken(acc)) });
	assert.equal(st.body.archived, 2);
	assert.equal(st.body.unread, 0);
});

/** A fresh access token for acc (the browser owns its refresh token now). */
async function freshToken(acc) {
	const res = await apiJson('POST', '/api/v1/auth/login', { json: { email: acc.email, password: PASSWORD } });
	assert.equal(res.status, 200, res.text);
	return res.body.access_token;
}

test('live: a message sent while the page is open raises the badge and the bell at once, with a toast (WebSocket, not the 30 s poll)', T, async () => {
	const { page } = b;
	const acc = await registerApi({ tag: 'inboxlive' });
	await openLoggedIn(page, acc, '/meetings');
	const nav = page.getByRole('navigation', { name: 'Main' });
	// the socket is up once the app has asked for a realtime ticket and the page has settled
	await page.waitForFunction(() => !document.querySelector('.inbox-unread'));
	await page.waitForTimeout(1500);
	const t0 = Date.now();
	await sendApi(acc, acc, 'Live one');
	await nav.locator('.inbox-unread').waitFor({ timeout: 10000 });
	const took = Date.now() - t0;
	assert.ok(took < 10000, `badge after ${took} ms`);
	assert.equal((await nav.locator('.inbox-unread').textContent()).trim(), '1');
	await page.getByText(/New message from .*Live one/).first().waitFor({ timeout: 5000 });
	await page.waitForFunction(() => document.querySelector('#notification-bell')?.getAttribute('aria-label') === 'Notifications, 1 unread');
});
