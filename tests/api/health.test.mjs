// Health, readiness and Prometheus metrics.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { assertJson, assertSecurityHeaders, get, show, sleep } from './helpers.mjs';

const T = { timeout: 30000 };

/** Parse Prometheus text exposition into [{name, labels, value}] samples. */
function parseMetrics(text) {
	const samples = [];
	for (const line of text.split('\n')) {
		if (line === '' || line.startsWith('#')) continue;
		const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)(\s+-?\d+)?$/.exec(line);
		assert.ok(m, `not a Prometheus sample line: ${JSON.stringify(line)}`);
		const labels = {};
		if (m[3] !== undefined) {
			const re = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*(,|$)/gy;
			let lm;
			let consumed = 0;
			while ((lm = re.exec(m[3])) !== null) {
				labels[lm[1]] = lm[2].replace(/\\n/g, '\n').replace(/\\"/g, '"').replace(/\\\\/g, '\\');
				consumed = re.lastIndex;
				if (consumed >= m[3].length) break;
			}
			assert.equal(consumed, m[3].length, `bad label set in ${JSON.stringify(line)}`);
		}
		const value = m[4] === '+Inf' ? Infinity : m[4] === '-Inf' ? -Infinity : Number(m[4]);
		assert.ok(!Number.isNaN(value) || m[4] === 'NaN', `bad sample value in ${JSON.stringify(line)}`);
		samples.push({ name: m[1], labels, value });
	}
	return samples;
}

async function metrics() {
	const res = await get('/metrics');
	assert.equal(res.status, 200, show(res));
	assert.match(res.headers.get('content-type') || '', /^text\/plain/i);
	return { res, samples: parseMetrics(res.text) };
}

function healthzCount(samples) {
	return samples
		.filter(
			(s) =>
				s.name === 'iam_http_requests_total' &&
				s.labels.route === '/healthz' &&
				s.labels.method === 'GET' &&
				(s.labels.status === '200' || s.labels.status === '2xx'),
		)
		.reduce((a, s) => a + s.value, 0);
}

// The counter may be bumped when the request completes, just after the reply
// left; give it a moment rather than racing it.
async function healthzCountAtLeast(min) {
	let last = 0;
	for (let i = 0; i < 40; i++) {
		last = healthzCount((await metrics()).samples);
		if (last >= min) return last;
		await sleep(50);
	}
	return last;
}

describe('health', T, () => {
	test('GET /healthz -> 200 {"status":"ok"}', async () => {
		const res = await get('/healthz');
		const body = assertJson(res, 200);
		assert.deepEqual(body, { status: 'ok' });
	});

	test('GET /readyz -> 200 {"status":"ready", ...}', async () => {
		const res = await get('/readyz');
		const body = assertJson(res, 200);
		assert.equal(body.status, 'ready');
	});
});

describe('metrics', T, () => {
	test('Prometheus text with the HTTP and pool families', async () => {
		await get('/healthz');
		const { res, samples } = await metrics();
		assertSecurityHeaders(res);
		const text = res.text;
		assert.ok(text.includes('iam_http_requests_total{'), 'iam_http_requests_total{ missing');
		assert.ok(text.includes('iam_http_request_duration_seconds_bucket{'), 'duration histogram buckets missing');

		const reqs = samples.filter((s) => s.name === 'iam_http_requests_total');
		assert.ok(reqs.length > 0);
		for (const s of reqs) {
			for (const l of ['route', 'method', 'status']) assert.ok(l in s.labels, `label ${l} missing on ${JSON.stringify(s)}`);
			assert.ok(Number.isFinite(s.value) && s.value >= 0);
		}

		const buckets = samples.filter((s) => s.name === 'iam_http_request_duration_seconds_bucket');
		assert.ok(buckets.length > 0);
		for (const s of buckets) assert.ok('le' in s.labels, `bucket without le: ${JSON.stringify(s)}`);
		assert.ok(buckets.some((s) => s.labels.le === '+Inf'), 'histogram needs an le="+Inf" bucket');

		for (const name of ['iam_http_requests_in_flight', 'iam_db_pool_connections_in_use', 'iam_db_pool_size']) {
			const found = samples.filter((s) => s.name === name);
			assert.ok(found.length > 0, `${name} missing`);
			for (const s of found) assert.ok(Number.isFinite(s.value) && s.value >= 0, `${name} value ${s.value}`);
		}
	});

	test('the /healthz counter exists and grows with each call', async () => {
		await get('/healthz');
		const before = await healthzCountAtLeast(1);
		assert.ok(before >= 1, 'no iam_http_requests_total sample for route="/healthz" method="GET" status="200"');
		await get('/healthz');
		const after = await healthzCountAtLeast(before + 1);
		assert.ok(after >= before + 1, `counter did not grow: ${before} -> ${after}`);
	});

	test('unknown paths do not create a route label per path', async () => {
		const path = `/no-such-route-${Date.now()}`;
		await get(path);
		const { res } = await metrics();
		assert.ok(!res.text.includes(path), 'a raw unknown path leaked into metric labels (unbounded cardinality)');
	});
});

describe('connection and event-stream metrics', T, () => {
	test('/metrics has the open connections and streams gauges and the refusal counters', async () => {
		const { samples } = await metrics();
		const one = (name, labels = {}) =>
			samples.filter((x) => x.name === name && Object.entries(labels).every(([k, v]) => x.labels[k] === v));
		assert.equal(one('iam_http_connections_open').length, 1);
		assert.ok(one('iam_http_connections_open')[0].value >= 1, 'this very connection is open');
		for (const reason of ['per_ip', 'global', 'head_timeout'])
			assert.equal(one('iam_http_connections_refused_total', { reason }).length, 1, reason);
		assert.equal(one('iam_sse_streams_open').length, 1);
		for (const cap of ['user', 'meeting', 'total'])
			assert.equal(one('iam_sse_streams_refused_total', { cap }).length, 1, cap);
		assert.equal(one('iam_sse_streams_session_ended_total').length, 1);
	});
});
