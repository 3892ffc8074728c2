// Sessions across tabs (refresh tokens are single-use and reuse ends the
// session: tabs must take turns and share the result), and how fast the
// meetings page appears.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { apiJson, launch, openLoggedIn, registerApi } from './helpers.mjs';

const T = { timeout: 90000 };

let b;
before(async () => {
	b = await launch();
});
after(async () => {
	await b?.close();
});

const ready = (page) => page.locator('.meeting-row[data-meeting-id], [data-empty-state]').first().waitFor();

test('two tabs starting and reloading together never present the same refresh token', T, async () => {
	const { context, page } = b;
	const acc = await registerApi({ tag: 'tabs' });
	const presented = [];
	context.on('request', (r) => {
		if (r.url().endsWith('/api/v1/auth/refresh') && r.method() === 'POST') presented.push(JSON.parse(r.postData() || '{}').refresh_token);
	});
	await openLoggedIn(page, acc, '/meetings');
	await ready(page);
	const page2 = await context.newPage();
	for (let round = 0; round < 4; round++) {
		await Promise.all([round === 0 ? page2.goto('/meetings') : page2.reload(), page.reload()]);
		await Promise.all([ready(page), ready(page2)]);
	}
	// a tab that hears the other's fresh pair while it starts uses that instead of refreshing
	assert.ok(presented.length >= 5, `refreshes: ${presented.length}`);
	assert.equal(new Set(presented).size, presented.length, 'a refresh token was presented twice');
	// both tabs are still logged in and can talk to the API
	for (const p of [page, page2]) {
		assert.match(p.url(), /\/meetings$/);
		await p.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'API keys' }).click();
		await p.getByRole('heading', { name: 'API keys' }).waitFor();
		await p.getByText('No API keys yet').waitFor();
	}
	// logging out in one tab logs out the other
	await page2.getByRole('button', { name: 'Log out' }).click();
	await page.waitForURL(/\/login/);
	await page2.close();
});

test('time to first render of the meetings page', T, async (t) => {
	const { page } = b;
	const acc = await registerApi({ tag: 'perf' });
	for (const title of ['Design review', 'Sales pipeline', 'Hiring sync']) {
		assert.equal((await apiJson('POST', '/api/v1/meetings', { token: acc.access, json: { title } })).status, 201);
	}
	await openLoggedIn(page, acc, '/meetings');
	await ready(page);
	await page.addInitScript(() => {
		new MutationObserver((_, obs) => {
			if (document.querySelector('.meeting-row[data-meeting-id], [data-empty-state]')) {
				obs.disconnect();
				// the next frame: when it is painted
				requestAnimationFrame(() => (window.__firstRender = performance.now()));
			}
		}).observe(document, { subtree: true, childList: true });
	});
	const times = [];
	for (let i = 0; i < 5; i++) {
		await page.reload();
		await ready(page);
		await page.waitForFunction(() => window.__firstRender !== undefined);
		times.push(await page.evaluate(() => window.__firstRender));
	}
	times.sort((x, y) => x - y);
	const median = times[2];
	t.diagnostic(`meetings page (3 meetings), navigationStart -> first row visible: median ${median.toFixed(0)} ms (${times.map((x) => x.toFixed(0)).join(', ')})`);
	assert.ok(median < 2000, `first render took ${median} ms`);
});
