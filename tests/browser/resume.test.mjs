// A tus upload interrupted by going offline resumes from the server's offset
// when the connection is back: a HEAD, then PATCHes from where it stopped,
// never a new upload from byte 0.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { LONG_SPEECH, apiJson, launch, openLoggedIn, registerApi, screenshot, sleep, speechFile } from './helpers.mjs';

const T = { timeout: 120000 };
const CHUNK = 32 * 1024;

let b;
before(async () => {
	b = await launch();
});
after(async () => {
	await b?.close();
});

test('6. an upload cut off by going offline resumes where it stopped', T, async () => {
	const { page, context } = b;
	const wav = speechFile(LONG_SPEECH, 'wav', 'all-hands');
	const size = fs.statSync(wav).size;
	assert.ok(size > 2 * 1024 * 1024, `a few MB of audio: ${size}`);

	const acc = await registerApi({ tag: 'resume' });
	await openLoggedIn(page, acc, '/upload');
	await page.evaluate((c) => localStorage.setItem('iam.tusChunkSize', String(c)), CHUNK);
	await page.getByRole('heading', { name: 'Upload', exact: true }).waitFor();

	const requests = []; // every tus request the page sent: time, method, Upload-Offset
	page.on('request', (r) => {
		if (r.url().includes('/api/v1/uploads')) requests.push({ t: Date.now(), method: r.method(), offset: r.headers()['upload-offset'] });
	});
	let firstPatchDone;
	const firstPatch = new Promise((r) => (firstPatchDone = r));
	page.on('requestfinished', (r) => {
		if (r.method() === 'PATCH' && r.url().includes('/api/v1/uploads/')) firstPatchDone();
	});

	await page.setInputFiles('#file-input', wav);
	await firstPatch;
	await context.setOffline(true);
	const offlineAt = Date.now();

	const row = page.locator('[data-file-name="all-hands.wav"]');
	await page.locator('[data-file-name="all-hands.wav"][data-upload-state="offline"]').waitFor({ timeout: 10000 });
	assert.match(await row.textContent(), /offline|connection/i, 'the row says the connection is gone');
	await screenshot(page, 'upload-offline');
	await sleep(1000);
	await context.setOffline(false);
	const onlineAt = Date.now();

	await page.locator('[data-file-name="all-hands.wav"][data-upload-state="done"]').waitFor({ timeout: 60000 });

	const before = requests.filter((r) => r.t < offlineAt);
	const afterOutage = requests.filter((r) => r.t >= onlineAt);
	const creations = requests.filter((r) => r.method === 'POST');
	assert.equal(creations.length, 1, `one upload was created, not restarted: ${JSON.stringify(requests)}`);
	const lastBefore = Math.max(...before.filter((r) => r.method === 'PATCH').map((r) => Number(r.offset)));
	assert.ok(lastBefore + CHUNK < size, 'the outage happened before the end of the file');
	const resumed = afterOutage.filter((r) => r.method === 'PATCH');
	assert.ok(resumed.length > 0, `PATCHes after the outage: ${JSON.stringify(afterOutage)}`);
	assert.ok(Number(resumed[0].offset) > 0, `the first PATCH after the outage starts past 0: ${resumed[0].offset}`);
	assert.ok(!resumed.some((r) => Number(r.offset) === 0), 'no PATCH from offset 0 after the outage');
	assert.ok(afterOutage.some((r) => r.method === 'HEAD'), 'the client asked the server for its offset (HEAD)');

	// the meeting has the whole file
	const href = await row.getByRole('link', { name: 'Open meeting' }).getAttribute('href');
	const id = href.split('/').pop();
	const m = await apiJson('GET', `/api/v1/meetings/${id}`, { token: acc.access });
	assert.equal(m.status, 200, m.text);
	assert.equal(m.body.file_size, size, 'the server has every byte');
	assert.ok(['queued', 'processing', 'completed'].includes(m.body.status), `transcription started: ${m.body.status}`);
	// free the job workers for the other tests
	await apiJson('DELETE', `/api/v1/meetings/${id}`, { token: acc.access });
});

