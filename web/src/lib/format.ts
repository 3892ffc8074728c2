// How numbers, times and sizes are shown.

const dateFmt = new Intl.DateTimeFormat(undefined, { year: 'numeric', month: 'short', day: 'numeric' });
const dateTimeFmt = new Intl.DateTimeFormat(undefined, { year: 'numeric', month: 'short', day: 'numeric', hour: 'numeric', minute: '2-digit' });
const timeFmt = new Intl.DateTimeFormat(undefined, { hour: 'numeric', minute: '2-digit' });

export function formatDate(iso: string | null | undefined): string {
	if (!iso) return '—';
	const d = new Date(iso);
	if (Number.isNaN(d.getTime())) return '—';
	const now = new Date();
	if (d.toDateString() === now.toDateString()) return `Today, ${timeFmt.format(d)}`;
	const y = new Date(now);
	y.setDate(now.getDate() - 1);
	if (d.toDateString() === y.toDateString()) return `Yesterday, ${timeFmt.format(d)}`;
	return dateTimeFmt.format(d);
}

export function formatDay(iso: string | null | undefined): string {
	if (!iso) return '—';
	const d = new Date(iso);
	return Number.isNaN(d.getTime()) ? '—' : dateFmt.format(d);
}

/** 0:05, 12:34, 1:02:03 */
export function formatClock(seconds: number | null | undefined): string {
	if (seconds === null || seconds === undefined || !Number.isFinite(seconds) || seconds < 0) return '—';
	const s = Math.floor(seconds);
	const h = Math.floor(s / 3600);
	const m = Math.floor((s % 3600) / 60);
	const sec = s % 60;
	const pad = (n: number) => String(n).padStart(2, '0');
	return h > 0 ? `${h}:${pad(m)}:${pad(sec)}` : `${m}:${pad(sec)}`;
}

/** "45 s", "3 min", "1 h 5 min" */
export function formatDuration(seconds: number | null | undefined): string {
	if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return '—';
	if (seconds < 60) return `${Math.max(1, Math.round(seconds))} s`;
	const m = Math.round(seconds / 60);
	if (m < 60) return `${m} min`;
	return `${Math.floor(m / 60)} h ${m % 60} min`;
}

export function formatBytes(n: number | null | undefined): string {
	if (n === null || n === undefined || !Number.isFinite(n)) return '—';
	if (n < 1024) return `${n} B`;
	const units = ['KB', 'MB', 'GB', 'TB'];
	let v = n / 1024;
	let i = 0;
	while (v >= 1024 && i < units.length - 1) {
		v /= 1024;
		i++;
	}
	return `${v >= 100 ? Math.round(v) : v.toFixed(1)} ${units[i]}`;
}

export function formatAgo(iso: string | null | undefined): string {
	if (!iso) return 'Never';
	const t = Date.parse(iso);
	if (Number.isNaN(t)) return '—';
	const s = Math.round((Date.now() - t) / 1000);
	if (s < 45) return 'Just now';
	if (s < 3600) return `${Math.round(s / 60)} min ago`;
	if (s < 86400) return `${Math.round(s / 3600)} h ago`;
	if (s < 86400 * 7) return `${Math.round(s / 86400)} d ago`;
	return formatDay(iso);
}

/** Title from a file name: "weekly-sync_2024.mp3" -> "weekly-sync_2024". */
export function titleFromFile(name: string): string {
	const base = name.replace(/\.[A-Za-z0-9]{1,5}$/, '').trim();
	return (base || name).slice(0, 200);
}
