// RFC 9457 problem details as the API sends them, turned into something a
// form can show: a message per field and one for the whole form.

export interface FieldError {
	field: string;
	message: string;
}

export interface Problem {
	status: number;
	title: string;
	detail: string;
	code: string;
	errors: FieldError[];
	requestId: string | null;
	/** Seconds to wait (429 Retry-After). */
	retryAfter: number | null;
}

export class ApiError extends Error {
	readonly problem: Problem;
	constructor(problem: Problem) {
		super(problem.detail);
		this.name = 'ApiError';
		this.problem = problem;
	}
	get status(): number {
		return this.problem.status;
	}
	get code(): string {
		return this.problem.code;
	}
	/** field -> message, for the fields the server named. */
	fields(): Record<string, string> {
		const out: Record<string, string> = {};
		for (const e of this.problem.errors) if (!(e.field in out)) out[e.field] = sentence(e.message);
		return out;
	}
}

export const NETWORK_DETAIL = "Can't reach IAM. Check your connection and try again.";

export function networkError(): ApiError {
	return new ApiError({
		status: 0,
		title: 'Network error',
		detail: NETWORK_DETAIL,
		code: 'network_error',
		errors: [],
		requestId: null,
		retryAfter: null,
	});
}

function sentence(s: string): string {
	const t = s.trim();
	if (!t) return t;
	return t[0].toUpperCase() + t.slice(1);
}

function fallbackDetail(status: number): string {
	if (status === 401) return 'You need to log in.';
	if (status === 403) return "You don't have permission to do that.";
	if (status === 404) return 'Not found. It may have been deleted.';
	if (status === 413) return 'That is too large for IAM to accept.';
	if (status === 429) return 'Too many requests. Wait a moment and try again.';
	if (status >= 500) return 'IAM had a problem on its side. Try again in a moment.';
	return `The request failed (HTTP ${status}).`;
}

/** Build a Problem from a status, headers getter and body text. */
export function parseProblem(status: number, header: (name: string) => string | null, text: string): Problem {
	let body: Record<string, unknown> | null = null;
	if (text) {
		try {
			const v: unknown = JSON.parse(text);
			if (v && typeof v === 'object' && !Array.isArray(v)) body = v as Record<string, unknown>;
		} catch {
			body = null;
		}
	}
	const ra = header('Retry-After');
	let retryAfter: number | null = null;
	if (ra !== null) {
		const n = Number(ra);
		if (Number.isFinite(n)) retryAfter = Math.max(0, Math.ceil(n));
		else {
			const d = Date.parse(ra);
			if (!Number.isNaN(d)) retryAfter = Math.max(0, Math.ceil((d - Date.now()) / 1000));
		}
	}
	const errors: FieldError[] = [];
	if (body && Array.isArray(body.errors)) {
		for (const e of body.errors as unknown[]) {
			if (e && typeof e === 'object') {
				const f = (e as Record<string, unknown>).field;
				const m = (e as Record<string, unknown>).message;
				if (typeof f === 'string' && typeof m === 'string') errors.push({ field: f, message: m });
			}
		}
	}
	const str = (k: string): string | null => (body && typeof body[k] === 'string' ? (body[k] as string) : null);
	return {
		status,
		title: str('title') || 'Error',
		detail: str('detail') || fallbackDetail(status),
		code: str('code') || `http_${status}`,
		errors,
		requestId: str('request_id') || header('X-Request-Id'),
		retryAfter,
	};
}

/** A sentence for any thrown value. */
export function messageOf(e: unknown): string {
	if (e instanceof ApiError) return e.problem.detail;
	if (e instanceof Error && e.message) return e.message;
	return 'Something went wrong. Try again.';
}
