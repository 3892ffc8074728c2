// Chat with a meeting in the browser (issue 13): the Chat panel on the
// meeting page streams an answer to a question and lists the cited
// passages; clicking a citation (the [n] in the answer or the passage)
// plays the audio from that moment. iamd runs without a language model
// here, so the answer is the offline excerpt answer. Speech generated with
// espeak-ng is transcribed by iamd; one segment is then edited to a known
// sentence so what is retrieved does not depend on the recognizer.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { LONG_SPEECH, apiJson, launch, meetingWithAudio, openLoggedIn, registerApi, screenshot, speechFile } from './helpers.mjs';

const T = { timeout: 180000 };
const SENTENCE = 'The giraffe budget was approved by the board on Monday';

let b;
let page;
let account;
let meeting;
let target; // the edited segment

before(async () => {
	account = await registerApi({ tag: 'chat' });
	meeting = await meetingWithAudio(account.access, speechFile(LONG_SPEECH, 'mp3', 'standup'), 'Zoo standup');
	const tr = await apiJson('GET', `/api/v1/meetings/${meeting.id}/transcript`, { token: account.access });
	assert.equal(tr.status, 200, tr.text);
	const segs = tr.body.segments;
	assert.ok(segs.length >= 2, `several segments expected: ${tr.text}`);
	const i = segs.length - 1; // a late one, so that seeking to it is visible
	const r = await apiJson('PATCH', `/api/v1/meetings/${meeting.id}/transcript/segments/${i}`, { token: account.access, json: { text: SENTENCE } });
	assert.equal(r.status, 200, r.text);
	target = { index: i, start: segs[i].start };
	b = await launch();
	page = b.page;
	await openLoggedIn(page, account, `/meetings/${meeting.id}`);
	await page.locator('.segment').first().waitFor({ timeout: 30000 });
});

after(async () => {
	await b?.close();
});

describe('chat panel', T, () => {
	test('a question gets a streamed, cited answer; a citation plays that moment', T, async () => {
		await page.getByText('Chat with this meeting').click();
		const input = page.getByLabel('Your question');
		await input.fill('When was the giraffe budget approved?');
		await input.press('Enter');
		const turn = page.locator('.chat-turn').first();
		await turn.locator('.chat-cite').first().waitFor({ timeout: 15000 });
		assert.equal(await turn.getAttribute('data-chat-state'), 'done');
		const answer = await turn.locator('[data-chat-answer]').innerText();
		assert.match(answer, /^This is an excerpt answer/);
		assert.ok(answer.includes(SENTENCE), answer);
		assert.match(await turn.innerText(), /Excerpt answer: the passages themselves/);
		const first = turn.locator('.chat-cite').first();
		assert.equal(Number(await first.getAttribute('data-seek')), target.start);
		assert.ok((await first.innerText()).includes(SENTENCE));

		// The [1] in the answer seeks the player to the passage.
		const audio = page.locator('audio');
		await audio.evaluate((a) => (a.readyState >= 1 ? null : new Promise((r) => a.addEventListener('loadedmetadata', r, { once: true }))));
		await audio.evaluate(
			(a) =>
				new Promise((r) => {
					a.addEventListener('seeked', r, { once: true });
					a.currentTime = 0;
				}),
		);
		await turn.locator('.chat-cite-ref').first().click();
		await page.waitForFunction((s) => Math.abs(document.querySelector('audio').currentTime - s) < 1.5, target.start, { timeout: 5000 });
		await audio.evaluate((a) => a.pause());
		await screenshot(page, 'chat-answer');

		// The conversation is kept on the server.
		const chats = await apiJson('GET', '/api/v1/chats', { token: account.access });
		assert.equal(chats.status, 200, chats.text);
		assert.equal(chats.body.data[0].meeting_id, meeting.id);
		const chat = await apiJson('GET', `/api/v1/chats/${chats.body.data[0].id}`, { token: account.access });
		assert.deepEqual(chat.body.messages.map((m) => m.role), ['user', 'assistant']);
		assert.equal(chat.body.messages[1].content, answer);
	});

	test('an empty question is refused in the page, nothing is sent', T, async () => {
		const before = await page.locator('.chat-turn').count();
		await page.getByLabel('Your question').fill('   ');
		await page.getByRole('button', { name: 'Ask' }).click();
		await page.getByRole('alert').filter({ hasText: 'Type a question first.' }).waitFor({ timeout: 5000 });
		assert.equal(await page.locator('.chat-turn').count(), before);
	});

	test('asking a collection: a cited passage opens its meeting at that moment', T, async () => {
		const coll = await apiJson('POST', '/api/v1/collections', { token: account.access, json: { name: 'Zoo board' } });
		assert.equal(coll.status, 201, coll.text);
		const add = await apiJson('PUT', `/api/v1/collections/${coll.body.id}/meetings/${meeting.id}`, { token: account.access });
		assert.equal(add.status, 204, add.text);
		await page.goto(`/collections/${coll.body.id}`);
		await page.getByText('Ask this collection').click();
		const input = page.getByLabel('Your question');
		await input.fill('giraffe budget approved');
		await input.press('Enter');
		const turn = page.locator('.chat-turn').first();
		await turn.locator('.chat-cite').first().waitFor({ timeout: 15000 });
		const first = turn.locator('.chat-cite').first();
		assert.ok((await first.innerText()).includes('Zoo standup'), 'the citation names its meeting');
		await screenshot(page, 'chat-collection');
		await first.click();
		await page.waitForURL(new RegExp(`/meetings/${meeting.id}\\?t=${Math.floor(target.start)}$`));
		const audio = page.locator('audio');
		await audio.evaluate((a) => (a.readyState >= 1 ? null : new Promise((r) => a.addEventListener('loadedmetadata', r, { once: true }))));
		await page.waitForFunction((s) => Math.abs(document.querySelector('audio').currentTime - s) < 1.5, target.start, { timeout: 5000 });
		const chats = await apiJson('GET', '/api/v1/chats', { token: account.access });
		assert.equal(chats.body.data[0].collection_id, coll.body.id);
	});
});
