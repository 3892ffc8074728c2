#!/usr/bin/env node
// Word-timing set for bench/engines.sh.
//   node bench/timing-set.mjs DIR                 write DIR/timing.wav and DIR/truth.json
//   node bench/timing-set.mjs score TRUTH JSON    compare a transcript's word starts with the truth
// Each word is spoken on its own by espeak-ng, trimmed of silence and joined
// to the next with a short gap, so where every word starts is known exactly;
// phrases (several voices) are separated by pauses.
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';

const PHRASES = [
	['en-us', 'please send the report before friday afternoon'],
	['en-gb', 'the meeting starts at nine tomorrow morning'],
	['en-us+f3', 'our customers want better prices and faster delivery'],
	['en-us+edward', 'we need to finish the project by next week'],
	['en-gb', 'she went to the store to buy some milk'],
	['en-us', 'the team agreed to move the deadline'],
	['en-us+f3', 'good morning everyone and welcome'],
	['en-us+edward', 'the company reported strong sales this year'],
];
const GAP = 0.06;
const RATE = 16000;
const norm = (w) => w.toLowerCase().replace(/[^a-z0-9']/g, '');

function run(cmd, args) {
	return execFileSync(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
}

if (process.argv[2] === 'score') {
	const truth = JSON.parse(fs.readFileSync(process.argv[3], 'utf8'));
	const t = JSON.parse(fs.readFileSync(process.argv[4], 'utf8'));
	const hyp = (t.segments || []).flatMap((s) => s.words || []);
	const errs = [];
	let j = 0;
	for (const w of hyp) {
		const n = norm(w.word);
		for (let k = j; k < truth.length && k < j + 3; k++)
			if (truth[k].word === n) {
				errs.push(Math.abs(w.start - truth[k].start));
				j = k + 1;
				break;
			}
	}
	errs.sort((a, b) => a - b);
	const q = (p) => (errs.length ? errs[Math.min(errs.length - 1, Math.ceil(p * errs.length) - 1)] : NaN);
	const ms = (x) => `${Math.round(1000 * x)} ms`;
	console.log(
		`word starts: ${errs.length} of ${truth.length} words matched; error median ${ms(q(0.5))} (target <= 150), ` +
			`p95 ${ms(q(0.95))} (target <= 400), max ${ms(errs[errs.length - 1] || 0)}`,
	);
	process.exit(0);
}

const dir = process.argv[2];
fs.mkdirSync(dir, { recursive: true });
const raw = [];
const truth = [];
let t = 1.0;
const silence = (s) => Buffer.alloc(Math.round(s * RATE) * 2);
raw.push(silence(1.0));
for (const [voice, text] of PHRASES) {
	for (const w of text.split(' ')) {
		const pcm = run('sh', [
			'-c',
			`espeak-ng -v ${voice} -s 160 --stdout "${w}" | sox -t wav - -t raw -r ${RATE} -c 1 -b 16 -e signed-integer - ` +
				'silence 1 0.005 0.2% reverse silence 1 0.005 0.2% reverse',
		]);
		truth.push({ word: norm(w), start: Number(t.toFixed(4)) });
		raw.push(pcm, silence(GAP));
		t += pcm.length / 2 / RATE + GAP;
	}
	raw.push(silence(1.5));
	t += 1.5;
}
const pcmFile = path.join(dir, 'timing.raw');
fs.writeFileSync(pcmFile, Buffer.concat(raw));
run('sox', ['-t', 'raw', '-r', String(RATE), '-c', '1', '-b', '16', '-e', 'signed-integer', pcmFile, path.join(dir, 'timing.wav')]);
fs.writeFileSync(path.join(dir, 'truth.json'), JSON.stringify(truth));
console.log(`words=${truth.length}`);
console.log(`seconds=${t.toFixed(1)}`);
