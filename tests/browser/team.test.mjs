// Teams in the browser: the owner invites a second person from the Team
// page; the invitee, in a second browser context (another person, another
// profile), opens the copied link, signs up through it and sees the
// organization's meetings; the owner sees the new member, the organization
// switcher and the audit log.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { apiJson, launch, openLoggedIn, registerApi, screenshot, uniqueEmail, unexpectedErrors } from './helpers.mjs';

const T = { timeout: 120000 };

let owner; // browser of the owner
let guest; // browser of the invitee
const failed = []; // "status path" of every failed request, both browsers
before(async () => {
	owner = await launch();
	guest = await launch();
	for (const b of [owner, guest])
		b.context.on('response', (r) => {
			if (r.status() >= 400) failed.push(`${r.status()} ${new URL(r.url()).pathname}`);
		});
});
after(async () => {
	await owner?.close();
	await guest?.close();
});

test('owner invites a second user, who signs up through the link and sees the meetings', T, async () => {
	// The owner's organization, with a meeting in it.
	const acc = await registerApi({ tag: 'team-owner', first_name: 'Olive' });
	const org = await apiJson('POST', '/api/v1/organizations', { token: acc.access, json: { name: 'Northwind Research' } });
	assert.equal(org.status, 201, org.text);
	const sw = await apiJson('POST', '/api/v1/auth/switch-org', { token: acc.access, json: { organization_id: org.body.id } });
	assert.equal(sw.status, 200, sw.text);
	const meeting = await apiJson('POST', '/api/v1/meetings', { token: sw.body.access_token, json: { title: 'Quarterly planning' } });
	assert.equal(meeting.status, 201, meeting.text);

	// The owner invites from the Team page and copies the link.
	const page = owner.page;
	await openLoggedIn(page, { refresh: sw.body.refresh_token }, '/team');
	await page.getByRole('heading', { name: 'Team' }).waitFor();
	await page.getByText('Northwind Research · you are owner').waitFor();
	const email = uniqueEmail('team-guest');
	await page.getByLabel('Invite by e-mail').fill(email);
	await page.locator('[data-invite-role]').selectOption('member');
	await page.getByRole('button', { name: 'Invite', exact: true }).click();
	const linkBox = page.locator('[data-invite-link]');
	await linkBox.waitFor();
	const link = await linkBox.inputValue();
	assert.match(link, /\/invite#inv_[A-Za-z0-9_-]{43,}$/);
	// The shared CopyLink, as the page's main action: the field is focused and selected when
	// it appears, and "Copy link" puts the link on the clipboard.
	assert.equal(await page.evaluate(() => document.activeElement?.hasAttribute('data-invite-link')), true);
	assert.equal(await linkBox.evaluate((el) => el.value.slice(el.selectionStart, el.selectionEnd)), link);
	await owner.context.grantPermissions(['clipboard-read', 'clipboard-write']);
	await page.getByRole('button', { name: 'Copy link' }).click();
	await page.getByText('Link copied to the clipboard.').waitFor();
	assert.equal(await page.evaluate(() => navigator.clipboard.readText()), link);
	await page.locator(`[data-invitation="${email}"]`).waitFor();
	// No mail server in this suite: the row says the invitee gets the link from us.
	assert.equal((await page.locator(`[data-invitation="${email}"] [data-mail-state]`).textContent()).trim(), 'Not mailed');
	await screenshot(page, 'team-invited');

	// The invitee, in another browser, opens the link and signs up.
	const g = guest.page;
	await g.goto(link);
	await g.getByText(`to join Northwind Research as member`).waitFor();
	await g.getByLabel('First name').fill('Gus');
	await g.getByLabel('Password').fill('Another-good-passphrase-7');
	await screenshot(g, 'team-invite-signup');
	await g.getByRole('button', { name: 'Create account and join' }).click();
	await g.waitForURL(/\/meetings$/);
	await g.locator('.meeting-row[data-meeting-id]').filter({ hasText: 'Quarterly planning' }).waitFor();
	// The switcher names the organization and the role.
	const sel = g.locator('[data-org-switcher]');
	await sel.waitFor();
	assert.match(await sel.locator('option:checked').innerText(), /Northwind Research \(member\)/);
	// Members see no audit log and no API keys in the menu, but upload and the team.
	const nav = g.getByRole('navigation', { name: 'Main' });
	await nav.getByRole('link', { name: 'Upload' }).waitFor();
	await nav.getByRole('link', { name: 'Team' }).waitFor();
	assert.equal(await nav.getByRole('link', { name: 'Audit', exact: true }).count(), 0);
	assert.equal(await nav.getByRole('link', { name: 'API keys' }).count(), 0);
	await screenshot(g, 'team-guest-meetings');

	// The link works once.
	const again = await guest.context.newPage();
	await again.goto(link);
	await again.getByText('already been used').waitFor();
	await again.close();

	// The owner sees the new member and no pending invitation; the audit log shows the join.
	await page.reload();
	await page.locator(`[data-member="${email}"]`).waitFor();
	assert.equal(await page.locator(`[data-invitation="${email}"]`).count(), 0);
	await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Audit', exact: true }).click();
	await page.locator('[data-audit-event="invitation.accept"]').first().waitFor();
	await screenshot(page, 'team-audit');

	// The only failed requests: the used link's lookup (410), and the favicon.ico
	// Chromium asks for when openLoggedIn opens favicon.svg on its own.
	assert.deepEqual(
		failed.filter((f) => f !== '404 /favicon.ico'),
		['410 /api/v1/invitations/lookup'],
	);
	assert.deepEqual(unexpectedErrors(owner.errors, [/status of 404/]), []);
	assert.deepEqual(unexpectedErrors(guest.errors, [/status of 410/]), []);
});

test('someone who already has an account sees their invitations in the app', T, async () => {
	const acc = await registerApi({ tag: 'team-inapp-owner' });
	const org = await apiJson('POST', '/api/v1/organizations', { token: acc.access, json: { name: 'Harbour Ops' } });
	const sw = await apiJson('POST', '/api/v1/auth/switch-org', { token: acc.access, json: { organization_id: org.body.id } });
	const invitee = await registerApi({ tag: 'team-inapp' });
	const inv = await apiJson('POST', `/api/v1/organizations/${org.body.id}/invitations`, { token: sw.body.access_token, json: { email: invitee.email, role: 'viewer' } });
	assert.equal(inv.status, 201, inv.text);
	const g = guest.page;
	// The bell tells them, and its notification leads to the invitations page.
	await openLoggedIn(g, { refresh: invitee.refresh }, '/meetings');
	await g.locator('#notification-bell').click();
	await g.locator('.bell__item', { hasText: 'Harbour Ops' }).click();
	await g.waitForURL(/\/invitations$/);
	await g.getByRole('heading', { name: 'Invitations' }).waitFor();
	const card = g.locator(`[data-my-invitation="${inv.body.id}"]`);
	await card.waitFor();
	assert.match(await card.textContent(), /Harbour Ops.*organization, as viewer/);
	// Unverified address (no mail server in this suite): the way in is the link, and the page says so.
	await g.getByText('Your e-mail address is not verified yet').waitFor();
	assert.equal(await g.locator('[data-accept-invitation]').count(), 0);
	await screenshot(g, 'invitations-mine');
});
