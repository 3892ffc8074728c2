// Meeting insights in the browser (issue 13): the tabs Transcript / Summary /
// Action items / Topics / Sentiment on the meeting page (keyboard too),
// clicking an action item plays the audio from its moment, the sentiment
// chart per speaker, and DOCX and PDF in the export menu. Speech generated
// with espeak-ng is transcribed by iamd; insights follow on their own.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { LONG_SPEECH, apiJson, launch, meetingWithAudio, openLoggedIn, registerApi, screenshot, sleep, speechFile } from './helpers.mjs';

const T = { timeout: 180000 };

let b;
let page;
let account;
let meeting;
let insights;

before(async () => {
	account = await registerApi({ tag: 'insights' });
	meeting = await meetingWithAudio(account.access, speechFile(LONG_SPEECH, 'mp3', 'standup'), 'Weekly standup');
	const deadline = Date.now() + 60000;
	for (;;) {
		const r = await apiJson('GET', `/api/v1/meetings/${meeting.id}/insights`, { token: account.access });
		assert.equal(r.status, 200, r.text);
		if (r.body.status === 'done') {
			insights = r.body;
			break;
		}
		assert.ok(Date.now() < deadline, `insights not done: ${r.text}`);
		await sleep(300);
	}
	b = await launch();
	page = b.page;
	await openLoggedIn(page, account, `/meetings/${meeting.id}`);
	await page.locator('.segment').first().waitFor({ timeout: 30000 });
});

after(async () => {
	await b?.close();
});

describe('meeting insights tabs', T, () => {
	test('five tabs; Transcript first and selected; arrow keys move between them', T, async () => {
		const tabs = page.getByRole('tab');
		assert.deepEqual(await tabs.allInnerTexts(), ['Transcript', 'Summary', 'Action items', 'Topics', 'Sentiment']);
		assert.equal(await page.getByRole('tab', { name: 'Transcript' }).getAttribute('aria-selected'), 'true');
		await page.getByRole('tab', { name: 'Transcript' }).focus();
		await page.keyboard.press('ArrowRight');
		assert.equal(await page.getByRole('tab', { name: 'Summary' }).getAttribute('aria-selected'), 'true');
		await page.locator('[data-insight="summary"] li').first().waitFor({ timeout: 10000 });
		// the transcript is kept (hidden), not thrown away
		assert.equal(await page.locator('#panel-transcript').isHidden(), true);
		const n = await page.locator('[data-insight="summary"] li').count();
		assert.equal(n, insights.summary.sentences.length);
		assert.ok((await page.locator('[data-insight="summary"]').innerText()).includes(insights.summary.sentences[0].text));
		await page.keyboard.press('ArrowLeft');
		assert.equal(await page.locator('#panel-transcript').isVisible(), true);
	});

	test('clicking an action item plays the audio from its moment', T, async () => {
		const items = [...insights.action_items.items, ...insights.decisions.items];
		assert.ok(items.length >= 1, `the speech has requests and commitments: ${JSON.stringify(insights)}`);
		await page.getByRole('tab', { name: 'Action items' }).click();
		await page.locator('[data-insight] li').first().waitFor({ timeout: 10000 });
		const target = items.reduce((x, y) => (y.start > x.start ? y : x));
		const audio = page.locator('audio');
		await audio.evaluate((a) => (a.readyState >= 1 ? null : new Promise((r) => a.addEventListener('loadedmetadata', r, { once: true }))));
		const duration = await audio.evaluate((a) => a.duration);
		const elsewhere = target.start > duration / 2 ? 0.2 : Math.max(0, duration - 0.5);
		await audio.evaluate(
			(a, t) =>
				new Promise((r) => {
					a.addEventListener('seeked', r, { once: true });
					a.currentTime = t;
				}),
			elsewhere,
		);
		const button = page.locator(`[data-insight] .insight-time[data-seek="${target.start}"]`).first();
		await button.click();
		await page.waitForFunction((s) => Math.abs(document.querySelector('audio').currentTime - s) < 1.5, target.start, { timeout: 5000 });
		const t = await audio.evaluate((a) => a.currentTime);
		assert.ok(t >= target.start - 0.3 && t < target.start + 1.5, `currentTime ${t} should be about ${target.start}`);
		await audio.evaluate((a) => a.pause());
		const text = await page.locator('.insight-panel').innerText();
		assert.ok(text.includes(target.text), `the item "${target.text}" is listed`);
		await screenshot(page, 'insights-actions');
	});

	test('topics with their mentions, sentiment as a chart per speaker', T, async () => {
		await page.getByRole('tab', { name: 'Topics' }).click();
		await page.locator('[data-insight="topics"] li').first().waitFor({ timeout: 10000 });
		assert.equal(await page.locator('[data-insight="topics"] > li').count(), insights.topics.items.length);
		assert.ok((await page.locator('[data-insight="topics"]').innerText()).includes(insights.topics.items[0].phrase));

		await page.getByRole('tab', { name: 'Sentiment' }).click();
		const charts = page.locator('[data-insight="sentiment"] svg');
		await charts.first().waitFor({ timeout: 10000 });
		assert.equal(await charts.count(), insights.sentiment.speakers.length);
		const dots = page.locator('[data-insight="sentiment"] circle');
		assert.ok((await dots.count()) >= 1);
		// a chart point seeks too
		const start = Number(await dots.last().getAttribute('data-seek'));
		await dots.last().click();
		await page.waitForFunction((s) => Math.abs(document.querySelector('audio').currentTime - s) < 1.5, start, { timeout: 5000 });
		await page.locator('audio').evaluate((a) => a.pause());
		await screenshot(page, 'insights-sentiment');
	});

	test('DOCX and PDF in the export menu', T, async () => {
		for (const [label, ext, magic] of [
			['DOCX', 'docx', 'PK'],
			['PDF', 'pdf', '%PDF'],
		]) {
			const [d] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: new RegExp(`^Export as ${label}`) }).click()]);
			assert.equal(d.suggestedFilename(), `Weekly-standup.${ext}`);
			const bytes = fs.readFileSync(await d.path());
			assert.equal(bytes.subarray(0, magic.length).toString('latin1'), magic);
		}
	});
});
