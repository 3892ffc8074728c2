// Speakers of a transcript: a coloured name tag (colour and the name, never
// colour alone), renaming a speaker in place (Enter saves, Esc cancels, the
// API's field errors next to the input), talk time per speaker as a bar and
// as text, and merging one speaker into another.

import { useEffect, useId, useRef, useState, type FormEvent } from 'react';
import { ConfirmDialog, toast } from '../components/ui';
import { ApiError, messageOf } from '../lib/problem';
import { colourOf, displayName, formatTalkTime, isStale, type Edit } from '../lib/transcripts';
import type { Speaker } from '../lib/types';

export const STALE_TEXT = 'Someone else changed this transcript while you were working on it. The latest version is now shown.';

export const spkClass = (id: string | null | undefined) => {
	const c = colourOf(id);
	return c < 0 ? 'spk--none' : `spk--${c}`;
};

/**
 * Run an edit: resolves once saved (the page then shows the new version);
 * throws ApiError otherwise (isStale() for a 412, after the page has
 * loaded the newer version, so the caller keeps what the person typed).
 */
export type RunEdit = (e: Edit) => Promise<void>;

/** A speaker's coloured tag. A button (rename) when onClick is given. */
export function SpeakerTag({ speaker, id, onClick, describedBy }: { speaker: Speaker | undefined; id: string | null | undefined; onClick?: () => void; describedBy?: string }) {
	const name = displayName(speaker, id);
	const body = (
		<>
			<span className="spk-tag__dot" aria-hidden="true" />
			<span className="spk-tag__name">{name}</span>
		</>
	);
	if (!onClick || !speaker) {
		return (
			<span className={`spk-tag ${spkClass(id)}`} data-speaker-tag={id || ''}>
				{body}
			</span>
		);
	}
	return (
		<button type="button" className={`spk-tag spk-tag--button ${spkClass(id)}`} onClick={onClick} title={`Rename ${name} everywhere`} aria-label={`${name} (rename speaker)`} aria-describedby={describedBy} data-speaker-tag={id || ''}>
			{body}
		</button>
	);
}

/** Inline rename of a speaker: the name field with Save and Cancel. */
export function RenameSpeaker({ speaker, onEdit, onDone }: { speaker: Speaker; onEdit: RunEdit; onDone: (saved: boolean) => void }) {
	const [value, setValue] = useState(speaker.name || '');
	const [error, setError] = useState<string | null>(null);
	const [busy, setBusy] = useState(false);
	const inputRef = useRef<HTMLInputElement>(null);
	const uid = useId().replace(/:/g, '');
	const inputId = `spk-name-${uid}`;
	const errId = `spk-name-err-${uid}`;

	useEffect(() => {
		inputRef.current?.select();
	}, []);

	async function save(e?: FormEvent) {
		e?.preventDefault();
		if (busy) return;
		const name = value.trim();
		if ((name || null) === (speaker.name || null)) {
			onDone(false);
			return;
		}
		setBusy(true);
		setError(null);
		try {
			await onEdit({ kind: 'rename', speaker: speaker.id, name: name || null });
			toast(name ? `${speaker.label} is now “${name}”.` : `${speaker.label} has no name now.`);
			onDone(true);
		} catch (err) {
			if (isStale(err)) setError(`${STALE_TEXT} Your name “${name}” is still here: press Enter to save it.`);
			else setError(err instanceof ApiError ? err.fields().name || err.problem.detail : messageOf(err));
			setBusy(false);
			setTimeout(() => inputRef.current?.focus(), 0);
		}
	}

	return (
		<form className="spk-rename" onSubmit={save} data-rename-speaker={speaker.id}>
			<label htmlFor={inputId} className="visually-hidden">
				Name of {speaker.label}
			</label>
			<input
				id={inputId}
				ref={inputRef}
				value={value}
				maxLength={80}
				placeholder={speaker.label}
				autoComplete="off"
				onChange={(e) => setValue(e.target.value)}
				onKeyDown={(e) => {
					if (e.key === 'Escape') {
						e.preventDefault();
						e.stopPropagation();
						onDone(false);
					}
				}}
				aria-invalid={error ? true : undefined}
				aria-describedby={error ? errId : undefined}
				readOnly={busy}
			/>
			<button type="submit" className="btn btn--primary btn--small" disabled={busy}>
				{busy ? 'Saving…' : 'Save'}
			</button>
			<button type="button" className="btn btn--small btn--quiet" onClick={() => onDone(false)} disabled={busy}>
				Cancel
			</button>
			{error ? (
				<p id={errId} className="field__error spk-rename__error" data-field-error="name" role="alert">
					{error}
				</p>
			) : null}
		</form>
	);
}

