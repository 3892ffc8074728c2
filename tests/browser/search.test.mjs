// Search in the browser (issue 13): the header box shows results as you
// type (combobox + listbox), arrows move through them, Enter opens the
// meeting at the moment the words were said (the audio starts there), Esc
// closes the list; the /search page with a filter and a field error, and
// its collection select.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { apiJson, launch, meetingWithAudio, openLoggedIn, registerApi, screenshot, unexpectedErrors } from './helpers.mjs';
import { VOICES, conversationFile } from '../api/audio.mjs';

const T = { timeout: 180000 };
// Chromium logs every 4xx response as a console error: the refused filter (400) is expected, and
// the favicon.ico Chromium asks for by itself when openLoggedIn opens /favicon.svg (404; checked
// below to be the only 404).
const ALLOWED = [/Failed to load resource: the server responded with a status of (400|404)/];

const CONVERSATION = [
	{ voice: VOICES.a, text: 'good morning everyone. we need to finish the project by next week.' },
	{ voice: VOICES.b, text: 'she went to the store to buy some milk. the company reported strong sales this year.' },
	{ voice: VOICES.a, text: 'please send the report before friday afternoon.' },
];

let b, page, account, meeting, other, seg;
/** 4xx/5xx responses the page got (to say what a console error was about) */
const failed = [];

before(async () => {
	account = await registerApi({ tag: 'search' });
	meeting = await meetingWithAudio(account.access, conversationFile(CONVERSATION).file, 'Team sync');
	const tr = await apiJson('GET', `/api/v1/meetings/${meeting.id}/transcript`, { token: account.access });
	assert.equal(tr.status, 200, tr.text);
	const last = tr.body.segments.length - 1;
	const res = await apiJson('PATCH', `/api/v1/meetings/${meeting.id}/transcript/segments/${last}`, {
		token: account.access,
		json: { text: 'The okapi budget was approved on Friday' },
	});
	assert.equal(res.status, 200, res.text);
	seg = res.body.segments[last];
	other = (await apiJson('POST', '/api/v1/meetings', { token: account.access, json: { title: 'Okapi feeding plan' } })).body;
	b = await launch();
	page = b.page;
	page.on('response', (r) => {
		if (r.status() >= 400) failed.push(`${r.status()} ${r.request().method()} ${new URL(r.url()).pathname}`);
	});
	await openLoggedIn(page, account, '/meetings');
}, T);

after(async () => {
	await b?.close();
});

