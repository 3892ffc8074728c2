// Diarization benchmark driver (bench/diarize.sh runs it).
//
// Builds conversations of 2, 3 and 4 speakers from distinct espeak-ng voices
// and sox pitch/tempo-shifted variants, taking turns of 1–20 s without
// overlap, plus the same conversations with white noise at 15–20 dB SNR;
// runs `iamd diarize` on each with the count unknown and with the exact count;
// scores DER (250 ms collar: missed speech + false alarm + speaker confusion
// under the best speaker mapping, over scored reference speech), the speaker
// count, RTF and peak RSS (/usr/bin/time -v). Baseline in the same run: the
// same speech regions all given to one speaker.
//
//   node bench/diarize-bench.mjs --iamd build/iamd --per 5 [--keep DIR] [--energy]
//   node bench/diarize-bench.mjs --gen-hour FILE        (one ~1-hour conversation)
//   node bench/diarize-bench.mjs --score REF.json HYP.json
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const RATE = 16000;
const COLLAR = 0.25;

// Speakers: an espeak-ng voice, then sox pitch (cents) and tempo.
export const VOICES = [
	{ v: 'en-us', pitch: 0, tempo: 1.0 },
	{ v: 'en+f3', pitch: 0, tempo: 1.0 },
	{ v: 'en-gb+m3', pitch: -200, tempo: 1.1 },
	{ v: 'en+f4', pitch: 200, tempo: 0.9 },
	{ v: 'en-us', pitch: 500, tempo: 0.95 },
	{ v: 'en+f2', pitch: -300, tempo: 1.05 },
	{ v: 'en-gb-scotland+m7', pitch: 0, tempo: 1.0 },
	{ v: 'en-029+f1', pitch: -150, tempo: 1.1 },
];

const WORDS = (
	'the meeting budget quarter plan team customer report project review market sales ' +
	'growth cost price product launch schedule office travel contract supplier partner ' +
	'design engineering support service quality risk issue decision question answer ' +
	'week month year morning afternoon today tomorrow yesterday number figure target ' +
	'we should could would will must need want think believe agree suggest propose ' +
	'look check send call write read move change start finish open close keep bring ' +
	'about after before during within without between under over around because ' +
	'really clearly probably simply quickly carefully early late again still also ' +
	'new old small large good better best final first second third next last main ' +
	'people manager director client user student teacher doctor engineer analyst ' +
	'data system network server database website application phone email letter ' +
	'green blue river mountain city garden window table kitchen station airport'
).split(/\s+/);

// Deterministic random numbers (mulberry32).
function rng(seed) {
	let a = seed >>> 0;
	return () => {
		a = (a + 0x6d2b79f5) >>> 0;
		let t = a;
		t = Math.imul(t ^ (t >>> 15), t | 1);
		t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
		return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
	};
}

function sentence(r, nwords) {
	const out = [];
	for (let i = 0; i < nwords; i++) {
		let w = WORDS[Math.floor(r() * WORDS.length)];
		if (i === 0) w = w[0].toUpperCase() + w.slice(1);
		out.push(w);
		if (i + 1 < nwords && r() < 0.08) out[out.length - 1] += ',';
	}
	return out.join(' ') + '.';
}

// Speech of one turn as Int16Array (16 kHz mono), trimmed of silence at both ends.
function synth(voice, text) {
	const wav = execFileSync('espeak-ng', ['-v', voice.v, '-s', '165', '--stdout', text], {
		maxBuffer: 1 << 28,
	});
	const fx = [];
	if (voice.pitch) fx.push('pitch', String(voice.pitch));
	if (voice.tempo !== 1) fx.push('tempo', '-s', String(voice.tempo));
	const raw = execFileSync(
		'sox',
		['-q', '-t', 'wav', '-', '-t', 'raw', '-r', '16000', '-c', '1', '-b', '16', '-e', 'signed',
			'-', ...fx, 'rate', '16000', 'silence', '1', '0.02', '0.5%', 'reverse', 'silence', '1',
			'0.02', '0.5%', 'reverse'],
		{ input: wav, maxBuffer: 1 << 28 },
	);
	return new Int16Array(raw.buffer, raw.byteOffset, raw.length >> 1);
}

