// Transcript editing in the browser (issue 9): speakers with names, colours
// and talk time; renaming a speaker in place (and the SRT/VTT downloads
// naming them); editing a line with the keyboard (Enter saves, Esc
// cancels, the "edited" mark after a reload); a change made meanwhile by
// someone else (412: said plainly, the person's text kept); the revision
// history, the original and restoring it. One two-voice conversation,
// transcribed (and diarized) by iamd; tests run in order on one page.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { PASSWORD, apiJson, launch, meetingWithAudio, openLoggedIn, registerApi, screenshot } from './helpers.mjs';
import { VOICES, conversationFile } from '../api/audio.mjs';

const T = { timeout: 180000 };
// Chromium logs every 4xx response as a console error: a refused name (400) and a stale edit (412) are expected here.
const ALLOWED = [/Failed to load resource: the server responded with a status of (400|412)/];

const CONVERSATION = [
	{ voice: VOICES.a, text: 'good morning everyone. we need to finish the project by next week.' },
	{ voice: VOICES.b, text: 'she went to the store to buy some milk. the company reported strong sales this year.' },
	{ voice: VOICES.a, text: 'please send the report before friday afternoon.' },
	{ voice: VOICES.b, text: 'the team agreed to move the deadline to the end of the month.' },
];

let b; // { context, page, errors, close }
let page;
let account;
let meeting;
let original; // the machine transcript (API JSON)
/** PATCH/PUT/POST requests the page sent to the transcript: [{ method, url, ifMatch }] */
const edits = [];
/** 4xx/5xx responses the page got (to say which request a console error was about) */
const failed = [];
/** console errors with where they came from */
const consoleErrors = [];

const transcriptPath = () => `/api/v1/meetings/${meeting.id}/transcript`;
const apiTranscript = async (q = '') => {
	const r = await apiJson('GET', `${transcriptPath()}${q}`, { token: account.access });
	assert.equal(r.status, 200, r.text);
	return { body: r.body, etag: r.headers.get('etag') };
};
const seg = (i) => page.locator(`.segment[data-segment-index="${i}"]`);

async function download(button) {
	const [d] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: button }).click()]);
	return { name: d.suggestedFilename(), body: fs.readFileSync(await d.path(), 'utf8') };
}

before(async () => {
	account = await registerApi({ tag: 'editing' });
	const conv = conversationFile(CONVERSATION);
	meeting = await meetingWithAudio(account.access, conv.file, 'Team sync');
	original = (await apiTranscript()).body;
	b = await launch();
	page = b.page;
	page.on('request', (r) => {
		if (r.method() !== 'GET' && r.url().includes('/transcript')) edits.push({ method: r.method(), url: r.url(), ifMatch: r.headers()['if-match'] || null });
	});
	page.on('console', (m) => {
		if (m.type() === 'error') consoleErrors.push({ text: m.text(), url: m.location().url || '' });
	});
	page.on('response', (r) => {
		if (r.status() >= 400) failed.push(`${r.status()} ${r.request().method()} ${r.url()}`);
	});
	await openLoggedIn(page, account, `/meetings/${meeting.id}`);
	await page.locator('.segment').first().waitFor({ timeout: 30000 });
});

after(async () => {
	await b?.close();
});

