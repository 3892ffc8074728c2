#!/usr/bin/env node
// Helper for bench/asr.sh: the HTTP and arithmetic parts of the ASR
// benchmark, one subcommand per step. Each prints `key=value` lines on
// stdout for the shell script (values never contain a newline); progress
// and errors go to stderr.
//
//   node bench/asr-tool.mjs text OUT WORDS           reference text of about WORDS words -> OUT
//   node bench/asr-tool.mjs apikey BASE              register on BASE, create an API key -> key=iam_...
//   node bench/asr-tool.mjs job BASE FILE [opts]     register, create a meeting, upload FILE (raw body),
//        poll until completed; opts: --pid PID (sample VmRSS every 0.5 s while it runs),
//        --max-s S (stop after S s of processing and DELETE the meeting),
//        --transcript OUT (write the transcript text), --json OUT (and its JSON), --provider NAME
//        (one engine of the chain), --timeout S (give up, default 1800)
//   node bench/asr-tool.mjs wer REF_FILE HYP_FILE    word error rate (Levenshtein over words)
//   node bench/asr-tool.mjs tus BASE FILE [CHUNK_MIB] tus-js-client upload, time to onSuccess; DELETE the meeting
//   node bench/asr-tool.mjs wav OUT BYTES            a WAV (16 kHz mono s16) of exactly BYTES: header + zeros (sparse)
//
// Everything talks to iamd over HTTP only, as any client would.

import fs from 'node:fs';
import crypto from 'node:crypto';

const PASSWORD = 'bench-password-1';
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const out = (k, v) => process.stdout.write(`${k}=${String(v).replace(/\n/g, ' ')}\n`);
const log = (...a) => process.stderr.write(`asr-tool: ${a.join(' ')}\n`);
const fail = (msg) => {
	log(msg);
	process.exit(1);
};
const now = () => performance.now() / 1000;

async function call(base, method, path, { token, json, body, headers = {}, timeout = 60000 } = {}) {
	const h = { ...headers };
	if (token) h.authorization = `Bearer ${token}`;
	let b = body;
	if (json !== undefined) {
		b = JSON.stringify(json);
		h['content-type'] = 'application/json';
	}
	const res = await fetch(base + path, { method, headers: h, body: b, signal: AbortSignal.timeout(timeout) });
	const text = await res.text();
	let data = null;
	try {
		data = text ? JSON.parse(text) : null;
	} catch {
		/* not JSON */
	}
	return { status: res.status, data, text, headers: res.headers };
}

async function register(base, tag) {
	const email = `bench.${tag}.${process.pid}.${crypto.randomBytes(4).toString('hex')}@example.com`;
	const r = await call(base, 'POST', '/api/v1/auth/register', { json: { email, password: PASSWORD } });
	if (r.status !== 201) fail(`register at ${base}: ${r.status} ${r.text.slice(0, 300)}`);
	return r.data.access_token;
}

// ---------------------------------------------------------------- text

// Sentences espeak-ng reads clearly (several from tests/api/audio.mjs);
// each paragraph takes them in a different order so the text is not one
// block repeated verbatim.
const SENTENCES = [
	'hello world this is a test of the meeting system.',
	'we need to finish the project by next week.',
	'the president of the united states.',
	'she went to the store to buy some milk.',
	'the team agreed to move the deadline.',
	'the company reported strong sales this year.',
	'good morning everyone.',
	'please send the report before friday afternoon.',
	'the new office will open in the spring.',
	'our customers asked for a simpler price list.',
	'the budget for the next quarter is still under review.',
	'can you share the slides after the call.',
	'the engineers fixed the problem on monday.',
	'let us schedule another meeting for thursday morning.',
	'the weather was cold and the roads were closed.',
	'thank you all for coming today.',
];

function referenceText(words) {
	const paras = [];
	let n = 0;
	for (let p = 0; n < words; p++) {
		// a fixed permutation per paragraph: stride 5 over 16 sentences (coprime) from offset p
		const para = [];
		for (let i = 0; i < 6; i++) para.push(SENTENCES[(p * 7 + i * 5) % SENTENCES.length]);
		const s = para.join(' ');
		paras.push(s);
		n += s.split(/\s+/).length;
	}
	return paras.join('\n') + '\n';
}

