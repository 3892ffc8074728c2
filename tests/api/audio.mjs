// Speech and audio fixtures for the API tests, generated at test time into a
// temporary directory (nothing is committed): espeak-ng speaks known
// sentences, ffmpeg encodes them, sox makes silence. Everything is cached per
// process, so asking twice for the same clip costs nothing.
//
// About the voice: PocketSphinx recognises espeak-ng's default en-us voice
// very poorly (about 15% of the content words of these sentences), while the
// Klatt-based "edward" variant of the same voice gets 70-95%. Sentences are
// spoken as short paragraphs (several sentences, ~10 s) because the
// recogniser's normalisation settles during the first seconds and a single
// short sentence is a coin toss. The paragraphs below were chosen because
// PocketSphinx (Debian's en-us model) finds at least 60% of their content
// words in every format (wav, mp3, ogg, m4a, flac, webm). Tests assert only
// that a majority (>= 50%) of the content words appear.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** espeak-ng arguments (overridable for experiments). */
export const VOICE = (process.env.IAM_TEST_ESPEAK_VOICE || '-v en-us+edward -s 140').split(/\s+/).filter(Boolean);

/** Known paragraphs, each roughly 9-12 s when spoken. */
export const SENTENCES = {
	meeting:
		'hello world this is a test of the meeting system. we need to finish the project by next week. ' +
		'the president of the united states. she went to the store to buy some milk. the team agreed to move the deadline.',
	project:
		'we need to finish the project by next week. she went to the store to buy some milk. ' +
		'the company reported strong sales this year. the team agreed to move the deadline.',
	report:
		'good morning everyone. the president of the united states. please send the report before friday afternoon. ' +
		'she went to the store to buy some milk. we need to finish the project by next week.',
};

/** About 30 s of speech (the three paragraphs), for tests that need a long job. */
export const LONG_TEXT = [SENTENCES.meeting, SENTENCES.report, SENTENCES.project].join(' ');

const STOP = new Set(
	('a an and are as at be by for from he her his i in is it its me my of on or our she so that the their them ' +
		'they this to us was we were will with you your some').split(' '),
);

/** Lower-case words of text without punctuation. */
export function words(text) {
	return String(text || '')
		.toLowerCase()
		.replace(/[^a-z0-9' ]+/g, ' ')
		.split(/\s+/)
		.map((w) => w.replace(/^'+|'+$/g, ''))
		.filter(Boolean);
}

/** The distinct content words (no stop words) of text. */
export function contentWords(text) {
	return [...new Set(words(text).filter((w) => !STOP.has(w)))];
}

/** Fraction of expected's content words that occur in got (0..1), and which are missing. */
export function wordScore(got, expected) {
	const have = new Set(words(got));
	const want = contentWords(expected);
	const missing = want.filter((w) => !have.has(w));
	return { score: want.length ? (want.length - missing.length) / want.length : 1, missing, want };
}

/** Assert that at least `min` (default 70%) of expected's content words are in got. */
export function assertWords(got, expected, what = 'transcript', min = 0.7) {
	assert.equal(typeof got, 'string', `${what} should be a string`);
	const { score, missing, want } = wordScore(got, expected);
	assert.ok(
		score >= min,
		`${what}: only ${Math.round(score * 100)}% of ${want.length} expected words found ` +
			`(missing ${missing.join(', ')}); got ${JSON.stringify(got.slice(0, 400))}`,
	);
	return score;
}

// ---------------------------------------------------------------- generation

let tmp = null;
function dir() {
	if (!tmp) {
		tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'iam-audio-'));
		process.on('exit', () => {
			try {
				fs.rmSync(tmp, { recursive: true, force: true });
			} catch {
				/* best effort */
			}
		});
	}
	return tmp;
}

function run(cmd, args) {
	try {
		return execFileSync(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], timeout: 60000 });
	} catch (e) {
		const err = e.stderr ? e.stderr.toString().slice(-1000) : '';
		throw new Error(`${cmd} ${args.join(' ')} failed: ${e.message} ${err}`);
	}
}

function key(...parts) {
	return crypto.createHash('sha256').update(JSON.stringify(parts)).digest('hex').slice(0, 16);
}

/** ffmpeg encoder arguments per output format. */
const ENCODE = {
	wav: ['-c:a', 'pcm_s16le'],
	mp3: ['-c:a', 'libmp3lame', '-b:a', '64k'],
	ogg: ['-c:a', 'libvorbis', '-q:a', '4'],
	m4a: ['-c:a', 'aac', '-b:a', '96k'],
	flac: ['-c:a', 'flac'],
	webm: ['-c:a', 'libopus', '-b:a', '48k'],
	opus: ['-c:a', 'libopus', '-b:a', '48k'],
};

/** Formats speech() and silence() can make. */
export const FORMATS = Object.keys(ENCODE);

