// API keys: create (shown once, with Copy), list, delete.

import { useCallback, useEffect, useRef, useState, type FormEvent } from 'react';
import { Alert, ConfirmDialog, Field, PageHeader, toast, useDocumentTitle } from '../components/ui';
import { IconCopy, IconKey, IconTrash } from '../components/icons';
import { del, get, post } from '../lib/api';
import { formatAgo, formatDate } from '../lib/format';
import { ApiError, messageOf } from '../lib/problem';
import type { ApiKey, Page } from '../lib/types';

async function copyText(text: string, fallbackEl: HTMLInputElement | null): Promise<boolean> {
	try {
		await navigator.clipboard.writeText(text);
		return true;
	} catch {
		if (fallbackEl) {
			fallbackEl.focus();
			fallbackEl.select();
			try {
				return document.execCommand('copy');
			} catch {
				return false;
			}
		}
		return false;
	}
}

function NewKey({ k, onDone }: { k: ApiKey; onDone: () => void }) {
	const inputRef = useRef<HTMLInputElement>(null);
	const [copied, setCopied] = useState<boolean | null>(null);
	useEffect(() => {
		inputRef.current?.focus();
		inputRef.current?.select();
	}, []);
	return (
		<div className="card new-key" role="region" aria-labelledby="new-key-title">
			<h2 id="new-key-title">Your new key “{k.name}”</h2>
			<p className="new-key__warn">
				<strong>Copy it now — you won't see it again.</strong> IAM keeps only a fingerprint of it. If you lose it, delete it and create another.
			</p>
			<div className="copy-row">
				<label htmlFor="new-key-value" className="visually-hidden">
					API key
				</label>
				<input id="new-key-value" ref={inputRef} className="mono" readOnly value={k.key || ''} onFocus={(e) => e.target.select()} data-new-key />
				<button
					type="button"
					className="btn btn--primary"
					onClick={async () => {
						const ok = await copyText(k.key || '', inputRef.current);
						setCopied(ok);
						if (ok) toast('Key copied to the clipboard.');
					}}
				>
					<IconCopy /> {copied ? 'Copied' : 'Copy'}
				</button>
			</div>
			{copied === false ? <p className="field__error">Copying was blocked by the browser. The key is selected: press Ctrl+C (⌘C on a Mac).</p> : null}
			<details className="usage">
				<summary>How to use it</summary>
				<pre className="mono">
					{`curl -H "Authorization: Bearer ${k.prefix}…" ${window.location.origin}/api/v1/meetings\n\n# OpenAI SDKs: base URL ${window.location.origin}/v1, model whisper-1`}
				</pre>
			</details>
			<button type="button" className="btn" onClick={onDone}>
				I've saved it
			</button>
		</div>
	);
}

