// Record from the microphone: MediaRecorder, elapsed time, a level meter
// (AnalyserNode RMS), stop, name it, upload through the same tus path.

import { useEffect, useRef, useState } from 'react';
import { Alert, Field, PageHeader, useDocumentTitle } from '../components/ui';
import { IconMic, IconStop } from '../components/icons';
import { formatBytes, formatClock } from '../lib/format';
import { useWatch } from '../lib/meetings';
import * as uploads from '../lib/uploads';
import { UploadRow } from './Upload';

type Phase = 'idle' | 'asking' | 'recording' | 'recorded';

function pickMime(): string {
	const candidates = ['audio/webm;codecs=opus', 'audio/webm', 'audio/ogg;codecs=opus', 'audio/mp4', 'audio/mpeg'];
	if (typeof MediaRecorder === 'undefined') return '';
	for (const c of candidates) if (MediaRecorder.isTypeSupported(c)) return c;
	return '';
}

function extFor(mime: string): string {
	if (mime.includes('webm')) return 'webm';
	if (mime.includes('ogg')) return 'ogg';
	if (mime.includes('mp4')) return 'm4a';
	if (mime.includes('mpeg')) return 'mp3';
	return 'webm';
}

function micError(e: unknown): string {
	const name = e instanceof DOMException ? e.name : '';
	if (name === 'NotAllowedError' || name === 'SecurityError')
		return "Microphone access was blocked. Allow the microphone for this site in your browser's address bar or settings, then try again.";
	if (name === 'NotFoundError' || name === 'OverconstrainedError') return 'No microphone was found. Connect one (or check that it is enabled in your system settings) and try again.';
	if (name === 'NotReadableError' || name === 'AbortError') return 'The microphone is in use by another app or could not be started. Close the other app and try again.';
	return 'The microphone could not be started. Check it is connected and allowed, then try again.';
}

function defaultTitle(): string {
	const d = new Date();
	return `Recording ${d.toLocaleDateString(undefined, { month: 'short', day: 'numeric' })} ${d.toLocaleTimeString(undefined, { hour: 'numeric', minute: '2-digit' })}`;
}