// ---------------------------------------------------------------- WER

function words(text) {
	return String(text || '')
		.toLowerCase()
		.replace(/[^a-z0-9' ]+/g, ' ')
		.split(/\s+/)
		.map((w) => w.replace(/^'+|'+$/g, ''))
		.filter(Boolean);
}

/** Levenshtein alignment over words: { sub, del, ins } (minimum total edits). */
function editCounts(ref, hyp) {
	const m = ref.length;
	const n = hyp.length;
	// rows of [cost, sub, del, ins]; two rows suffice
	let prev = [];
	for (let j = 0; j <= n; j++) prev.push([j, 0, 0, j]);
	for (let i = 1; i <= m; i++) {
		const cur = [[i, 0, i, 0]];
		for (let j = 1; j <= n; j++) {
			const d = prev[j - 1];
			const same = ref[i - 1] === hyp[j - 1];
			let best = [d[0] + (same ? 0 : 1), d[1] + (same ? 0 : 1), d[2], d[3]];
			const up = prev[j]; // deletion of ref[i-1]
			if (up[0] + 1 < best[0]) best = [up[0] + 1, up[1], up[2] + 1, up[3]];
			const left = cur[j - 1]; // insertion of hyp[j-1]
			if (left[0] + 1 < best[0]) best = [left[0] + 1, left[1], left[2], left[3] + 1];
			cur.push(best);
		}
		prev = cur;
	}
	const [, sub, del, ins] = prev[n];
	return { sub, del, ins };
}

function wer(refText, hypText) {
	const ref = words(refText);
	const hyp = words(hypText);
	const { sub, del, ins } = editCounts(ref, hyp);
	return { wer: ref.length ? (sub + del + ins) / ref.length : 0, ref: ref.length, hyp: hyp.length, sub, del, ins };
}

// ---------------------------------------------------------------- RSS sampling

function status(pid) {
	try {
		const s = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
		const kb = (k) => Number((new RegExp(`^${k}:\\s+(\\d+)`, 'm').exec(s) || [])[1] || 0);
		return { rss: kb('VmRSS'), hwm: kb('VmHWM') };
	} catch {
		return null;
	}
}

function rssSampler(pid) {
	const samples = []; // [t, kB]
	const t0 = now();
	const take = () => {
		const s = status(pid);
		if (s) samples.push([now() - t0, s.rss]);
	};
	take();
	const timer = setInterval(take, 500);
	return {
		stop() {
			clearInterval(timer);
			take();
			return samples;
		},
	};
}

// ---------------------------------------------------------------- job

function opts(args) {
	const o = {};
	for (let i = 0; i < args.length; i++) {
		if (args[i].startsWith('--')) o[args[i].slice(2)] = args[++i];
	}
	return o;
}

async function job(base, file, o) {
	const maxS = o['max-s'] ? Number(o['max-s']) : 0;
	const timeout = Number(o.timeout || 1800);
	const pid = o.pid ? Number(o.pid) : 0;
	const token = await register(base, 'job');
	const m = await call(base, 'POST', '/api/v1/meetings', { token, json: { title: 'bench asr' } });
	if (m.status !== 201) fail(`create meeting: ${m.status} ${m.text.slice(0, 300)}`);
	const id = m.data.id;
	const buf = fs.readFileSync(file);
	const name = file.split('/').pop();
	const sampler = pid ? rssSampler(pid) : null;
	const t0 = now();
	const qs = o.provider ? '&transcribe=false' : ''; // one engine of the chain: store, then transcribe with it
	const up = await call(base, 'POST', `/api/v1/meetings/${id}/upload?filename=${encodeURIComponent(name)}${qs}`, {
		token,
		body: buf,
		headers: { 'content-type': 'application/octet-stream' },
		timeout: 300000,
	});
	const tUp = now();
	if (up.status !== 200) fail(`upload: ${up.status} ${up.text.slice(0, 300)}`);
	if (o.provider) {
		const tr = await call(base, 'POST', `/api/v1/meetings/${id}/transcribe`, { token, json: { language: 'en', provider: o.provider } });
		if (tr.status !== 202) fail(`transcribe: ${tr.status} ${tr.text.slice(0, 300)}`);
	}
	let last = null;
	let startedAt = null; // client clock when first seen processing
	let stopped = false;
	for (;;) {
		const r = await call(base, 'GET', `/api/v1/meetings/${id}`, { token });
		if (r.status !== 200) fail(`GET meeting: ${r.status} ${r.text.slice(0, 300)}`);
		last = r.data;
		if (last.status === 'processing' && startedAt === null) startedAt = now();
		if (last.status === 'completed' || last.status === 'failed') break;
		if (maxS && startedAt !== null && now() - startedAt >= maxS) {
			stopped = true;
			break;
		}
		if (now() - t0 > timeout) fail(`meeting ${id} not done after ${timeout} s: ${JSON.stringify(last).slice(0, 500)}`);
		await sleep(250);
	}
	const tEnd = now();
	const samples = sampler ? sampler.stop() : [];
	const end = status(pid);
	if (stopped) {
		const d = await call(base, 'DELETE', `/api/v1/meetings/${id}`, { token });
		if (d.status !== 204 && d.status !== 200) log(`DELETE meeting: ${d.status} ${d.text.slice(0, 200)}`);
	}
	out('meeting_id', id);
	out('status', stopped ? 'stopped' : last.status);
	out('progress', last.progress);
	out('duration_s', last.duration_seconds);
	out('file_bytes', buf.length);
	out('upload_s', (tUp - t0).toFixed(3));
	out('client_s', (tEnd - t0).toFixed(3)); // upload start to seen completed, by the client's clock
	out('provider', last.provider_used);
	out('model', last.model_used);
	if (last.status === 'failed') out('error', last.processing_error);
	const steps = last.processing_steps || [];
	const tr = steps.filter((s) => s.step === 'transcribe');
	const ok = tr.filter((s) => s.ok !== false);
	out('transcribe_s', ok.length ? ok[ok.length - 1].seconds : tr.reduce((a, s) => a + (s.seconds || 0), 0));
	out('steps', steps.map((s) => `${s.step}${s.engine ? `:${s.engine}` : ''}=${Number(s.seconds || 0).toFixed(2)}`).join(','));
	if (last.processing_started_at && last.processing_completed_at) {
		out('wall_s', ((Date.parse(last.processing_completed_at) - Date.parse(last.processing_started_at)) / 1000).toFixed(3));
	} else {
		out('wall_s', '');
	}
	if (startedAt !== null) out('processing_seen_s', (tEnd - startedAt).toFixed(1));
	if (sampler) {
		const peak = samples.reduce((a, s) => Math.max(a, s[1]), 0);
		out('rss_samples', samples.length);
		out('rss_first_kb', samples.length ? samples[0][1] : 0);
		out('rss_peak_kb', peak);
		out('hwm_kb', end ? end.hwm : 0);
		// trend: the peak within each quarter of the sampled time
		const T = samples.length ? samples[samples.length - 1][0] : 0;
		const q = [0.25, 0.5, 0.75, 1].map((f, i) => {
			const lo = i * 0.25 * T;
			const hi = f * T;
			const inq = samples.filter((s) => s[0] >= lo && s[0] <= hi + 1e-9);
			return `${Math.round(f * 100)}%@${hi.toFixed(0)}s:${Math.round(inq.reduce((a, s) => Math.max(a, s[1]), 0) / 1024)}`;
		});
		out('rss_trend_mib', q.join(' '));
		if (o.samples) fs.writeFileSync(o.samples, samples.map((s) => `${s[0].toFixed(1)} ${s[1]}`).join('\n') + '\n');
	}
	if (o.transcript && last.status === 'completed') {
		const t = await call(base, 'GET', `/api/v1/meetings/${id}/transcript`, { token });
		if (t.status !== 200) fail(`GET transcript: ${t.status} ${t.text.slice(0, 300)}`);
		fs.writeFileSync(o.transcript, (t.data.text || '') + '\n');
		if (o.json) fs.writeFileSync(o.json, JSON.stringify(t.data));
	}
}

// ---------------------------------------------------------------- tus

async function tusUpload(base, file, chunkMiB) {
	const tus = await import('tus-js-client');
	const token = await register(base, 'tus');
	const size = fs.statSync(file).size;
	let meetingId = null;
	const t0 = now();
	const url = await new Promise((resolve, reject) => {
		const up = new tus.Upload(fs.createReadStream(file), {
			endpoint: `${base}/api/v1/uploads`,
			headers: { Authorization: `Bearer ${token}` },
			chunkSize: chunkMiB * 1024 * 1024,
			uploadSize: size,
			retryDelays: null,
			metadata: { filename: file.split('/').pop(), title: 'bench tus' },
			onAfterResponse: (req, res) => {
				const id = res.getHeader('X-Meeting-Id') || res.getHeader('x-meeting-id');
				if (id) meetingId = id;
			},
			onSuccess: () => resolve(up.url),
			onError: reject,
		});
		up.start();
	});
	const secs = now() - t0;
	if (!meetingId) fail(`tus upload ${url} finished without X-Meeting-Id`);
	const m = await call(base, 'GET', `/api/v1/meetings/${meetingId}`, { token });
	out('meeting_status', m.data && m.data.status);
	out('meeting_file_size', m.data && m.data.file_size);
	const d = await call(base, 'DELETE', `/api/v1/meetings/${meetingId}`, { token });
	if (d.status !== 204 && d.status !== 200) log(`DELETE meeting ${meetingId}: ${d.status} ${d.text.slice(0, 200)}`);
	out('bytes', size);
	out('seconds', secs.toFixed(3));
	out('mb_s', (size / 1e6 / secs).toFixed(1));
	out('mib_s', (size / 1048576 / secs).toFixed(1));
	out('meeting_id', meetingId);
	out('delete_status', d.status);
}

// ---------------------------------------------------------------- main

const [cmd, ...args] = process.argv.slice(2);
try {
	switch (cmd) {
		case 'text':
			fs.writeFileSync(args[0], referenceText(Number(args[1] || 700)));
			out('words', words(fs.readFileSync(args[0], 'utf8')).length);
			break;
		case 'apikey': {
			const token = await register(args[0], 'key');
			const r = await call(args[0], 'POST', '/api/v1/api-keys', { token, json: { name: 'bench asr' } });
			if (r.status !== 201) fail(`create API key: ${r.status} ${r.text.slice(0, 300)}`);
			out('key', r.data.key);
			break;
		}
		case 'job':
			await job(args[0], args[1], opts(args.slice(2)));
			break;
		case 'wer': {
			const w = wer(fs.readFileSync(args[0], 'utf8'), fs.readFileSync(args[1], 'utf8'));
			out('wer', w.wer.toFixed(4));
			for (const k of ['ref', 'hyp', 'sub', 'del', 'ins']) out(k, w[k]);
			break;
		}
		case 'wav': {
			// 44-byte RIFF/WAVE header announcing BYTES - 44 bytes of 16 kHz mono s16 PCM, then a hole of zeros
			const bytes = Number(args[1]);
			const h = Buffer.alloc(44);
			h.write('RIFF', 0, 'latin1');
			h.writeUInt32LE(bytes - 8, 4);
			h.write('WAVE', 8, 'latin1');
			h.write('fmt ', 12, 'latin1');
			h.writeUInt32LE(16, 16);
			h.writeUInt16LE(1, 20); // PCM
			h.writeUInt16LE(1, 22); // mono
			h.writeUInt32LE(16000, 24);
			h.writeUInt32LE(32000, 28);
			h.writeUInt16LE(2, 32);
			h.writeUInt16LE(16, 34);
			h.write('data', 36, 'latin1');
			h.writeUInt32LE(bytes - 44, 40);
			fs.writeFileSync(args[0], h);
			fs.truncateSync(args[0], bytes);
			out('bytes', bytes);
			out('seconds', (bytes - 44) / 32000);
			break;
		}
		case 'tus':
			await tusUpload(args[0], args[1], Number(args[2] || 64));
			break;
		default:
			fail(`unknown command ${cmd || ''} (text, apikey, job, wer, tus, wav)`);
	}
} catch (e) {
	fail(e && e.stack ? e.stack : String(e));
}
