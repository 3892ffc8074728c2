// Small building blocks: form fields, alerts, status badges, progress,
// confirmation dialogs, toasts.

import {
	useEffect,
	useId,
	useRef,
	useState,
	useSyncExternalStore,
	type InputHTMLAttributes,
	type ReactNode,
} from 'react';
import type { MeetingStatus } from '../lib/types';

// ------------------------------------------------------------------ fields

type FieldProps = InputHTMLAttributes<HTMLInputElement> & {
	label: string;
	error?: string | undefined;
	hint?: ReactNode;
	/** the input's own id (derived when not given) */
	id?: string;
};

export function Field({ label, error, hint, id, className, ...input }: FieldProps) {
	const auto = useId();
	const fid = id || `f${auto.replace(/:/g, '')}`;
	const hintId = hint ? `${fid}-hint` : undefined;
	const errId = error ? `${fid}-error` : undefined;
	return (
		<div className={`field${error ? ' field--invalid' : ''}${className ? ` ${className}` : ''}`}>
			<label htmlFor={fid}>{label}</label>
			<input
				id={fid}
				aria-invalid={error ? true : undefined}
				aria-describedby={[errId, hintId].filter(Boolean).join(' ') || undefined}
				{...input}
			/>
			{error ? (
				<p className="field__error" id={errId} data-field-error={input.name}>
					{error}
				</p>
			) : null}
			{hint ? (
				<p className="field__hint" id={hintId}>
					{hint}
				</p>
			) : null}
		</div>
	);
}

// ------------------------------------------------------------------ messages

export function Alert({ kind = 'error', title, children, action }: { kind?: 'error' | 'info' | 'success' | 'warning'; title?: string; children?: ReactNode; action?: ReactNode }) {
	return (
		<div className={`alert alert--${kind}`} role={kind === 'error' ? 'alert' : 'status'}>
			<div className="alert__body">
				{title ? <p className="alert__title">{title}</p> : null}
				{children ? <div className="alert__text">{children}</div> : null}
			</div>
			{action ? <div className="alert__action">{action}</div> : null}
		</div>
	);
}

export function Spinner({ label = 'Loading' }: { label?: string }) {
	return <span className="spinner" role="status" aria-label={label} />;
}

// ------------------------------------------------------------------ status

const STATUS_TEXT: Record<MeetingStatus, string> = {
	pending: 'No audio yet',
	uploaded: 'Not transcribed',
	queued: 'Queued',
	processing: 'Transcribing',
	completed: 'Ready',
	failed: 'Failed',
};

export function statusText(status: MeetingStatus, progress = 0): string {
	if (status === 'processing') return `Transcribing ${Math.max(0, Math.min(100, progress))}%`;
	return STATUS_TEXT[status] || status;
}

export function StatusBadge({ status, progress = 0 }: { status: MeetingStatus; progress?: number }) {
	return (
		<span className={`badge badge--${status}`} data-status={status}>
			{status === 'processing' || status === 'queued' ? <span className="badge__pulse" aria-hidden="true" /> : null}
			{statusText(status, progress)}
		</span>
	);
}

export function Progress({ value, label, max = 100, indeterminate = false }: { value: number; label: string; max?: number; indeterminate?: boolean }) {
	const pct = max > 0 ? Math.max(0, Math.min(100, (value / max) * 100)) : 0;
	return (
		<div
			className={`progress${indeterminate ? ' progress--indeterminate' : ''}`}
			role="progressbar"
			aria-label={label}
			aria-valuemin={0}
			aria-valuemax={100}
			aria-valuenow={indeterminate ? undefined : Math.round(pct)}
		>
			<div className="progress__bar" style={{ width: indeterminate ? undefined : `${pct}%` }} />
		</div>
	);
}

// ------------------------------------------------------------------ dialogs

export function ConfirmDialog({
	open,
	title,
	children,
	confirmLabel,
	danger = false,
	busy = false,
	error,
	onConfirm,
	onCancel,
}: {
	open: boolean;
	title: string;
	children?: ReactNode;
	confirmLabel: string;
	danger?: boolean;
	busy?: boolean;
	error?: string | null;
	onConfirm: () => void;
	onCancel: () => void;
}) {
	const ref = useRef<HTMLDialogElement>(null);
	const titleId = useId();
	useEffect(() => {
		const d = ref.current;
		if (!d) return;
		if (open && !d.open) d.showModal();
		if (!open && d.open) d.close();
	}, [open]);
	return (
		<dialog
			ref={ref}
			className="dialog"
			aria-labelledby={titleId}
			onCancel={(e) => {
				e.preventDefault();
				if (!busy) onCancel();
			}}
		>
			<h2 id={titleId} className="dialog__title">
				{title}
			</h2>
			{children ? <div className="dialog__body">{children}</div> : null}
			{error ? <Alert>{error}</Alert> : null}
			<div className="dialog__actions">
				<button type="button" className="btn" onClick={onCancel} disabled={busy} autoFocus>
					Cancel
				</button>
				<button type="button" className={`btn ${danger ? 'btn--danger' : 'btn--primary'}`} onClick={onConfirm} disabled={busy}>
					{busy ? 'Working…' : confirmLabel}
				</button>
			</div>
		</dialog>
	);
}

// ------------------------------------------------------------------ toasts

interface Toast {
	id: number;
	text: string;
	kind: 'info' | 'error';
}
let toasts: Toast[] = [];
let toastSeq = 0;
const toastListeners = new Set<() => void>();

export function toast(text: string, kind: 'info' | 'error' = 'info'): void {
	const id = ++toastSeq;
	toasts = [...toasts, { id, text, kind }].slice(-2);
	toastListeners.forEach((l) => l());
	setTimeout(() => {
		toasts = toasts.filter((t) => t.id !== id);
		toastListeners.forEach((l) => l());
	}, kind === 'error' ? 8000 : 4000);
}

export function Toasts() {
	const list = useSyncExternalStore(
		(fn) => {
			toastListeners.add(fn);
			return () => toastListeners.delete(fn);
		},
		() => toasts,
	);
	return (
		<div className="toasts" aria-live="polite" aria-atomic="false">
			{list.map((t) => (
				<div key={t.id} className={`toast toast--${t.kind}`}>
					{t.text}
				</div>
			))}
		</div>
	);
}

// ------------------------------------------------------------------ misc

/** Re-render every `ms` (relative times, countdowns). */
export function useTick(ms: number, enabled = true): number {
	const [n, setN] = useState(0);
	useEffect(() => {
		if (!enabled) return undefined;
		const t = setInterval(() => setN((x) => x + 1), ms);
		return () => clearInterval(t);
	}, [ms, enabled]);
	return n;
}

export function PageHeader({ title, children, sub, heading }: { title?: ReactNode; sub?: ReactNode; children?: ReactNode; heading?: ReactNode }) {
	return (
		<div className="page-header">
			<div className="page-header__text">
				{heading || (
					<h1 tabIndex={-1} data-page-title>
						{title}
					</h1>
				)}
				{sub ? <p className="page-header__sub">{sub}</p> : null}
			</div>
			{children ? <div className="page-header__actions">{children}</div> : null}
		</div>
	);
}

export function useDocumentTitle(title: string): void {
	useEffect(() => {
		document.title = title ? `${title} · IAM` : 'IAM';
	}, [title]);
}