test('a page reload in the middle of an upload: choosing the same file again continues it', T, async () => {
	const { page } = b;
	const wav = speechFile(LONG_SPEECH, 'wav', 'board-review');
	const size = fs.statSync(wav).size;
	const acc = await registerApi({ tag: 'reload' });
	await openLoggedIn(page, acc, '/upload');
	await page.evaluate((c) => localStorage.setItem('iam.tusChunkSize', String(c)), CHUNK);
	await page.getByRole('heading', { name: 'Upload', exact: true }).waitFor();

	const requests = [];
	const onRequest = (r) => {
		if (r.url().includes('/api/v1/uploads')) requests.push({ t: Date.now(), method: r.method(), offset: r.headers()['upload-offset'] });
	};
	page.on('request', onRequest);
	let patches = 0;
	let enough;
	const someChunks = new Promise((r) => (enough = r));
	const onFinished = (r) => {
		if (r.method() === 'PATCH' && ++patches === 2) enough();
	};
	page.on('requestfinished', onFinished);
	// leaving the page during an upload asks first; accept
	const onDialog = (d) => d.accept().catch(() => undefined);
	page.on('dialog', onDialog);

	await page.setInputFiles('#file-input', wav);
	await someChunks;
	await page.reload();
	const reloadedAt = Date.now();
	await page.getByRole('heading', { name: 'Upload', exact: true }).waitFor();
	// the app lists the unfinished upload and says how to continue it
	const previous = page.getByRole('region', { name: 'Unfinished uploads' });
	await previous.waitFor();
	assert.match(await previous.textContent(), /board-review\.wav/);
	await screenshot(page, 'upload-unfinished');

	const responses = [];
	const onResponse = (r) => {
		if (r.url().includes('/api/v1/uploads')) responses.push(`${Date.now() - reloadedAt} ${r.request().method()} ${r.status()} ${r.headers()['upload-offset'] || ''}`);
	};
	page.on('response', onResponse);
	await page.setInputFiles('#file-input', wav);
	await page
		.locator('[data-file-name="board-review.wav"][data-upload-state="done"]')
		.waitFor({ timeout: 60000 })
		.catch(async (e) => {
			const row = await page.locator('[data-file-name="board-review.wav"]').textContent().catch(() => '(no row)');
			throw new Error(`${e.message}\nrow: ${row}\nresponses after the reload: ${responses.join('; ')}`);
		});
	page.off('response', onResponse);
	page.off('request', onRequest);
	page.off('requestfinished', onFinished);
	page.off('dialog', onDialog);

	const afterReload = requests.filter((r) => r.t >= reloadedAt);
	assert.equal(afterReload.filter((r) => r.method === 'POST').length, 0, `no new upload after the reload: ${JSON.stringify(afterReload)}`);
	const firstPatch = afterReload.find((r) => r.method === 'PATCH');
	assert.ok(firstPatch && Number(firstPatch.offset) > 0, `the upload continued past 0: ${JSON.stringify(afterReload.slice(0, 4))}`);
	assert.match(await page.locator('[data-file-name="board-review.wav"]').textContent(), /Uploaded/);
	const href = await page.locator('[data-file-name="board-review.wav"]').getByRole('link', { name: 'Open meeting' }).getAttribute('href');
	const m = await apiJson('GET', `/api/v1/meetings/${href.split('/').pop()}`, { token: acc.access });
	assert.equal(m.status, 200, `${href}: ${m.text}`);
	assert.equal(m.body.file_size, size);
	// nothing is left over as unfinished
	await page.getByRole('region', { name: 'Unfinished uploads' }).waitFor({ state: 'detached', timeout: 5000 });
	await apiJson('DELETE', `/api/v1/meetings/${href.split('/').pop()}`, { token: acc.access });
});
