// The header's search box: results as you type (debounced), a combobox
// with a listbox of hits (arrows move, Enter opens, Esc closes); Enter
// without a chosen hit opens the search page. Also the pieces the search
// page shares: the hit type, its link (the meeting at that time) and the
// snippet (the server's <mark> highlights, rendered as elements, never HTML).

import { Fragment, useEffect, useId, useRef, useState, type ReactNode } from 'react';
import { get } from '../lib/api';
import { formatClock } from '../lib/format';
import { messageOf } from '../lib/problem';
import { navigate, useLocation } from '../lib/router';
import { IconSearch } from './icons';

export interface SearchHit {
	meeting: { id: string; title: string; created_at: string; meeting_date: string | null };
	kind: 'segment' | 'title' | 'description';
	segment_index: number | null;
	speaker: { id: string; name: string } | null;
	start: number | null;
	end: number | null;
	snippet: string;
}

export interface SearchPage {
	data: SearchHit[];
	next_cursor: string | null;
}

/** The meeting page at the hit's time (?t= seconds) when it has one. */
export function hitLink(h: SearchHit): string {
	const base = `/meetings/${encodeURIComponent(h.meeting.id)}`;
	return h.start !== null ? `${base}?t=${h.start}` : base;
}

const ENTITIES: Record<string, string> = { '&amp;': '&', '&lt;': '<', '&gt;': '>', '&quot;': '"', '&#39;': "'" };

/** The snippet (escaped text with <mark>…</mark>) as text and <mark> elements. */
export function Snippet({ html }: { html: string }): ReactNode {
	const parts = html.split(/(<mark>|<\/mark>)/);
	const out: ReactNode[] = [];
	let marked = false;
	parts.forEach((p, i) => {
		if (p === '<mark>') marked = true;
		else if (p === '</mark>') marked = false;
		else if (p) {
			const text = p.replace(/&(amp|lt|gt|quot|#39);/g, (e) => ENTITIES[e] || e);
			out.push(marked ? <mark key={i}>{text}</mark> : <Fragment key={i}>{text}</Fragment>);
		}
	});
	return <>{out}</>;
}

/** "Title match", "Speaker 1 at 3:04", ... */
export function hitWhere(h: SearchHit): string {
	if (h.kind === 'title') return 'Title';
	if (h.kind === 'description') return 'Description';
	const who = h.speaker ? h.speaker.name : 'Unknown speaker';
	return h.start !== null ? `${who} at ${formatClock(h.start)}` : who;
}

const DEBOUNCE_MS = 200;
const LIMIT = 8;

export function SearchBox() {
	const loc = useLocation();
	const id = useId();
	const listId = `${id}-list`;
	const [q, setQ] = useState('');
	const [open, setOpen] = useState(false);
	const [hits, setHits] = useState<SearchHit[]>([]);
	const [active, setActive] = useState(-1);
	const [state, setState] = useState<'idle' | 'loading' | 'done' | 'error'>('idle');
	const [error, setError] = useState('');
	const inputRef = useRef<HTMLInputElement>(null);

	// a new page closes the list
	useEffect(() => {
		setOpen(false);
		setActive(-1);
	}, [loc.path, loc.search]);

	useEffect(() => {
		const text = q.trim();
		if (!text) {
			setHits([]);
			setState('idle');
			return undefined;
		}
		const ctl = new AbortController();
		const t = setTimeout(() => {
			setState('loading');
			get<SearchPage>(`/api/v1/search?q=${encodeURIComponent(text)}&limit=${LIMIT}`, ctl.signal)
				.then((page) => {
					setHits(page.data);
					setActive(-1);
					setState('done');
				})
				.catch((e) => {
					if (ctl.signal.aborted) return;
					setHits([]);
					setError(messageOf(e));
					setState('error');
				});
		}, DEBOUNCE_MS);
		return () => {
			clearTimeout(t);
			ctl.abort();
		};
	}, [q]);

	const go = (to: string) => {
		setOpen(false);
		setActive(-1);
		inputRef.current?.blur();
		navigate(to);
	};

	const openAll = () => {
		const text = q.trim();
		if (text) go(`/search?q=${encodeURIComponent(text)}`);
	};

	const onKeyDown = (e: React.KeyboardEvent<HTMLInputElement>) => {
		if (e.key === 'ArrowDown') {
			e.preventDefault();
			setOpen(true);
			if (hits.length) setActive((a) => (a + 1) % hits.length);
		} else if (e.key === 'ArrowUp') {
			e.preventDefault();
			setOpen(true);
			if (hits.length) setActive((a) => (a <= 0 ? hits.length - 1 : a - 1));
		} else if (e.key === 'Enter') {
			e.preventDefault();
			if (open && active >= 0 && hits[active]) go(hitLink(hits[active]));
			else openAll();
		} else if (e.key === 'Escape') {
			if (open) {
				e.preventDefault();
				setOpen(false);
				setActive(-1);
			} else if (q) {
				e.preventDefault();
				setQ('');
			}
		}
	};

	const showList = open && q.trim() !== '' && state !== 'idle';
	const optionId = (i: number) => `${id}-opt-${i}`;

	return (
		<div className="searchbox" role="search">
			<span className="searchbox__icon" aria-hidden="true">
				<IconSearch />
			</span>
			<input
				ref={inputRef}
				type="search"
				className="searchbox__input"
				placeholder="Search meetings"
				aria-label="Search all meetings"
				role="combobox"
				aria-autocomplete="list"
				aria-expanded={showList}
				aria-controls={listId}
				aria-activedescendant={showList && active >= 0 ? optionId(active) : undefined}
				autoComplete="off"
				spellCheck={false}
				maxLength={1024}
				value={q}
				onChange={(e) => {
					setQ(e.target.value);
					setOpen(true);
				}}
				onFocus={() => setOpen(true)}
				onBlur={() => setTimeout(() => setOpen(false), 150)}
				onKeyDown={onKeyDown}
			/>
			<div className={`searchbox__popup${showList ? ' searchbox__popup--open' : ''}`}>
				<ul id={listId} role="listbox" aria-label="Search results" className="searchbox__list">
					{showList
						? hits.map((h, i) => (
								<li
									key={`${h.meeting.id}-${h.kind}-${h.segment_index ?? ''}`}
									id={optionId(i)}
									role="option"
									aria-selected={i === active}
									className={`searchbox__hit${i === active ? ' searchbox__hit--active' : ''}`}
									onMouseDown={(e) => e.preventDefault()}
									onMouseEnter={() => setActive(i)}
									onClick={() => go(hitLink(h))}
								>
									<span className="searchbox__title">{h.meeting.title}</span>
									<span className="searchbox__where">{hitWhere(h)}</span>
									<span className="searchbox__snippet">
										<Snippet html={h.snippet} />
									</span>
								</li>
							))
						: null}
				</ul>
				{showList ? (
					<p className="searchbox__status" aria-live="polite">
						{state === 'loading' && !hits.length ? 'Searching…' : null}
						{state === 'done' && !hits.length ? 'No meeting mentions that.' : null}
						{state === 'error' ? error : null}
						{hits.length ? (
							<button type="button" className="btn btn--small btn--quiet" onMouseDown={(e) => e.preventDefault()} onClick={openAll}>
								All results and filters
							</button>
						) : null}
					</p>
				) : null}
			</div>
		</div>
	);
}
