// A local stand-in for an OpenAI-compatible chat completions API, speaking
// its exact streaming wire format: POST /v1/chat/completions with
// "stream": true answers text/event-stream lines
//   data: {"id":"chatcmpl-…","object":"chat.completion.chunk","created":…,
//          "model":…,"system_fingerprint":…,"choices":[{"index":0,
//          "delta":{"role":"assistant","content":""},"logprobs":null,
//          "finish_reason":null}]}
// then one chunk per token, a last chunk with "finish_reason":"stop", and
// "data: [DONE]"; errors are OpenAI's JSON error object
//   {"error":{"message":…,"type":…,"param":null,"code":…}}
// (429 with Retry-After, 5xx). POST /v1/embeddings answers OpenAI's
// embeddings list ({object: 'list', data: [{object: 'embedding', index,
// embedding}], model, usage}) with standin.embed(text) for each input.
//
// Tests script what the next requests get (standin.script = ['429', 'ok'])
// and read what was asked (standin.requests).
//   ok       the answer (standin.answer, or standin.summary when the system
//            prompt asks for a summary) streamed token by token
//   429      rate limited, Retry-After: 1
//   503      server error
//   garbage  200 text/event-stream whose data lines are not JSON
//   cutoff   two tokens, then the connection is dropped (no [DONE])
//   slow     one token, then silence for standin.slowMs, then the rest

import http from 'node:http';
import crypto from 'node:crypto';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** A 64-dimensional hashed bag of words (lower-case words of 3+ letters). */
export function bagOfWords(text) {
	const v = new Array(64).fill(0);
	for (const w of text.toLowerCase().match(/[a-z]{3,}/g) || []) {
		let h = 0;
		for (const ch of w) h = (h * 31 + ch.charCodeAt(0)) >>> 0;
		v[h % 64] += 1;
	}
	return v;
}

export async function startLlmStandin({ apiKey = 'sk-standin', model = 'standin-model-1' } = {}) {
	const st = {
		script: [],
		requests: [],
		answer: 'The giraffe budget was approved by the board on Monday [1].',
		// The answer to a request whose system prompt asks for a summary.
		summary: 'The giraffe budget was approved by the board. [0:00]\nA line that names no time.\n- The enclosure near the river came up. [0:04]',
		tokenDelayMs: 40,
		// POST /v1/embeddings: what each input becomes (default: hashed bag of words).
		embed: bagOfWords,
		embedRequests: [],
		slowMs: 4000,
		model,
		base: '',
		close: null,
	};
	const sockets = new Set();
	const err = (res, status, message, type, code, headers = {}) => {
		res.writeHead(status, { 'content-type': 'application/json', ...headers });
		res.end(JSON.stringify({ error: { message, type, param: null, code } }));
	};
	const chunk = (id, created, delta, finish = null) =>
		`data: ${JSON.stringify({
			id,
			object: 'chat.completion.chunk',
			created,
			model,
			system_fingerprint: 'fp_standin',
			choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
		})}\n\n`;
	const server = http.createServer(async (req, res) => {
		let body = '';
		for await (const c of req) body += c;
		if (req.method === 'POST' && req.url === '/v1/embeddings') {
			let ej;
			try {
				ej = JSON.parse(body);
			} catch {
				return err(res, 400, 'We could not parse the JSON body of your request.', 'invalid_request_error', null);
			}
			st.embedRequests.push({ at: Date.now(), headers: req.headers, body: ej });
			if (req.headers.authorization !== `Bearer ${apiKey}`)
				return err(res, 401, 'Incorrect API key provided.', 'invalid_request_error', 'invalid_api_key');
			const inputs = Array.isArray(ej.input) ? ej.input : [ej.input];
			res.writeHead(200, { 'content-type': 'application/json' });
			return res.end(
				JSON.stringify({
					object: 'list',
					data: inputs.map((t, index) => ({ object: 'embedding', index, embedding: st.embed(String(t)) })),
					model: ej.model,
					usage: { prompt_tokens: inputs.length, total_tokens: inputs.length },
				}),
			);
		}
		if (req.method !== 'POST' || req.url !== '/v1/chat/completions')
			return err(res, 404, `Unknown request URL: ${req.method} ${req.url}`, 'invalid_request_error', 'unknown_url');
		let json = null;
		try {
			json = JSON.parse(body);
		} catch {
			return err(res, 400, 'We could not parse the JSON body of your request.', 'invalid_request_error', null);
		}
		st.requests.push({ at: Date.now(), headers: req.headers, body: json });
		if (req.headers.authorization !== `Bearer ${apiKey}`)
			return err(res, 401, 'Incorrect API key provided.', 'invalid_request_error', 'invalid_api_key');
		const what = st.script.length ? st.script.shift() : 'ok';
		if (what === '429')
			return err(res, 429, 'Rate limit reached for requests. Please try again in 1s.', 'requests', 'rate_limit_exceeded', { 'retry-after': '1' });
		if (what === '503') return err(res, 503, 'The server is overloaded or not ready yet.', 'server_error', null);
		res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
		if (what === 'garbage') {
			res.write('data: {"id":"chatcmpl-x","object":"chat.completion.chunk","choi\n\n');
			res.write('data: <html>oops</html>\n\n');
			return res.end();
		}
		const id = `chatcmpl-${crypto.randomBytes(12).toString('base64url')}`;
		const created = Math.floor(Date.now() / 1000);
		res.write(chunk(id, created, { role: 'assistant', content: '' }));
		const system = (json.messages || []).find((m) => m.role === 'system')?.content || '';
		const answer = /summar/i.test(system) ? st.summary : st.answer;
		const tokens = answer.match(/\S+\s*/g) || [];
		for (let i = 0; i < tokens.length; i++) {
			if (what === 'cutoff' && i === 2) {
				res.socket.destroy();
				return;
			}
			if (what === 'slow' && i === 1) await sleep(st.slowMs);
			if (res.destroyed) return;
			res.write(chunk(id, created, { content: tokens[i] }));
			await sleep(st.tokenDelayMs);
		}
		res.write(chunk(id, created, {}, 'stop'));
		res.write('data: [DONE]\n\n');
		res.end();
	});
	server.on('connection', (s) => {
		sockets.add(s);
		s.on('close', () => sockets.delete(s));
	});
	await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
	st.base = `http://127.0.0.1:${server.address().port}/v1`;
	st.close = () =>
		new Promise((resolve) => {
			for (const s of sockets) s.destroy();
			server.close(() => resolve());
		});
	return st;
}
