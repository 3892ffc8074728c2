// The transcript as the engine wrote it: casing and punctuation shown as
// they are, and the words the engine was unsure of (confidence < 0.5)
// marked subtly (dotted underline, a tooltip, a hint for screen readers,
// AA contrast) without breaking find, click-to-seek or the current-segment
// highlight.
//
// Two meetings' worth of checks over one real upload: first the transcript
// the server made (whatever engine ran: every low-confidence word it
// reported is marked and nothing else), then a transcript with known words
// and confidences put in place of the server's reply (the way app.test.mjs
// seeds a long transcript), so the marks can be checked word by word.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { SPEECH, apiJson, launch, meetingWithAudio, openLoggedIn, registerApi, screenshot, speechFile, unexpectedErrors } from './helpers.mjs';

const T = { timeout: 180000 };
const LOW = 0.5;

let b;
let page;
let acc;
let meeting;

before(async () => {
	b = await launch();
	page = b.page;
	acc = await registerApi({ tag: 'conf' });
	meeting = await meetingWithAudio(acc.access, speechFile(`Hello everyone. ${SPEECH}`, 'mp3', 'confidence'), 'Confidence review');
	await openLoggedIn(page, acc, `/meetings/${meeting.id}`);
	// (opening the session on /favicon.svg makes Chromium ask for /favicon.ico: a 404 that is not ours)
	b.errors.length = 0;
});

after(async () => {
	await b?.close();
});

/** In the page: contrast ratio of el's text against the background it is drawn on. */
function contrastOf(el) {
	const parse = (c) => {
		const m = c.match(/rgba?\(([^)]+)\)/);
		const p = m[1].split(/[ ,/]+/).filter(Boolean).map(Number);
		return { r: p[0], g: p[1], b: p[2], a: p.length > 3 ? p[3] : 1 };
	};
	const lum = ({ r, g, b: bl }) => {
		const f = (v) => {
			const s = v / 255;
			return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
		};
		return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(bl);
	};
	// the backgrounds behind el, innermost first, blended over white
	const layers = [];
	for (let n = el; n; n = n.parentElement) {
		const bg = parse(getComputedStyle(n).backgroundColor);
		if (bg.a > 0) layers.push(bg);
	}
	let bg = { r: 255, g: 255, b: 255 };
	for (const l of layers.reverse()) bg = { r: l.r * l.a + bg.r * (1 - l.a), g: l.g * l.a + bg.g * (1 - l.a), b: l.b * l.a + bg.b * (1 - l.a) };
	const fg = parse(getComputedStyle(el).color);
	const [hi, lo] = [lum(fg), lum(bg)].sort((x, y) => y - x);
	return (hi + 0.05) / (lo + 0.05);
}

async function waitForAudio() {
	await page.locator('audio').evaluate((a) => (a.readyState >= 1 ? null : new Promise((r) => a.addEventListener('loadedmetadata', r, { once: true }))));
}