export function Record() {
	useDocumentTitle('Record');
	const supported = typeof window.MediaRecorder !== 'undefined' && !!navigator.mediaDevices?.getUserMedia;
	const [phase, setPhase] = useState<Phase>('idle');
	const [error, setError] = useState<string | null>(null);
	const [elapsed, setElapsed] = useState(0);
	const [blob, setBlob] = useState<Blob | null>(null);
	const [url, setUrl] = useState<string | null>(null);
	const [title, setTitle] = useState('');
	const [titleError, setTitleError] = useState<string | undefined>();
	const [uploadKey, setUploadKey] = useState<string | null>(null);
	const [level, setLevel] = useState(0);
	const items = uploads.useUploads();

	const streamRef = useRef<MediaStream | null>(null);
	const recRef = useRef<MediaRecorder | null>(null);
	const ctxRef = useRef<AudioContext | null>(null);
	const rafRef = useRef(0);
	const meterRef = useRef<HTMLDivElement>(null);
	const startedRef = useRef(0);
	const mimeRef = useRef('');

	const upload = uploadKey ? items.find((i) => i.key === uploadKey) : undefined;
	useWatch(upload?.meetingId && upload.state === 'done' ? [upload.meetingId] : []);

	function release() {
		cancelAnimationFrame(rafRef.current);
		streamRef.current?.getTracks().forEach((t) => t.stop());
		streamRef.current = null;
		if (ctxRef.current && ctxRef.current.state !== 'closed') void ctxRef.current.close();
		ctxRef.current = null;
	}

	useEffect(
		() => () => {
			if (recRef.current && recRef.current.state !== 'inactive') {
				recRef.current.ondataavailable = null;
				recRef.current.onstop = null;
				recRef.current.stop();
			}
			release();
		},
		[],
	);

	useEffect(
		() => () => {
			if (url) URL.revokeObjectURL(url);
		},
		[url],
	);

	async function start() {
		setError(null);
		setPhase('asking');
		let stream: MediaStream;
		try {
			stream = await navigator.mediaDevices.getUserMedia({ audio: { echoCancellation: true, noiseSuppression: true } });
		} catch (e) {
			setError(micError(e));
			setPhase('idle');
			return;
		}
		streamRef.current = stream;
		const mime = pickMime();
		mimeRef.current = mime;
		let rec: MediaRecorder;
		try {
			rec = new MediaRecorder(stream, mime ? { mimeType: mime } : undefined);
		} catch {
			release();
			setError('This browser cannot record audio in a format IAM reads. Try a current Chrome, Edge, Firefox or Safari.');
			setPhase('idle');
			return;
		}
		const chunks: Blob[] = [];
		rec.ondataavailable = (ev) => {
			if (ev.data.size > 0) chunks.push(ev.data);
		};
		rec.onstop = () => {
			const b = new Blob(chunks, { type: rec.mimeType || mime || 'audio/webm' });
			release();
			setBlob(b);
			setUrl(URL.createObjectURL(b));
			setTitle(defaultTitle());
			setPhase('recorded');
		};
		rec.onerror = () => {
			setError('Recording stopped because of an error with the microphone. What was recorded so far is kept.');
		};
		recRef.current = rec;
		rec.start(1000);
		startedRef.current = performance.now();
		setElapsed(0);
		setPhase('recording');

		// level meter
		try {
			const ctx = new AudioContext();
			ctxRef.current = ctx;
			const src = ctx.createMediaStreamSource(stream);
			const an = ctx.createAnalyser();
			an.fftSize = 2048;
			src.connect(an);
			const buf = new Float32Array(an.fftSize);
			let lastUi = 0;
			let shown = 0;
			const tick = (now: number) => {
				an.getFloatTimeDomainData(buf);
				let sum = 0;
				for (let i = 0; i < buf.length; i++) sum += buf[i] * buf[i];
				const rms = Math.sqrt(sum / buf.length);
				const db = rms > 0 ? 20 * Math.log10(rms) : -100;
				// -66 dBFS (silence) .. -6 dBFS (loud); rises at once, falls gently
				const target = Math.max(0, Math.min(100, ((db + 66) / 60) * 100));
				shown = target > shown ? target : shown * 0.9 + target * 0.1;
				const pct = shown;
				if (meterRef.current) meterRef.current.style.transform = `scaleX(${pct / 100})`;
				if (now - lastUi > 250) {
					lastUi = now;
					setLevel(Math.round(pct));
					setElapsed((performance.now() - startedRef.current) / 1000);
				}
				rafRef.current = requestAnimationFrame(tick);
			};
			rafRef.current = requestAnimationFrame(tick);
		} catch {
			// no meter; keep the clock going
			const t = setInterval(() => {
				if (recRef.current?.state !== 'recording') clearInterval(t);
				else setElapsed((performance.now() - startedRef.current) / 1000);
			}, 500);
		}
	}

	function stop() {
		const rec = recRef.current;
		if (rec && rec.state !== 'inactive') rec.stop();
	}

	function discard() {
		setBlob(null);
		setUrl(null);
		setPhase('idle');
		setElapsed(0);
		setUploadKey(null);
	}

	function send() {
		if (!blob) return;
		const t = title.trim();
		if (!t) {
			setTitleError('Give the recording a name.');
			return;
		}
		setTitleError(undefined);
		const safe = t.replace(/[^\w.-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 80) || 'recording';
		const file = new File([blob], `${safe}.${extFor(blob.type || mimeRef.current)}`, { type: blob.type || 'audio/webm', lastModified: Date.now() });
		const [key] = uploads.addFiles([file], { title: t, source: 'recording' });
		setUploadKey(key);
	}

	return (
		<>
			<PageHeader title="Record" sub="Record a meeting or a voice note from your microphone. It is uploaded and transcribed when you stop." />
			{!supported ? (
				<Alert title="This browser can't record audio.">Use a current version of Chrome, Edge, Firefox or Safari — or record with another app and upload the file.</Alert>
			) : null}
			{error ? (
				<Alert
					title="Recording couldn't start"
					action={
						<button type="button" className="btn" onClick={() => void start()}>
							Try again
						</button>
					}
				>
					{error}
				</Alert>
			) : null}

			{supported && (phase === 'idle' || phase === 'asking') ? (
				<div className="card recorder">
					<button type="button" className="record-button" onClick={() => void start()} disabled={phase === 'asking'}>
						<IconMic size={28} />
						<span>{phase === 'asking' ? 'Waiting for the microphone…' : 'Start recording'}</span>
					</button>
					<p className="muted">Your browser will ask for permission to use the microphone.</p>
				</div>
			) : null}

			{phase === 'recording' ? (
				<div className="card recorder recorder--live">
					<p className="recorder__status">
						<span className="rec-dot" aria-hidden="true" /> Recording
					</p>
					<p className="recorder__clock" aria-live="off">
						<span className="visually-hidden">Elapsed time </span>
						{formatClock(elapsed)}
					</p>
					<div className="meter" role="meter" aria-label="Input level" aria-valuemin={0} aria-valuemax={100} aria-valuenow={level}>
						<div className="meter__bar" ref={meterRef} />
					</div>
					<p className="muted meter__hint">{level < 5 ? 'No sound is reaching the microphone — check it is not muted.' : 'Speak normally; the bar shows the input level.'}</p>
					<button type="button" className="btn btn--danger btn--large" onClick={stop} autoFocus>
						<IconStop /> Stop
					</button>
				</div>
			) : null}

			{phase === 'recorded' && blob && url ? (
				<div className="card recorder">
					<h2>Your recording</h2>
					<p className="muted">
						{formatClock(elapsed)} · {formatBytes(blob.size)}
					</p>
					<audio className="recorder__preview" src={url} controls preload="metadata" aria-label="Play back the recording" />
					{!upload ? (
						<form
							className="form"
							onSubmit={(e) => {
								e.preventDefault();
								send();
							}}
						>
							<Field label="Name" name="title" value={title} onChange={(e) => setTitle(e.target.value)} error={titleError} maxLength={200} />
							<div className="form-actions">
								<button type="submit" className="btn btn--primary">
									Upload and transcribe
								</button>
								<button type="button" className="btn btn--quiet" onClick={discard}>
									Discard
								</button>
							</div>
						</form>
					) : (
						<>
							<ul className="upload-list">
								<UploadRow it={upload} />
							</ul>
							{upload.state === 'done' || upload.state === 'rejected' || upload.state === 'cancelled' ? (
								<button type="button" className="btn" onClick={discard}>
									Record another
								</button>
							) : null}
						</>
					)}
				</div>
			) : null}
		</>
	);
}
