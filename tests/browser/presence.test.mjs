// Presence dots and the typing indicator in Chromium, with two people of one
// organization in two browsers: a person already online when the page opens
// shows online (GET /api/v2/presence), one who leaves goes offline and one
// who comes back goes online without a reload (the socket's presence
// events), on the inbox and the Team page; and "<name> is typing…" shows
// while the other person writes to me, then goes away by itself.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { apiJson, launch, openLoggedIn, registerApi, screenshot } from './helpers.mjs';

const T = { timeout: 120000 };

let ana; // her browser
let ben; // his browser (closed and opened again)
let a;
let b;
before(async () => {
	// Ana owns an organization; Ben joins it by invitation (accepted while logged in).
	a = await registerApi({ tag: 'presence-ana', first_name: 'Ana', last_name: 'Lopez' });
	b = await registerApi({ tag: 'presence-ben', first_name: 'Ben', last_name: 'Okafor' });
	const org = await apiJson('POST', '/api/v1/organizations', { token: a.access, json: { name: 'Presence Lab' } });
	assert.equal(org.status, 201, org.text);
	const sw = await apiJson('POST', '/api/v1/auth/switch-org', { token: a.access, json: { organization_id: org.body.id } });
	assert.equal(sw.status, 200, sw.text);
	a.access = sw.body.access_token;
	a.refresh = sw.body.refresh_token;
	const inv = await apiJson('POST', `/api/v1/organizations/${org.body.id}/invitations`, { token: a.access, json: { email: b.email, role: 'member' } });
	assert.equal(inv.status, 201, inv.text);
	const acc = await apiJson('POST', '/api/v1/invitations/accept', { token: b.access, json: { token: inv.body.token } });
	assert.equal(acc.status, 200, acc.text);
	// Ben has written to Ana.
	const m = await apiJson('POST', '/api/v2/messages', { token: b.access, json: { recipient_id: a.user.id, subject: 'Lab schedule', body: 'Can we move Thursday?' } });
	assert.equal(m.status, 201, m.text);
	ana = watchFavicon(await launch());
});
after(async () => {
	await ana?.close();
	await ben?.close();
});

/**
 * Errors in b's pages (page errors, console errors), but for the favicon.ico
 * Chromium asks for when openLoggedIn opens /favicon.svg: the console text
 * names no URL, its location does.
 */
function errorsOf(b) {
	return b.seen;
}
function watchFavicon(b) {
	b.seen = [];
	const watch = (p) => {
		p.on('pageerror', (e) => b.seen.push(`pageerror: ${e.message}`));
		p.on('console', (m) => {
			if (m.type() === 'error' && !/\/favicon\.ico$/.test(m.location().url || '')) b.seen.push(`console: ${m.text()} at ${m.location().url}`);
		});
	};
	watch(b.page);
	b.context.on('page', watch);
	return b;
}

/** Wait until the dot in `scope` says `status` (its accessible name and its tooltip). */
async function dotIs(scope, status, what) {
	const dot = scope.locator('.presence-dot').first();
	await dot.waitFor();
	try {
		await scope.page().waitForFunction(([el, s]) => el.getAttribute('aria-label') === s && el.getAttribute('title') === s, [await dot.elementHandle(), status], { timeout: 10000 });
	} catch {
		assert.fail(`${what}: the dot says ${await dot.getAttribute('aria-label')}, expected ${status}`);
	}
	assert.equal(await dot.getAttribute('role'), 'img');
}

const typingSent = []; // Ben's typing frames: { at, to }
async function benOnline(path = '/meetings') {
	ben = watchFavicon(await launch());
	ben.page.on('websocket', (ws) =>
		ws.on('framesent', (f) => {
			try {
				const m = JSON.parse(f.payload);
				if (m.type === 'typing') typingSent.push({ at: Date.now(), to: m.to });
			} catch {
				/* not JSON */
			}
		}),
	);
	await openLoggedIn(ben.page, b, path);
}