/** Who spoke how much, renaming, merging. Read-only when onEdit is not given. */
export function SpeakersPanel({
	speakers,
	onEdit,
	renaming,
	onRename,
}: {
	speakers: Speaker[];
	onEdit?: RunEdit;
	/** the speaker whose name is being edited in this panel */
	renaming: string | null;
	onRename: (id: string | null, saved?: boolean) => void;
}) {
	const [merge, setMerge] = useState<{ from: Speaker; into: Speaker } | null>(null);
	const [busy, setBusy] = useState(false);
	const [error, setError] = useState<string | null>(null);
	const helpId = useId().replace(/:/g, '');
	const total = speakers.reduce((a, s) => a + Math.max(0, s.talk_time_s || 0), 0);

	async function doMerge() {
		if (!merge || !onEdit) return;
		setBusy(true);
		setError(null);
		try {
			await onEdit({ kind: 'merge', speaker: merge.from.id, into: merge.into.id });
			toast(`Merged ${displayName(merge.from)} into ${displayName(merge.into)}.`);
			setMerge(null);
		} catch (e) {
			setError(isStale(e) ? `${STALE_TEXT} Check the speakers and merge again if you still want to.` : e instanceof ApiError ? e.fields().into || e.problem.detail : messageOf(e));
		} finally {
			setBusy(false);
		}
	}

	return (
		<section className="speakers" aria-labelledby="speakers-title">
			<h2 id="speakers-title">Speakers</h2>
			{onEdit ? (
				<p className="muted speakers__help" id={`spk-help-${helpId}`}>
					Click a name to rename the speaker everywhere.
				</p>
			) : null}
			<ul className="speakers__list">
				{speakers.map((s) => {
					const share = total > 0 ? Math.max(0, s.talk_time_s) / total : 0;
					const pct = Math.round(share * 100);
					const others = speakers.filter((o) => o.id !== s.id);
					return (
						<li key={s.id} className={`speaker ${spkClass(s.id)}`} data-speaker-id={s.id}>
							<div className="speaker__who">
								{renaming === s.id && onEdit ? (
									<RenameSpeaker speaker={s} onEdit={onEdit} onDone={(saved) => onRename(null, saved)} />
								) : (
									<SpeakerTag speaker={s} id={s.id} onClick={onEdit ? () => onRename(s.id) : undefined} describedBy={onEdit ? `spk-help-${helpId}` : undefined} />
								)}
							</div>
							<div className="speaker__time">
								<div className="talkbar" aria-hidden="true">
									<div className="talkbar__fill" style={{ width: `${Math.max(share > 0 ? 1 : 0, share * 100)}%` }} />
								</div>
								<span className="speaker__talk" data-talk-time={s.talk_time_s}>
									{formatTalkTime(s.talk_time_s)} · {pct}%<span className="visually-hidden"> of the talk time</span>
								</span>
							</div>
							{onEdit && others.length ? (
								<div className="speaker__merge">
									<label className="visually-hidden" htmlFor={`merge-${helpId}-${s.id}`}>
										Merge {displayName(s)} into another speaker
									</label>
									<select
										id={`merge-${helpId}-${s.id}`}
										className="select select--small"
										value=""
										onChange={(e) => {
											const into = speakers.find((o) => o.id === e.target.value);
											if (into) {
												setError(null);
												setMerge({ from: s, into });
											}
										}}
										data-merge={s.id}
									>
										<option value="">Merge into…</option>
										{others.map((o) => (
											<option key={o.id} value={o.id}>
												{displayName(o)}
											</option>
										))}
									</select>
								</div>
							) : null}
						</li>
					);
				})}
			</ul>
			<ConfirmDialog
				open={merge !== null}
				title={merge ? `Merge ${displayName(merge.from)} into ${displayName(merge.into)}?` : ''}
				confirmLabel="Merge speakers"
				busy={busy}
				error={error}
				onConfirm={() => void doMerge()}
				onCancel={() => {
					setMerge(null);
					setError(null);
				}}
			>
				{merge ? (
					<p>
						Every line of {displayName(merge.from)} becomes {displayName(merge.into)}’s, and {displayName(merge.from)} is no longer listed. You can undo this from the history.
					</p>
				) : null}
			</ConfirmDialog>
		</section>
	);
}
