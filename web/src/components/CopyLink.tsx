// A link to copy: a read-only field that selects itself when focused, and a
// Copy button that tells how it went in a toast. Used for the invitation
// link on the Team page and the links of the Share dialog.

import { useEffect, useId, useRef, type ReactNode } from 'react';
import { toast } from './ui';

/** A path of ours as the absolute URL someone else opens. */
export const absolute = (path: string) => new URL(path, window.location.origin).toString();

/** Copy text: the clipboard API, or, where that is blocked, select el and ask execCommand. */
export async function copyText(text: string, el: HTMLInputElement | null): Promise<boolean> {
	try {
		await navigator.clipboard.writeText(text);
		return true;
	} catch {
		if (!el) return false;
		el.focus();
		el.select();
		try {
			return document.execCommand('copy');
		} catch {
			return false;
		}
	}
}

/**
 * label names the field for screen readers; data is the field's data-*
 * attribute (what tests find it by). primary: the page's main action (a
 * primary button; the field is focused and selected when it appears).
 */
export function CopyLink({ label, value, data, primary = false, children = 'Copy' }: { label: string; value: string; data: string; primary?: boolean; children?: ReactNode }) {
	const ref = useRef<HTMLInputElement>(null);
	const id = useId();
	useEffect(() => {
		if (!primary) return;
		ref.current?.focus();
		ref.current?.select();
	}, [primary, value]);
	return (
		<div className="copy-row">
			<label htmlFor={id} className="visually-hidden">
				{label}
			</label>
			<input id={id} ref={ref} className="mono" readOnly value={value} onFocus={(e) => e.target.select()} {...{ [data]: '' }} />
			<button
				type="button"
				className={primary ? 'btn btn--primary' : 'btn btn--small'}
				onClick={async () => {
					if (await copyText(value, ref.current)) toast('Link copied to the clipboard.');
					else toast('Copying was blocked: the link is selected, press Ctrl+C.', 'error');
				}}
			>
				{children}
			</button>
		</div>
	);
}
