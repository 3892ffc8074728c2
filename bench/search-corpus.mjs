// The search benchmark's corpus (bench/search.sh): meetings whose titles and
// transcript segments are drawn, with a fixed seed, from English words
// (PocketSphinx's CMU dictionary) in a Zipf distribution, so word
// frequencies look like speech: a few words everywhere, most rare.
//
//   node bench/search-corpus.mjs sql ENGINE ORG_ID USER_ID [MEETINGS] [WORDS_PER_MEETING]
//       writes SQL (one transaction) that inserts the meetings and their
//       search_docs rows (title + one row per segment, with the beginning of
//       the next segment in next_text) for ENGINE sqlite|pg.
//       Transcript bodies are not written: search reads search_docs only.
//
// The generator is exported so bench/search-load.mjs draws its queries from
// the same text.
import fs from 'node:fs';

export const SEED = 20261130;
const DICT = '/usr/share/pocketsphinx/model/en-us/cmudict-en-us.dict';
const VOCAB = 30000;
const SPEAKERS = ['Amara', 'Bruno', 'Chen', 'Dana'];

export function rng(seed) {
	let a = seed >>> 0;
	return () => {
		a = (a + 0x6d2b79f5) >>> 0;
		let t = a;
		t = Math.imul(t ^ (t >>> 15), t | 1);
		t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
		return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
	};
}

/** VOCAB words in Zipf rank order (rank 0 is the most frequent) and a sampler. */
export function vocabulary(seed = SEED) {
	const words = [];
	for (const line of fs.readFileSync(DICT, 'utf8').split('\n')) {
		const w = line.split(' ')[0];
		if (/^[a-z]{2,14}$/.test(w)) words.push(w);
	}
	const rand = rng(seed);
	for (let i = words.length - 1; i > 0; i--) {
		const j = Math.floor(rand() * (i + 1));
		[words[i], words[j]] = [words[j], words[i]];
	}
	const vocab = words.slice(0, VOCAB);
	const cum = new Float64Array(VOCAB);
	let s = 0;
	for (let r = 0; r < VOCAB; r++) cum[r] = s += 1 / (r + 1);
	const sample = (u) => {
		const x = u * s;
		let lo = 0, hi = VOCAB - 1;
		while (lo < hi) {
			const mid = (lo + hi) >> 1;
			if (cum[mid] < x) lo = mid + 1;
			else hi = mid;
		}
		return vocab[lo];
	};
	return { vocab, sample };
}

/**
 * Calls onMeeting(i, title, createdAtMs, segments) for each meeting;
 * segments = [{ start, end, speaker: 'S<n>', name, text }].
 */
export function generate(meetings, wordsPerMeeting, onMeeting, seed = SEED) {
	const { sample } = vocabulary(seed);
	const rand = rng(seed + 1);
	const now = Date.UTC(2026, 10, 1);
	for (let i = 0; i < meetings; i++) {
		const title = Array.from({ length: 2 + Math.floor(rand() * 4) }, () => sample(rand())).join(' ');
		const created = now - Math.floor(rand() * 365 * 86400000);
		const segments = [];
		let left = wordsPerMeeting, t = 0;
		while (left > 0) {
			const n = Math.min(left, 6 + Math.floor(rand() * 25));
			const text = Array.from({ length: n }, () => sample(rand())).join(' ');
			const k = Math.floor(rand() * SPEAKERS.length);
			const dur = n * 0.4;
			segments.push({ start: +t.toFixed(3), end: +(t + dur).toFixed(3), speaker: `S${k + 1}`, name: SPEAKERS[k], text });
			t += dur + 0.3;
			left -= n;
		}
		onMeeting(i, title, created, segments);
	}
}

/** The beginning of a segment that search_docs.next_text holds (store/search.c NEXT_CUT). */
export function nextText(t) {
	const i = t.length > 48 ? t.indexOf(' ', 48) : -1;
	return i < 0 ? t : t.slice(0, i);
}

function meetingId(i) {
	const h = (i + 1).toString(16).padStart(12, '0');
	return `01900000-0000-7000-8000-${h}`;
}

function sql(engine, org, user, meetings, words) {
	const out = fs.createWriteStream(null, { fd: 1 });
	const q = (s) => `'${s.replace(/'/g, "''")}'`;
	const buf = [];
	const flush = (force) => {
		if (buf.length && (force || buf.length > 64 * 1024)) {
			out.write(buf.join(''));
			buf.length = 0;
		}
	};
	buf.push(engine === 'sqlite' ? 'PRAGMA synchronous=OFF;\nBEGIN;\n' : 'BEGIN;\n');
	generate(meetings, words, (i, title, created, segments) => {
		const id = meetingId(i);
		buf.push(
			`INSERT INTO meetings (id, org_id, created_by, title, description, status, progress, language, duration_seconds, created_at, updated_at) VALUES (${q(id)}, ${q(org)}, ${q(user)}, ${q(title)}, '', 'completed', 100, 'en', ${segments.at(-1).end}, ${created}, ${created});\n`,
		);
		const rows = [`(${q(org)}, ${q(id)}, 'title', -1, '', '', NULL, NULL, ${q(title)}, '')`];
		segments.forEach((s, k) => rows.push(`(${q(org)}, ${q(id)}, 'segment', ${k}, ${q(s.speaker)}, ${q(s.name)}, ${s.start}, ${s.end}, ${q(s.text)}, ${q(k + 1 < segments.length ? nextText(segments[k + 1].text) : '')})`));
		buf.push(`INSERT INTO search_docs (org_id, meeting_id, kind, segment_index, speaker_id, speaker_name, start_s, end_s, body, next_text) VALUES\n${rows.join(',\n')};\n`);
		flush(false);
	});
	buf.push('COMMIT;\n');
	if (engine === 'pg') buf.push('ANALYZE search_docs;\nANALYZE meetings;\n');
	flush(true);
	out.end();
}

if (process.argv[1] && process.argv[1].endsWith('search-corpus.mjs') && process.argv[2] === 'sql') {
	const [, , , engine, org, user, meetings = '10000', words = '500'] = process.argv;
	sql(engine, org, user, Number(meetings), Number(words));
}
