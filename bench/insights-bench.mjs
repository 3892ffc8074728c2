// Insights benchmark (issue 13, "Measure"), run by bench/insights.sh.
//
//  1. Speed: a realistic synthetic 1-hour, 4-speaker transcript (about 150
//     words a minute, segments of 3-25 s with word times, a fixed seed: the
//     same file every run) analysed by `iamd insights` RUNS times; the median
//     time of the analysis itself (summary, items, topics, sentiment) and the
//     wall time of the whole command (reading the lexicon and the JSON too).
//     Target < 10 s.
//  2. Quality: four scripted meetings whose action items, decisions and key
//     sentences are known (labels A, D, K below), and a fifth in phrasings the
//     rules were not written for (reported on its own: what they miss). Precision and recall of the
//     action items and of the decisions (a found item is right when it is a
//     labelled sentence of that kind), and the share of key sentences the
//     summary contains. Baseline for the summary: the first N sentences (the
//     "lead" summary) of the same length.
//
//   node bench/insights-bench.mjs BUILD_DIR [RUNS]

import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const BUILD = process.argv[2] || 'build';
const RUNS = Number(process.argv[3] || 3);
const BIN = path.join(BUILD, 'iamd');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'iam-insights-bench-'));

function rng(seed) {
	let s = seed >>> 0;
	return () => {
		s = (s * 1664525 + 1013904223) >>> 0;
		return s / 4294967296;
	};
}

function insights(file) {
	const t0 = process.hrtime.bigint();
	const r = spawnSync(BIN, ['insights', file], { maxBuffer: 1 << 28 });
	const wall = Number(process.hrtime.bigint() - t0) / 1e9;
	if (r.status !== 0) throw new Error(`iamd insights failed: ${r.stderr}`);
	const stat = JSON.parse(r.stderr.toString().trim().split('\n').pop());
	return { doc: JSON.parse(r.stdout.toString()), seconds: stat.seconds, wall };
}

/** A transcript in the stored shape from [{speaker (1-based), text, start, end}]. */
function transcript(segs, nspeakers) {
	const speakers = [];
	for (let k = 1; k <= nspeakers; k++) speakers.push({ id: `S${k}`, name: null });
	const out = { language: 'en', duration: segs.length ? segs[segs.length - 1].end : 0, speakers, segments: [] };
	for (const s of segs) {
		const ws = s.text.split(/\s+/).filter(Boolean);
		const per = (s.end - s.start) / Math.max(ws.length, 1);
		const words = ws.map((w, i) => ({
			word: w,
			start: +(s.start + i * per).toFixed(3),
			end: +(s.start + (i + 1) * per).toFixed(3),
			confidence: 0.9,
		}));
		out.segments.push({
			start: +s.start.toFixed(3),
			end: +s.end.toFixed(3),
			text: s.text,
			confidence: 0.9,
			speaker: `S${s.speaker}`,
			words,
		});
	}
	return out;
}

// ---------------------------------------------------------------- 1. speed

const SUBJECTS = ['the mobile app', 'the billing service', 'the onboarding flow', 'the data pipeline', 'the marketing site',
	'the customer portal', 'the search index', 'the release train', 'the support queue', 'the pricing page',
	'the partner API', 'the analytics dashboard'];
const VERBS = ['is running behind', 'looks healthy', 'needs more testing', 'had two incidents last week', 'is over budget',
	'got good feedback from customers', 'depends on the new vendor', 'still has open bugs', 'is ready for review',
	'needs a security audit', 'is blocked on legal', 'shipped on time'];
const TAILS = ['and I think we should talk about it', 'because the team was short on people', 'according to the latest report',
	'which surprised everyone', 'so the numbers look a bit better', 'if you compare it with last quarter', '',
	'and the customers noticed', 'but nobody is worried yet'];
const FILLERS = ['Yeah.', 'Okay.', 'Right, right.', 'Mm-hmm.', 'Sure.', 'I see.', 'Um, yeah, exactly.', 'Good point.'];
const NAMES = ['Maria', 'Tom', 'Priya', 'Daniel'];
const ACTIONS = ['I will send the updated numbers by Friday.', 'Can you check the logs before the next meeting?',
	'We need to update the documentation this week.', "I'll set up a call with the vendor tomorrow.",
	'Please review the pull request by end of day.', "Let's schedule a follow-up with the design team."];
