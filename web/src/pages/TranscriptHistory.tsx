// The revision history of a transcript: who changed what and when (newest
// first, more on demand), viewing the machine original or any revision, and
// restoring one (after a confirmation; a restore is itself a new revision).

import { useCallback, useEffect, useRef, useState } from 'react';
import { Alert, ConfirmDialog, Spinner, toast } from '../components/ui';
import { formatDate } from '../lib/format';
import { messageOf } from '../lib/problem';
import { describeRevision, fetchRevision, fetchTranscript, findMachineRevision, isStale, listRevisions } from '../lib/transcripts';
import type { Revision, Speaker, Transcript } from '../lib/types';
import { STALE_TEXT, type RunEdit } from './TranscriptSpeakers';

/** An older text shown read-only in place of the current one. */
export interface Viewing {
	kind: 'original' | 'revision';
	/** the revision number (for 'original': the machine revision, when known) */
	version: number | null;
	transcript: Transcript;
	title: string;
}

/** For a reader (no Restore is offered, so this is never called). */
const cannotEdit: RunEdit = () => Promise.reject(new Error('You may read this transcript but not change it.'));

/** Ask to restore a revision, restore it, and tell how it went. */
export function useRestore(onEdit: RunEdit, onRestored: () => void) {
	const [target, setTarget] = useState<{ version: number; what: string } | null>(null);
	const [busy, setBusy] = useState(false);
	const [error, setError] = useState<string | null>(null);

	async function confirm() {
		if (!target) return;
		setBusy(true);
		setError(null);
		try {
			await onEdit({ kind: 'restore', version: target.version });
			toast(`Restored version ${target.version}.`);
			setTarget(null);
			onRestored();
		} catch (e) {
			setError(isStale(e) ? `${STALE_TEXT} Restore again if you still want to.` : messageOf(e));
		} finally {
			setBusy(false);
		}
	}

	const dialog = (
		<ConfirmDialog
			open={target !== null}
			title={target ? `Restore version ${target.version}?` : ''}
			confirmLabel="Restore"
			busy={busy}
			error={error}
			onConfirm={() => void confirm()}
			onCancel={() => {
				setTarget(null);
				setError(null);
			}}
		>
			{target ? (
				<p>
					The transcript goes back to how it was after “{target.what}”. Later changes are not lost: the restore is saved as a new version, and you can go back from the history.
				</p>
			) : null}
		</ConfirmDialog>
	);
	return {
		ask: (version: number, what: string) => {
			setError(null);
			setTarget({ version, what });
		},
		dialog,
	};
}

export function HistoryPanel({
	meetingId,
	current,
	speakers,
	reloadKey,
	onView,
	onEdit,
	onRestored,
	onClose,
}: {
	meetingId: string;
	/** the version shown as current (its row says so and cannot be restored) */
	current: number | null;
	speakers: Speaker[];
	/** changes when the transcript changed here (the list is loaded again) */
	reloadKey: number;
	onView: (v: Viewing) => void;
	/** absent when the caller may only read: no Restore buttons */
	onEdit?: RunEdit;
	/** a revision was made current again */
	onRestored: () => void;
	onClose: () => void;
}) {
	const [items, setItems] = useState<Revision[]>([]);
	const [next, setNext] = useState<string | null>(null);
	const [loading, setLoading] = useState(true);
	const [more, setMore] = useState(false);
	const [error, setError] = useState<string | null>(null);
	const [viewBusy, setViewBusy] = useState<string | null>(null);
	const headingRef = useRef<HTMLHeadingElement>(null);
	const restore = useRestore(onEdit ?? cannotEdit, onRestored);

	const load = useCallback(async () => {
		setLoading(true);
		setError(null);
		try {
			const page = await listRevisions(meetingId, null);
			setItems(page.data);
			setNext(page.next_cursor);
		} catch (e) {
			setError(messageOf(e));
		} finally {
			setLoading(false);
		}
	}, [meetingId]);

	useEffect(() => {
		void load();
	}, [load, reloadKey]);

	useEffect(() => {
		headingRef.current?.focus();
	}, []);

	async function loadMore() {
		if (!next) return;
		setMore(true);
		setError(null);
		try {
			const page = await listRevisions(meetingId, next);
			setItems((old) => {
				const seen = new Set(old.map((r) => r.version));
				return [...old, ...page.data.filter((r) => !seen.has(r.version))];
			});
			setNext(page.next_cursor);
		} catch (e) {
			setError(messageOf(e));
		} finally {
			setMore(false);
		}
	}

	async function viewOriginal() {
		setViewBusy('original');
		setError(null);
		try {
			const [{ transcript }, machine] = await Promise.all([fetchTranscript(meetingId, 'original'), items.find((r) => r.action === 'transcribed') || findMachineRevision(meetingId)]);
			onView({ kind: 'original', version: machine ? machine.version : null, transcript, title: 'the original machine transcript' });
		} catch (e) {
			setError(messageOf(e));
		} finally {
			setViewBusy(null);
		}
	}

	async function viewRevision(r: Revision) {
		setViewBusy(String(r.version));
		setError(null);
		try {
			const got = await fetchRevision(meetingId, r.version);
			onView({ kind: 'revision', version: r.version, transcript: got.transcript, title: `version ${r.version}` });
		} catch (e) {
			setError(messageOf(e));
		} finally {
			setViewBusy(null);
		}
	}

	return (
		<section className="history card" id="history-panel" aria-labelledby="history-title" data-history>
			<div className="history__head">
				<h2 id="history-title" tabIndex={-1} ref={headingRef}>
					History
				</h2>
				<div className="history__actions">
					<button type="button" className="btn btn--small" onClick={() => void viewOriginal()} disabled={viewBusy !== null} data-view-original>
						{viewBusy === 'original' ? 'Loading…' : 'View the original'}
					</button>
					<button type="button" className="btn btn--small btn--quiet" onClick={onClose}>
						Close
					</button>
				</div>
			</div>
			{error ? <Alert>{error}</Alert> : null}
			{loading && !items.length ? (
				<Spinner label="Loading the history" />
			) : (
				<ol className="history__list" aria-busy={loading ? true : undefined}>
					{items.map((r) => {
						const what = describeRevision(r, speakers);
						const isCurrent = current !== null && r.version === current;
						return (
							<li key={r.version} className={`revision${isCurrent ? ' revision--current' : ''}`} data-revision={r.version} data-action={r.action}>
								<div className="revision__text">
									<p className="revision__what">{what}</p>
									<p className="revision__meta muted">
										{r.author ? r.author.email : 'IAM'} · <time dateTime={r.created_at}>{formatDate(r.created_at)}</time> · version {r.version}
										{isCurrent ? <span className="revision__badge">current</span> : null}
									</p>
								</div>
								<div className="revision__actions">
									<button type="button" className="btn btn--small btn--quiet" onClick={() => void viewRevision(r)} disabled={viewBusy !== null} aria-label={`View version ${r.version}`}>
										{viewBusy === String(r.version) ? '…' : 'View'}
									</button>
									{!isCurrent && onEdit ? (
										<button type="button" className="btn btn--small" onClick={() => restore.ask(r.version, what)} aria-label={`Restore version ${r.version}`}>
											Restore
										</button>
									) : null}
								</div>
							</li>
						);
					})}
				</ol>
			)}
			{next ? (
				<button type="button" className="btn btn--small history__more" onClick={() => void loadMore()} disabled={more}>
					{more ? 'Loading…' : 'Show older changes'}
				</button>
			) : null}
			{restore.dialog}
		</section>
	);
}
