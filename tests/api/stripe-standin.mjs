// A local stand-in for Stripe's API (the real one cannot be reached from
// the test machines). It speaks Stripe's wire format for what IAM uses:
// form-encoded requests (bracket notation), the secret key as Bearer, JSON
// objects (checkout.session, billing_portal.session, customer,
// subscription, invoice, event, billing.meter_event) and Stripe's error
// shape {"error": {"type", "code", "param", "message"}}. Idempotency-Key:
// the first response to a key is saved and replayed to a retry with the
// same parameters (Stripe v1 does so whatever the status, 500 included),
// a different body with the same key is an idempotency_error.
// Billing Meter events (POST /v1/billing/meter_events) are validated
// (event_name, payload[stripe_customer_id], payload[value] as a whole
// number, timestamp within the past 35 days or 5 minutes ahead) and kept
// in meterEvents; an identifier seen before is refused with Stripe's
// "An event already exists with identifier ..." (400, Stripe-Should-Retry:
// false) and not counted again. The test side plays the
// customer: completeCheckout() turns a session into a customer, an active
// subscription and a paid invoice, and returns the events Stripe would send
// (the test signs them with the official `stripe` package).

import http from 'node:http';
import crypto from 'node:crypto';

const rid = (prefix) => `${prefix}_test_${crypto.randomBytes(12).toString('hex')}`;
const nowS = () => Math.floor(Date.now() / 1000);

/** Parse application/x-www-form-urlencoded with Stripe's a[b][0][c]=v nesting. */
export function parseForm(text) {
	const out = {};
	for (const [rawKey, value] of new URLSearchParams(text)) {
		const parts = rawKey.split(/\[|\]\[|\]/).filter((p) => p !== '');
		let o = out;
		parts.forEach((p, i) => {
			const last = i === parts.length - 1;
			const nextIsIndex = !last && /^\d+$/.test(parts[i + 1]);
			if (last) o[p] = value;
			else o = o[p] ??= nextIsIndex ? [] : {};
		});
	}
	return out;
}

function stripeError(res, status, type, message, extra = {}, headers = {}) {
	res.writeHead(status, { 'content-type': 'application/json', 'request-id': rid('req'), ...headers });
	res.end(JSON.stringify({ error: { type, message, ...extra } }));
}

function send(res, obj) {
	res.writeHead(200, { 'content-type': 'application/json', 'request-id': rid('req') });
	res.end(JSON.stringify(obj));
}

/** A response object that also remembers what was sent (for idempotent replay). */
function recording(res, onDone) {
	const head = res.writeHead.bind(res);
	const end = res.end.bind(res);
	let status = 200;
	let headers = {};
	res.writeHead = (st, h = {}) => {
		status = st;
		headers = h;
		return head(st, h);
	};
	res.end = (body) => {
		onDone({ status, headers, body });
		return end(body);
	};
	return res;
}

/**
 * Start the stand-in on 127.0.0.1. Returns { base, requests, sessions,
 * customers, subscriptions, failNext(status, error), completeCheckout(id),
 * event(type, object, created), subscriptionObject(id), close() }.
 */