describe('confidence and punctuation on the meeting page', T, () => {
	test('the transcript the server made: text exactly as returned, every low-confidence word marked and no other', T, async (t) => {
		const tr = await apiJson('GET', `/api/v1/meetings/${meeting.id}/transcript`, { token: acc.access });
		assert.equal(tr.status, 200, tr.text);
		const segs = tr.body.segments;
		assert.ok(segs.length >= 1, 'the speech gave a transcript');
		await page.locator('.segment').first().waitFor();
		assert.equal(await page.locator('.segment').count(), segs.length);

		// each segment's text is shown exactly as the engine wrote it
		const shown = await page.locator('.segment__text').allTextContents();
		assert.deepEqual(shown, segs.map((s) => s.text));
		if (tr.body.provider === 'moonshine') {
			// Moonshine writes sentences: capitals and full stops reach the page as they are
			const all = shown.join(' ');
			assert.match(all, /[A-Z]/, `capitals shown: ${all}`);
			assert.match(all, /[.,?!]/, `punctuation shown: ${all}`);
		}

		// every word under 0.5 is marked, in order, and nothing else
		const want = segs.flatMap((s, i) => (s.words || []).filter((w) => w.confidence < LOW).map((w) => ({ seg: i, word: w.word })));
		const marks = await page.locator('.segment__text .word-low').evaluateAll((els) =>
			els.map((e) => ({ seg: Number(e.closest('.segment').dataset.segmentIndex), word: e.textContent, conf: Number(e.dataset.confidence) })),
		);
		assert.deepEqual(
			marks.map(({ seg, word }) => ({ seg, word })),
			want,
			`marks ${JSON.stringify(marks)} for the low-confidence words ${JSON.stringify(want)} (engine ${tr.body.provider})`,
		);
		t.diagnostic(`engine ${tr.body.provider}: ${segs.length} segment(s), ${want.length} low-confidence word(s) ${JSON.stringify(want.map((w) => w.word))}: ${JSON.stringify(shown)}`);
		for (const m of marks) assert.ok(m.conf < LOW, `a marked word has confidence ${m.conf}`);
		assert.equal(await page.locator('[data-low-legend]').count(), want.length ? 1 : 0, 'the legend shows when something is marked');
		// a segment without such words is one plain text node: nothing rendered per word
		for (let i = 0; i < segs.length; i++) {
			if (want.some((w) => w.seg === i)) continue;
			const kids = await page.locator(`.segment[data-segment-index="${i}"] .segment__text`).evaluate((p) => [...p.childNodes].map((n) => n.nodeType));
			assert.deepEqual(kids, [3], `segment ${i} is plain text`);
		}
	});

	test('a transcript with known confidences: exactly the uncertain words are marked, with tooltip, hint and AA contrast', T, async () => {
		const url = new RegExp(`/api/v1/meetings/${meeting.id}/transcript$`);
		const seeded = async (route) => {
			const res = await route.fetch();
			const t = await res.json();
			const d = t.duration / 3;
			const seg = (i, text, confs) => {
				const words = text.split(' ');
				const w = (d * 0.9) / words.length;
				return {
					id: i,
					start: +(i * d).toFixed(3),
					end: +(i * d + d * 0.9).toFixed(3),
					text,
					confidence: 0.8,
					words: words.map((word, k) => ({ word, start: +(i * d + k * w).toFixed(3), end: +(i * d + (k + 1) * w).toFixed(3), confidence: confs[k] ?? 0.9 })),
				};
			};
			const segments = [
				// "quarterly" is the one word in doubt; 0.5 itself is not low
				seg(0, 'Hello everyone, and welcome to the quarterly planning meeting.', [0.97, 0.83, 0.9, 0.95, 0.5, 0.88, 0.31, 0.92, 0.9]),
				seg(1, 'Today we will review the budget, the hiring plan and the roadmap.', []),
				// "İ" grows when lowercased; the match for "numbers" must still be "numbers"
				seg(2, 'İstanbul office: Q3 numbers?', [0.9, 0.9, 0.9, 0.42]),
			];
			await route.fulfill({ response: res, json: { ...t, segments, text: segments.map((x) => x.text).join(' ') } });
		};
		await page.route(url, seeded);
		await page.reload();
		await page.locator('.segment').nth(2).waitFor();
		await waitForAudio();

		// casing and punctuation as written
		assert.deepEqual(await page.locator('.segment__text').allTextContents(), [
			'Hello everyone, and welcome to the quarterly planning meeting.',
			'Today we will review the budget, the hiring plan and the roadmap.',
			'İstanbul office: Q3 numbers?',
		]);

		// the marks: exactly "quarterly" and "numbers?", each a whole word with its punctuation
		const marks = page.locator('.word-low');
		assert.deepEqual(await marks.allTextContents(), ['quarterly', 'numbers?']);
		assert.equal(await page.locator('.segment[data-segment-index="0"] .word-low').count(), 1);
		assert.equal(await page.locator('.segment[data-segment-index="1"] .word-low').count(), 0);
		assert.equal(await page.locator('.segment[data-segment-index="2"] .word-low').count(), 1);
		const q = page.locator('.segment[data-segment-index="0"] .word-low');
		assert.equal(await q.getAttribute('title'), 'Low confidence — check this word (31%)');
		const look = await q.evaluate((el) => {
			const cs = getComputedStyle(el);
			return { line: cs.textDecorationLine, style: cs.textDecorationStyle, hint: getComputedStyle(el, '::after').content };
		});
		assert.match(look.line, /underline/);
		assert.equal(look.style, 'dotted');
		assert.match(look.hint, /low confidence/, 'screen readers hear a hint after the word');
		// the hint is not part of the text (copying, find)
		assert.equal(await page.locator('.segment[data-segment-index="0"] .segment__text').textContent(), 'Hello everyone, and welcome to the quarterly planning meeting.');
		const legend = page.locator('[data-low-legend]');
		assert.match(await legend.textContent(), /check them against the audio/);
		const c0 = await q.evaluate(contrastOf);
		assert.ok(c0 >= 4.5, `contrast of a marked word ${c0.toFixed(2)}`);
		assert.ok((await page.locator('.segment__text').first().evaluate(contrastOf)) > c0, 'the mark is a little dimmer than the text around it');
		await screenshot(page, 'low-confidence');

		// find-in-transcript still highlights, across and inside marked words
		const find = page.getByLabel('Find in transcript');
		const count = page.locator('[data-find-count]');
		await find.fill('QUARTERLY planning');
		await page.waitForFunction(() => (document.querySelector('[data-find-count]')?.textContent || '') === '1 of 1');
		assert.equal(await page.locator('mark.hit').count(), 1);
		assert.equal(await page.locator('mark.hit').textContent(), 'quarterly planning');
		assert.equal(await page.locator('mark.hit .word-low').textContent(), 'quarterly', 'the mark stays inside the match');
		const inHit = await page.locator('mark.hit--current .word-low').evaluate(contrastOf);
		assert.ok(inHit >= 4.5, `contrast of a marked word in the current match ${inHit.toFixed(2)}`);
		await find.fill('numbers');
		await page.waitForFunction(() => (document.querySelector('[data-find-count]')?.textContent || '') === '1 of 1');
		assert.equal(await page.locator('mark.hit').textContent(), 'numbers', 'the match after "İ" is the word searched for');
		await find.fill('the');
		await page.waitForFunction(() => /^1 of \d+$/.test(document.querySelector('[data-find-count]')?.textContent || ''));
		const total = Number((await count.textContent()).split(' of ')[1]);
		assert.equal(total, 4, 'the, the, the, the');
		assert.equal(await page.locator('mark.hit').count(), 4);
		await find.fill('');
		assert.equal(await page.locator('mark.hit').count(), 0);
		assert.deepEqual(await marks.allTextContents(), ['quarterly', 'numbers?'], 'the marks are back without a search');

		// clicking the marked word plays its segment and highlights it
		const audio = page.locator('audio');
		const seg2 = page.locator('.segment[data-segment-index="2"]');
		const start = Number(await seg2.getAttribute('data-start'));
		await seg2.locator('.word-low').click();
		await page.waitForFunction((s) => Math.abs(document.querySelector('audio').currentTime - s) < 1.5, start, { timeout: 5000 });
		await page.locator('.segment[data-segment-index="2"].segment--active').waitFor({ timeout: 5000 });
		assert.equal(await seg2.getAttribute('aria-current'), 'true');
		const cActive = await seg2.locator('.word-low').evaluate(contrastOf);
		assert.ok(cActive >= 4.5, `contrast of a marked word in the current segment ${cActive.toFixed(2)}`);
		await audio.evaluate((a) => a.pause());

		await page.unroute(url, seeded);
		await page.reload();
		await page.locator('.segment').first().waitFor();
		assert.deepEqual(unexpectedErrors(b.errors), [], 'no errors in the page');
	});
});
