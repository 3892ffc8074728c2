// Upload: drop or pick files (several at once), a progress bar per file,
// resumable (tus), the server's reason when a file is refused, and a link
// to the meeting with its live transcription status.

import { useEffect, useRef, useState, useSyncExternalStore, type DragEvent } from 'react';
import { Alert, PageHeader, Progress, StatusBadge, useDocumentTitle } from '../components/ui';
import { IconFile, IconUpload } from '../components/icons';
import { formatAgo, formatBytes, formatClock } from '../lib/format';
import { useMeeting, useWatch } from '../lib/meetings';
import { Link } from '../lib/router';
import * as uploads from '../lib/uploads';
import type { PreviousUpload, UploadItem } from '../lib/uploads';

const ACCEPT = 'audio/*,video/*,.mp3,.wav,.m4a,.aac,.ogg,.oga,.opus,.flac,.webm,.weba,.mp4,.m4v,.mov,.mkv,.wma,.amr,.3gp';

export function useOnline(): boolean {
	return useSyncExternalStore(
		(fn) => {
			window.addEventListener('online', fn);
			window.addEventListener('offline', fn);
			return () => {
				window.removeEventListener('online', fn);
				window.removeEventListener('offline', fn);
			};
		},
		() => navigator.onLine,
	);
}

function stateText(it: UploadItem): string {
	switch (it.state) {
		case 'waiting':
			return 'Waiting for the other uploads';
		case 'starting':
			return 'Starting…';
		case 'uploading': {
			const pct = it.size ? Math.floor((it.sent / it.size) * 100) : 0;
			const left = it.rate > 0 ? (it.size - it.sent) / it.rate : NaN;
			const eta = Number.isFinite(left) && left > 1 ? ` · about ${formatClock(left)} left` : '';
			return `${pct}% · ${formatBytes(it.sent)} of ${formatBytes(it.size)}${eta}${it.resumedFrom > 0 ? ' · resumed' : ''}`;
		}
		case 'offline':
			return `Paused at ${it.size ? Math.floor((it.sent / it.size) * 100) : 0}%`;
		case 'done':
			return `Uploaded · ${formatBytes(it.size)}`;
		case 'rejected':
			return 'Not accepted';
		case 'failed':
			return 'Upload stopped';
		case 'cancelled':
			return 'Cancelled';
	}
}

function MeetingStatusFor({ id }: { id: string }) {
	const m = useMeeting(id);
	if (!m) return null;
	return <StatusBadge status={m.status} progress={m.progress} />;
}

export function UploadRow({ it }: { it: UploadItem }) {
	const busy = uploads.isBusy(it.state);
	const errorId = `upload-${it.key}-error`;
	return (
		<li className={`upload upload--${it.state}`} data-upload-state={it.state} data-file-name={it.name}>
			<div className="upload__head">
				<span className="upload__icon" aria-hidden="true">
					<IconFile />
				</span>
				<div className="upload__info">
					<span className="upload__name" title={it.name}>
						{it.name}
					</span>
					<span className="upload__state" aria-live="polite">
						{stateText(it)}
					</span>
				</div>
				<div className="upload__actions">
					{it.state === 'done' && it.meetingId ? (
						<>
							<MeetingStatusFor id={it.meetingId} />
							<Link to={`/meetings/${it.meetingId}`} className="btn btn--small">
								Open meeting
							</Link>
						</>
					) : null}
					{it.state === 'failed' || it.state === 'offline' ? (
						<button type="button" className="btn btn--small" onClick={() => uploads.retry(it.key)}>
							{it.state === 'offline' ? 'Retry now' : 'Retry'}
						</button>
					) : null}
					{busy ? (
						<button type="button" className="btn btn--small btn--quiet" onClick={() => void uploads.cancel(it.key)} aria-label={`Cancel upload of ${it.name}`}>
							Cancel
						</button>
					) : (
						<button type="button" className="btn btn--small btn--quiet" onClick={() => uploads.dismiss(it.key)} aria-label={`Remove ${it.name} from this list`}>
							Dismiss
						</button>
					)}
				</div>
			</div>
			{busy || it.state === 'failed' ? (
				<Progress value={it.sent} max={it.size || 1} label={`Upload of ${it.name}`} indeterminate={it.state === 'starting' || it.state === 'waiting'} />
			) : null}
			{it.error ? (
				<p className={`upload__error${it.state === 'offline' ? ' upload__error--info' : ''}`} id={errorId} data-upload-error role={it.state === 'offline' ? 'status' : 'alert'}>
					{it.error}
					{it.state === 'rejected' && !it.quota ? ' Nothing was saved — choose another file.' : null}
					{it.quota ? (
						<>
							{' '}
							<Link to="/billing">See plans and upgrade</Link>
						</>
					) : null}
				</p>
			) : null}
		</li>
	);
}

