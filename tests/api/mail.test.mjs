// E-mail (issue 10 item 4): a real SMTP peer (npm smtp-server) receives what
// iamd sends; mailparser reads it; the tests then follow the links in the
// mail: address verification, forgot -> reset password, and a mail that
// waits (retried with backoff) while the SMTP server is down.
// Everything listens on 127.0.0.1; every wait is bounded.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PASSWORD, freePort, randomSecret, requestAt, show, sleep, startIamd, uniqueEmail, dropPrivateDatabases, privateDatabaseEnv } from './helpers.mjs';
import { smtpPeer } from './smtp-peer.mjs';

const T = { timeout: 120000 };
const tmpRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'iam-mail-'));
/*
 * On PostgreSQL each server here gets a database of its own: the suite's
 * shared server has no SMTP settings, and workers of every process sharing
 * a database take mail jobs (a deployment gives all of them the same settings).
 */

function linkIn(text, pathname) {
	const m = new RegExp(`https?://[^\\s"<>]+${pathname}\\?token=[A-Za-z0-9_-]+`).exec(text);
	assert.ok(m, `a ${pathname} link in: ${text}`);
	return new URL(m[0]);
}

describe('e-mail through a real SMTP peer', () => {
	let smtp, iam, base;
	const api = (method, p, opts) => requestAt(base, method, p, opts);
	before(async () => {
		smtp = await smtpPeer();
		const port = await freePort();
		iam = await startIamd(
			fs.mkdtempSync(path.join(tmpRoot, 'srv-')),
			{
				IAM_JWT_SECRET: randomSecret(),
				IAM_WORKERS: '1',
				IAM_ASR: 'sphinx',
				IAM_SMTP_URL: `smtp://127.0.0.1:${smtp.port}`,
				IAM_MAIL_FROM: 'noreply@iam.test',
				IAM_PUBLIC_URL: `http://127.0.0.1:${port}`,
				IAM_REGISTER_PER_HOUR: '0',
				...privateDatabaseEnv('mail'),
			},
			{ port },
		);
		base = iam.base;
	});
	after(async () => {
		await iam?.stop();
		await smtp?.close();
	});

	test('an invitation is mailed to its address; the link in it signs the invitee up into the organization', T, async () => {
		const owner = uniqueEmail('inv-owner');
		const reg = await api('POST', '/api/v1/auth/register', { json: { email: owner, password: PASSWORD } });
		assert.equal(reg.status, 201, show(reg));
		const org = await api('POST', '/api/v1/organizations', { token: reg.body.access_token, json: { name: 'Mailed Team' } });
		assert.equal(org.status, 201, show(org));
		const sw = await api('POST', '/api/v1/auth/switch-org', { token: reg.body.access_token, json: { organization_id: org.body.id } });
		assert.equal(sw.status, 200, show(sw));
		const invitee = uniqueEmail('invitee');
		const inv = await api('POST', `/api/v1/organizations/${org.body.id}/invitations`, { token: sw.body.access_token, json: { email: invitee, role: 'member' } });
		assert.equal(inv.status, 201, show(inv));
		assert.equal(inv.body.mail, 'queued');

		const mail = await smtp.waitFor(invitee);
		assert.match(mail.parsed.subject, /Mailed Team/);
		assert.ok(mail.parsed.text.includes(owner), 'the mail says who invited');
		const m = /https?:\/\/[^\s"<>]+\/invite#(inv_[A-Za-z0-9_-]+)/.exec(mail.parsed.text);
		assert.ok(m, `an invitation link in: ${mail.parsed.text}`);
		assert.equal(new URL(m[0]).origin, base, 'the link starts with IAM_PUBLIC_URL');
		assert.equal(m[1], inv.body.token, 'the mailed token is the invitation');
		assert.ok(mail.parsed.html.includes(`/invite#${m[1]}`), 'the HTML part carries the same link');

		const join = await api('POST', '/api/v1/invitations/signup', { json: { token: m[1], password: PASSWORD } });
		assert.equal(join.status, 201, show(join));
		assert.equal(join.body.organization.id, org.body.id);
		assert.equal(join.body.organization.role, 'member');
		const again = await api('POST', '/api/v1/invitations/signup', { json: { token: m[1], password: PASSWORD } });
		assert.equal(again.status, 410, show(again));
		// Accepted: no longer pending.
		const list = await api('GET', `/api/v1/organizations/${org.body.id}/invitations`, { token: sw.body.access_token });
		assert.equal(list.status, 200, show(list));
		assert.equal(list.body.data.length, 0);
	});

	test('the pending list says when an invitation mail has gone out', T, async () => {
		const reg = await api('POST', '/api/v1/auth/register', { json: { email: uniqueEmail('sent-owner'), password: PASSWORD } });
		const org = await api('POST', '/api/v1/organizations', { token: reg.body.access_token, json: { name: 'Sent Team' } });
		const sw = await api('POST', '/api/v1/auth/switch-org', { token: reg.body.access_token, json: { organization_id: org.body.id } });
		const invitee = uniqueEmail('sent-invitee');
		const inv = await api('POST', `/api/v1/organizations/${org.body.id}/invitations`, { token: sw.body.access_token, json: { email: invitee, role: 'viewer' } });
		assert.equal(inv.status, 201, show(inv));
		await smtp.waitFor(invitee);
		const deadline = Date.now() + 10000;
		let mine;
		for (;;) {
			const list = await api('GET', `/api/v1/organizations/${org.body.id}/invitations`, { token: sw.body.access_token });
			mine = list.body.data.find((x) => x.id === inv.body.id);
			if (mine.mail === 'sent' || Date.now() > deadline) break;
			await sleep(100);
		}
		assert.equal(mine.mail, 'sent');
	});

	test('someone with a verified account is told in the app and accepts there, without the link', T, async () => {
		// The invitee signs up and verifies their address through the mailed link.
		const email = uniqueEmail('inapp');
		const reg = await api('POST', '/api/v1/auth/register', { json: { email, password: PASSWORD } });
		assert.equal(reg.status, 201, show(reg));
		const vmail = await smtp.waitFor(email);
		const token = linkIn(vmail.parsed.text, '/verify-email').searchParams.get('token');
		assert.equal((await api('POST', '/api/v1/auth/verify-email', { json: { token } })).status, 200);
		// An owner invites them to an organization and shares a collection with them.
		const o = await api('POST', '/api/v1/auth/register', { json: { email: uniqueEmail('inapp-owner'), password: PASSWORD } });
		const org = await api('POST', '/api/v1/organizations', { token: o.body.access_token, json: { name: 'In-app Team' } });
		const sw = await api('POST', '/api/v1/auth/switch-org', { token: o.body.access_token, json: { organization_id: org.body.id } });
		const inv = await api('POST', `/api/v1/organizations/${org.body.id}/invitations`, { token: sw.body.access_token, json: { email, role: 'member' } });
		assert.equal(inv.status, 201, show(inv));
		const coll = await api('POST', '/api/v1/collections', { token: sw.body.access_token, json: { name: 'In-app shelf' } });
		const cinv = await api('POST', `/api/v1/collections/${coll.body.id}/invitations`, { token: sw.body.access_token, json: { email, role: 'editor' } });
		assert.equal(cinv.status, 201, show(cinv));
		// Two notifications that lead to the invitations page.
		const notes = await api('GET', '/api/v1/notifications', { token: reg.body.access_token });
		const invNotes = notes.body.data.filter((n) => n.type === 'invitation');
		assert.equal(invNotes.length, 2, show(notes));
		assert.ok(invNotes.every((n) => n.link === '/invitations'));
		assert.ok(invNotes.some((n) => n.content.includes('In-app Team') && n.content.includes('member')));
		assert.ok(invNotes.some((n) => n.content.includes('In-app shelf') && n.content.includes('editor')));
		// The lists, and acceptance by id.
		const mine = await api('GET', '/api/v1/invitations/mine', { token: reg.body.access_token });
		assert.equal(mine.status, 200, show(mine));
		assert.equal(mine.body.can_accept, true);
		assert.deepEqual(mine.body.data.map((x) => [x.id, x.organization.name, x.role]), [[inv.body.id, 'In-app Team', 'member']]);
		assert.ok(!('token' in mine.body.data[0]) && !('mail' in mine.body.data[0]));
		const cmine = await api('GET', '/api/v1/collection-invitations/mine', { token: reg.body.access_token });
		assert.deepEqual(cmine.body.data.map((x) => [x.id, x.collection.name, x.role]), [[cinv.body.id, 'In-app shelf', 'editor']]);
		// Someone else cannot accept it by id: it does not exist for them.
		const other = await api('POST', `/api/v1/invitations/mine/${inv.body.id}/accept`, { token: sw.body.access_token });
		assert.equal(other.status, 404, show(other));
		const joined = await api('POST', `/api/v1/invitations/mine/${inv.body.id}/accept`, { token: reg.body.access_token });
		assert.equal(joined.status, 200, show(joined));
		assert.equal(joined.body.organization.id, org.body.id);
		assert.equal(joined.body.organization.role, 'member');
		const again = await api('POST', `/api/v1/invitations/mine/${inv.body.id}/accept`, { token: reg.body.access_token });
		assert.equal(again.status, 410, show(again));
		assert.equal(again.body.code, 'invitation_used');
		const cj = await api('POST', `/api/v1/collection-invitations/mine/${cinv.body.id}/accept`, { token: reg.body.access_token });
		assert.equal(cj.status, 200, show(cj));
		const colls = await api('GET', '/api/v1/collections', { token: reg.body.access_token });
		assert.ok(colls.body.data.some((c) => c.id === coll.body.id), show(colls));
		assert.equal((await api('GET', '/api/v1/invitations/mine', { token: reg.body.access_token })).body.data.length, 0);
		assert.equal((await api('GET', '/api/v1/collection-invitations/mine', { token: reg.body.access_token })).body.data.length, 0);
	});

	test('a notification type with e-mail on is mailed, with a link to where it leads; off, nothing', T, async () => {
		const a = await api('POST', '/api/v1/auth/register', { json: { email: uniqueEmail('nmail-a'), password: PASSWORD, first_name: 'Ada' } });
		const bEmail = uniqueEmail('nmail-b');
		const b = await api('POST', '/api/v1/auth/register', { json: { email: bEmail, password: PASSWORD, first_name: 'Bea' } });
		// b joins a's organization by invitation (the link from the reply).
		const inv = await api('POST', `/api/v1/organizations/${a.body.organization.id}/invitations`, { token: a.body.access_token, json: { email: bEmail, role: 'member' } });
		assert.equal(inv.status, 201, show(inv));
		assert.equal((await api('POST', '/api/v1/invitations/accept', { token: b.body.access_token, json: { token: inv.body.token } })).status, 200);
		const on = await api('PUT', '/api/v1/notifications/preferences', { token: b.body.access_token, json: { preferences: { new_message: { email: true } } } });
		assert.equal(on.status, 200, show(on));
		const before = smtp.inbox.length;
		const sent = await api('POST', '/api/v2/messages', { token: a.body.access_token, json: { recipient_id: b.body.user.id, subject: 'Budget review', body: 'See the numbers.' } });
		assert.equal(sent.status, 201, show(sent));
		const deadline = Date.now() + 20000;
		let mail;
		while (!(mail = smtp.inbox.slice(before).find((x) => x.envelope.to.includes(bEmail) && /Budget review/.test(x.parsed.subject)))) {
			assert.ok(Date.now() < deadline, 'the new-message mail arrives');
			await sleep(100);
		}
		assert.match(mail.parsed.subject, /New message from Ada/);
		assert.ok(mail.parsed.text.includes('Hello Bea,'), mail.parsed.text);
		assert.ok(mail.parsed.text.includes(`${base}/inbox?open=${sent.body.id}`), mail.parsed.text);
		// Off again: the next message is not mailed (the in-app notification still comes).
		await api('PUT', '/api/v1/notifications/preferences', { token: b.body.access_token, json: { preferences: { new_message: { email: false } } } });
		const mark = smtp.inbox.length;
		await api('POST', '/api/v2/messages', { token: a.body.access_token, json: { recipient_id: b.body.user.id, subject: 'Second note', body: 'x' } });
		const n = await api('GET', '/api/v1/notifications', { token: b.body.access_token });
		assert.ok(n.body.data.some((x) => x.content.includes('Second note')));
		await sleep(1500);
		assert.ok(!smtp.inbox.slice(mark).some((x) => /Second note/.test(x.parsed.subject)), 'no mail with e-mail off');
	});

	test('sign-up sends a verification mail (text + HTML, UTF-8, Date, Message-ID); its link verifies once', T, async () => {
		const email = uniqueEmail('verify');
		const reg = await api('POST', '/api/v1/auth/register', { json: { email, password: PASSWORD, first_name: 'Zoë' } });
		assert.equal(reg.status, 201, show(reg));
		assert.equal(reg.body.user.email_verified, false);

		const mail = await smtp.waitFor(email);
		const m = mail.parsed;
		assert.equal(mail.envelope.from, 'noreply@iam.test');
		assert.equal(m.from.value[0].address, 'noreply@iam.test');
		assert.equal(m.to.value[0].address, email);
		assert.match(m.subject, /confirm/i);
		assert.ok(m.date instanceof Date && Math.abs(m.date.getTime() - Date.now()) < 120000, `Date header: ${m.date}`);
		assert.match(m.messageId, /^<[^@>]+@iam\.test>$/);
		assert.match(mail.raw, /Content-Type: multipart\/alternative; boundary=/i);
		assert.match(mail.raw, /Content-Transfer-Encoding: quoted-printable/i);
		assert.ok(m.text.includes('Hello Zoë,'), `UTF-8 text part: ${m.text}`);
		assert.ok(m.html.includes('Hello Zoë,'), 'UTF-8 HTML part');

		const link = linkIn(m.text, '/verify-email');
		assert.equal(link.origin, base, 'links start with IAM_PUBLIC_URL');
		const htmlLink = linkIn(m.html.replaceAll('&amp;', '&'), '/verify-email');
		assert.equal(htmlLink.href, link.href, 'the HTML part carries the same link');
		const token = link.searchParams.get('token');

		// The link opens the web app's page (when the app is built and served), which checks
		// the token and then POSTs it, as below.
		const home = await requestAt(base, 'GET', '/');
		const page = await requestAt(base, 'GET', link.pathname + link.search);
		if (home.status === 200 && /text\/html/.test(home.headers.get('content-type') || '')) {
			assert.equal(page.status, 200, `the link opens the web app: ${show(page)}`);
			assert.match(page.headers.get('content-type') || '', /text\/html/);
		}
		const check = await api('GET', `/api/v1/auth/verify-email?token=${encodeURIComponent(token)}`);
		assert.equal(check.status, 200, show(check));
		assert.equal(check.body.valid, true);
		const check2 = await api('GET', `/api/v1/auth/verify-email?token=${encodeURIComponent(token)}`);
		assert.equal(check2.status, 200, 'a GET (mail scanners) does not use the link up');

		const ok = await api('POST', '/api/v1/auth/verify-email', { json: { token } });
		assert.equal(ok.status, 200, show(ok));
		assert.equal(ok.body.user.email, email);
		assert.equal(ok.body.user.email_verified, true);
		const me = await api('GET', '/api/v1/users/me', { token: reg.body.access_token });
		assert.equal(me.status, 200);
		assert.equal(me.body.email_verified, true);

		const again = await api('POST', '/api/v1/auth/verify-email', { json: { token } });
		assert.equal(again.status, 410, show(again));
		assert.equal(again.body.code, 'token_expired');
		const bogus = await api('POST', '/api/v1/auth/verify-email', { json: { token: 've_' + 'A'.repeat(43) } });
		assert.equal(bogus.status, 404, show(bogus));
		assert.equal(bogus.body.code, 'token_invalid');

		const resend = await api('POST', '/api/v1/auth/verify-email/resend', { token: reg.body.access_token });
		assert.equal(resend.status, 409, show(resend));
	});

	test('forgot -> reset: same 202 for any address, the link resets once, every old session ends', T, async () => {
		const email = uniqueEmail('reset');
		const reg = await api('POST', '/api/v1/auth/register', { json: { email, password: PASSWORD } });
		assert.equal(reg.status, 201, show(reg));
		const second = await api('POST', '/api/v1/auth/login', { json: { email, password: PASSWORD } });
		assert.equal(second.status, 200, show(second));
		await smtp.waitFor(email); // the verification mail
		const before = smtp.inbox.length;

		const unknown = uniqueEmail('nobody');
		const t0 = performance.now();
		const a = await api('POST', '/api/v1/auth/forgot-password', { json: { email: unknown } });
		const t1 = performance.now();
		const b = await api('POST', '/api/v1/auth/forgot-password', { json: { email: email.toUpperCase() } });
		const t2 = performance.now();
		assert.equal(a.status, 202, show(a));
		assert.equal(b.status, 202, show(b));
		assert.deepEqual(a.body, b.body, 'the reply does not tell whether the address has an account');
		assert.ok(Math.abs(t2 - t1 - (t1 - t0)) < 500, `similar timings (${(t1 - t0).toFixed(1)} vs ${(t2 - t1).toFixed(1)} ms)`);
		const bad = await api('POST', '/api/v1/auth/forgot-password', { json: { email: 'not an address' } });
		assert.equal(bad.status, 400, show(bad));

		const deadline = Date.now() + 20000;
		let mail;
		while (!(mail = smtp.inbox.slice(before).find((x) => x.envelope.to.includes(email) && /reset/i.test(x.parsed.subject)))) {
			assert.ok(Date.now() < deadline, 'a reset mail arrives');
			await sleep(100);
		}
		const link = linkIn(mail.parsed.text, '/reset-password');
		assert.equal(link.origin, base);
		const token = link.searchParams.get('token');

		const short = await api('POST', '/api/v1/auth/reset-password', { json: { token, password: 'short' } });
		assert.equal(short.status, 400, show(short));
		const newPassword = 'Another-horse-staple-42';
		const ok = await api('POST', '/api/v1/auth/reset-password', { json: { token, password: newPassword } });
		assert.equal(ok.status, 200, show(ok));

		for (const tok of [reg.body.access_token, second.body.access_token]) {
			const me = await api('GET', '/api/v1/users/me', { token: tok });
			assert.equal(me.status, 401, `an access token of an old session stops working: ${show(me)}`);
		}
		const refresh = await api('POST', '/api/v1/auth/refresh', { json: { refresh_token: reg.body.refresh_token } });
		assert.equal(refresh.status, 401, show(refresh));
		const oldPw = await api('POST', '/api/v1/auth/login', { json: { email, password: PASSWORD } });
		assert.equal(oldPw.status, 401, show(oldPw));
		const newPw = await api('POST', '/api/v1/auth/login', { json: { email, password: newPassword } });
		assert.equal(newPw.status, 200, show(newPw));
		assert.equal(newPw.body.user.email_verified, true, 'receiving the reset mail proved the address');

		const reuse = await api('POST', '/api/v1/auth/reset-password', { json: { token, password: 'Third-horse-staple-43' } });
		assert.equal(reuse.status, 410, show(reuse));
		assert.equal(reuse.body.code, 'token_expired');
		const bogus = await api('POST', '/api/v1/auth/reset-password', { json: { token: 'pr_nope', password: 'Third-horse-staple-43' } });
		assert.equal(bogus.status, 404, show(bogus));

		await sleep(500);
		assert.ok(!smtp.inbox.some((x) => x.envelope.to.includes(unknown)), 'nothing is sent to an address without an account');
	});

	test('a second reset link makes the first one worthless', T, async () => {
		const email = uniqueEmail('twice');
		const reg = await api('POST', '/api/v1/auth/register', { json: { email, password: PASSWORD } });
		assert.equal(reg.status, 201);
		const resets = () => smtp.inbox.filter((x) => x.envelope.to.includes(email) && /reset/i.test(x.parsed.subject));
		for (let i = 1; i <= 2; i++) {
			assert.equal((await api('POST', '/api/v1/auth/forgot-password', { json: { email } })).status, 202);
			const deadline = Date.now() + 20000;
			while (resets().length < i) {
				assert.ok(Date.now() < deadline, `reset mail ${i} arrives`);
				await sleep(100);
			}
		}
		const [first, latest] = resets().map((m) => linkIn(m.parsed.text, '/reset-password').searchParams.get('token'));
		const r1 = await api('POST', '/api/v1/auth/reset-password', { json: { token: first, password: 'Another-horse-staple-42' } });
		assert.equal(r1.status, 410, show(r1));
		const r2 = await api('POST', '/api/v1/auth/reset-password', { json: { token: latest, password: 'Another-horse-staple-42' } });
		assert.equal(r2.status, 200, show(r2));
	});
});

describe('SMTP down', () => {
	test('the mail job is retried with backoff and delivered once the server is back', T, async () => {
		const smtpPort = await freePort();
		const iam = await startIamd(fs.mkdtempSync(path.join(tmpRoot, 'down-')), {
			IAM_JWT_SECRET: randomSecret(),
			IAM_WORKERS: '1',
			IAM_ASR: 'sphinx',
			IAM_SMTP_URL: `smtp://127.0.0.1:${smtpPort}`,
			IAM_JOB_BACKOFF_MS: '300',
			IAM_REGISTER_PER_HOUR: '0',
			...privateDatabaseEnv('mail'),
		});
		let smtp;
		try {
			const email = uniqueEmail('later');
			const reg = await requestAt(iam.base, 'POST', '/api/v1/auth/register', { json: { email, password: PASSWORD } });
			assert.equal(reg.status, 201, 'sign-up works while the mail server is down');
			// Let a few attempts fail (the log says so), then bring the server up.
			const deadline = Date.now() + 15000;
			while (!/mail not sent yet/.test(iam.stderr())) {
				assert.ok(Date.now() < deadline, `a failed attempt is logged: ${iam.stderr().slice(-2000)}`);
				await sleep(100);
			}
			assert.ok(!iam.stderr().includes(email), 'the address is not logged');
			// An invitation made now is created, and its list says the mail is not sent yet.
			const api = (method, p, opts) => requestAt(iam.base, method, p, opts);
			const org = await api('POST', '/api/v1/organizations', { token: reg.body.access_token, json: { name: 'Down Team' } });
			assert.equal(org.status, 201, show(org));
			const sw = await api('POST', '/api/v1/auth/switch-org', { token: reg.body.access_token, json: { organization_id: org.body.id } });
			const invitee = uniqueEmail('down-invitee');
			const inv = await api('POST', `/api/v1/organizations/${org.body.id}/invitations`, { token: sw.body.access_token, json: { email: invitee, role: 'member' } });
			assert.equal(inv.status, 201, show(inv));
			assert.equal(inv.body.mail, 'queued');
			const coll = await api('POST', '/api/v1/collections', { token: sw.body.access_token, json: { name: 'Down shelf' } });
			assert.equal(coll.status, 201, show(coll));
			const guest = uniqueEmail('down-guest');
			const cinv = await api('POST', `/api/v1/collections/${coll.body.id}/invitations`, { token: sw.body.access_token, json: { email: guest, role: 'viewer' } });
			assert.equal(cinv.status, 201, show(cinv));
			const mailOf = async () => {
				const l = await api('GET', `/api/v1/organizations/${org.body.id}/invitations`, { token: sw.body.access_token });
				const p = await api('GET', `/api/v1/collections/${coll.body.id}/people`, { token: sw.body.access_token });
				return [l.body.data.find((x) => x.id === inv.body.id).mail, p.body.invitations.find((x) => x.id === cinv.body.id).mail];
			};
			const d2 = Date.now() + 15000;
			let states;
			while ((states = await mailOf()).some((s) => s !== 'retrying')) {
				assert.ok(Date.now() < d2, `an attempt failed and is retried: ${states}`);
				await sleep(100);
			}
			smtp = await smtpPeer(smtpPort);
			const mail = await smtp.waitFor(email, 30000);
			assert.match(mail.parsed.subject, /confirm/i);
			await smtp.waitFor(invitee, 30000);
			await smtp.waitFor(guest, 30000);
			const d3 = Date.now() + 15000;
			while ((states = await mailOf()).some((s) => s !== 'sent')) {
				assert.ok(Date.now() < d3, `sent once delivered: ${states}`);
				await sleep(100);
			}
		} finally {
			await iam.stop();
			await smtp?.close();
		}
	});

	test('without SMTP iamd warns once at start-up and sign-up works unverified', T, async () => {
		const iam = await startIamd(fs.mkdtempSync(path.join(tmpRoot, 'none-')), { IAM_JWT_SECRET: randomSecret(), IAM_WORKERS: '0', ...privateDatabaseEnv('mail') });
		try {
			const reg = await requestAt(iam.base, 'POST', '/api/v1/auth/register', { json: { email: uniqueEmail('nosmtp'), password: PASSWORD } });
			assert.equal(reg.status, 201);
			assert.equal(reg.body.user.email_verified, false);
			const warnings = iam.stderr().split('\n').filter((l) => l.includes('IAM_SMTP_URL'));
			assert.equal(warnings.length, 1, iam.stderr());
			const forgot = await requestAt(iam.base, 'POST', '/api/v1/auth/forgot-password', { json: { email: reg.body.user.email } });
			assert.equal(forgot.status, 202);
			const resend = await requestAt(iam.base, 'POST', '/api/v1/auth/verify-email/resend', { token: reg.body.access_token });
			assert.equal(resend.status, 503, show(resend));
			assert.equal(resend.body.code, 'mail_not_configured');
		} finally {
			await iam.stop();
		}
	});
});

after(() => {
	dropPrivateDatabases();
	fs.rmSync(tmpRoot, { recursive: true, force: true });
});
