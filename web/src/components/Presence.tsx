// Presence dots and the typing note (state in lib/live). A dot is green for
// "online" and grey for "offline", with the word as its accessible name and
// tooltip, so it never speaks by colour alone.

import { useEffect, useSyncExternalStore } from 'react';
import { get } from '../lib/api';
import { usePresence, useTyping } from '../lib/live';

export function PresenceDot({ id }: { id: string | null | undefined }) {
	const status = usePresence(id);
	return <span className={`presence-dot presence-dot--${status}`} role="img" aria-label={status} title={status} data-presence={status} />;
}

// Names of the people I have seen (messages, contacts), for "<name> is typing…".
const names = new Map<string, string>();
let namesVersion = 0;
const nameListeners = new Set<() => void>();
let contactsAsked = 0;

export function rememberPeople(people: ({ id: string; name?: string; email: string } | null | undefined)[]): void {
	let changed = false;
	for (const p of people) {
		if (!p || !p.id) continue;
		const n = p.name || p.email;
		if (names.get(p.id) !== n) {
			names.set(p.id, n);
			changed = true;
		}
	}
	if (changed) {
		namesVersion++;
		for (const l of [...nameListeners]) l();
	}
}

function useNames(): number {
	return useSyncExternalStore(
		(l) => {
			nameListeners.add(l);
			return () => nameListeners.delete(l);
		},
		() => namesVersion,
	);
}

/**
 * "<name> is typing…" for the people typing to me (only `from` when given),
 * in a polite live region that is always there (so the change is read out).
 */
export function TypingNote({ from, className = '' }: { from?: string; className?: string }) {
	const typing = useTyping();
	useNames();
	const who = from ? typing.filter((t) => t === from) : typing;
	const unknown = who.some((id) => !names.has(id));
	useEffect(() => {
		// someone I have not seen yet: learn the names of my organizations (at most every 30 s)
		if (!unknown || Date.now() - contactsAsked < 30_000) return;
		contactsAsked = Date.now();
		get<{ data: { id: string; name: string; email: string }[] }>('/api/v2/messages/contacts?limit=50')
			.then((r) => rememberPeople(r.data))
			.catch(() => undefined);
	}, [unknown]);
	const labels = who.map((id) => names.get(id) || 'Someone in your organizations');
	let text = '';
	if (labels.length === 1) text = `${labels[0]} is typing…`;
	else if (labels.length === 2) text = `${labels[0]} and ${labels[1]} are typing…`;
	else if (labels.length > 2) text = `${labels[0]} and ${labels.length - 1} others are typing…`;
	return (
		<p className={`typing-note${className ? ` ${className}` : ''}`} aria-live="polite" data-typing={who.join(' ') || undefined}>
			{text}
		</p>
	);
}
