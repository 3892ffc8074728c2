// Shared helpers for the browser tests (node:test + playwright-core driving
// Debian's /usr/bin/chromium; never a downloaded browser). Run through
// scripts/run-browser-tests, which starts iamd serving web/dist and sets
// IAM_BASE_URL.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

export const BASE = (process.env.IAM_BASE_URL || 'http://127.0.0.1:8080').replace(/\/+$/, '');
export const PASSWORD = 'Correct-horse-battery-9';
export const CHROMIUM = process.env.IAM_CHROMIUM || '/usr/bin/chromium';
const HERE = path.dirname(fileURLToPath(import.meta.url));
export const SHOTS = path.join(HERE, 'screenshots');

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const ARGS = [
	'--headless',
	'--no-sandbox',
	'--disable-gpu',
	'--no-first-run',
	'--disable-background-networking',
	'--disable-component-update',
	'--disable-sync',
	'--disable-quic',
	// <audio> plays without a sound card; clicks are user gestures anyway
	'--autoplay-policy=no-user-gesture-required',
	'--use-fake-ui-for-media-stream',
	'--use-fake-device-for-media-stream',
];

let tmpRoot = null;
/** A temporary directory removed when the process exits. */
export function tmpDir(tag = 'b') {
	if (!tmpRoot) {
		tmpRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'iam-browser-'));
		process.on('exit', () => {
			try {
				fs.rmSync(tmpRoot, { recursive: true, force: true });
			} catch {
				/* best effort */
			}
		});
	}
	return fs.mkdtempSync(path.join(tmpRoot, `${tag}-`));
}

/**
 * Start Chromium with a fresh profile. Returns { context, page, close,
 * errors } where errors collects page errors and console errors (CSP
 * violations show up there).
 */
export async function launch({ viewport = { width: 1280, height: 860 }, acceptDownloads = true } = {}) {
	const context = await chromium.launchPersistentContext(tmpDir('profile'), {
		executablePath: CHROMIUM,
		headless: true,
		args: ARGS,
		viewport,
		acceptDownloads,
		baseURL: BASE,
		locale: 'en-US',
		timezoneId: 'UTC',
	});
	context.setDefaultTimeout(15000);
	const page = context.pages()[0] || (await context.newPage());
	const errors = [];
	const watch = (p) => {
		p.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
		p.on('console', (m) => {
			if (m.type() === 'error') errors.push(`console: ${m.text()}`);
		});
	};
	watch(page);
	context.on('page', watch);
	return {
		context,
		page,
		errors,
		close: async () => {
			await context.close().catch(() => undefined);
		},
	};
}

/** Console errors that are not expected ones (a refused upload logs its 4xx, for one). */
export function unexpectedErrors(errors, allow = []) {
	return errors.filter((e) => !allow.some((re) => re.test(e)));
}

export async function screenshot(page, name, opts = {}) {
	fs.mkdirSync(SHOTS, { recursive: true });
	const file = path.join(SHOTS, `${name}.png`);
	await page.screenshot({ path: file, fullPage: opts.fullPage ?? true, animations: 'disabled' });
	return file;
}

// ---------------------------------------------------------------- accounts

let counter = 0;
export function uniqueEmail(tag = 'web') {
	counter += 1;
	return `${tag}.${process.pid}.${Date.now().toString(36)}.${counter}.${crypto.randomBytes(3).toString('hex')}@example.com`;
}

export async function apiJson(method, p, { token, json } = {}) {
	const headers = { accept: 'application/json' };
	if (json !== undefined) headers['content-type'] = 'application/json';
	if (token) headers.authorization = `Bearer ${token}`;
	const res = await fetch(BASE + p, { method, headers, body: json === undefined ? undefined : JSON.stringify(json) });
	const text = await res.text();
	let body = null;
	try {
		body = text ? JSON.parse(text) : null;
	} catch {
		body = null;
	}
	return { status: res.status, body, text, headers: res.headers };
}

/** Register through the API (for tests that are not about signing up). */
export async function registerApi(fields = {}) {
	const email = fields.email || uniqueEmail(fields.tag || 'api');
	const res = await apiJson('POST', '/api/v1/auth/register', {
		json: { email, password: PASSWORD, first_name: fields.first_name || 'Test', last_name: fields.last_name || 'User' },
	});
	assert.equal(res.status, 201, `register: ${res.status} ${res.text}`);
	return { email, access: res.body.access_token, refresh: res.body.refresh_token, user: res.body.user };
}