const DECISIONS = ['We decided to move the launch to next month.', "Okay, let's go with the second option.",
	'We agreed to hire one more engineer.', 'The decision is to keep the current pricing.'];

function hourTranscript(seed = 42) {
	const r = rng(seed);
	const pick = (a) => a[Math.floor(r() * a.length)];
	const segs = [];
	let t = 0;
	let spk = 1;
	while (t < 3600) {
		if (r() < 0.55) spk = 1 + Math.floor(r() * 4);
		const sentences = [];
		const n = r() < 0.2 ? 1 : 1 + Math.floor(r() * 4);
		for (let i = 0; i < n; i++) {
			const x = r();
			if (x < 0.12) sentences.push(pick(FILLERS));
			else if (x < 0.18) sentences.push(pick(ACTIONS));
			else if (x < 0.2) sentences.push(pick(DECISIONS));
			else if (x < 0.25) sentences.push(`${pick(NAMES)}, what do you think about ${pick(SUBJECTS)}?`);
			else {
				const s = `${pick(SUBJECTS)} ${pick(VERBS)} ${pick(TAILS)}`.trim();
				sentences.push(s[0].toUpperCase() + s.slice(1) + '.');
			}
		}
		const text = sentences.join(' ');
		const words = text.split(/\s+/).length;
		const dur = Math.max(1, words / 2.5); // 150 words a minute
		segs.push({ speaker: spk, text, start: t, end: t + dur });
		t += dur + 0.2 + r() * 0.8;
	}
	return transcript(segs, 4);
}

const hour = hourTranscript();
const hourFile = path.join(tmp, 'hour.json');
fs.writeFileSync(hourFile, JSON.stringify(hour));
const hourWords = hour.segments.reduce((n, s) => n + s.words.length, 0);
const secs = [];
const walls = [];
let hourDoc;
for (let i = 0; i < RUNS; i++) {
	const r = insights(hourFile);
	secs.push(r.seconds);
	walls.push(r.wall);
	hourDoc = r.doc;
}
const median = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
console.log(`== 1. 1-hour transcript: ${hour.segments.length} segments, ${hourWords} words, 4 speakers, ${(hour.duration / 60).toFixed(1)} min`);
console.log(`analysis   median ${median(secs).toFixed(3)} s  (runs: ${secs.map((s) => s.toFixed(3)).join(', ')})  target < 10 s`);
console.log(`iamd insights wall time  median ${median(walls).toFixed(3)} s (with reading the lexicon and the JSON)`);
console.log(`found: ${hourDoc.summary.sentences.length} summary sentences, ${hourDoc.action_items.items.length} action items, ` +
	`${hourDoc.decisions.items.length} decisions, ${hourDoc.topics.items.length} topics, ${hourDoc.sentiment.timeline.length} timeline points`);
console.log(`top topics: ${hourDoc.topics.items.slice(0, 6).map((t) => t.phrase).join(' | ')}`);
{
	// The generator's own action and decision sentences against what was found.
	const said = (list) => hour.segments.reduce((n, s) => n + list.filter((x) => s.text.includes(x)).length, 0);
	for (const [name, list, found] of [['action items', ACTIONS, hourDoc.action_items.items], ['decisions', DECISIONS, hourDoc.decisions.items]]) {
		const right = found.filter((i) => list.includes(i.text)).length;
		console.log(`${name} in the hour: ${right} of ${said(list)} generated found, ${found.length - right} others`);
	}
}

// ---------------------------------------------------------------- 2. quality

