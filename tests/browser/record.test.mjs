// Recording from the microphone (Chromium's fake device: a tone), the level
// meter and clock, naming and uploading the recording; and the messages when
// there is no microphone or permission is denied.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { launch, openLoggedIn, registerApi, screenshot, sleep } from './helpers.mjs';

const T = { timeout: 90000 };

let b;
let acc;
before(async () => {
	b = await launch();
	acc = await registerApi({ tag: 'record' });
});
after(async () => {
	await b?.close();
});

test('record: clock and level meter while recording, then name it and upload it', T, async () => {
	const { page } = b;
	await openLoggedIn(page, acc, '/record');
	await page.getByRole('button', { name: 'Start recording' }).click();
	await page.getByText('Recording', { exact: true }).waitFor();
	const meter = page.getByRole('meter', { name: 'Input level' });
	await meter.waitFor();
	await page.waitForFunction(() => Number(document.querySelector('[role=meter]')?.getAttribute('aria-valuenow')) > 0, null, { timeout: 5000 });
	await sleep(2200);
	assert.match(await page.locator('.recorder__clock').textContent(), /0:0[2-9]/, 'the clock runs');
	await screenshot(page, 'record');
	await page.getByRole('button', { name: 'Stop' }).click();

	await page.getByRole('heading', { name: 'Your recording' }).waitFor();
	assert.equal(await page.locator('audio.recorder__preview').count(), 1, 'the recording can be played back');
	const name = page.getByLabel('Name');
	assert.match(await name.inputValue(), /^Recording /, 'a default name');
	await name.fill('Voice note about the launch');
	await page.getByRole('button', { name: 'Upload and transcribe' }).click();
	const row = page.locator('[data-upload-state="done"]');
	await row.waitFor({ timeout: 30000 });
	await row.getByRole('link', { name: 'Open meeting' }).click();
	await page.getByRole('heading', { name: 'Voice note about the launch' }).waitFor();
	await page.locator('audio').waitFor();
});

for (const [errorName, pattern] of [
	['NotAllowedError', /blocked|allow/i],
	['NotFoundError', /No microphone/i],
]) {
	test(`record: ${errorName} gives a clear message`, T, async () => {
		const page = await b.context.newPage();
		await page.addInitScript((n) => {
			navigator.mediaDevices.getUserMedia = () => Promise.reject(new DOMException('test', n));
		}, errorName);
		await openLoggedIn(page, acc, '/record');
		await page.getByRole('button', { name: 'Start recording' }).click();
		const alert = page.getByRole('alert');
		await alert.waitFor();
		assert.match(await alert.textContent(), pattern);
		assert.ok(await page.getByRole('button', { name: 'Try again' }).isVisible());
		await page.close();
	});
}
