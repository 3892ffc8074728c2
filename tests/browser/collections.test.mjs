// Collections and share links in the browser: the owner shares a collection
// with an outside address from the Share dialog; the invitee, in a second
// browser context, signs up from the link and sees the collection's meeting
// with its transcript; a public link to the meeting opens in a fresh context
// without login, shows the transcript and is not indexed; revoked, it is gone.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { PASSWORD, SPEECH, apiJson, launch, meetingWithAudio, openLoggedIn, registerApi, screenshot, speechFile, uniqueEmail, unexpectedErrors } from './helpers.mjs';

const T = { timeout: 180000 };

let owner; // the owner's browser
let guest; // the invitee's browser
let anon; // nobody logged in
before(async () => {
	owner = await launch();
	guest = await launch();
	anon = await launch();
});
after(async () => {
	await owner?.close();
	await guest?.close();
	await anon?.close();
});

test('the invited person sees the shared collection; the public link opens without login', T, async () => {
	const acc = await registerApi({ tag: 'coll-owner', first_name: 'Olive' });
	const title = 'Harbour budget review';
	const meeting = await meetingWithAudio(acc.access, speechFile(SPEECH, 'wav', 'coll'), title);

	// The owner makes a collection, puts the meeting in it and shares it.
	const page = owner.page;
	await openLoggedIn(page, acc, '/collections');
	await page.getByRole('heading', { name: 'Collections' }).waitFor();
	await page.getByLabel('New collection').fill('Finance');
	await page.getByRole('button', { name: 'Create', exact: true }).click();
	await page.waitForURL(/\/collections\/[0-9a-f-]{36}$/);
	const collId = page.url().split('/').pop();
	await page.getByRole('heading', { name: 'Finance' }).waitFor();
	await page.locator('[data-add-meeting]').selectOption(meeting.id);
	await page.getByRole('button', { name: 'Add', exact: true }).click();
	await page.locator(`[data-collection-meeting="${title}"]`).waitFor();
	await page.locator('[data-share-collection-button]').click();
	const email = uniqueEmail('coll-guest');
	await page.locator('[data-share-email]').fill(email);
	await page.locator('[data-share-role]').selectOption('viewer');
	await page.locator('[data-share-invite]').click();
	const linkBox = page.locator('[data-invite-url]');
	await linkBox.waitFor();
	const link = await linkBox.inputValue();
	assert.match(link, /\/collection-invite#cin_[A-Za-z0-9_-]{43,}$/);
	await page.locator(`[data-share-pending="${email}"]`).waitFor();
	await screenshot(page, 'collection-share-dialog');
	await page.getByRole('button', { name: 'Done' }).click();

	// The invitee signs up from the link in another browser and sees the meeting.
	const g = guest.page;
	await g.goto(link);
	await g.locator('[data-collection-invite-intro]').getByText('Finance').waitFor();
	await g.getByLabel('First name').fill('Gus');
	await g.getByLabel('Password').fill('Another-good-passphrase-7');
	await g.getByRole('button', { name: 'Create account and open' }).click();
	await g.waitForURL(new RegExp(`/collections/${collId}$`));
	await g.getByRole('heading', { name: 'Finance' }).waitFor();
	await g.locator(`[data-collection-meeting="${title}"]`).getByRole('link').click();
	await g.waitForURL(new RegExp(`/meetings/${meeting.id}$`));
	await g.getByText(title).first().waitFor();
	await g.locator('[data-segment-index="0"]').waitFor();
	await screenshot(g, 'collection-guest-meeting');
	// Their own meeting list does not show the organization's meetings.
	await g.goto('/meetings');
	await g.getByRole('heading', { name: 'Meetings' }).waitFor();
	assert.equal(await g.locator('.meeting-row').filter({ hasText: title }).count(), 0);

	// A public link from the meeting page's Share dialog.
	await page.goto(`/meetings/${meeting.id}`);
	await page.locator('[data-share-meeting]').click();
	await page.locator('[data-share-create-link]').click();
	const pubBox = page.locator('[data-share-link-url]');
	await pubBox.waitFor();
	const pub = await pubBox.inputValue();
	assert.match(pub, /\/s\/shr_[A-Za-z0-9_-]{43,}$/);
	await screenshot(page, 'meeting-share-dialog');

	// A fresh context, nobody logged in: the transcript, the player, noindex.
	const a = anon.page;
	const res = await a.goto(pub);
	assert.match(res.headers()['x-robots-tag'] || '', /noindex/);
	await a.locator('[data-public-meeting]').getByRole('heading', { name: title }).waitFor();
	await a.locator('[data-public-transcript] .public-segment').first().waitFor();
	assert.ok((await a.locator('[data-public-transcript]').innerText()).length > 20);
	await a.locator('[data-public-audio]').waitFor();
	assert.match(await a.locator('meta[name="robots"]').getAttribute('content'), /noindex/);
	assert.equal(await a.evaluate(() => localStorage.getItem('iam.refresh')), null);
	await screenshot(a, 'public-meeting');

	// Revoked: the link no longer opens.
	await page.locator('[data-share-revoke]').first().click();
	await page.getByText('No live links.').waitFor();
	const b = await anon.context.newPage();
	await b.goto(pub);
	await b.getByRole('heading', { name: 'This link does not work' }).waitFor();
	await b.close();

	assert.deepEqual(unexpectedErrors(owner.errors, [/status of 404/]), []);
	// The guest's meeting page asks for things of the organization they cannot see (404/403).
	assert.deepEqual(unexpectedErrors(guest.errors, [/status of 40[34]/]), []);
	assert.deepEqual(unexpectedErrors(anon.errors, [/status of 404/]), []);
});

// The invitation page is one component for organizations and collections
// (InviteeFlow): the collection's own cases, which the Team test does not
// reach, go through it here: logged in as someone else, log out; an account
// exists, log in and open (accepting keeps the session); used, say so.
test('an invitee with an account, logged in as someone else, logs out, logs in from the link and opens the collection', T, async () => {
	const own = await registerApi({ tag: 'coll-owner2' });
	const coll = await apiJson('POST', '/api/v1/collections', { token: own.access, json: { name: 'Field notes' } });
	assert.equal(coll.status, 201, coll.text);
	const invitee = await registerApi({ tag: 'coll-member' });
	const inv = await apiJson('POST', `/api/v1/collections/${coll.body.id}/invitations`, { token: own.access, json: { email: invitee.email, role: 'editor' } });
	assert.equal(inv.status, 201, inv.text);
	const link = inv.body.accept_url;
	assert.match(link, /^\/collection-invite#cin_/);

	const g = guest.page;
	await openLoggedIn(g, await registerApi({ tag: 'coll-other' }), '/meetings');
	await g.goto(link);
	await g.getByText(`but this invitation is for ${invitee.email}`).waitFor();
	await g.getByRole('button', { name: 'Log out' }).click();
	// The address has an account: its password, and into the collection.
	await g.locator('[data-collection-invite-intro]').getByText('Field notes').waitFor();
	assert.match(await g.locator('[data-collection-invite-intro]').innerText(), /shared the collection Field notes with .* as editor\./);
	await g.getByLabel('Password').fill(PASSWORD);
	await g.getByRole('button', { name: 'Log in and open' }).click();
	await g.waitForURL(new RegExp(`/collections/${coll.body.id}$`));
	await g.getByRole('heading', { name: 'Field notes' }).waitFor();

	// The link works once, and says whom to ask.
	const again = await guest.context.newPage();
	await again.goto(link);
	await again.getByRole('heading', { name: 'This invitation cannot be used' }).waitFor();
	await again.getByText('already been used').waitFor();
	await again.getByText('ask whoever shared it for a new link').waitFor();
	await again.close();
	assert.deepEqual(unexpectedErrors(guest.errors, [/status of 40[34]/, /status of 410/]), []);
});