// [speaker, label ('' | 'A' action | 'D' decision | 'K' key sentence; combinable), text]
const MEETINGS = {
	'product launch': [
		[1, '', 'Good morning everyone, thanks for joining the launch review.'],
		[1, 'K', 'The main question today is whether the mobile app launch can still happen in March.'],
		[2, 'K', 'The mobile app passed the security audit, but the payment integration still fails on older phones.'],
		[3, '', 'Yeah, I saw that.'],
		[3, 'K', 'Support expects a large number of tickets if the payment integration fails at launch.'],
		[1, '', 'How many phones are affected?'],
		[2, '', 'About eight percent of our users, mostly on Android nine.'],
		[1, 'D', 'We decided to delay the mobile app launch by two weeks to fix the payment integration.'],
		[2, 'A', 'I will fix the payment integration on older phones by next Friday.'],
		[1, 'A', 'Priya, can you update the launch plan and tell the marketing team?'],
		[3, '', 'Sure, no problem.'],
		[3, 'A', "I'll prepare the support team for the new launch date."],
		[1, '', 'I think that covers it.'],
		[2, '', "I'll be honest, I was hoping we could make March."],
		[1, 'K', 'A two week delay is better than a launch where payments fail for eight percent of users.'],
		[1, '', 'Thanks everyone, see you next week.'],
	],
	'hiring sync': [
		[1, '', 'Okay, let us start with the hiring update.'],
		[2, 'K', 'We interviewed five candidates for the backend engineer role this week.'],
		[2, 'K', 'Two of the backend candidates were strong, and one of them has deep database experience.'],
		[1, '', 'Great.'],
		[3, '', 'What about the designer role?'],
		[2, 'K', 'The designer role has had very few applicants because the salary range is below the market.'],
		[1, 'D', 'We agreed to raise the salary range for the designer role by ten percent.'],
		[1, 'A', 'Tom, please send offers to both backend candidates by Wednesday.'],
		[2, '', 'Will do.'],
		[3, 'A', 'I need to rewrite the designer job description before we post it again.'],
		[1, '', 'Can you hear me okay? The connection is bad.'],
		[3, '', 'Yes, we can hear you.'],
		[1, 'D', "Let's go with the recruiting agency for the designer search."],
		[2, 'A', "I'll call the recruiting agency tomorrow morning."],
		[1, '', 'Good, that is all for today.'],
	],
	'budget review': [
		[1, '', 'Welcome to the quarterly budget review.'],
		[1, 'K', 'Marketing spent forty percent of its yearly budget in the first quarter.'],
		[2, 'K', 'Most of the marketing budget went to the trade show and the new website.'],
		[3, '', 'That is a lot.'],
		[3, 'K', 'Cloud costs also grew by thirty percent because the data pipeline runs twice a day now.'],
		[1, '', 'Do we really need the data pipeline to run twice a day?'],
		[3, '', 'Not really, once a day would be enough for the reports.'],
		[1, 'D', 'The decision is to run the data pipeline once a day from next month.'],
		[3, 'A', 'I will change the pipeline schedule and measure the savings.'],
		[1, 'A', 'We need to cut the marketing budget for the third quarter by fifteen percent.'],
		[2, '', 'That will hurt the autumn campaign.'],
		[2, 'A', "Let's review the autumn campaign plan together on Monday."],
		[1, '', 'Fine, Monday works.'],
		[1, 'D', 'We settled on a fifteen percent cut for marketing in the third quarter.'],
		[1, '', 'Thank you all.'],
	],
	'incident retro': [
		[1, '', 'This is the retrospective for last Tuesday outage.'],
		[2, 'K', 'The outage started when a database migration locked the orders table for forty minutes.'],
		[2, 'K', 'Customers could not place orders during the outage, and we lost about two hundred orders.'],
		[3, '', 'Ouch.'],
		[3, 'K', 'Our alerts fired after fifteen minutes because the error threshold was set too high.'],
		[1, '', 'Why did the migration lock the table?'],
		[2, '', 'It added an index without the concurrent option.'],
		[1, 'D', 'We agreed that every migration gets reviewed by a database owner from now on.'],
		[2, 'A', 'I will write a checklist for safe database migrations this week.'],
		[3, 'A', 'I need to lower the error threshold for the order alerts.'],
		[1, 'A', 'Daniel, could you contact the customers who lost orders by Thursday?'],
		[4, '', 'Yes, I can do that.'],
		[1, '', 'Let me think about whether we need a status page too.'],
		[4, '', 'We should probably discuss that next time.'],
		[1, '', 'Okay, thanks everyone.'],
	],
	// Written after the rules, in phrasings they were not written for: what they miss.
	'design crit (unseen phrasing)': [
		[1, '', 'Let us look at the new checkout design.'],
		[2, 'K', 'The new checkout design removes two steps, so people pay faster.'],
		[3, 'K', 'Testing showed that older users could not find the coupon field in the new checkout.'],
		[1, '', 'Hmm, that matters.'],
		[2, 'A', 'Sam is going to move the coupon field above the total.'],
		[1, 'A', 'Action item for Lee: rerun the usability test next Tuesday.'],
		[3, 'D', 'The consensus is that the new checkout ships after the second test.'],
		[3, 'A', "I'm going to take care of the accessibility review."],
		[1, 'A', 'Someone should tell support about the coupon change.'],
		[2, '', 'I guess so.'],
		[1, 'D', 'So it is settled, the old checkout stays until the end of the month.'],
		[1, '', 'Thanks all.'],
	],
};