// A conversation: {pcm: Int16Array, ref: [{start, end, speaker}]}.
export function conversation(k, seed, totalS = 90) {
	const r = rng(seed);
	const pool = VOICES.map((v, i) => i);
	for (let i = pool.length - 1; i > 0; i--) {
		const j = Math.floor(r() * (i + 1));
		[pool[i], pool[j]] = [pool[j], pool[i]];
	}
	const spk = pool.slice(0, k);
	const pieces = [];
	const ref = [];
	let t = 0.5 + r();
	let n = Math.round(t * RATE);
	pieces.push(new Int16Array(n));
	let cur = -1;
	for (let turn = 0; t < totalS || turn < k; turn++) {
		let s;
		if (turn < k) s = turn;
		else do s = Math.floor(r() * k); while (s === cur);
		cur = s;
		const dur = 1 + r() * 19; // 1–20 s
		// about 2.7 words a second at 165 wpm
		const pcm = synth(VOICES[spk[s]], sentence(r, Math.max(2, Math.round(dur * 2.7))));
		ref.push({ start: n / RATE, end: (n + pcm.length) / RATE, speaker: s });
		pieces.push(pcm);
		n += pcm.length;
		const gap = Math.round((0.15 + r() * 0.65) * RATE);
		pieces.push(new Int16Array(gap));
		n += gap;
		t = n / RATE;
	}
	const pcm = new Int16Array(n);
	let o = 0;
	for (const p of pieces) {
		pcm.set(p, o);
		o += p.length;
	}
	return { pcm, ref, voices: spk.map((i) => VOICES[i]) };
}

// White noise at snrDb relative to the mean power of the speech.
export function addNoise(pcm, ref, snrDb, seed) {
	const r = rng(seed);
	let p = 0;
	let cnt = 0;
	for (const t of ref)
		for (let i = Math.floor(t.start * RATE); i < Math.floor(t.end * RATE); i++) {
			p += pcm[i] * pcm[i];
			cnt++;
		}
	const sigma = Math.sqrt(p / cnt / 10 ** (snrDb / 10));
	const out = new Int16Array(pcm.length);
	for (let i = 0; i < pcm.length; i++) {
		const g = Math.sqrt(-2 * Math.log(r() + 1e-12)) * Math.cos(2 * Math.PI * r());
		out[i] = Math.max(-32768, Math.min(32767, Math.round(pcm[i] + sigma * g)));
	}
	return out;
}

export function writeWav(file, pcm) {
	const h = Buffer.alloc(44);
	h.write('RIFF', 0);
	h.writeUInt32LE(36 + pcm.length * 2, 4);
	h.write('WAVEfmt ', 8);
	h.writeUInt32LE(16, 16);
	h.writeUInt16LE(1, 20);
	h.writeUInt16LE(1, 22);
	h.writeUInt32LE(RATE, 24);
	h.writeUInt32LE(RATE * 2, 28);
	h.writeUInt16LE(2, 32);
	h.writeUInt16LE(16, 34);
	h.write('data', 36);
	h.writeUInt32LE(pcm.length * 2, 40);
	const fd = fs.openSync(file, 'w');
	fs.writeSync(fd, h);
	fs.writeSync(fd, Buffer.from(pcm.buffer, pcm.byteOffset, pcm.length * 2));
	fs.closeSync(fd);
}

