// A local stand-in for PayGate PayWeb3 (ZAR). It speaks PayWeb3's wire
// format: application/x-www-form-urlencoded both ways, upper-case field
// names, and an MD5 CHECKSUM of the field values in order plus the
// merchant's encryption key on every request and answer; errors as
// ERROR=<code>. The test side plays the card holder: pay(PAY_REQUEST_ID)
// settles a transaction and returns the notify callback PayGate would POST
// to NOTIFY_URL.

import http from 'node:http';
import crypto from 'node:crypto';

export const md5 = (s) => crypto.createHash('md5').update(s, 'utf8').digest('hex');

/** Ordered [key, value] pairs of a form body. */
export function parseOrdered(text) {
	return [...new URLSearchParams(text)];
}

/** The checksum of ordered pairs (every value but CHECKSUM) and the key. */
export function checksumOf(pairs, key) {
	return md5(pairs.filter(([k]) => k !== 'CHECKSUM').map(([, v]) => v).join('') + key);
}

/** Form-encode ordered pairs, adding CHECKSUM. */
export function signedForm(pairs, key) {
	const p = new URLSearchParams(pairs);
	p.append('CHECKSUM', checksumOf(pairs, key));
	return p.toString();
}

/**
 * Start it on 127.0.0.1 under /payweb3. Returns { base, requests,
 * transactions, pay(id, {status, tamper}) -> notify body, close() }.
 */
export async function startPaygateStandin({ paygateId, key }) {
	const requests = [];
	const transactions = new Map();
	let base = '';

	const reply = (res, status, body, type = 'text/html; charset=UTF-8') => {
		res.writeHead(status, { 'content-type': type });
		res.end(body);
	};

	const server = http.createServer((req, res) => {
		let body = '';
		req.setEncoding('utf8');
		req.on('data', (d) => (body += d));
		req.on('end', () => {
			const url = new URL(req.url, 'http://x');
			const pairs = req.method === 'GET' ? [...url.searchParams] : parseOrdered(body);
			const f = Object.fromEntries(pairs);
			requests.push({ method: req.method, path: url.pathname, headers: req.headers, pairs, fields: f });
			const err = (code) => reply(res, 200, `ERROR=${code}`);
			if (url.pathname === '/payweb3/initiate.trans' && req.method === 'POST') {
				if (f.PAYGATE_ID !== paygateId) return err('PGID_NOT_EN');
				if (f.CHECKSUM !== checksumOf(pairs, key)) return err('DATA_CHK');
				for (const k of ['REFERENCE', 'AMOUNT', 'CURRENCY', 'RETURN_URL', 'TRANSACTION_DATE', 'LOCALE', 'COUNTRY', 'EMAIL']) if (!f[k]) return err('DATA_' + k);
				const id = crypto.randomUUID().toUpperCase();
				transactions.set(id, { id, fields: f, status: 0, transactionId: String(Math.floor(Math.random() * 1e9)) });
				const out = [['PAYGATE_ID', paygateId], ['PAY_REQUEST_ID', id], ['REFERENCE', f.REFERENCE]];
				return reply(res, 200, signedForm(out, key));
			}
			if (url.pathname === '/payweb3/process.trans') {
				const t = transactions.get(f.PAY_REQUEST_ID);
				if (!t) return reply(res, 404, 'Unknown PAY_REQUEST_ID');
				if (f.CHECKSUM !== md5(paygateId + t.id + t.fields.REFERENCE + key)) return reply(res, 400, 'Checksum mismatch');
				return reply(res, 200, `<html><body><h1>PayGate test page</h1><p>Pay R ${(Number(t.fields.AMOUNT) / 100).toFixed(2)}</p></body></html>`);
			}
			if (url.pathname === '/payweb3/query.trans' && req.method === 'POST') {
				if (f.PAYGATE_ID !== paygateId) return err('PGID_NOT_EN');
				if (f.CHECKSUM !== checksumOf(pairs, key)) return err('DATA_CHK');
				const t = transactions.get(f.PAY_REQUEST_ID);
				if (!t || t.fields.REFERENCE !== f.REFERENCE) return err('DATA_PAY_REQ_ID');
				return reply(res, 200, signedForm(resultPairs(t), key));
			}
			reply(res, 404, 'not found');
		});
	});
	await new Promise((r) => server.listen(0, '127.0.0.1', r));
	base = `http://127.0.0.1:${server.address().port}/payweb3`;

	function resultPairs(t) {
		return [
			['PAYGATE_ID', paygateId],
			['PAY_REQUEST_ID', t.id],
			['REFERENCE', t.fields.REFERENCE],
			['TRANSACTION_STATUS', String(t.status)],
			['RESULT_CODE', t.status === 1 ? '990017' : '900003'],
			['AUTH_CODE', t.status === 1 ? 'X4J2KL' : ''],
			['CURRENCY', t.fields.CURRENCY],
			['AMOUNT', t.fields.AMOUNT],
			['RESULT_DESC', t.status === 1 ? 'Auth Done' : 'Insufficient Funds'],
			['TRANSACTION_ID', t.transactionId],
			['RISK_INDICATOR', 'AX'],
			['PAY_METHOD', 'CC'],
			['PAY_METHOD_DETAIL', 'Visa'],
		];
	}

	/**
	 * The card holder pays (status 1) or not (2 declined, 4 cancelled): the
	 * notify body PayGate would POST. tamper(pairs) may change fields before
	 * signing (sign: false keeps the original checksum).
	 */
	function pay(id, { status = 1, tamper, sign = true } = {}) {
		const t = transactions.get(id);
		if (!t) throw new Error(`no transaction ${id}`);
		t.status = status;
		const pairs = resultPairs(t);
		const sum = checksumOf(pairs, key);
		const changed = tamper ? tamper(pairs.map((p) => [...p])) : pairs;
		if (sign) return signedForm(changed, key);
		const p = new URLSearchParams(changed);
		p.append('CHECKSUM', sum);
		return p.toString();
	}

	return {
		get base() {
			return base;
		},
		requests,
		transactions,
		pay,
		close: () => new Promise((r) => server.close(r)),
	};
}
