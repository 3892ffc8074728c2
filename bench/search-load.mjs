// The search benchmark's client (bench/search.sh): sequential GET
// /api/v1/search requests over loopback HTTP (keep-alive), one query type at
// a time, and the latency percentiles of each.
//
//   node bench/search-load.mjs BASE TOKEN MEETINGS WORDS_PER_MEETING [REQUESTS] [PIDS]
//
// PIDS (comma-separated: iamd, and the PostgreSQL postmaster if any) adds
// the server CPU time each query took (iamd plus every PostgreSQL process),
// a figure that does not depend on how busy the machine is, unlike the
// latency on a shared machine. SLOWEST=N (environment) lists the N slowest
// queries of each kind.
//
// Queries come from the corpus itself (same seed): one-word queries use
// words of Zipf ranks 20..3000 (content words: neither "the"-like words found
// in every segment nor words found nowhere); two-word queries are two words
// of one sampled segment (words are all required within a segment, so
// every such query has a hit) and phrases two adjacent words of one;
// "across" phrases are the last word of a segment and the first of the
// next one (found since search indexes the next segment's beginning with
// each segment).
import fs from 'node:fs';
import { generate, vocabulary, rng, SEED } from './search-corpus.mjs';

const [, , BASE, TOKEN, MEETINGS, WORDS, REQUESTS = '300', PIDS = ''] = process.argv;
const N = Number(REQUESTS);
const rand = rng(SEED + 7);
const rand2 = rng(SEED + 11); // across: its own draws, so the other kinds stay the same queries
const { vocab } = vocabulary();
const word = () => vocab[20 + Math.floor(rand() * 2980)];

const phrases = [];
const pairs = [];
const across = [];
const every = Math.max(1, Math.floor(Number(MEETINGS) / (N * 2)));
generate(Number(MEETINGS), Number(WORDS), (i, title, created, segments) => {
	if (i % every) return;
	const s = segments[Math.floor(rand() * segments.length)].text.split(' ');
	if (s.length < 2) return;
	const k = Math.floor(rand() * (s.length - 1));
	phrases.push(`"${s[k]} ${s[k + 1]}"`);
	const a = s[Math.floor(rand() * s.length)];
	const b = s[Math.floor(rand() * s.length)];
	pairs.push(`${a} ${b}`);
	const j = Math.floor(rand2() * (segments.length - 1));
	if (segments.length > 1) across.push(`"${segments[j].text.split(' ').at(-1)} ${segments[j + 1].text.split(' ')[0]}"`);
});

async function one(q) {
	const t0 = performance.now();
	const res = await fetch(`${BASE}/api/v1/search?q=${encodeURIComponent(q)}&limit=20`, {
		headers: { Authorization: `Bearer ${TOKEN}` },
	});
	const body = await res.json();
	const ms = performance.now() - t0;
	if (res.status !== 200) throw new Error(`${q}: ${res.status} ${JSON.stringify(body)}`);
	return { ms, hits: body.data.length, q };
}

const TICK_MS = 10; // USER_HZ is 100 on Linux
/** ticks of CPU: utime + stime (+ reaped children) of pid */
function ticks(pid, children) {
	try {
		const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
		// after "pid (comm) ": state=0 ppid=1 ... utime=11 stime=12 cutime=13 cstime=14
		return Number(f[11]) + Number(f[12]) + (children ? Number(f[13]) + Number(f[14]) : 0);
	} catch {
		return 0;
	}
}
function serverCpuMs() {
	const [iamd, pm] = PIDS.split(',').filter(Boolean).map(Number);
	if (!iamd) return NaN;
	let t = ticks(iamd, false);
	if (pm) {
		t += ticks(pm, true);
		for (const d of fs.readdirSync('/proc')) {
			if (!/^\d+$/.test(d)) continue;
			try {
				const f = fs.readFileSync(`/proc/${d}/stat`, 'utf8').split(') ')[1].split(' ');
				if (Number(f[1]) === pm) t += Number(f[11]) + Number(f[12]);
			} catch {
				/* gone */
			}
		}
	}
	return t * TICK_MS;
}

const pct = (xs, p) => xs[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))];

async function kind(name, make) {
	const times = [];
	const slow = [];
	let empty = 0;
	const cpu0 = serverCpuMs();
	for (let i = 0; i < N; i++) {
		const r = await one(make(i));
		times.push(r.ms);
		slow.push(r);
		if (!r.hits) empty++;
	}
	const cpu = (serverCpuMs() - cpu0) / N;
	times.sort((a, b) => a - b);
	const f = (x) => x.toFixed(1).padStart(8);
	console.log(`${name.padEnd(10)} ${String(N).padStart(6)} ${f(pct(times, 50))} ${f(pct(times, 95))} ${f(times.at(-1))} ${String(empty).padStart(9)} ${Number.isNaN(cpu) ? '' : f(cpu).padStart(14)}`);
	if (process.env.SLOWEST) {
		slow.sort((a, b) => b.ms - a.ms);
		for (const r of slow.slice(0, Number(process.env.SLOWEST))) console.log(`    ${r.ms.toFixed(1).padStart(8)} ms  ${r.q}`);
	}
	return pct(times, 95);
}

for (let i = 0; i < 20; i++) await one(word()); // warm-up (caches, prepared statements)
console.log(`${'query'.padEnd(10)} ${'n'.padStart(6)} ${'p50 ms'.padStart(8)} ${'p95 ms'.padStart(8)} ${'max ms'.padStart(8)} ${'no hits'.padStart(9)} ${'server CPU ms'.padStart(14)}`);
console.log(`(load average now: ${fs.readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')} on this many cores: ${(await import('node:os')).cpus().length})`);
const p95 = [];
p95.push(await kind('one-word', () => word()));
p95.push(await kind('two-word', (i) => pairs[i % pairs.length]));
p95.push(await kind('phrase', (i) => phrases[i % phrases.length]));
p95.push(await kind('across', (i) => across[i % across.length]));
console.log(`p95 target < 50 ms: ${p95.every((x) => x < 50) ? 'met' : 'NOT met'}`);
