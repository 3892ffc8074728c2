// A real SMTP peer for the tests (npm smtp-server), on 127.0.0.1: it keeps
// every message it gets, parsed by mailparser, with its envelope. The one
// copy every mail test uses.

import assert from 'node:assert/strict';
import { SMTPServer } from 'smtp-server';
import { simpleParser } from 'mailparser';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Listen on port (0: any free one). Messages in `inbox`:
 * {raw, parsed, to: [addresses], envelope: {from, to}}.
 */
export async function smtpPeer(port = 0) {
	const inbox = [];
	const server = new SMTPServer({
		authOptional: true,
		hideSTARTTLS: true,
		disableReverseLookup: true,
		logger: false,
		onData(stream, session, cb) {
			const chunks = [];
			stream.on('data', (d) => chunks.push(d));
			stream.on('end', async () => {
				const raw = Buffer.concat(chunks);
				try {
					const parsed = await simpleParser(raw);
					const to = session.envelope.rcptTo.map((r) => r.address);
					inbox.push({ raw: raw.toString('latin1'), parsed, to, envelope: { from: session.envelope.mailFrom.address, to } });
					cb();
				} catch (e) {
					cb(e);
				}
			});
		},
	});
	await new Promise((resolve, reject) => {
		server.once('error', reject);
		server.listen(port, '127.0.0.1', resolve);
	});
	const subjects = () => inbox.map((m) => `${m.to}: ${m.parsed.subject}`).join('; ');
	return {
		port: server.server.address().port,
		inbox,
		close: () => new Promise((r) => server.close(r)),
		/** Messages to `to` whose subject matches re. */
		matching: (to, re = /./) => inbox.filter((m) => m.to.includes(to) && re.test(m.parsed.subject || '')),
		/** The first message to `to` (waits up to ms). */
		async waitFor(to, ms = 20000) {
			return (await this.waitMatching(to, /./, 1, ms))[0];
		},
		/** Wait until `count` messages to `to` match re (up to ms); returns them. */
		async waitMatching(to, re, count = 1, ms = 20000) {
			const deadline = Date.now() + ms;
			for (;;) {
				const got = this.matching(to, re);
				if (got.length >= count) return got;
				if (Date.now() > deadline) assert.fail(`no ${count} mail(s) to ${to} matching ${re} within ${ms} ms (inbox: ${subjects()})`);
				await sleep(100);
			}
		},
	};
}