/** Open the app logged in as `account` (its refresh token goes where the app keeps it). */
export async function openLoggedIn(page, account, pathname = '/meetings') {
	if (account.used) {
		// this profile already holds the session (another tab): the token we
		// have was spent; presenting it again would end the session
		await page.goto(pathname);
		await page.waitForFunction(() => localStorage.getItem('iam.refresh') !== null);
		return;
	}
	account.used = true;
	// a same-origin page that does not run the app (the app would refresh
	// whatever session the profile holds, and could write it back over ours)
	await page.goto('/favicon.svg');
	await page.evaluate((t) => {
		localStorage.clear();
		localStorage.setItem('iam.refresh', JSON.stringify({ token: t, gen: 1 }));
	}, account.refresh);
	await page.goto(pathname);
	// Wait until the app has swapped the refresh token for a new one: leaving
	// the page while that request is in flight would lose the new token, and
	// presenting the old one again ends the session (single-use tokens).
	await page.waitForFunction((t) => {
		const v = localStorage.getItem('iam.refresh');
		return v !== null && !v.includes(t);
	}, account.refresh);
}

/** Upload audio through the API (raw body) and wait until it is transcribed. */
export async function meetingWithAudio(token, file, title = 'Fixture meeting', { wait = true } = {}) {
	const m = await apiJson('POST', '/api/v1/meetings', { token, json: { title } });
	assert.equal(m.status, 201, m.text);
	const res = await fetch(`${BASE}/api/v1/meetings/${m.body.id}/upload?filename=${encodeURIComponent(path.basename(file))}`, {
		method: 'POST',
		headers: { authorization: `Bearer ${token}`, 'content-type': 'application/octet-stream' },
		body: fs.readFileSync(file),
	});
	assert.equal(res.status, 200, `upload: ${res.status} ${await res.text()}`);
	if (!wait) return m.body;
	const deadline = Date.now() + 120000;
	for (;;) {
		const g = await apiJson('GET', `/api/v1/meetings/${m.body.id}`, { token });
		if (g.body.status === 'completed') return g.body;
		assert.notEqual(g.body.status, 'failed', `transcription failed: ${g.body.processing_error}`);
		assert.ok(Date.now() < deadline, `meeting not transcribed in time: ${g.text}`);
		await sleep(300);
	}
}

// ---------------------------------------------------------------- audio

// PocketSphinx recognises espeak-ng's Klatt "edward" variant far better than
// the default voice; a paragraph of several sentences lets its
// normalisation settle.
export const VOICE = ['-v', 'en-us+edward', '-s', '140'];
export const SPEECH =
	'hello world this is a test of the meeting system. please send the report before friday afternoon. ' +
	'we need to finish the project by next week.';
export const LONG_SPEECH = [
	SPEECH,
	'the president of the united states. she went to the store to buy some milk. the team agreed to move the deadline.',
	'good morning everyone. the company reported strong sales this year.',
	SPEECH,
	'the team agreed to move the deadline. she went to the store to buy some milk.',
].join(' ');

function run(cmd, args) {
	try {
		return execFileSync(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], timeout: 60000 });
	} catch (e) {
		throw new Error(`${cmd} ${args.join(' ')} failed: ${e.message} ${e.stderr ? e.stderr.toString().slice(-800) : ''}`);
	}
}

/** Speak text with espeak-ng and encode it: ext mp3 or wav (wav at `rate` Hz). Returns the file path. */
export function speechFile(text, ext, name = 'speech', { rate = 44100 } = {}) {
	const d = tmpDir('audio');
	const wav = path.join(d, 'raw.wav');
	run('espeak-ng', [...VOICE, '-w', wav, text]);
	const out = path.join(d, `${name}.${ext}`);
	const enc = ext === 'mp3' ? ['-c:a', 'libmp3lame', '-b:a', '64k'] : ['-c:a', 'pcm_s16le', '-ar', String(rate), '-ac', '1'];
	run('ffmpeg', ['-loglevel', 'error', '-y', '-i', wav, ...enc, out]);
	return out;
}

const STOP = new Set('a an and are as at be by for from he her his i in is it its me my of on or our she so that the their them they this to us was we were will with you your some'.split(' '));

export function words(text) {
	return String(text || '')
		.toLowerCase()
		.replace(/[^a-z0-9' ]+/g, ' ')
		.split(/\s+/)
		.filter(Boolean);
}

/** Fraction of the content words of `expected` found in `got`. */
export function wordScore(got, expected) {
	const have = new Set(words(got));
	const want = [...new Set(words(expected).filter((w) => !STOP.has(w)))];
	const missing = want.filter((w) => !have.has(w));
	return { score: want.length ? (want.length - missing.length) / want.length : 1, missing };
}