function meetingTranscript(lines) {
	let t = 0;
	const segs = lines.map(([spk, , text]) => {
		const dur = Math.max(1.5, text.split(/\s+/).length / 2.5);
		const s = { speaker: spk, text, start: t, end: t + dur };
		t += dur + 0.5;
		return s;
	});
	return transcript(segs, Math.max(...lines.map((l) => l[0])));
}

const fresh = () => ({ A: { tp: 0, fp: 0, fn: 0 }, D: { tp: 0, fp: 0, fn: 0 }, K: 0, Kfound: 0, Klead: 0 });
const totals = { main: fresh(), unseen: fresh() };
console.log('\n== 2. quality on 4 scripted meetings (and one in unseen phrasing)');
for (const [name, lines] of Object.entries(MEETINGS)) {
	const tot = name.includes('unseen') ? totals.unseen : totals.main;
	const file = path.join(tmp, `${name.replace(/\s+/g, '-')}.json`);
	fs.writeFileSync(file, JSON.stringify(meetingTranscript(lines)));
	const { doc } = insights(file);
	const want = (l) => new Set(lines.filter((x) => x[1].includes(l)).map((x) => x[2]));
	const row = [];
	for (const [label, list] of [['A', doc.action_items.items], ['D', doc.decisions.items]]) {
		const w = want(label);
		const got = new Set(list.map((i) => i.text));
		let tp = 0;
		for (const g of got) if (w.has(g)) tp++;
		tot[label].tp += tp;
		tot[label].fp += got.size - tp;
		tot[label].fn += w.size - tp;
		row.push(`${label === 'A' ? 'actions' : 'decisions'} ${tp}/${w.size} found, ${got.size - tp} wrong`);
		for (const g of got) if (!w.has(g)) row.push(`  wrong ${label}: "${g}"`);
		for (const x of w) if (!got.has(x)) row.push(`  missed ${label}: "${x}"`);
	}
	const keys = want('K');
	const summary = doc.summary.sentences.map((s) => s.text);
	const lead = lines.slice(0, summary.length).map((l) => l[2]);
	const k = summary.filter((s) => keys.has(s)).length;
	const kl = lead.filter((s) => keys.has(s)).length;
	tot.K += keys.size;
	tot.Kfound += k;
	tot.Klead += kl;
	row.push(`summary ${summary.length} sentences: ${k}/${keys.size} key sentences (lead baseline ${kl}/${keys.size})`);
	const who = doc.action_items.items.map((i) => `${i.who ?? '-'}${i.when ? ' @ ' + i.when : ''}`).join('; ');
	row.push(`who/when: ${who}`);
	console.log(`-- ${name}\n   ${row.join('\n   ')}`);
}
const pr = (x) => {
	const p = x.tp + x.fp ? x.tp / (x.tp + x.fp) : 1;
	const r = x.tp + x.fn ? x.tp / (x.tp + x.fn) : 1;
	return `precision ${p.toFixed(2)}  recall ${r.toFixed(2)}  (tp ${x.tp}, fp ${x.fp}, fn ${x.fn})`;
};
for (const [label, tot] of [['the 4 scripted meetings', totals.main], ['the unseen-phrasing meeting', totals.unseen]]) {
	console.log(`\n== totals, ${label}`);
	console.log(`action items: ${pr(tot.A)}`);
	console.log(`decisions:    ${pr(tot.D)}`);
	console.log(`summary key sentences: ${tot.Kfound}/${tot.K} = ${(tot.Kfound / tot.K).toFixed(2)}  (lead baseline ${tot.Klead}/${tot.K} = ${(tot.Klead / tot.K).toFixed(2)})`);
}
fs.rmSync(tmp, { recursive: true, force: true });