describe('search box', () => {
	test('typing shows hits; arrows move; Enter opens the meeting at that time', T, async () => {
		const box = page.getByRole('combobox', { name: 'Search all meetings' });
		await box.click();
		await box.pressSequentially('okapi', { delay: 30 });
		const list = page.getByRole('listbox', { name: 'Search results' });
		const options = list.getByRole('option');
		await assert.doesNotReject(options.nth(1).waitFor());
		assert.equal(await box.getAttribute('aria-expanded'), 'true');
		assert.equal(await options.count(), 2);
		const api = await apiJson('GET', '/api/v1/search?q=okapi&limit=8', { token: account.access });
		const titles = api.body.data.map((h) => h.meeting.title);
		assert.deepEqual(await options.locator('.searchbox__title').allTextContents(), titles);
		assert.match((await list.locator('mark').first().textContent()).toLowerCase(), /okapi/);
		await screenshot(page, 'search-box');

		await box.press('ArrowDown');
		assert.equal(await options.nth(0).getAttribute('aria-selected'), 'true');
		assert.equal(await box.getAttribute('aria-activedescendant'), await options.nth(0).getAttribute('id'));
		await box.press('ArrowDown');
		assert.equal(await options.nth(1).getAttribute('aria-selected'), 'true');
		assert.equal(await options.nth(0).getAttribute('aria-selected'), 'false');
		await box.press('ArrowUp');
		assert.equal(await options.nth(0).getAttribute('aria-selected'), 'true');

		// Esc closes the list, ArrowDown opens it again
		await box.press('Escape');
		assert.equal(await box.getAttribute('aria-expanded'), 'false');
		await box.press('ArrowDown');
		assert.equal(await box.getAttribute('aria-expanded'), 'true');

		// choose the segment hit (whichever place it ranked) and open it
		const segAt = api.body.data.findIndex((h) => h.kind === 'segment');
		assert.ok(segAt >= 0, JSON.stringify(api.body));
		while ((await options.nth(segAt).getAttribute('aria-selected')) !== 'true') await box.press('ArrowDown');
		await box.press('Enter');
		await page.waitForURL((u) => u.pathname === `/meetings/${meeting.id}`);
		assert.equal(new URL(page.url()).searchParams.get('t'), String(seg.start));
		assert.equal(await box.getAttribute('aria-expanded'), 'false');
		// the audio starts where the words were said
		await page.waitForFunction((t) => {
			const a = document.querySelector('audio');
			return a && a.readyState >= 1 && Math.abs(a.currentTime - t) < 0.5;
		}, seg.start);
	});

	test('Enter without choosing a hit opens the search page; filters and field errors there', T, async () => {
		const box = page.getByRole('combobox', { name: 'Search all meetings' });
		await box.fill('okapi');
		await box.press('Enter');
		await page.waitForURL((u) => u.pathname === '/search' && u.searchParams.get('q') === 'okapi');
		const results = page.getByRole('list', { name: 'Search results' });
		await results.getByRole('link').nth(1).waitFor();
		assert.equal(await results.getByRole('link').count(), 2);
		// a date range that ends before it starts: the field says why
		await page.getByLabel('From').fill('2026-02-01');
		await page.getByLabel('To').fill('2026-01-01');
		await page.getByRole('button', { name: 'Search', exact: true }).click();
		await page.locator('[data-field-error="to"]').waitFor();
		// a title-only filter: the meeting without audio by its date range today
		const today = new Date().toISOString().slice(0, 10);
		await page.getByLabel('From').fill(today);
		await page.getByLabel('To').fill(today);
		await page.getByLabel('Words').fill('okapi feeding');
		await page.getByRole('button', { name: 'Search', exact: true }).click();
		await page.waitForURL((u) => u.searchParams.get('q') === 'okapi feeding');
		await results.getByRole('link').first().waitFor();
		assert.equal(await results.getByRole('link').count(), 1);
		await results.getByRole('link').first().click();
		await page.waitForURL((u) => u.pathname === `/meetings/${other.id}`);
		await screenshot(page, 'search-opened');
		assert.deepEqual(unexpectedErrors(b.errors, ALLOWED), [], failed.join(', '));
		assert.deepEqual(failed.filter((f) => !/^404 GET \/favicon\.ico$/.test(f) && !/^400 GET \/api\/v1\/search$/.test(f)), []);
	});

	test('the search page narrows to a collection chosen in its select', T, async () => {
		const other = await launch();
		try {
			const acc = await registerApi({ tag: 'searchcoll' });
			const mk = async (title) => (await apiJson('POST', '/api/v1/meetings', { token: acc.access, json: { title } })).body;
			const inside = await mk('Narwhal board minutes');
			await mk('Narwhal picnic ideas');
			const coll = await apiJson('POST', '/api/v1/collections', { token: acc.access, json: { name: 'Board' } });
			assert.equal(coll.status, 201, coll.text);
			const put = await apiJson('PUT', `/api/v1/collections/${coll.body.id}/meetings/${inside.id}`, { token: acc.access });
			assert.equal(put.status, 204, put.text);
			await openLoggedIn(other.page, acc, '/search?q=narwhal');
			const results = other.page.getByRole('list', { name: 'Search results' });
			await results.getByRole('link').nth(1).waitFor();
			const select = other.page.getByLabel('Collection');
			assert.deepEqual(await select.locator('option').allTextContents(), ['All meetings', 'Board']);
			await select.selectOption({ label: 'Board' });
			await other.page.getByRole('button', { name: 'Search', exact: true }).click();
			await other.page.waitForURL((u) => u.searchParams.get('collection_id') === coll.body.id);
			await other.page.waitForFunction(() => document.querySelectorAll('.search-results .search-result').length === 1);
			assert.deepEqual(await results.locator('.search-result__title').allTextContents(), ['Narwhal board minutes']);
			assert.equal(await select.inputValue(), coll.body.id);
			await screenshot(other.page, 'search-collection');
			assert.deepEqual(unexpectedErrors(other.errors, ALLOWED), []);
		} finally {
			await other.close();
		}
	});

	test('on a phone the list of hits stays on the screen', T, async () => {
		const phone = await launch({ viewport: { width: 375, height: 812 } });
		try {
			const acc = await registerApi({ tag: 'searchphone' });
			await apiJson('POST', '/api/v1/meetings', { token: acc.access, json: { title: 'Okapi feeding plan with a rather long title that wraps' } });
			await openLoggedIn(phone.page, acc, '/meetings');
			await phone.page.getByRole('combobox', { name: 'Search all meetings' }).fill('okapi');
			await phone.page.getByRole('option').first().waitFor();
			const box = await phone.page.locator('.searchbox__popup').boundingBox();
			assert.ok(box.x >= 0 && box.x + box.width <= 375, JSON.stringify(box));
			assert.equal(await phone.page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth), 0);
			await screenshot(phone.page, 'search-box-phone', { fullPage: false });
		} finally {
			await phone.close();
		}
	});
});