test('presence: online at load, offline when the other leaves, online again when they return', T, async () => {
	await benOnline();
	// Ben's socket is up once his page has asked for a ticket and the hub answered; give it a moment.
	await ben.page.waitForTimeout(1500);
	const page = ana.page;
	await openLoggedIn(page, a, '/inbox');
	const row = page.locator('.inbox__row', { hasText: 'Lab schedule' });
	await row.waitFor();
	await dotIs(row, 'online', 'Ben was online before the page opened');
	await screenshot(page, 'presence-inbox-online');

	await ben.close();
	ben = null;
	await dotIs(row, 'offline', 'Ben closed his browser');
	b.used = false; // his session lives on: log him in afresh from a new refresh token
	const l = await apiJson('POST', '/api/v1/auth/login', { json: { email: b.email, password: 'Correct-horse-battery-9' } });
	assert.equal(l.status, 200, l.text);
	b.refresh = l.body.refresh_token;
	b.access = l.body.access_token;
	await benOnline();
	await dotIs(row, 'online', 'Ben came back');

	// The read view shows it too, and so does the Team page.
	await row.getByText('Lab schedule').click();
	await page.getByRole('heading', { name: 'Lab schedule' }).waitFor();
	await dotIs(page.locator('.inbox__from'), 'online', 'read view');
	await page.goto('/team');
	const member = page.locator(`[data-member="${b.email}"]`);
	await member.waitFor();
	await dotIs(member, 'online', 'team page');
	await screenshot(page, 'presence-team');
	assert.deepEqual(errorsOf(ana), []);
});

test('typing: "Ben Okafor is typing…" while he writes to Ana, gone a few seconds after he stops', T, async () => {
	if (!ben) await benOnline('/inbox');
	const page = ana.page;
	await page.goto('/inbox');
	const row = page.locator('.inbox__row', { hasText: 'Lab schedule' });
	await row.getByText('Lab schedule').click();
	await page.getByRole('heading', { name: 'Lab schedule' }).waitFor();
	const note = page.locator('.inbox__read .typing-note');
	assert.equal(await note.getAttribute('aria-live'), 'polite');
	assert.equal((await note.textContent()).trim(), '');

	// Ben composes to Ana: the suggestion shows her (with her dot), then he writes.
	const g = ben.page;
	await g.goto('/inbox');
	await g.click('#compose-button');
	// Suggestions from his organizations, each with its dot; picking one fills the address.
	const chip = g.locator(`[data-suggestion="${a.email}"]`);
	await chip.waitFor();
	await dotIs(chip, 'online', "Ana's suggestion");
	await screenshot(g, 'presence-suggestions');
	await chip.click();
	assert.equal(await g.inputValue('#recipient'), a.email);
	await g.fill('#recipient', a.email);
	await g.locator(`[data-recipient-person="${a.user.id}"]`).waitFor();
	await dotIs(g.locator('.inbox__to'), 'online', "Ana's dot in Ben's compose form");
	await screenshot(g, 'presence-compose');
	await g.fill('#subject', 'Re: Lab schedule');
	await g.locator('#body').pressSequentially('Thursday works', { delay: 40 });
	await page.waitForFunction(() => document.querySelector('.inbox__read .typing-note')?.textContent === 'Ben Okafor is typing…', null, { timeout: 10000 });
	await screenshot(page, 'presence-typing');
	const seen = Date.now();
	// No more keys: it goes away by itself (about 5 s after his last event).
	await page.waitForFunction(() => document.querySelector('.inbox__read .typing-note')?.textContent === '', null, { timeout: 12000 });
	const gone = Date.now() - seen;
	assert.ok(gone >= 2000, `the note stayed ${gone} ms`);

	// In the list too (a note to the whole inbox).
	await page.keyboard.press('u');
	await page.locator('.inbox__row').first().waitFor();
	await g.locator('#body').pressSequentially(' for me', { delay: 40 });
	await page.waitForFunction(() => document.querySelector('.inbox__typing')?.textContent === 'Ben Okafor is typing…', null, { timeout: 10000 });
	// Ben's page told Ana, and only Ana, at most every 3 s (two bursts of keys: two events).
	assert.ok(typingSent.length >= 2, `typing frames: ${JSON.stringify(typingSent)}`);
	assert.ok(typingSent.every((t) => t.to === a.user.id));
	for (let i = 1; i < typingSent.length; i++) assert.ok(typingSent[i].at - typingSent[i - 1].at >= 2900, `typing frames ${typingSent[i].at - typingSent[i - 1].at} ms apart`);
	assert.deepEqual(errorsOf(ana), []);
	assert.deepEqual(errorsOf(ben), []);
});
