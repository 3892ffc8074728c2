// Usage warnings by e-mail (issue 12 item 3): at 80 % and at 100 % of a
// plan's limit the organization's owners and admins get a notification and
// a mail (through the mail job, to a real SMTP peer: npm smtp-server, read
// back with mailparser), once per period each; a member gets nothing, and
// an owner or admin who turned quota_warning e-mails off gets no mail.
// The limit crossed here is the plan's chat messages (cheap to use up).
// Everything listens on 127.0.0.1; every wait is bounded.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PASSWORD, dropPrivateDatabases, freePort, privateDatabaseEnv, randomSecret, requestAt, show, sleep, startIamd, uniqueEmail } from './helpers.mjs';
import { plansOn } from './plans-admin.mjs';
import { smtpPeer } from './smtp-peer.mjs';

const T = { timeout: 180000 };
const tmpRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'iam-billmail-'));

describe('usage warnings by e-mail', () => {
	let smtp, iam, base, dbUrl;
	const api = (method, p, opts) => requestAt(base, method, p, opts);


	/** An owner with a team organization, plus one account per role who joined by invitation. */
	async function team(roles, tag) {
		const email = uniqueEmail(`${tag}-owner`);
		const reg = await api('POST', '/api/v1/auth/register', { json: { email, password: PASSWORD, first_name: 'Olga' } });
		assert.equal(reg.status, 201, show(reg));
		const org = await api('POST', '/api/v1/organizations', { token: reg.body.access_token, json: { name: `${tag} Studio` } });
		assert.equal(org.status, 201, show(org));
		const sw = await api('POST', '/api/v1/auth/switch-org', { token: reg.body.access_token, json: { organization_id: org.body.id } });
		assert.equal(sw.status, 200, show(sw));
		const people = { owner: { email, access: sw.body.access_token } };
		for (const role of roles) {
			const e = uniqueEmail(`${tag}-${role}`);
			const inv = await api('POST', `/api/v1/organizations/${org.body.id}/invitations`, { token: people.owner.access, json: { email: e, role } });
			assert.equal(inv.status, 201, show(inv));
			const su = await api('POST', '/api/v1/invitations/signup', { json: { token: inv.body.token, password: PASSWORD, first_name: role } });
			assert.equal(su.status, 201, show(su));
			people[role] = { email: e, access: su.body.access_token };
		}
		return { org: org.body, ...people };
	}

	/** One chat message; resolves to the HTTP status (200 once the answer's done event arrived). */
	async function ask(token, chatId, content) {
		const res = await fetch(`${base}/api/v1/chats/${chatId}/messages`, {
			method: 'POST',
			headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', accept: 'text/event-stream' },
			body: JSON.stringify({ content }),
			signal: AbortSignal.timeout(30000),
		});
		const text = await res.text();
		if (res.status === 200) assert.match(text, /event: done/, text);
		return res.status;
	}

	async function newChat(token) {
		const c = await api('POST', '/api/v1/chats', { token, json: {} });
		assert.equal(c.status, 201, show(c));
		return c.body.id;
	}

	before(async () => {
		smtp = await smtpPeer();
		const port = await freePort();
		const dataDir = fs.mkdtempSync(path.join(tmpRoot, 'srv-'));
		const own = privateDatabaseEnv('billmail');
		dbUrl = own.IAM_DATABASE_URL || `sqlite:${path.join(dataDir, 'iam.db')}`;
		iam = await startIamd(
			dataDir,
			{
				IAM_JWT_SECRET: randomSecret(),
				IAM_WORKERS: '1',
				IAM_SMTP_URL: `smtp://127.0.0.1:${smtp.port}`,
				IAM_MAIL_FROM: 'billing@iam.test',
				IAM_PUBLIC_URL: `http://127.0.0.1:${port}`,
				IAM_REGISTER_PER_HOUR: '0',
				...own,
			},
			{ port },
		);
		base = iam.base;
	});
	after(async () => {
		// It ends cleanly (under the sanitizers too: no leak, no error report).
		const exit = await iam?.stop();
		await smtp?.close();
		dropPrivateDatabases();
		fs.rmSync(tmpRoot, { recursive: true, force: true });
		if (exit) assert.equal(exit.code, 0, `iamd exit ${JSON.stringify(exit)}: ${iam.stderr().slice(-4000)}`);
	});

	test('80 % and 100 %: one mail each to owners and admins saying which limit, how much, when it resets, with the billing link; nothing to members; never twice in a period', T, async () => {
		const t = await team(['admin', 'member'], 'warn');
		const code = `t-${crypto.randomBytes(4).toString('hex')}`;
		plansOn(dbUrl, 'set', code, '--name', `Chatty ${code}`, '--chat', '5');
		plansOn(dbUrl, 'assign', t.org.id, code);
		const usage = await api('GET', '/api/v1/usage', { token: t.owner.access });
		assert.equal(usage.status, 200, show(usage));
		const resets = usage.body.resets_at; // 2026-12-01T00:00:00Z
		const chat = await newChat(t.owner.access);
		const WARN = /chat messages/;

		for (let i = 1; i <= 3; i++) assert.equal(await ask(t.owner.access, chat, `question ${i}?`), 200);
		await sleep(1500);
		assert.equal(smtp.matching(t.owner.email, WARN).length, 0, 'no warning at 60 %');

		assert.equal(await ask(t.owner.access, chat, 'question 4?'), 200); // 4 of 5: 80 %
		for (const who of [t.owner, t.admin]) {
			const [m] = await smtp.waitMatching(who.email, /80% of its chat messages/);
			const subject = m.parsed.subject;
			assert.match(subject, /^warn Studio has used 80% of its chat messages$/, subject);
			const text = m.parsed.text;
			assert.match(text, /has used 4 of its 5 chat messages \(80%\) on the Chatty t-[0-9a-f]+ plan/, text);
			assert.ok(text.includes(`resets on ${resets.slice(0, 10)} ${resets.slice(11, 16)} UTC`), `the reset time ${resets} in: ${text}`);
			assert.ok(text.includes(`${base}/billing`), `a link to billing in: ${text}`);
			assert.ok(m.parsed.html.includes(`href="${base}/billing"`), 'the HTML part links to billing');
		}
		assert.match(smtp.matching(t.owner.email, WARN)[0].parsed.text, /^Hello Olga,/);

		assert.equal(await ask(t.owner.access, chat, 'question 5?'), 200); // 5 of 5: 100 %
		for (const who of [t.owner, t.admin]) {
			const [m] = await smtp.waitMatching(who.email, /has used all of its chat messages/);
			assert.match(m.parsed.text, /has used 5 of its 5 chat messages \(100%\)/, m.parsed.text);
			assert.match(m.parsed.text, /refused until then/, m.parsed.text);
			assert.ok(m.parsed.text.includes(`${base}/billing`));
		}
		assert.equal(await ask(t.owner.access, chat, 'question 6?'), 402, 'past the limit');

		// A second crossing in the same period: the limit doubles (5 of 10 used), 80 % and
		// 100 % are passed again, and nobody is mailed again.
		plansOn(dbUrl, 'set', code, '--chat', '10');
		const adminChat = await newChat(t.admin.access);
		for (let i = 6; i <= 10; i++) assert.equal(await ask(t.admin.access, adminChat, `again ${i}?`), 200);
		await sleep(3000);
		for (const who of [t.owner, t.admin]) {
			assert.equal(smtp.matching(who.email, /80% of its chat messages/).length, 1, `one 80 % mail to ${who.email}`);
			assert.equal(smtp.matching(who.email, /all of its chat messages/).length, 1, `one 100 % mail to ${who.email}`);
		}
		assert.equal(smtp.matching(t.member.email, WARN).length, 0, 'members are not warned');

		// The same two warnings as notifications, for owners and admins only.
		for (const [who, want] of [[t.owner, 2], [t.admin, 2], [t.member, 0]]) {
			const n = await api('GET', '/api/v1/notifications', { token: who.access });
			assert.equal(n.status, 200, show(n));
			const warnings = n.body.data.filter((x) => x.type === 'quota_warning');
			assert.equal(warnings.length, want, show(n));
			if (want) assert.ok(warnings.some((x) => /5 of its 5 chat messages/.test(x.content)), show(n));
		}
	});

	test('an admin who turned quota_warning e-mails off gets the notification but no mail', T, async () => {
		const t = await team(['admin'], 'quiet');
		const off = await api('PUT', '/api/v1/notifications/preferences', { token: t.admin.access, json: { preferences: { quota_warning: { in_app: true, email: false } } } });
		assert.equal(off.status, 200, show(off));
		const code = `t-${crypto.randomBytes(4).toString('hex')}`;
		plansOn(dbUrl, 'set', code, '--name', `Tiny ${code}`, '--chat', '1');
		plansOn(dbUrl, 'assign', t.org.id, code);
		const chat = await newChat(t.owner.access);
		assert.equal(await ask(t.owner.access, chat, 'only question?'), 200);
		await smtp.waitMatching(t.owner.email, /all of its chat messages/);
		await sleep(2500);
		assert.equal(smtp.matching(t.admin.email, /chat messages/).length, 0, 'the admin said no e-mail');
		const n = await api('GET', '/api/v1/notifications', { token: t.admin.access });
		assert.ok(n.body.data.some((x) => x.type === 'quota_warning'), show(n));
	});
});
