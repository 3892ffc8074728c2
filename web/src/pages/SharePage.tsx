// The public read-only page of a shared meeting: /s/{token}. No login: the
// title, date, audio and the transcript with speaker names, nothing else.
// Kept out of search engines (meta robots here, X-Robots-Tag from the server).

import { useEffect, useState } from 'react';
import '../components/ShareDialog.css';
import { IconWave } from '../components/icons';
import { Alert } from '../components/ui';
import { formatClock, formatDate } from '../lib/format';

interface PublicMeeting {
	title: string;
	meeting_date: string;
	description: string;
	duration_seconds: number | null;
	transcript: { speakers: { id: string; label?: string; name: string | null }[]; segments: { start: number; end: number; text: string; speaker: string | null }[] } | null;
	audio: { url: string; expires_at: string } | null;
}

function useNoindex() {
	useEffect(() => {
		const meta = document.createElement('meta');
		meta.name = 'robots';
		meta.content = 'noindex, nofollow';
		document.head.appendChild(meta);
		return () => meta.remove();
	}, []);
}

export function SharePage({ token }: { token: string }) {
	useNoindex();
	const [m, setM] = useState<PublicMeeting | null>(null);
	const [error, setError] = useState<string | null>(null);
	useEffect(() => {
		fetch(`/api/v1/shares/${encodeURIComponent(token)}`, { headers: { Accept: 'application/json' }, credentials: 'omit', referrerPolicy: 'no-referrer' })
			.then(async (res) => {
				const body = await res.json().catch(() => null);
				if (!res.ok) throw new Error(body?.detail || 'This link does not work.');
				setM(body as PublicMeeting);
				document.title = `${(body as PublicMeeting).title} · IAM`;
			})
			.catch((e: Error) => setError(e.message || "Can't reach IAM. Check your connection and try again."));
	}, [token]);

	const names = new Map((m?.transcript?.speakers || []).map((s) => [s.id, s.name || s.label || s.id]));
	return (
		<div className="public-page">
			<div className="auth__brand">
				<span className="logo-mark" aria-hidden="true">
					<IconWave size={22} />
				</span>
				<span className="auth__name">IAM</span>
			</div>
			{error ? (
				<>
					<h1 tabIndex={-1} data-page-title>
						This link does not work
					</h1>
					<Alert>{error}</Alert>
				</>
			) : !m ? (
				<p className="muted" aria-busy="true">
					Loading…
				</p>
			) : (
				<article data-public-meeting>
					<h1 tabIndex={-1} data-page-title>
						{m.title}
					</h1>
					<p className="muted">
						<time dateTime={m.meeting_date}>{formatDate(m.meeting_date)}</time>
						{m.description ? ` · ${m.description}` : ''}
					</p>
					{m.audio ? <audio controls preload="metadata" src={m.audio.url} data-public-audio /> : null}
					{m.transcript && m.transcript.segments.length ? (
						<section aria-label="Transcript" data-public-transcript>
							{m.transcript.segments.map((s, i) => (
								<p key={i} className="public-segment">
									<span className="muted">{formatClock(s.start)}</span>
									<span>
										{s.speaker ? <span className="public-segment__who">{names.get(s.speaker) || s.speaker}:</span> : null}
										{s.text}
									</span>
								</p>
							))}
						</section>
					) : (
						<p className="muted">There is no transcript yet.</p>
					)}
				</article>
			)}
		</div>
	);
}
