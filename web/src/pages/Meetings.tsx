// The meetings list: newest first, live status, "Load more", and what to do
// first when there is nothing yet.

import { useCallback, useEffect, useState } from 'react';
import { Alert, PageHeader, StatusBadge, useDocumentTitle } from '../components/ui';
import { IconMic, IconUpload } from '../components/icons';
import { get } from '../lib/api';
import { formatDate, formatDuration } from '../lib/format';
import { cachedMeeting, onCreated, putMeeting, useMeetingsVersion, useWatch } from '../lib/meetings';
import { messageOf } from '../lib/problem';
import { Link, useLocation } from '../lib/router';
import type { Meeting, Page } from '../lib/types';

const PAGE = 20;

export function SkeletonRows({ n = 5 }: { n?: number }) {
	return (
		<ul className="meeting-list" aria-hidden="true">
			{Array.from({ length: n }, (_, i) => (
				<li key={i} className="meeting-row meeting-row--skeleton">
					<div className="meeting-row__main">
						<span className="skeleton skeleton--title" style={{ width: `${40 + ((i * 17) % 35)}%` }} />
						<span className="skeleton skeleton--meta" />
					</div>
					<span className="skeleton skeleton--badge" />
				</li>
			))}
		</ul>
	);
}

function Row({ m }: { m: Meeting }) {
	const when = m.meeting_date || m.created_at;
	return (
		<li className="meeting-row" data-meeting-id={m.id}>
			<div className="meeting-row__main">
				<Link to={`/meetings/${m.id}`} className="meeting-row__title">
					{m.title || 'Untitled meeting'}
				</Link>
				<span className="meeting-row__meta">
					<time dateTime={when}>{formatDate(when)}</time>
					<span aria-hidden="true"> · </span>
					<span>{m.duration_seconds !== null ? formatDuration(m.duration_seconds) : m.status === 'pending' ? 'No audio' : '—'}</span>
				</span>
			</div>
			<StatusBadge status={m.status} progress={m.progress} />
		</li>
	);
}

function Empty() {
	return (
		<div className="empty" data-empty-state>
			<div className="empty__art" aria-hidden="true">
				<IconUpload />
			</div>
			<h2>Add your first meeting</h2>
			<p>
				Upload a recording — MP3, WAV, M4A, OGG, or a video with sound — or record one right here in your browser. IAM transcribes it in the
				background, and you can search, play back and export the transcript.
			</p>
			<div className="empty__actions">
				<Link to="/upload" className="btn btn--primary">
					<IconUpload /> Upload audio
				</Link>
				<Link to="/record" className="btn">
					<IconMic /> Record a meeting
				</Link>
			</div>
		</div>
	);
}

export function Meetings() {
	useDocumentTitle('Meetings');
	const loc = useLocation();
	const [ids, setIds] = useState<string[] | null>(null);
	const [cursor, setCursor] = useState<string | null>(null);
	const [error, setError] = useState<string | null>(null);
	const [moreError, setMoreError] = useState<string | null>(null);
	const [loadingMore, setLoadingMore] = useState(false);
	const [flash] = useState(loc.state?.flash || null);
	useMeetingsVersion();

	const load = useCallback(async (signal?: AbortSignal) => {
		setError(null);
		try {
			const page = await get<Page<Meeting>>(`/api/v1/meetings?limit=${PAGE}`, signal);
			page.data.forEach(putMeeting);
			setIds(page.data.map((m) => m.id));
			setCursor(page.next_cursor);
		} catch (e) {
			if (signal?.aborted) return;
			setError(messageOf(e));
		}
	}, []);

	useEffect(() => {
		const ctl = new AbortController();
		void load(ctl.signal);
		return () => ctl.abort();
	}, [load]);

	// meetings made while the list is open (uploads, recordings) go on top
	useEffect(
		() =>
			onCreated((m) => {
				setIds((cur) => (cur && !cur.includes(m.id) ? [m.id, ...cur] : cur));
			}),
		[],
	);

	async function more() {
		if (!cursor) return;
		setLoadingMore(true);
		setMoreError(null);
		try {
			const page = await get<Page<Meeting>>(`/api/v1/meetings?limit=${PAGE}&cursor=${encodeURIComponent(cursor)}`);
			page.data.forEach(putMeeting);
			setIds((cur) => [...(cur || []), ...page.data.map((m) => m.id).filter((id) => !(cur || []).includes(id))]);
			setCursor(page.next_cursor);
		} catch (e) {
			setMoreError(messageOf(e));
		} finally {
			setLoadingMore(false);
		}
	}

	const meetings = (ids || []).map((id) => cachedMeeting(id)).filter((m): m is Meeting => !!m);
	useWatch(meetings.map((m) => m.id));

	return (
		<>
			<PageHeader title="Meetings" sub={ids && meetings.length === 0 && !error ? 'Nothing here yet.' : 'Newest first. Statuses update by themselves.'}>
				<Link to="/record" className="btn">
					<IconMic /> Record
				</Link>
				<Link to="/upload" className="btn btn--primary">
					<IconUpload /> Upload
				</Link>
			</PageHeader>
			{flash ? <Alert kind="success">{flash}</Alert> : null}
			{error ? (
				<Alert
					title="The meetings could not be loaded."
					action={
						<button className="btn" type="button" onClick={() => void load()}>
							Try again
						</button>
					}
				>
					{error}
				</Alert>
			) : ids === null ? (
				<SkeletonRows />
			) : meetings.length === 0 ? (
				<Empty />
			) : (
				<section aria-label="Your meetings">
					<ul className="meeting-list">
						{meetings.map((m) => (
							<Row key={m.id} m={m} />
						))}
					</ul>
					{cursor ? (
						<div className="load-more">
							<button type="button" className="btn" onClick={() => void more()} disabled={loadingMore}>
								{loadingMore ? 'Loading…' : 'Load more'}
							</button>
							{moreError ? <p className="field__error">{moreError}</p> : null}
						</div>
					) : meetings.length > PAGE ? (
						<p className="list-end">That's all of them.</p>
					) : null}
				</section>
			)}
		</>
	);
}
