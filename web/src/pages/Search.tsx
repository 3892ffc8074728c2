// /search: every meeting of the organization searched at once, with
// filters (collection, speaker, dates), paging, and hits that open the meeting at the
// moment the words were said. The query lives in the address (shareable).

import { useEffect, useId, useState, type FormEvent } from 'react';
import { Snippet, hitLink, hitWhere, type SearchHit, type SearchPage } from '../components/SearchBox';
import type { Collection } from '../components/ShareDialog';
import { Alert, Field, PageHeader, Spinner, useDocumentTitle } from '../components/ui';
import { get } from '../lib/api';
import { formatDay } from '../lib/format';
import { ApiError, messageOf } from '../lib/problem';
import { Link, navigate, useLocation } from '../lib/router';

const FILTERS = ['collection_id', 'speaker', 'from', 'to', 'meeting_id'] as const;

interface CollectionPage {
	data: Collection[];
	next_cursor: string | null;
}

const draftOf = (p: URLSearchParams) => ({
	q: p.get('q') || '',
	collection_id: p.get('collection_id') || '',
	speaker: p.get('speaker') || '',
	from: p.get('from') || '',
	to: p.get('to') || '',
});

export function Search() {
	const loc = useLocation();
	const params = new URLSearchParams(loc.search);
	const q = params.get('q') || '';
	const [draft, setDraft] = useState(() => draftOf(params));
	const [collections, setCollections] = useState<Collection[]>([]);
	const collId = `f${useId().replace(/:/g, '')}`;
	const [hits, setHits] = useState<SearchHit[]>([]);
	const [cursor, setCursor] = useState<string | null>(null);
	const [state, setState] = useState<'idle' | 'loading' | 'more' | 'done' | 'error'>('idle');
	const [error, setError] = useState('');
	const [fieldErrors, setFieldErrors] = useState<Record<string, string>>({});
	useDocumentTitle(q ? `Search: ${q}` : 'Search');

	const query = (() => {
		const p = new URLSearchParams();
		if (q) p.set('q', q);
		for (const f of FILTERS) {
			const v = params.get(f);
			if (v) p.set(f, v);
		}
		return p.toString();
	})();

	useEffect(() => {
		setDraft(draftOf(new URLSearchParams(loc.search)));
	}, [loc.search]);

	// The collections the caller can see (their organization's and those shared with them).
	useEffect(() => {
		const ctl = new AbortController();
		get<CollectionPage>('/api/v1/collections?limit=100', ctl.signal)
			.then((p) => setCollections(p.data))
			.catch(() => setCollections([]));
		return () => ctl.abort();
	}, []);

	useEffect(() => {
		setHits([]);
		setCursor(null);
		setFieldErrors({});
		if (!q.trim()) {
			setState('idle');
			return undefined;
		}
		const ctl = new AbortController();
		setState('loading');
		get<SearchPage>(`/api/v1/search?${query}&limit=20`, ctl.signal)
			.then((page) => {
				setHits(page.data);
				setCursor(page.next_cursor);
				setState('done');
			})
			.catch((e) => {
				if (ctl.signal.aborted) return;
				setFieldErrors(e instanceof ApiError ? e.fields() : {});
				setError(messageOf(e));
				setState('error');
			});
		return () => ctl.abort();
	}, [query, q]);

	const more = () => {
		if (!cursor) return;
		setState('more');
		get<SearchPage>(`/api/v1/search?${query}&limit=20&cursor=${encodeURIComponent(cursor)}`)
			.then((page) => {
				setHits((h) => [...h, ...page.data]);
				setCursor(page.next_cursor);
				setState('done');
			})
			.catch((e) => {
				setError(messageOf(e));
				setState('error');
			});
	};

	const submit = (e: FormEvent) => {
		e.preventDefault();
		const p = new URLSearchParams();
		if (draft.q.trim()) p.set('q', draft.q.trim());
		if (draft.collection_id) p.set('collection_id', draft.collection_id);
		if (draft.speaker.trim()) p.set('speaker', draft.speaker.trim());
		if (draft.from) p.set('from', draft.from);
		if (draft.to) p.set('to', draft.to);
		const mid = params.get('meeting_id');
		if (mid) p.set('meeting_id', mid);
		navigate(`/search?${p.toString()}`);
	};

	const set = (k: keyof typeof draft) => (e: React.ChangeEvent<HTMLInputElement | HTMLSelectElement>) => setDraft((d) => ({ ...d, [k]: e.target.value }));
	// A collection in the address that is not in the list (say, no longer shared) still shows.
	const multiOrg = new Set(collections.map((c) => c.organization.id)).size > 1;
	const collOptions = draft.collection_id && !collections.some((c) => c.id === draft.collection_id) ? [...collections, { id: draft.collection_id, name: 'This collection' } as Collection] : collections;

	return (
		<div className="search-page">
			<PageHeader title="Search" sub='Words are all required. Use "quotes" for an exact phrase and -word to leave a word out.' />
			<form className="search-form" onSubmit={submit} role="search" aria-label="Search meetings">
				<Field label="Words" name="q" type="search" value={draft.q} onChange={set('q')} maxLength={1024} error={fieldErrors.q} className="search-form__q" />
				{collOptions.length ? (
					<div className={`field${fieldErrors.collection_id ? ' field--invalid' : ''}`}>
						<label htmlFor={collId}>Collection</label>
						<select id={collId} name="collection_id" className="select" value={draft.collection_id} onChange={set('collection_id')} aria-invalid={fieldErrors.collection_id ? true : undefined}>
							<option value="">All meetings</option>
							{collOptions.map((c) => (
								<option key={c.id} value={c.id}>
									{multiOrg && c.organization ? `${c.name} (${c.organization.name})` : c.name}
								</option>
							))}
						</select>
						{fieldErrors.collection_id ? (
							<p className="field__error" data-field-error="collection_id">
								{fieldErrors.collection_id}
							</p>
						) : null}
					</div>
				) : null}
				<Field label="Speaker" name="speaker" value={draft.speaker} onChange={set('speaker')} placeholder="Name or S1" error={fieldErrors.speaker} />
				<Field label="From" name="from" type="date" value={draft.from} onChange={set('from')} error={fieldErrors.from} />
				<Field label="To" name="to" type="date" value={draft.to} onChange={set('to')} error={fieldErrors.to} />
				<div className="search-form__go">
					<button type="submit" className="btn btn--primary">
						Search
					</button>
				</div>
			</form>
			{params.get('meeting_id') ? (
				<p className="muted">
					Only one meeting. <Link to={`/search?q=${encodeURIComponent(q)}`}>Search every meeting</Link>
				</p>
			) : null}
			{state === 'error' && !Object.keys(fieldErrors).length ? <Alert>{error}</Alert> : null}
			{state === 'loading' ? <Spinner label="Searching" /> : null}
			{state !== 'loading' && state !== 'idle' && state !== 'error' && !hits.length ? (
				<p className="muted" data-empty-state>
					No meeting mentions that. Try fewer words or other filters.
				</p>
			) : null}
			{hits.length ? (
				<ol className="search-results" aria-label="Search results">
					{hits.map((h) => (
						<li key={`${h.meeting.id}-${h.kind}-${h.segment_index ?? ''}`} className="search-result">
							<Link to={hitLink(h)} className="search-result__link">
								<span className="search-result__title">{h.meeting.title}</span>
								<span className="search-result__meta">
									{hitWhere(h)} · {formatDay(h.meeting.meeting_date || h.meeting.created_at)}
								</span>
								<span className="search-result__snippet">
									<Snippet html={h.snippet} />
								</span>
							</Link>
						</li>
					))}
				</ol>
			) : null}
			{cursor ? (
				<button type="button" className="btn" onClick={more} disabled={state === 'more'}>
					{state === 'more' ? 'Loading…' : 'More results'}
				</button>
			) : null}
		</div>
	);
}