function Previous({ list, onDiscard }: { list: PreviousUpload[]; onDiscard: (p: PreviousUpload) => void }) {
	const items = uploads.useUploads();
	// an unfinished upload that is being continued right now is not "unfinished"
	const shown = list.filter((p) => !items.some((i) => uploads.isBusy(i.state) && i.name === p.filename && i.size === p.size));
	if (!shown.length) return null;
	return (
		<section className="card previous" role="region" aria-labelledby="previous-title">
			<h2 id="previous-title">Unfinished uploads</h2>
			<p className="muted">These stopped before they were complete. Choose the same file again and the upload continues where it stopped.</p>
			<ul className="previous__list">
				{shown.map((p) => (
					<li key={p.storageKey}>
						<span>
							<strong>{p.filename}</strong>
							<span className="muted">
								{' '}
								· {formatBytes(p.size)} · started {formatAgo(p.createdAt).toLowerCase()}
							</span>
						</span>
						<button type="button" className="btn btn--small btn--quiet" onClick={() => onDiscard(p)}>
							Discard
						</button>
					</li>
				))}
			</ul>
		</section>
	);
}

export function Upload() {
	useDocumentTitle('Upload');
	const items = uploads.useUploads();
	const online = useOnline();
	const [dragging, setDragging] = useState(false);
	const [previous, setPrevious] = useState<PreviousUpload[]>([]);
	const [speakers, setSpeakers] = useState(0); // 0: detect
	const inputRef = useRef<HTMLInputElement>(null);
	const depth = useRef(0);

	const refreshPrevious = () => {
		uploads
			.previousUploads()
			.then(setPrevious)
			.catch(() => setPrevious([]));
	};
	// the list changes when uploads start (one may be the continuation) and end
	const states = items.map((i) => `${i.key}:${i.state}:${i.resumedFrom > 0}`).join(',');
	useEffect(refreshPrevious, [states]);

	useWatch(items.filter((i) => i.state === 'done' && i.meetingId).map((i) => i.meetingId as string));

	function add(list: FileList | null) {
		if (!list || list.length === 0) return;
		uploads.addFiles(Array.from(list), { speakers: speakers || null });
		if (inputRef.current) inputRef.current.value = '';
	}

	const onDrop = (e: DragEvent) => {
		e.preventDefault();
		depth.current = 0;
		setDragging(false);
		add(e.dataTransfer.files);
	};

	const finished = items.some((i) => !uploads.isBusy(i.state) && i.state !== 'failed');

	return (
		<>
			<PageHeader title="Upload" sub="Audio or video with sound, any common format. Large files are fine: uploads resume if the connection drops." />
			{!online ? <Alert kind="warning">You're offline. Uploads pause and continue by themselves when the connection is back.</Alert> : null}
			<div
				className={`dropzone${dragging ? ' dropzone--active' : ''}`}
				onDragEnter={(e) => {
					e.preventDefault();
					depth.current++;
					setDragging(true);
				}}
				onDragOver={(e) => {
					e.preventDefault();
					e.dataTransfer.dropEffect = 'copy';
				}}
				onDragLeave={() => {
					depth.current = Math.max(0, depth.current - 1);
					if (depth.current === 0) setDragging(false);
				}}
				onDrop={onDrop}
			>
				<span className="dropzone__icon" aria-hidden="true">
					<IconUpload />
				</span>
				<p className="dropzone__title">{dragging ? 'Drop to upload' : 'Drag and drop files here'}</p>
				<p className="muted">or</p>
				<input ref={inputRef} id="file-input" className="visually-hidden" type="file" multiple accept={ACCEPT} onChange={(e) => add(e.target.files)} />
				<label htmlFor="file-input" className="btn btn--primary">
					Choose files
				</label>
				<p className="dropzone__hint muted">Each file becomes a meeting, named after the file. You can rename it later.</p>
			</div>
			<div className="upload-options">
				<label htmlFor="upload-speakers">Speakers</label>
				<select id="upload-speakers" value={speakers} onChange={(e) => setSpeakers(Number(e.target.value))}>
					<option value={0}>Detect automatically</option>
					{Array.from({ length: 10 }, (_, i) => i + 1).map((n) => (
						<option key={n} value={n}>
							{n === 1 ? '1 person' : `${n} people`}
						</option>
					))}
				</select>
				<span className="muted">Knowing the number makes speaker labels more accurate.</span>
			</div>

			{items.length > 0 ? (
				<section aria-labelledby="uploads-title" className="uploads">
					<div className="section-head">
						<h2 id="uploads-title">Files</h2>
						{finished ? (
							<button type="button" className="btn btn--small btn--quiet" onClick={() => uploads.clearFinished()}>
								Clear finished
							</button>
						) : null}
					</div>
					<ul className="upload-list">
						{items.map((it) => (
							<UploadRow key={it.key} it={it} />
						))}
					</ul>
					{items.some((i) => i.state === 'done') ? (
						<p className="muted">
							Transcription runs on the server; you can leave this page. Find everything under <Link to="/meetings">Meetings</Link>.
						</p>
					) : null}
				</section>
			) : null}

			<Previous
				list={previous}
				onDiscard={(p) => {
					setPrevious((l) => l.filter((x) => x.storageKey !== p.storageKey));
					void uploads.discardPrevious(p).finally(refreshPrevious);
				}}
			/>
		</>
	);
}