export function ApiKeys() {
	useDocumentTitle('API keys');
	const [keys, setKeys] = useState<ApiKey[] | null>(null);
	const [cursor, setCursor] = useState<string | null>(null);
	const [loadError, setLoadError] = useState<string | null>(null);
	const [name, setName] = useState('');
	const [nameError, setNameError] = useState<string | undefined>();
	const [creating, setCreating] = useState(false);
	const [created, setCreated] = useState<ApiKey | null>(null);
	const [toDelete, setToDelete] = useState<ApiKey | null>(null);
	const [deleting, setDeleting] = useState(false);
	const [deleteError, setDeleteError] = useState<string | null>(null);
	const [moreBusy, setMoreBusy] = useState(false);

	const load = useCallback(async () => {
		setLoadError(null);
		try {
			const page = await get<Page<ApiKey>>('/api/v1/api-keys?limit=50');
			setKeys(page.data);
			setCursor(page.next_cursor);
		} catch (e) {
			setLoadError(messageOf(e));
		}
	}, []);
	useEffect(() => {
		void load();
	}, [load]);

	async function more() {
		if (!cursor) return;
		setMoreBusy(true);
		try {
			const page = await get<Page<ApiKey>>(`/api/v1/api-keys?limit=50&cursor=${encodeURIComponent(cursor)}`);
			setKeys((k) => [...(k || []), ...page.data]);
			setCursor(page.next_cursor);
		} catch (e) {
			toast(messageOf(e), 'error');
		} finally {
			setMoreBusy(false);
		}
	}

	async function create(e: FormEvent) {
		e.preventDefault();
		const n = name.trim();
		if (!n) {
			setNameError('Give the key a name, like “CI pipeline” or “Zapier”.');
			return;
		}
		setNameError(undefined);
		setCreating(true);
		try {
			const k = await post<ApiKey>('/api/v1/api-keys', { name: n });
			setCreated(k);
			setName('');
			setKeys((list) => [{ ...k, key: undefined }, ...(list || [])]);
		} catch (err) {
			setNameError(err instanceof ApiError ? err.fields().name || err.problem.detail : messageOf(err));
		} finally {
			setCreating(false);
		}
	}

	async function remove() {
		if (!toDelete) return;
		setDeleting(true);
		setDeleteError(null);
		try {
			await del(`/api/v1/api-keys/${encodeURIComponent(toDelete.id)}`);
			setKeys((list) => (list || []).filter((k) => k.id !== toDelete.id));
			toast(`Deleted “${toDelete.name}”. It stopped working.`);
			setToDelete(null);
		} catch (e) {
			if (e instanceof ApiError && e.status === 404) {
				setKeys((list) => (list || []).filter((k) => k.id !== toDelete.id));
				setToDelete(null);
			} else setDeleteError(messageOf(e));
		} finally {
			setDeleting(false);
		}
	}

	return (
		<>
			<PageHeader title="API keys" sub="Use IAM from your own code: the REST API, or any OpenAI SDK for transcription. Keys work for your whole organization." />

			{created ? <NewKey k={created} onDone={() => setCreated(null)} /> : null}

			<form className="card inline-form" onSubmit={create} noValidate>
				<Field label="New key name" name="key-name" value={name} onChange={(e) => setName(e.target.value)} error={nameError} maxLength={100} placeholder="e.g. CI pipeline" />
				<button type="submit" className="btn btn--primary" disabled={creating}>
					<IconKey /> {creating ? 'Creating…' : 'Create key'}
				</button>
			</form>

			{loadError ? (
				<Alert
					title="The keys could not be loaded."
					action={
						<button type="button" className="btn" onClick={() => void load()}>
							Try again
						</button>
					}
				>
					{loadError}
				</Alert>
			) : keys === null ? (
				<div className="table-skeleton" aria-busy="true" aria-label="Loading keys">
					{Array.from({ length: 3 }, (_, i) => (
						<span key={i} className="skeleton skeleton--row" />
					))}
				</div>
			) : keys.length === 0 ? (
				<div className="empty empty--small">
					<p>No API keys yet. Create one above to call IAM from scripts, CI, or the OpenAI SDK.</p>
				</div>
			) : (
				<div className="table-wrap">
					<table className="table">
						<caption className="visually-hidden">Your API keys</caption>
						<thead>
							<tr>
								<th scope="col">Name</th>
								<th scope="col">Key</th>
								<th scope="col">Created</th>
								<th scope="col">Last used</th>
								<th scope="col">
									<span className="visually-hidden">Actions</span>
								</th>
							</tr>
						</thead>
						<tbody>
							{keys.map((k) => (
								<tr key={k.id} data-key-id={k.id}>
									<th scope="row" className="table__name">
										{k.name}
									</th>
									<td data-label="Key">
										<code className="mono">{k.prefix}…</code>
									</td>
									<td data-label="Created">{formatDate(k.created_at)}</td>
									<td data-label="Last used">{formatAgo(k.last_used_at)}</td>
									<td className="table__actions">
										<button type="button" className="btn btn--small btn--quiet btn--danger-text" onClick={() => setToDelete(k)} aria-label={`Delete key ${k.name}`}>
											<IconTrash /> Delete
										</button>
									</td>
								</tr>
							))}
						</tbody>
					</table>
				</div>
			)}
			{cursor ? (
				<div className="load-more">
					<button type="button" className="btn" onClick={() => void more()} disabled={moreBusy}>
						{moreBusy ? 'Loading…' : 'Load more'}
					</button>
				</div>
			) : null}

			<ConfirmDialog
				open={toDelete !== null}
				title={`Delete the key “${toDelete?.name || ''}”?`}
				confirmLabel="Delete key"
				danger
				busy={deleting}
				error={deleteError}
				onConfirm={() => void remove()}
				onCancel={() => {
					setToDelete(null);
					setDeleteError(null);
				}}
			>
				<p>Anything using it stops working at once. This cannot be undone.</p>
			</ConfirmDialog>
		</>
	);
}