export async function startStripeStandin({ secretKey, webhook = null }) {
	const requests = [];
	const sessions = new Map();
	const customers = new Map();
	const subscriptions = new Map();
	const meterEvents = []; // accepted billing.meter_event objects, in order
	const meterIdentifiers = new Set();
	const idempotent = new Map(); // Idempotency-Key -> { body, status, headers, response }
	const pathFailures = []; // { path, times, status, type, message, accept }
	let fail = null;
	let base = '';

	const server = http.createServer((req, res) => {
		let body = '';
		req.setEncoding('utf8');
		req.on('data', (d) => (body += d));
		req.on('end', () => {
			const form = parseForm(body);
			requests.push({ method: req.method, path: req.url, headers: req.headers, body, form });
			// The hosted Checkout page a browser is sent to (webhook: {url, secret} to deliver events).
			const pay = /^\/c\/pay\/(cs_test_[0-9a-f]+)(\/confirm)?$/.exec(req.url);
			if (pay && sessions.has(pay[1])) {
				const s = sessions.get(pay[1]);
				if (!pay[2]) {
					res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
					return res.end(`<!doctype html><title>Checkout</title><h1>Pay ${(s.amount_total / 100).toFixed(2)} ${s.currency.toUpperCase()}</h1><form method="post" action="/c/pay/${s.id}/confirm"><button>Subscribe</button></form>`);
				}
				return void (async () => {
					const done = completeCheckout(s.id);
					if (webhook) {
						for (const ev of done.events) {
							const payload = JSON.stringify(ev);
							const Stripe = (await import('stripe')).default;
							const header = new Stripe(secretKey).webhooks.generateTestHeaderString({ payload, secret: webhook.secret });
							await fetch(webhook.url, { method: 'POST', body: payload, headers: { 'content-type': 'application/json', 'stripe-signature': header } });
						}
					}
					res.writeHead(303, { location: s.success_url.replace('{CHECKOUT_SESSION_ID}', s.id) });
					res.end();
				})();
			}
			const auth = req.headers.authorization || '';
			if (auth !== `Bearer ${secretKey}`) {
				return stripeError(res, 401, 'invalid_request_error', `Invalid API Key provided: ${auth.slice(7, 15)}***`);
			}
			if (req.method === 'POST' && !/^application\/x-www-form-urlencoded/.test(req.headers['content-type'] || '')) {
				return stripeError(res, 400, 'invalid_request_error', 'Stripe expects form-encoded bodies.');
			}
			if (fail) {
				const f = fail;
				fail = null;
				return stripeError(res, f.status, f.type || 'invalid_request_error', f.message, f.extra || {});
			}
			const idemKey = req.method === 'POST' ? req.headers['idempotency-key'] : undefined;
			if (idemKey) {
				const saved = idempotent.get(idemKey);
				if (saved && saved.body !== body) {
					return stripeError(res, 400, 'idempotency_error', `Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '${idemKey}' if you meant to execute a different request.`);
				}
				if (saved) {
					res.writeHead(saved.status, { ...saved.headers, 'idempotent-replayed': 'true' });
					return res.end(saved.response);
				}
				recording(res, (r) => idempotent.set(idemKey, { body, status: r.status, headers: r.headers, response: r.body }));
			}
			const pf = pathFailures.find((f) => f.path === req.url && f.times > 0);
			if (pf) {
				pf.times--;
				// accept: the request is carried out, then the answer is an error (a reply lost after the fact).
				if (!pf.accept) return stripeError(res, pf.status, pf.type, pf.message);
			}
			const missing = (names) => names.find((n) => form[n] === undefined);
			if (req.method === 'POST' && req.url === '/v1/checkout/sessions') {
				const m = missing(['mode', 'success_url', 'line_items']);
				if (m) return stripeError(res, 400, 'invalid_request_error', `Missing required param: ${m}.`, { code: 'parameter_missing', param: m });
				if (form.customer && !customers.has(form.customer)) {
					return stripeError(res, 400, 'invalid_request_error', `No such customer: '${form.customer}'`, { code: 'resource_missing', param: 'customer' });
				}
				const id = rid('cs');
				const item = form.line_items[0];
				const s = {
					id,
					object: 'checkout.session',
					mode: form.mode,
					status: 'open',
					url: `${base}/c/pay/${id}`,
					success_url: form.success_url,
					cancel_url: form.cancel_url,
					client_reference_id: form.client_reference_id ?? null,
					customer: form.customer ?? null,
					customer_email: form.customer_email ?? null,
					metadata: form.metadata ?? {},
					subscription: null,
					currency: item.price_data?.currency ?? 'usd',
					amount_total: Number(item.price_data?.unit_amount ?? 0),
					livemode: false,
					_price: item.price ?? `price_inline_${item.price_data?.unit_amount}`,
					_subscription_metadata: form.subscription_data?.metadata ?? {},
				};
				sessions.set(id, s);
				const { _price, _subscription_metadata, ...pub } = s;
				return send(res, pub);
			}
			if (req.method === 'POST' && req.url === '/v1/billing_portal/sessions') {
				if (!form.customer) return stripeError(res, 400, 'invalid_request_error', 'Missing required param: customer.', { code: 'parameter_missing', param: 'customer' });
				if (!customers.has(form.customer)) {
					return stripeError(res, 400, 'invalid_request_error', `No such customer: '${form.customer}'`, { code: 'resource_missing', param: 'customer' });
				}
				const id = rid('bps');
				return send(res, { id, object: 'billing_portal.session', customer: form.customer, return_url: form.return_url ?? null, url: `${base}/p/session/${id}`, livemode: false });
			}
			if (req.method === 'POST' && req.url === '/v1/billing/meter_events') {
				const need = (name, ok) => !ok && (stripeError(res, 400, 'invalid_request_error', `Missing required param: ${name}.`, { code: 'parameter_missing', param: name }), true);
				const p = form.payload;
				const miss =
					need('event_name', form.event_name) ||
					need('payload', p && typeof p === 'object') ||
					need('payload[stripe_customer_id]', p.stripe_customer_id) ||
					need('payload[value]', p.value !== undefined);
				if (miss) return;
				if (!/^\d+$/.test(p.value)) {
					return stripeError(res, 400, 'invalid_request_error', `Invalid integer: ${p.value}`, { code: 'parameter_invalid_integer', param: 'payload[value]' });
				}
				const ts = form.timestamp === undefined ? nowS() : Number(form.timestamp);
				if (!Number.isInteger(ts) || ts < nowS() - 35 * 86400 || ts > nowS() + 300) {
					return stripeError(res, 400, 'invalid_request_error', 'Timestamp must be within the past 35 calendar days or up to 5 minutes in the future.', { param: 'timestamp' });
				}
				const identifier = form.identifier ?? rid('mev');
				if (meterIdentifiers.has(identifier)) {
					return stripeError(res, 400, 'invalid_request_error', `An event already exists with identifier ${identifier}.`, {}, { 'stripe-should-retry': 'false' });
				}
				meterIdentifiers.add(identifier);
				const ev = { object: 'billing.meter_event', created: nowS(), event_name: form.event_name, identifier, livemode: false, payload: { ...p }, timestamp: ts };
				meterEvents.push(ev);
				if (pf?.accept) return stripeError(res, pf.status, pf.type, pf.message);
				return send(res, ev);
			}
			return stripeError(res, 404, 'invalid_request_error', `Unrecognized request URL (${req.method}: ${req.url}).`);
		});
	});
	await new Promise((r) => server.listen(0, '127.0.0.1', r));
	base = `http://127.0.0.1:${server.address().port}`;

	function event(type, object, created = nowS()) {
		return { id: rid('evt'), object: 'event', api_version: '2024-06-20', created, livemode: false, pending_webhooks: 1, request: { id: null, idempotency_key: null }, type, data: { object } };
	}

	function subscriptionObject(id) {
		return structuredClone(subscriptions.get(id));
	}

	/** The customer pays: a customer, an active subscription, a paid invoice; the events in Stripe's order. */
	function completeCheckout(sessionId, { created = nowS() } = {}) {
		const s = sessions.get(sessionId);
		if (!s) throw new Error(`no session ${sessionId}`);
		let cus = s.customer;
		if (!cus) {
			cus = rid('cus');
			customers.set(cus, { id: cus, object: 'customer', email: s.customer_email });
		}
		const start = created;
		const end = start + 30 * 86400;
		const sub = {
			id: rid('sub'),
			object: 'subscription',
			customer: cus,
			status: 'active',
			metadata: s._subscription_metadata,
			current_period_start: start,
			current_period_end: end,
			cancel_at_period_end: false,
			items: { object: 'list', data: [{ id: rid('si'), object: 'subscription_item', price: { id: s._price, object: 'price', currency: s.currency, unit_amount: s.amount_total, recurring: { interval: 'month' } }, quantity: 1, current_period_start: start, current_period_end: end }] },
			livemode: false,
		};
		subscriptions.set(sub.id, sub);
		Object.assign(s, { status: 'complete', customer: cus, subscription: sub.id, payment_status: 'paid' });
		const { _price, _subscription_metadata, ...session } = s;
		const invoice = {
			id: rid('in'),
			object: 'invoice',
			customer: cus,
			subscription: sub.id,
			status: 'paid',
			currency: s.currency,
			amount_due: s.amount_total,
			amount_paid: s.amount_total,
			subscription_details: { metadata: sub.metadata },
			lines: { object: 'list', data: [{ id: rid('il'), object: 'line_item', amount: s.amount_total, currency: s.currency, period: { start, end } }] },
		};
		return {
			customer: cus,
			subscription: sub.id,
			invoice,
			events: [event('customer.subscription.created', structuredClone(sub), created), event('checkout.session.completed', session, created), event('invoice.paid', invoice, created)],
		};
	}

	return {
		get base() {
			return base;
		},
		requests,
		sessions,
		customers,
		subscriptions,
		failNext(status, message, extra) {
			fail = { status, message, extra };
		},
		meterEvents,
		/**
		 * The next `times` requests to path answer status in Stripe's error shape (500:
		 * api_error, 429: rate_limit_error, else invalid_request_error). accept: carry the
		 * request out first (the answer is lost, as after a timeout).
		 */
		failPath(path, times, status, { message, accept = false } = {}) {
			const type = status >= 500 ? 'api_error' : status === 429 ? 'rate_limit_error' : 'invalid_request_error';
			pathFailures.push({ path, times, status, type, accept, message: message || (status >= 500 ? 'An unknown error occurred' : status === 429 ? 'Too many requests hit the API too quickly.' : 'The request was refused.') });
		},
		event,
		subscriptionObject,
		completeCheckout,
		close: () => new Promise((r) => server.close(r)),
	};
}
