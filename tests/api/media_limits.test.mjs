// Limits on what one upload can make the server do (issue 8 #24): audio
// longer than IAM_MAX_AUDIO_MINUTES is refused with 422 `audio_too_long`
// before anything is stored or queued, whichever door it comes through.
// The file is generated at test time: a FLAC of 8 kHz silence a little over
// the limit, about 80 KB for ten hours.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BASE, assertNoAudio, assertProblem, createMeeting, getMeeting, register, requestBytes, show, uploadRaw } from './helpers.mjs';

const T = { timeout: 120000 };
const MAX_MINUTES = Number(process.env.IAM_MAX_AUDIO_MINUTES || 600);

let cached = null;
/** FLAC silence of the limit plus one minute; cached for the process. */
function tooLong() {
	if (cached) return cached;
	const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'iam-limits-'));
	const file = path.join(dir, 'long.flac');
	execFileSync('ffmpeg', ['-nostdin', '-loglevel', 'error', '-f', 'lavfi', '-i', 'anullsrc=r=8000:cl=mono',
		'-t', String((MAX_MINUTES + 1) * 60), '-c:a', 'flac', '-frame_size', '65535', file]);
	cached = fs.readFileSync(file);
	fs.rmSync(dir, { recursive: true, force: true });
	return cached;
}

function assertTooLong(res) {
	assertProblem(res, 422, 'audio_too_long');
	const limit = `${MAX_MINUTES} minutes`;
	assert.ok(res.body.detail.includes(limit), `detail should state the limit (${limit}): ${res.body.detail}`);
	assert.match(res.body.detail, /lasts \d+ h \d+ min/, `detail should state the length found: ${res.body.detail}`);
}

describe('longest audio', T, () => {
	test('a direct upload longer than the limit -> 422 audio_too_long naming the limit; nothing stored or queued', async () => {
		const a = await register({ tag: 'toolong' });
		const m = await createMeeting(a.access, { title: 'Far too long' });
		const buf = tooLong();
		assert.ok(buf.length < 200 * 1024, `the file is small (${buf.length} bytes): the header makes it long`);
		const res = await uploadRaw(a.access, m.id, buf, { filename: 'long.flac' });
		assertTooLong(res);
		assertNoAudio(await getMeeting(a.access, m.id));
	});

	test('a tus upload longer than the limit -> 422 audio_too_long on the last PATCH; the meeting stays pending', async () => {
		const a = await register({ tag: 'toolongtus' });
		const buf = tooLong();
		const b64 = (s) => Buffer.from(s, 'utf8').toString('base64');
		const created = await requestBytes('POST', '/api/v1/uploads', {
			token: a.access,
			headers: {
				'tus-resumable': '1.0.0',
				'upload-length': String(buf.length),
				'upload-metadata': `filename ${b64('long.flac')},title ${b64('Too long via tus')}`,
			},
			timeout: 30000,
		});
		assert.equal(created.status, 201, `tus create: ${show(created)}`);
		const where = new URL(created.headers.get('location'), BASE).pathname;
		const meetingId = created.headers.get('x-meeting-id');
		const res = await requestBytes('PATCH', where, {
			token: a.access,
			headers: { 'tus-resumable': '1.0.0', 'content-type': 'application/offset+octet-stream', 'upload-offset': '0' },
			body: buf,
			timeout: 30000,
		});
		assertTooLong(res);
		assertNoAudio(await getMeeting(a.access, meetingId));
	});
});