/** The MIME type a client would send for each format. */
export const MIME = {
	wav: 'audio/wav',
	mp3: 'audio/mpeg',
	ogg: 'audio/ogg',
	m4a: 'audio/mp4',
	flac: 'audio/flac',
	webm: 'audio/webm',
	opus: 'audio/ogg',
	mp4: 'video/mp4',
};

function encode(srcWav, fmt, opts = {}) {
	const args = ENCODE[fmt];
	assert.ok(args, `unknown audio format ${fmt}`);
	const enc = [...args];
	if (opts.bitrate && fmt !== 'wav' && fmt !== 'flac') {
		const i = enc.indexOf('-b:a');
		if (i >= 0) enc[i + 1] = opts.bitrate;
		else enc.push('-b:a', opts.bitrate);
	}
	const out = path.join(dir(), `${key(srcWav, fmt, enc)}.${fmt}`);
	if (!fs.existsSync(out)) {
		const tmpOut = `${out}.part.${fmt}`;
		run('ffmpeg', ['-v', 'error', '-nostdin', '-y', '-i', srcWav, '-map_metadata', '-1', ...enc, tmpOut]);
		fs.renameSync(tmpOut, out);
	}
	return out;
}

function spokenWav(text, voice = VOICE) {
	const out = path.join(dir(), `${key('speech', voice, text)}.espeak.wav`);
	if (!fs.existsSync(out)) {
		const tmpOut = `${out}.part.wav`;
		run('espeak-ng', [...voice, '-w', tmpOut, text]);
		fs.renameSync(tmpOut, out);
	}
	return out;
}

/**
 * Path of a file with text spoken (fmt: wav, mp3, ogg, m4a, flac, webm).
 * opts.bitrate overrides the encoder bit rate (e.g. '128k', for bigger files).
 */
export function speechFile(text, fmt = 'mp3', opts = {}) {
	return encode(spokenWav(text), fmt, opts);
}

/** The bytes of speechFile(). */
export function speech(text, fmt = 'mp3', opts = {}) {
	return fs.readFileSync(speechFile(text, fmt, opts));
}

/** Path of `seconds` of digital silence (16 kHz mono) in fmt. */
export function silenceFile(seconds = 3, fmt = 'wav') {
	const wav = path.join(dir(), `silence-${seconds}.wav`);
	if (!fs.existsSync(wav)) {
		const tmpOut = `${wav}.part.wav`;
		run('sox', ['-n', '-r', '16000', '-c', '1', '-b', '16', tmpOut, 'trim', '0', String(seconds)]);
		fs.renameSync(tmpOut, wav);
	}
	return fmt === 'wav' ? wav : encode(wav, fmt);
}

export function silence(seconds = 3, fmt = 'wav') {
	return fs.readFileSync(silenceFile(seconds, fmt));
}

/** A video (MP4: H.264 test pattern + AAC speech) with text spoken on its audio track. */
export function videoWithSpeechFile(text = SENTENCES.project) {
	const wav = spokenWav(text);
	const out = path.join(dir(), `${key('video', wav)}.mp4`);
	if (!fs.existsSync(out)) {
		const tmpOut = `${out}.part.mp4`;
		run('ffmpeg', [
			'-v', 'error', '-nostdin', '-y',
			'-f', 'lavfi', '-i', 'testsrc=size=160x120:rate=10',
			'-i', wav,
			'-map', '0:v', '-map', '1:a', '-shortest',
			'-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p',
			'-c:a', 'aac', '-b:a', '96k',
			tmpOut,
		]);
		fs.renameSync(tmpOut, out);
	}
	return out;
}

export function videoWithSpeech(text = SENTENCES.project) {
	return fs.readFileSync(videoWithSpeechFile(text));
}

/** A 44-byte RIFF/WAVE header (16 kHz mono s16) that announces zero samples. */
export function emptyWav() {
	const b = Buffer.alloc(44);
	b.write('RIFF', 0, 'latin1');
	b.writeUInt32LE(36, 4);
	b.write('WAVE', 8, 'latin1');
	b.write('fmt ', 12, 'latin1');
	b.writeUInt32LE(16, 16); // fmt chunk size
	b.writeUInt16LE(1, 20); // PCM
	b.writeUInt16LE(1, 22); // mono
	b.writeUInt32LE(16000, 24); // sample rate
	b.writeUInt32LE(32000, 28); // byte rate
	b.writeUInt16LE(2, 32); // block align
	b.writeUInt16LE(16, 34); // bits per sample
	b.write('data', 36, 'latin1');
	b.writeUInt32LE(0, 40);
	return b;
}

/** Plain text (to be sent under an audio file name). */
export function textFile() {
	const line = 'This is a plain text file with meeting notes and not audio. Please send the report before Friday.\n';
	return Buffer.from(line.repeat(40), 'utf8');
}

/** The first `n` bytes of buf, or the first fraction of it when 0 < n < 1. */
export function truncated(buf, n) {
	const len = n > 0 && n < 1 ? Math.floor(buf.length * n) : n;
	return Buffer.from(buf.subarray(0, len));
}