// DER with a collar, on a 10 ms grid. Returns {der, miss, fa, conf, scored} (seconds).
export function score(ref, hyp, collar = COLLAR) {
	const step = 0.01;
	const end = Math.max(...ref.map((t) => t.end), ...hyp.map((t) => t.end), 0);
	const n = Math.ceil(end / step) + 1;
	const R = new Int8Array(n).fill(-1);
	const H = new Int8Array(n).fill(-1);
	const skip = new Uint8Array(n);
	for (const t of ref) {
		for (let i = Math.round(t.start / step); i < Math.round(t.end / step); i++) R[i] = t.speaker;
		for (const b of [t.start, t.end])
			for (let i = Math.max(0, Math.round((b - collar) / step)); i < Math.min(n, Math.round((b + collar) / step)); i++)
				skip[i] = 1;
	}
	for (const t of hyp)
		for (let i = Math.round(t.start / step); i < Math.round(t.end / step); i++) H[i] = t.speaker;
	const nr = Math.max(0, ...ref.map((t) => t.speaker + 1));
	const nh = Math.max(0, ...hyp.map((t) => t.speaker + 1));
	const ov = Array.from({ length: nh }, () => new Float64Array(nr));
	let miss = 0;
	let fa = 0;
	let both = 0;
	let scored = 0;
	for (let i = 0; i < n; i++) {
		if (skip[i]) continue;
		if (R[i] >= 0) scored++;
		if (R[i] >= 0 && H[i] < 0) miss++;
		else if (R[i] < 0 && H[i] >= 0) fa++;
		else if (R[i] >= 0 && H[i] >= 0) {
			both++;
			ov[H[i]][R[i]]++;
		}
	}
	// best injective mapping hyp -> ref (brute force; a few speakers)
	let best = 0;
	const used = new Uint8Array(nr);
	(function go(h, acc) {
		if (h === nh) {
			if (acc > best) best = acc;
			return;
		}
		go(h + 1, acc); // h maps to no reference speaker
		for (let s = 0; s < nr; s++)
			if (!used[s]) {
				used[s] = 1;
				go(h + 1, acc + ov[h][s]);
				used[s] = 0;
			}
	})(0, 0);
	const conf = both - best;
	return {
		der: scored ? (miss + fa + conf) / scored : 0,
		miss: miss * step,
		fa: fa * step,
		conf: conf * step,
		scored: scored * step,
	};
}

function runIamd(iamd, file, args) {
	const r = spawnSync('/usr/bin/time', ['-v', iamd, 'diarize', file, ...args], {
		encoding: 'utf8',
		maxBuffer: 1 << 26,
	});
	if (r.status !== 0) throw new Error(`iamd diarize failed: ${r.stderr}`);
	const out = JSON.parse(r.stdout);
	const m = /Maximum resident set size \(kbytes\): (\d+)/.exec(r.stderr);
	out.rss_kb = m ? Number(m[1]) : 0;
	return out;
}

function arg(name, def) {
	const i = process.argv.indexOf(name);
	return i > 0 ? process.argv[i + 1] : def;
}