describe('transcript editing', T, () => {
	test('two speakers: a coloured, named tag on every line and a talk-time bar each', T, async () => {
		assert.equal(original.speakers?.length, 2, `the conversation should come out as two speakers: ${JSON.stringify(original.speakers)}`);
		const rows = page.locator('.speakers .speaker');
		assert.equal(await rows.count(), 2);
		for (const [i, s] of original.speakers.entries()) {
			const row = rows.nth(i);
			assert.equal(await row.getAttribute('data-speaker-id'), s.id);
			assert.equal((await row.locator('[data-speaker-tag]').textContent()).trim(), 'Speaker ' + (i + 1));
			// the share as text, not only as a bar
			const talk = (await row.locator('.speaker__talk').textContent()).trim();
			assert.match(talk, /^\d+ (s|min)( \d+ s)? · \d+%/, talk);
			const width = await row.locator('.talkbar__fill').evaluate((el) => el.getBoundingClientRect().width);
			assert.ok(width > 0, 'the bar shows the share');
		}
		// every line names its speaker, and the two speakers' colours differ
		const n = await page.locator('.segment').count();
		assert.equal(n, original.segments.length);
		for (let i = 0; i < n; i++) {
			const want = original.segments[i].speaker;
			assert.equal(await seg(i).getAttribute('data-speaker'), want);
			assert.equal((await seg(i).locator('[data-speaker-tag]').textContent()).trim(), `Speaker ${want.slice(1)}`);
		}
		const colour = (id) => page.locator(`.segment[data-speaker="${id}"] [data-speaker-tag]`).first().evaluate((el) => getComputedStyle(el).color);
		assert.notEqual(await colour('S1'), await colour('S2'));
	});

	test('rename a speaker in place: a refused name is explained next to the field; Enter saves; the name is everywhere and in the SRT and VTT downloads', T, async () => {
		await page.locator('.speaker[data-speaker-id="S1"] [data-speaker-tag]').click();
		const input = page.getByLabel('Name of Speaker 1');
		await input.waitFor();
		assert.equal(await input.evaluate((el) => el === document.activeElement), true, 'the field has the focus');
		// Esc cancels
		await input.fill('Nobody');
		await input.press('Escape');
		await page.locator('.speaker[data-speaker-id="S1"] [data-speaker-tag]').waitFor();
		assert.equal((await page.locator('.speaker[data-speaker-id="S1"] [data-speaker-tag]').textContent()).trim(), 'Speaker 1');
		// the API refuses text-direction overrides in names: its message is shown next to the field
		await page.locator('.speaker[data-speaker-id="S1"] [data-speaker-tag]').click();
		await input.fill('evil\u202Eeman');
		await input.press('Enter');
		const err = page.locator('[data-rename-speaker="S1"] [data-field-error="name"]');
		await err.waitFor();
		assert.ok((await err.textContent()).trim().length > 5, 'a message a person can act on');
		assert.equal(await input.getAttribute('aria-invalid'), 'true');
		// a good name
		await input.fill('Thandi');
		await input.press('Enter');
		await page.locator('.speaker[data-speaker-id="S1"] [data-speaker-tag]', { hasText: 'Thandi' }).waitFor();
		const tags = await page.locator('.segment[data-speaker="S1"] [data-speaker-tag]').allTextContents();
		assert.ok(tags.length >= 1 && tags.every((t) => t.trim() === 'Thandi'), `every line of S1 says Thandi: ${tags}`);
		const others = await page.locator('.segment[data-speaker="S2"] [data-speaker-tag]').allTextContents();
		assert.ok(others.every((t) => t.trim() === 'Speaker 2'), `S2 keeps its label: ${others}`);

		const rename = edits.findLast((e) => e.method === 'PUT');
		assert.match(rename.url, /\/transcript\/speakers\/S1$/);
		assert.match(rename.ifMatch || '', /^"t\d+"$/, 'the rename was sent with the ETag it was made on');

		// the downloads (through the page's own session) name the speaker
		const vtt = await download(/Export as VTT/);
		assert.match(vtt.name, /\.vtt$/);
		assert.match(vtt.body, /<v Thandi>/, vtt.body.slice(0, 400));
		assert.match(vtt.body, /<v Speaker 2>/);
		const srt = await download(/Export as SRT/);
		assert.match(srt.body, /Thandi: /, srt.body.slice(0, 400));
	});

	test('edit a line with the keyboard: Enter opens it and saves; the edited mark and the text stay after a reload', T, async () => {
		const edit = page.locator('[data-edit-segment="0"]');
		await edit.focus();
		await page.keyboard.press('Enter');
		const box = page.getByLabel(/^Text of the line at /);
		await box.waitFor();
		assert.equal(await box.evaluate((el) => el === document.activeElement), true, 'the text box has the focus');
		assert.equal(await box.inputValue(), original.segments[0].text);
		await page.keyboard.press('ControlOrMeta+a');
		await page.keyboard.type('good morning everyone we must finish the project by next week');
		const before = edits.length;
		await page.keyboard.press('Enter');
		await seg(0).locator('[data-edited-mark]').waitFor();
		assert.equal((await seg(0).locator('.segment__text').textContent()).trim(), 'good morning everyone we must finish the project by next week');
		const patch = edits.slice(before).find((e) => e.method === 'PATCH');
		assert.match(patch.url, /\/transcript\/segments\/0$/);
		assert.match(patch.ifMatch || '', /^"t\d+"$/, 'sent with If-Match');
		// focus goes back to the line's edit button
		assert.equal(await page.evaluate(() => document.activeElement?.getAttribute('data-edit-segment')), '0');

		await page.reload();
		await seg(0).locator('[data-edited-mark]').waitFor();
		assert.equal((await seg(0).locator('.segment__text').textContent()).trim(), 'good morning everyone we must finish the project by next week');
		assert.equal(await seg(1).locator('[data-edited-mark]').count(), 0, 'other lines are not marked');
		assert.equal(await seg(0).locator('.word-low').count(), 0, 'a corrected line has no words flagged as misheard');
		const now = (await apiTranscript()).body;
		assert.equal(now.segments[0].edited, true);
		assert.equal(now.segments[0].text, 'good morning everyone we must finish the project by next week');
	});

	test('Esc cancels an edit: the text is unchanged and nothing is sent', T, async () => {
		const i = original.segments.length > 1 ? 1 : 0;
		const textBefore = (await seg(i).locator('.segment__text').textContent()).trim();
		const before = edits.length;
		await page.locator(`[data-edit-segment="${i}"]`).focus();
		await page.keyboard.press('Enter');
		const box = page.getByLabel(/^Text of the line at /);
		await box.waitFor();
		await page.keyboard.type(' and some words nobody said');
		if (i !== 0) {
			// opening another line does not drop the unsaved text
			await page.locator('[data-edit-segment="0"]').click();
			await page.locator(`[data-segment-editor="${i}"] [role="alert"]`, { hasText: /not saved/ }).waitFor();
			assert.equal(await page.locator('[data-segment-editor="0"]').count(), 0);
			assert.match(await box.inputValue(), /and some words nobody said$/);
			await page.waitForFunction(() => document.activeElement?.tagName === 'TEXTAREA');
		}
		await page.keyboard.press('Escape');
		await box.waitFor({ state: 'detached' });
		assert.equal((await seg(i).locator('.segment__text').textContent()).trim(), textBefore);
		assert.equal(edits.length, before, 'no edit was sent');
		// Focus goes back to the line's edit button (once the editor has unmounted).
		await page.waitForFunction((k) => document.activeElement?.getAttribute('data-edit-segment') === k, String(i), { timeout: 3000 });
	});

	test('someone else edits meanwhile: the page says so, shows their version and keeps what was typed to save again', T, async () => {
		const i = original.segments.length > 1 ? 1 : 0;
		await page.locator(`[data-edit-segment="${i}"]`).click();
		const box = page.getByLabel(/^Text of the line at /);
		await box.waitFor();
		// another person (the same account through the API) changes the line first
		const { etag } = await apiTranscript();
		const other = await apiJson('PATCH', `${transcriptPath()}/segments/${i}`, { token: account.access, json: { text: 'changed by a colleague' } });
		assert.equal(other.status, 200, other.text);
		assert.notEqual(other.headers.get('etag'), etag);
		await box.fill('my own correction of this line');
		await box.press('Enter');
		await page.locator('[data-stale-notice]').waitFor();
		const msg = page.locator(`[data-segment-editor="${i}"] [role="alert"]`);
		await msg.waitFor();
		assert.match(await msg.textContent(), /someone else changed this transcript/i);
		assert.equal(await page.locator(`[data-segment-editor="${i}"] [data-current-text]`).textContent(), 'changed by a colleague');
		assert.equal(await box.inputValue(), 'my own correction of this line', 'the unsaved text is kept');
		const last = edits.at(-1);
		assert.equal(last.method, 'PATCH');
		assert.equal(last.ifMatch, etag, 'the refused edit carried the old ETag');
		await screenshot(page, 'editing-conflict');
		// saving again applies it on the new version
		await box.press('Enter');
		await box.waitFor({ state: 'detached' });
		assert.equal((await seg(i).locator('.segment__text').textContent()).trim(), 'my own correction of this line');
		assert.equal(edits.at(-1).ifMatch, other.headers.get('etag'));
		assert.equal((await apiTranscript()).body.segments[i].text, 'my own correction of this line');
		await page.getByRole('button', { name: 'OK' }).click();
	});

	test('history: who changed what and when; the original; restoring it (after confirming) brings the machine text back', T, async () => {
		await page.locator('[data-history-toggle]').click();
		const panel = page.locator('[data-history]');
		await panel.waitFor();
		const items = panel.locator('[data-revision]');
		await items.first().waitFor();
		const actions = await items.evaluateAll((els) => els.map((el) => el.getAttribute('data-action')));
		assert.deepEqual(actions, ['edit_segment', 'edit_segment', 'edit_segment', 'rename_speaker', 'transcribed']);
		const first = await items.first().textContent();
		assert.ok(first.includes(account.email), `who: ${first}`);
		assert.match(first, /Today/, 'when');
		assert.match(first, /current/i);
		assert.match(await items.nth(3).textContent(), /Renamed Speaker 1 to Thandi/);
		assert.match(await items.last().textContent(), /IAM/);
		await screenshot(page, 'editing-history', { fullPage: true });

		// the original, read-only
		await panel.locator('[data-view-original]').click();
		await page.locator('[data-viewing="original"]').waitFor();
		assert.equal((await seg(0).locator('.segment__text').textContent()).trim(), original.segments[0].text.trim());
		assert.equal(await page.locator('[data-edit-segment]').count(), 0, 'nothing to edit in the original');
		assert.equal(await page.locator('[data-edited-mark]').count(), 0);
		await screenshot(page, 'editing-original');

		// restore it: asks first
		await page.locator('[data-restore-viewed]').click();
		const dialog = page.getByRole('dialog');
		await dialog.waitFor();
		assert.match(await dialog.textContent(), /Restore version \d+\?/);
		await dialog.getByRole('button', { name: 'Restore', exact: true }).click();
		await dialog.waitFor({ state: 'hidden' });
		await page.locator('[data-viewing]').waitFor({ state: 'detached' });
		// the current transcript is the machine one again: no edits, no names, and it can be edited
		await page.locator('[data-edit-segment="0"]').waitFor();
		const texts = await page.locator('.segment__text').allTextContents();
		assert.deepEqual(texts.map((t) => t.trim()), original.segments.map((s) => s.text.trim()));
		assert.equal(await page.locator('[data-edited-mark]').count(), 0);
		if (original.speakers?.length) assert.equal((await page.locator('.speaker[data-speaker-id="S1"] [data-speaker-tag]').textContent()).trim(), 'Speaker 1');
		await panel.locator('[data-revision][data-action="restore"]').first().waitFor();
		assert.equal(await items.first().getAttribute('data-action'), 'restore');
		const now = (await apiTranscript()).body;
		assert.deepEqual(now.segments.map((s) => s.text), original.segments.map((s) => s.text));
		assert.ok(now.segments.every((s) => !s.edited));
		// exports follow
		const txt = await download(/Export as TXT/);
		assert.ok(!txt.body.includes('Thandi') && !txt.body.includes('my own correction'), txt.body.slice(0, 300));
		// Chromium asks for /favicon.ico when openLoggedIn shows /favicon.svg on its own: not the app's doing
		const unexpected = consoleErrors.filter((e) => !e.url.endsWith('/favicon.ico') && !ALLOWED.some((re) => re.test(e.text)));
		assert.deepEqual(unexpected, [], `no unexpected errors in the console (failed requests: ${failed.join(', ')})`);
		assert.deepEqual(b.errors.filter((e) => e.startsWith('pageerror')), [], 'no uncaught errors in the page');
	});

	test('a long name keeps the talk-time bars of one length; emptying the name field clears it and the label comes back', T, async () => {
		const tag = page.locator('.speaker[data-speaker-id="S2"] [data-speaker-tag]');
		await tag.click();
		const input = page.getByLabel('Name of Speaker 2');
		await input.fill('Nomvula Mokonyane-Dlamini');
		await input.press('Enter');
		await page.locator('.speaker[data-speaker-id="S2"] [data-speaker-tag]', { hasText: 'Nomvula' }).waitFor();
		// the other row's merge menu now lists the long name: the rows' bars must still line up (on a fresh load too)
		await page.reload();
		await page.locator('.speaker[data-speaker-id="S2"] [data-speaker-tag]', { hasText: 'Nomvula' }).waitFor();
		const tracks = await page.locator('.speakers .talkbar').evaluateAll((els) => els.map((el) => el.getBoundingClientRect().width));
		assert.equal(tracks.length, 2);
		assert.ok(Math.abs(tracks[0] - tracks[1]) < 1, `bars of one length: ${tracks}`);
		await screenshot(page, 'editing-long-name');
		await tag.click();
		await input.fill('');
		await input.press('Enter');
		await page.locator('.speaker[data-speaker-id="S2"] [data-speaker-tag]', { hasText: 'Speaker 2' }).waitFor();
		assert.equal(await page.locator('[data-rename-speaker="S2"]').count(), 0, 'the field closed without an error');
		const now = (await apiTranscript()).body;
		assert.equal(now.speakers.find((sp) => sp.id === 'S2').name, null);
		assert.equal(edits.at(-1).method, 'PUT');
		// the history panel was open before the reload: open it again for the next test
		if (!(await page.locator('[data-history]').count())) await page.locator('[data-history-toggle]').click();
		await page.locator('[data-history]').waitFor();
	});

	test('reassign a line to the other speaker, then merge one speaker into the other (after confirming)', T, async () => {
		assert.equal(original.speakers?.length, 2, 'needs the two speakers');
		const i = original.segments.findIndex((s) => s.speaker === 'S2');
		await page.locator(`[data-edit-segment="${i}"]`).click();
		const speaker = page.locator(`[data-segment-editor="${i}"] [data-segment-speaker]`);
		await speaker.selectOption('S1');
		await page.locator(`[data-segment-editor="${i}"]`).getByRole('button', { name: 'Save' }).click();
		await page.locator(`.segment[data-segment-index="${i}"][data-speaker="S1"]`).waitFor();
		assert.equal((await seg(i).locator('[data-speaker-tag]').textContent()).trim(), 'Speaker 1');
		let now = (await apiTranscript()).body;
		assert.equal(now.segments[i].speaker, 'S1');
		assert.equal(now.segments[i].text, original.segments[i].text, 'only the speaker changed');

		await page.locator('[data-merge="S2"]').selectOption('S1');
		const dialog = page.getByRole('dialog');
		await dialog.waitFor();
		assert.match(await dialog.textContent(), /Merge Speaker 2 into Speaker 1\?/);
		await dialog.getByRole('button', { name: 'Merge speakers' }).click();
		await dialog.waitFor({ state: 'hidden' });
		await page.locator('.speaker[data-speaker-id="S2"]').waitFor({ state: 'detached' });
		assert.equal(await page.locator('.speakers .speaker').count(), 1);
		assert.match(await page.locator('.speaker[data-speaker-id="S1"] .speaker__talk').textContent(), /· 100%/);
		const speakers = await page.locator('.segment').evaluateAll((els) => els.map((el) => el.getAttribute('data-speaker')));
		assert.ok(speakers.every((s) => s === 'S1'), JSON.stringify(speakers));
		now = (await apiTranscript()).body;
		assert.deepEqual(now.speakers.map((s) => s.id), ['S1']);
		await page.locator('[data-history] [data-revision][data-action="merge_speakers"]').first().waitFor();
		assert.match(await page.locator('[data-history] [data-revision]').first().textContent(), /Merged Speaker 2 into Speaker 1/);
		await screenshot(page, 'editing-merged');
	});

	test('someone who may only read (a collection viewer) is offered no edits: no pencils, renames, merges or restores', T, async () => {
		const coll = await apiJson('POST', '/api/v1/collections', { token: account.access, json: { name: 'Readers' } });
		assert.equal(coll.status, 201, coll.text);
		assert.equal((await apiJson('PUT', `/api/v1/collections/${coll.body.id}/meetings/${meeting.id}`, { token: account.access })).status, 204);
		const email = `reader.${Date.now()}@example.com`;
		const inv = await apiJson('POST', `/api/v1/collections/${coll.body.id}/invitations`, { token: account.access, json: { email, role: 'viewer' } });
		assert.equal(inv.status, 201, inv.text);
		const su = await apiJson('POST', '/api/v1/collection-invitations/signup', { json: { token: inv.body.token, password: PASSWORD, first_name: 'Reader' } });
		assert.equal(su.status, 201, su.text);
		const reader = { email, access: su.body.access_token, refresh: su.body.refresh_token, user: su.body.user };
		const rb = await launch();
		try {
			const rp = rb.page;
			await openLoggedIn(rp, reader, `/meetings/${meeting.id}`);
			await rp.locator('.segment').first().waitFor({ timeout: 30000 });
			assert.equal(await rp.locator('[data-edit-segment]').count(), 0, 'no pencil buttons');
			assert.equal(await rp.locator('.spk-tag--button').count(), 0, 'speaker names are not rename buttons');
			assert.equal(await rp.locator('[data-merge]').count(), 0, 'no merge menus');
			// nor the meeting's own changes, which a reader may not make either
			assert.equal(await rp.getByRole('button', { name: 'Rename meeting' }).count(), 0, 'no rename of the meeting');
			assert.equal(await rp.getByRole('button', { name: /Delete/ }).count(), 0, 'no Delete');
			assert.equal(await rp.locator('[data-share-meeting]').count(), 0, 'no Share');
			assert.doesNotMatch(await rp.locator('section.transcript').textContent(), /pencil button/);
			await rp.locator('[data-history-toggle]').click();
			await rp.locator('[data-history] [data-revision]').first().waitFor();
			assert.equal(await rp.getByRole('button', { name: /^Restore version/ }).count(), 0, 'no restore buttons');
			await screenshot(rp, 'editing-reader');
		} finally {
			await rb.close();
		}
	});
});