/** n random bytes that do not start with a known magic number. */
export function randomBytes(n = 64 * 1024) {
	const b = crypto.randomBytes(n);
	b[0] = 0x00;
	b[1] = 0x13;
	b[2] = 0x37;
	b[3] = 0xa5;
	return b;
}

/** Duration in seconds of a media file (path or Buffer), as ffprobe sees it. */
export function durationOf(fileOrBuffer, ext = 'bin') {
	let file = fileOrBuffer;
	if (Buffer.isBuffer(fileOrBuffer)) {
		file = path.join(dir(), `${key('probe', crypto.createHash('sha256').update(fileOrBuffer).digest('hex'))}.${ext}`);
		if (!fs.existsSync(file)) fs.writeFileSync(file, fileOrBuffer);
	}
	const out = run('ffprobe', ['-v', 'error', '-show_entries', 'format=duration', '-of', 'default=nw=1:nk=1', file])
		.toString()
		.trim();
	const d = Number(out);
	assert.ok(Number.isFinite(d) && d > 0, `ffprobe gave no duration for ${file}: ${out}`);
	return d;
}

/** Write buf to a fresh file in the fixture directory and return its path. */
export function writeTemp(buf, name) {
	const d = fs.mkdtempSync(path.join(dir(), 'f-'));
	const p = path.join(d, name);
	fs.writeFileSync(p, buf);
	return p;
}

/**
 * A WAV (16 kHz mono) with each phrase spoken starting at a known time:
 * phrases = [{ text, at }] with `at` in seconds, increasing. espeak-ng's own
 * leading silence is trimmed, so speech begins at `at` (within a few ms).
 * Returns the file's path.
 */
export function phrasesAtFile(phrases, tail = 1) {
	const out = path.join(dir(), `${key('phrases', VOICE, phrases, tail)}.wav`);
	if (fs.existsSync(out)) return out;
	const parts = [];
	let t = 0;
	phrases.forEach((p, i) => {
		const raw = spokenWav(p.text);
		const trimmed = path.join(dir(), `${key('trim', raw)}.wav`);
		if (!fs.existsSync(trimmed))
			run('sox', [raw, '-r', '16000', '-c', '1', '-b', '16', trimmed, 'silence', '1', '0.005', '0.2%']);
		const lead = p.at - t;
		assert.ok(lead >= 0, `phrase ${i} starts before the previous one ends`);
		const padded = path.join(dir(), `${key('pad', trimmed, lead)}.wav`);
		run('sox', [trimmed, padded, 'pad', String(lead), '0']);
		parts.push(padded);
		t = p.at + Number(run('soxi', ['-D', trimmed]).toString().trim());
	});
	const tmpOut = `${out}.part.wav`;
	run('sox', [...parts, tmpOut, 'pad', '0', String(tail)]);
	fs.renameSync(tmpOut, out);
	return out;
}

/** Two clearly different espeak-ng voices (a low male and a high female one). */
export const VOICES = {
	a: ['-v', 'en-us+m3', '-s', '150', '-p', '35'],
	b: ['-v', 'en-gb+f4', '-s', '150', '-p', '75'],
};

/**
 * A WAV (16 kHz mono) of a conversation: turns = [{ voice, text }] spoken one
 * after another with `gap` seconds of silence between them. Returns
 * { file, turns: [{ voice, text, start, end }] } with the times each turn's
 * speech starts and ends (espeak-ng's own silence trimmed).
 */
export function conversationFile(turns, gap = 0.6) {
	const out = path.join(dir(), `${key('conversation', turns, gap)}.wav`);
	const times = [];
	const parts = [];
	let t = 0;
	turns.forEach((turn, i) => {
		const raw = spokenWav(turn.text, turn.voice);
		const trimmed = path.join(dir(), `${key('trim', raw)}.wav`);
		if (!fs.existsSync(trimmed))
			run('sox', [raw, '-r', '16000', '-c', '1', '-b', '16', trimmed, 'silence', '1', '0.005', '0.2%', 'reverse', 'silence', '1', '0.005', '0.2%', 'reverse']);
		const len = Number(run('soxi', ['-D', trimmed]).toString().trim());
		const lead = i ? gap : 0.3;
		const padded = path.join(dir(), `${key('pad', trimmed, lead)}.wav`);
		if (!fs.existsSync(padded)) run('sox', [trimmed, padded, 'pad', String(lead), '0']);
		parts.push(padded);
		times.push({ ...turn, start: t + lead, end: t + lead + len });
		t += lead + len;
	});
	if (!fs.existsSync(out)) {
		const tmpOut = `${out}.part.wav`;
		run('sox', [...parts, tmpOut, 'pad', '0', '0.5']);
		fs.renameSync(tmpOut, out);
	}
	return { file: out, turns: times };
}
