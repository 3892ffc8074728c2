// Accessibility basics on every page: landmarks, one h1, a name for every
// control, a skip link first in the tab order, visible focus, and text
// contrast of at least WCAG AA (4.5:1, 3:1 for large text).

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { SPEECH, launch, meetingWithAudio, openLoggedIn, registerApi, speechFile } from './helpers.mjs';

const T = { timeout: 120000 };

let b;
let acc;
let meeting;
before(async () => {
	b = await launch();
	acc = await registerApi({ tag: 'a11y' });
	meeting = await meetingWithAudio(acc.access, speechFile(SPEECH, 'mp3', 'a11y'), 'Accessibility review');
});
after(async () => {
	await b?.close();
});

/** Runs in the page: problems with names, landmarks and contrast. */
function audit() {
	const problems = [];
	const visible = (el) => {
		const r = el.getBoundingClientRect();
		const cs = getComputedStyle(el);
		return r.width > 0 && r.height > 0 && cs.visibility !== 'hidden' && cs.display !== 'none' && !el.closest('[hidden], .visually-hidden');
	};
	const nameOf = (el) => {
		if (el.getAttribute('aria-label')) return el.getAttribute('aria-label');
		const lb = el.getAttribute('aria-labelledby');
		if (lb) return lb.split(' ').map((id) => document.getElementById(id)?.textContent || '').join(' ').trim();
		if (el.labels && el.labels.length) return [...el.labels].map((l) => l.textContent).join(' ').trim();
		if (el.tagName === 'BUTTON' || el.tagName === 'A') return el.textContent.trim();
		return '';
	};
	for (const el of document.querySelectorAll('input, select, textarea, button, a[href], audio[controls], [role=progressbar], [role=meter]')) {
		if (el.type === 'hidden' || el.hidden) continue;
		if (el.tagName === 'INPUT' && el.type === 'file') {
			if (!nameOf(el)) problems.push('file input without a label');
			continue;
		}
		if (!visible(el)) continue;
		if (!nameOf(el)) problems.push(`no accessible name: ${el.outerHTML.slice(0, 120)}`);
	}
	if (document.querySelectorAll('main').length !== 1) problems.push('one <main> expected');
	const h1 = [...document.querySelectorAll('h1')].filter(visible);
	if (h1.length !== 1) problems.push(`one visible h1 expected, found ${h1.length}`);
	for (const svg of document.querySelectorAll('svg')) if (svg.getAttribute('aria-hidden') !== 'true' && !svg.getAttribute('aria-label')) problems.push('svg without aria-hidden');

	// contrast
	const parse = (c) => {
		const m = c.match(/rgba?\(([^)]+)\)/);
		if (!m) return null;
		const p = m[1].split(/[ ,/]+/).filter(Boolean).map(Number);
		return { r: p[0], g: p[1], b: p[2], a: p.length > 3 ? p[3] : 1 };
	};
	const lum = ({ r, g, b: bl }) => {
		const f = (v) => {
			v /= 255;
			return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
		};
		return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(bl);
	};
	const bgOf = (el) => {
		for (let e = el; e; e = e.parentElement) {
			const cs = getComputedStyle(e);
			if (cs.backgroundImage && cs.backgroundImage !== 'none') return null; // gradients: skip
			const c = parse(cs.backgroundColor);
			if (c && c.a >= 0.9) return c;
		}
		return { r: 255, g: 255, b: 255, a: 1 };
	};
	const seen = new Set();
	const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
	for (let n = walker.nextNode(); n; n = walker.nextNode()) {
		if (!n.textContent.trim()) continue;
		const el = n.parentElement;
		if (!el || seen.has(el) || !visible(el)) continue;
		seen.add(el);
		if (el.closest('button:disabled, [aria-hidden=true], dialog:not([open])')) continue;
		const cs = getComputedStyle(el);
		if (Number(cs.opacity) < 1) continue;
		const fg = parse(cs.color);
		const bg = bgOf(el);
		if (!fg || !bg) continue;
		const L1 = lum(fg);
		const L2 = lum(bg);
		const ratio = (Math.max(L1, L2) + 0.05) / (Math.min(L1, L2) + 0.05);
		const size = parseFloat(cs.fontSize);
		const bold = Number(cs.fontWeight) >= 700;
		const large = size >= 24 || (bold && size >= 18.66);
		if (ratio < (large ? 3 : 4.5)) problems.push(`contrast ${ratio.toFixed(2)} for "${n.textContent.trim().slice(0, 30)}" (${cs.color} on rgb(${bg.r},${bg.g},${bg.b}))`);
	}
	return problems;
}

