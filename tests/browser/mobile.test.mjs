// At 375 x 812 (a small phone) the meetings page and a meeting page fit the
// width: no horizontal scrolling.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { SPEECH, apiJson, launch, meetingWithAudio, openLoggedIn, registerApi, screenshot, speechFile } from './helpers.mjs';

const T = { timeout: 150000 };

let b;
before(async () => {
	b = await launch({ viewport: { width: 375, height: 812 } });
});
after(async () => {
	await b?.close();
});

async function assertNoHorizontalScroll(page, what) {
	const { scrollWidth, clientWidth } = await page.evaluate(() => ({
		scrollWidth: document.scrollingElement.scrollWidth,
		clientWidth: document.scrollingElement.clientWidth,
	}));
	assert.ok(scrollWidth <= clientWidth, `${what}: scrollWidth ${scrollWidth} > clientWidth ${clientWidth}`);
	// and nothing sticks out of the viewport on the right
	const wide = await page.evaluate(() =>
		[...document.querySelectorAll('body *')]
			.filter((el) => {
				const r = el.getBoundingClientRect();
				const cs = getComputedStyle(el);
				return r.width > 0 && r.right > window.innerWidth + 1 && cs.position !== 'fixed' && !el.closest('.visually-hidden');
			})
			.map((el) => `${el.tagName.toLowerCase()}.${el.className}`)
			.slice(0, 5),
	);
	assert.deepEqual(wide, [], `${what}: elements past the right edge`);
}

test('7. 375 px wide: the meetings page and a meeting page without horizontal scrolling', T, async () => {
	const { page } = b;
	const acc = await registerApi({ tag: 'mobile' });
	const mp3 = speechFile(SPEECH, 'mp3', 'mobile');
	const m = await meetingWithAudio(acc.access, mp3, 'Quarterly planning with the product, design and engineering leads (all regions)');
	const standup = await meetingWithAudio(acc.access, mp3, 'Standup', { wait: false });

	await openLoggedIn(page, acc, '/meetings');
	await page.locator('.meeting-row[data-meeting-id]').nth(1).waitFor();
	await assertNoHorizontalScroll(page, 'meetings');
	await screenshot(page, 'mobile-meetings');

	// the menu opens and is usable
	await page.getByRole('button', { name: 'Menu' }).click();
	await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Upload' }).waitFor();
	await assertNoHorizontalScroll(page, 'meetings with the menu open');
	await screenshot(page, 'mobile-menu', { fullPage: false });
	await page.getByRole('button', { name: 'Menu' }).click();

	await page.locator('.meeting-row[data-meeting-id]', { hasText: 'Quarterly planning' }).getByRole('link').click();
	await page.waitForURL(new RegExp(`/meetings/${m.id}$`));
	await page.locator('.segment').first().waitFor();
	await page.locator('audio').waitFor();
	await assertNoHorizontalScroll(page, 'meeting');
	await screenshot(page, 'mobile-meeting');

	for (const p of ['/upload', '/record', '/api-keys', '/account']) {
		await page.goto(p);
		await page.locator('h1').first().waitFor();
		await assertNoHorizontalScroll(page, p);
	}
	await apiJson('DELETE', `/api/v1/meetings/${standup.id}`, { token: acc.access });
});