async function main() {
	if (process.argv.includes('--score')) {
		const ref = JSON.parse(fs.readFileSync(arg('--score'), 'utf8'));
		const hyp = JSON.parse(fs.readFileSync(process.argv[process.argv.indexOf('--score') + 2], 'utf8'));
		console.log(JSON.stringify(score(ref.turns ?? ref, hyp.turns ?? hyp)));
		return;
	}
	if (process.argv.includes('--gen-hour')) {
		// one long 4-speaker conversation (~1 hour), reference beside it
		const file = arg('--gen-hour');
		const c = conversation(4, 4242, Number(arg('--seconds', '3600')));
		writeWav(file, c.pcm);
		fs.writeFileSync(file + '.ref.json', JSON.stringify(c.ref));
		console.log(`${file}: ${(c.pcm.length / RATE).toFixed(0)} s`);
		return;
	}
	const iamd = arg('--iamd', 'build/iamd');
	const per = Number(arg('--per', '5'));
	const seconds = Number(arg('--seconds', '90'));
	const extra = process.argv.includes('--energy') ? ['--energy'] : [];
	const keep = arg('--keep', null);
	const dir = keep ?? fs.mkdtempSync(path.join(os.tmpdir(), 'diar-'));
	fs.mkdirSync(dir, { recursive: true });
	const verbose = process.argv.includes('--verbose');
	const noExact = process.argv.includes('--no-exact'); // tuning: the count-unknown runs only
	const rows = [];
	let vad = '';
	for (const k of [2, 3, 4])
		for (const noisy of [false, true]) {
			const acc = { k, noisy, n: 0, ref: 0, e: 0, ex: 0, base: 0, right: 0, audio: 0, cpu: 0, rss: 0, counts: [] };
			for (let i = 0; i < per; i++) {
				const seed = 1000 * k + i;
				const file = path.join(dir, `c${k}-${i}${noisy ? '-noisy' : ''}-${seconds}.wav`);
				let c;
				if (keep && fs.existsSync(file + '.ref.json')) {
					c = { ref: JSON.parse(fs.readFileSync(file + '.ref.json', 'utf8')) }; // made by an earlier run
				} else {
					c = conversation(k, seed, seconds);
					const pcm = noisy ? addNoise(c.pcm, c.ref, 15 + 5 * rng(seed + 7)(), seed + 1) : c.pcm;
					writeWav(file, pcm);
					fs.writeFileSync(file + '.ref.json', JSON.stringify(c.ref));
				}
				const un = runIamd(iamd, file, extra);
				const ex = noExact ? un : runIamd(iamd, file, [...extra, '--speakers', String(k)]);
				vad = un.vad;
				const s1 = score(c.ref, un.turns);
				const s2 = score(c.ref, ex.turns);
				const s0 = score(c.ref, un.turns.map((t) => ({ ...t, speaker: 0 })));
				acc.n++;
				acc.ref += s1.scored;
				acc.e += s1.der * s1.scored;
				acc.ex += s2.der * s2.scored;
				acc.base += s0.der * s0.scored;
				acc.right += un.speakers === k;
				acc.counts.push(un.speakers);
				acc.audio += un.duration;
				acc.cpu += un.seconds;
				acc.rss = Math.max(acc.rss, un.rss_kb);
				if (verbose)
					console.error(
						`${path.basename(file)}: speakers ${un.speakers}/${k} DER ${(100 * s1.der).toFixed(1)}% ` +
							`(miss ${s1.miss.toFixed(1)} fa ${s1.fa.toFixed(1)} conf ${s1.conf.toFixed(1)} of ${s1.scored.toFixed(1)} s) ` +
							`exact ${(100 * s2.der).toFixed(1)}%`,
					);
			}
			rows.push(acc);
		}
	const pct = (x) => `${(100 * x).toFixed(1)}%`.padStart(7);
	console.log(`VAD: ${vad}; ${per} conversations of ~${seconds} s per row; DER with a ${COLLAR * 1000} ms collar`);
	console.log('speakers  audio   DER(count unknown)  DER(exact count)  baseline(1 speaker)  count right  counts found        RTF     peak RSS');
	let right = 0;
	let total = 0;
	for (const a of rows) {
		right += a.right;
		total += a.n;
		console.log(
			`${String(a.k).padStart(8)}  ${a.noisy ? 'noisy' : 'clean'}  ${pct(a.e / a.ref).padStart(18)}  ${pct(a.ex / a.ref).padStart(16)}  ` +
				`${pct(a.base / a.ref).padStart(19)}  ${`${a.right}/${a.n}`.padStart(11)}  ${a.counts.join(',').padEnd(18)}  ` +
				`${(a.cpu / a.audio).toFixed(4)}  ${(a.rss / 1024).toFixed(1)} MB`,
		);
	}
	console.log(`speaker count right when not given: ${right}/${total} (${pct(right / total).trim()})`);
	if (!keep) fs.rmSync(dir, { recursive: true, force: true });
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