test('every page: names, landmarks, one h1, AA contrast', T, async () => {
	const { page } = b;
	for (const p of ['/login', '/signup']) {
		await page.goto(p);
		await page.locator('h1').waitFor();
		assert.deepEqual(await page.evaluate(audit), [], p);
	}
	await openLoggedIn(page, acc, '/meetings');
	const pages = ['/meetings', `/meetings/${meeting.id}`, '/upload', '/record', '/api-keys', '/account'];
	for (const p of pages) {
		await page.goto(p);
		await page.locator('h1').first().waitFor();
		if (p.startsWith('/meetings/')) await page.locator('.segment').first().waitFor();
		if (p === '/meetings') await page.locator('.meeting-row[data-meeting-id]').first().waitFor();
		const problems = await page.evaluate(audit);
		assert.deepEqual(problems, [], p);
		assert.equal(await page.locator('header').count(), 1, `${p}: header`);
		assert.equal(await page.getByRole('navigation', { name: 'Main' }).count(), 1, `${p}: nav`);
	}
});

test('keyboard: skip link first, visible focus, and a meeting reached and played without a mouse', T, async () => {
	const { page } = b;
	await page.goto('/meetings');
	await page.locator('.meeting-row[data-meeting-id]').first().waitFor();
	await page.bringToFront();
	const firstFocusable = await page.evaluate(() => document.querySelector('a[href], button, input, select, textarea, [tabindex]:not([tabindex="-1"])').textContent);
	assert.equal(firstFocusable, 'Skip to content', 'the skip link comes first');
	let text = '';
	for (let i = 0; i < 3 && text !== 'Skip to content'; i++) {
		await page.keyboard.press('Tab');
		text = await page.evaluate(() => document.activeElement.textContent);
	}
	assert.equal(text, 'Skip to content', 'Tab reaches the skip link');
	assert.ok(await page.getByRole('link', { name: 'Skip to content' }).isVisible(), 'the skip link shows when focused');
	await page.keyboard.press('Enter');
	// tab to the first meeting link
	let found = false;
	for (let i = 0; i < 10 && !found; i++) {
		await page.keyboard.press('Tab');
		const el = await page.evaluate(() => ({ cls: document.activeElement.className, outline: getComputedStyle(document.activeElement, '::after').outlineStyle, o2: getComputedStyle(document.activeElement).outlineStyle }));
		if (String(el.cls).includes('meeting-row__title')) {
			found = true;
			assert.ok(el.outline !== 'none' || el.o2 !== 'none', 'the focused row is outlined');
		}
	}
	assert.ok(found, 'the meeting link is reachable with Tab');
	await page.keyboard.press('Enter');
	await page.locator('.segment').first().waitFor();
	// the segment's time is a button: Tab to it and press Enter to play from there
	const time = page.locator('.segment__time').first();
	await time.focus();
	const outline = await time.evaluate((el) => getComputedStyle(el).outlineStyle);
	assert.notEqual(outline, 'none', 'visible focus on the time button');
	await page.keyboard.press('Enter');
	await page.waitForFunction(() => !document.querySelector('audio').paused || document.querySelector('audio').ended, null, { timeout: 5000 });
});
