// Billing: the current plan, usage bars with the reset date, minutes by
// day, upgrade through Stripe (USD) or PayGate (ZAR), the Customer Portal,
// and invoices (PDF). A banner when a payment failed.

import { useCallback, useEffect, useState } from 'react';
import { Alert, PageHeader, Progress, toast, useDocumentTitle } from '../components/ui';
import { download, get, post } from '../lib/api';
import { formatBytes, formatDate, formatDay } from '../lib/format';
import { messageOf } from '../lib/problem';

interface Resource {
	limit: number | null;
	used: number;
	remaining: number | null;
	unit: string;
}
interface Usage {
	plan: { code: string; name: string };
	subscription: { plan: string; state: 'active' | 'past_due' | 'canceled'; currency: string; past_due_since: string | null };
	period: { start: string; end: string };
	resets_at: string;
	minutes: Resource & { used_seconds: number };
	storage: Resource;
	chat_messages: Resource;
	api_requests: { limit: number | null; used: number; resets_at: string };
	history: { date: string; minutes: number; chat_messages: number; api_requests: number }[];
}
interface Plan {
	code: string;
	name: string;
	limits: { minutes_per_month: number | null; storage_bytes: number | null; chat_messages_per_month: number | null; api_requests_per_hour: number | null };
	prices_minor: { USD?: number; ZAR?: number };
}
interface Invoice {
	id: string;
	number: string;
	plan: string;
	currency: string;
	total_minor: number;
	vat_minor: number;
	issued_at: string;
	pdf_url: string;
}
interface Checkout {
	url: string;
	gateway: string;
	form?: { action: string; method: string; fields: Record<string, string> };
}

const money = (minor: number, currency: string) => (currency === 'ZAR' ? `R${(minor / 100).toFixed(0)}` : `$${(minor / 100).toFixed(0)}`);
const limitText = (v: number | null, fmt: (n: number) => string = String) => (v === null ? 'Unlimited' : fmt(v));

function Meter({ label, r, fmt }: { label: string; r: Resource; fmt: (n: number) => string }) {
	const over = r.limit !== null && r.used >= r.limit;
	return (
		<div className="usage-meter" data-resource={label}>
			<div className="usage-meter__head">
				<span>{label}</span>
				<span className={over ? 'usage-meter__over' : 'muted'}>
					{fmt(r.used)} of {limitText(r.limit, fmt)}
				</span>
			</div>
			{r.limit !== null ? <Progress value={r.used} max={r.limit || 1} label={`${label}: ${fmt(r.used)} of ${fmt(r.limit)}`} /> : null}
		</div>
	);
}

/** Send the browser to the payment page: Stripe by URL, PayGate by a form POST. */
function goToPayment(c: Checkout) {
	if (c.form) {
		const f = document.createElement('form');
		f.method = c.form.method;
		f.action = c.form.action;
		for (const [k, v] of Object.entries(c.form.fields)) {
			const i = document.createElement('input');
			i.type = 'hidden';
			i.name = k;
			i.value = v;
			f.appendChild(i);
		}
		document.body.appendChild(f);
		f.submit();
		return;
	}
	window.location.assign(c.url);
}

export function Billing() {
	useDocumentTitle('Billing');
	const [usage, setUsage] = useState<Usage | null>(null);
	const [plans, setPlans] = useState<Plan[]>([]);
	const [invoices, setInvoices] = useState<Invoice[] | null>(null);
	const [error, setError] = useState<string | null>(null);
	const [currency, setCurrency] = useState<'USD' | 'ZAR'>('USD');
	const [busy, setBusy] = useState<string | null>(null);

	const load = useCallback(async () => {
		setError(null);
		try {
			const [u, p] = await Promise.all([get<Usage>('/api/v1/usage'), get<{ data: Plan[] }>('/api/v1/billing/plans')]);
			setUsage(u);
			setPlans(p.data);
			if (u.subscription.currency === 'ZAR') setCurrency('ZAR');
			try {
				setInvoices((await get<{ data: Invoice[] }>('/api/v1/invoices')).data);
			} catch {
				setInvoices([]); // members do not see invoices
			}
		} catch (e) {
			setError(messageOf(e));
		}
	}, []);
	useEffect(() => {
		void load();
	}, [load]);

	async function upgrade(plan: Plan) {
		setBusy(plan.code);
		try {
			goToPayment(await post<Checkout>('/api/v1/billing/checkout', { plan: plan.code, currency }));
		} catch (e) {
			toast(messageOf(e), 'error');
			setBusy(null);
		}
	}

	async function portal() {
		setBusy('portal');
		try {
			window.location.assign((await post<{ url: string }>('/api/v1/billing/portal')).url);
		} catch (e) {
			toast(messageOf(e), 'error');
			setBusy(null);
		}
	}

	if (error)
		return (
			<>
				<PageHeader title="Billing" />
				<Alert
					title="Billing could not be loaded."
					action={
						<button type="button" className="btn" onClick={() => void load()}>
							Try again
						</button>
					}
				>
					{error}
				</Alert>
			</>
		);
	if (!usage)
		return (
			<>
				<PageHeader title="Billing" />
				<div className="table-skeleton" aria-busy="true" aria-label="Loading billing">
					<span className="skeleton skeleton--row" />
					<span className="skeleton skeleton--row" />
				</div>
			</>
		);

	const maxDay = Math.max(1, ...usage.history.map((d) => d.minutes));
	return (
		<>
			<PageHeader title="Billing" sub={`You are on the ${usage.plan.name} plan. Usage resets on ${formatDay(usage.resets_at)}.`} />
			{usage.subscription.state === 'past_due' ? (
				<Alert kind="warning" title="Your last payment failed.">
					Update your card in the billing portal to keep your plan{usage.plan.code === 'free' ? '; until then you are on Free' : ''}.
				</Alert>
			) : null}
			{usage.subscription.state === 'canceled' ? <Alert kind="info" title="Your subscription was canceled.">You are on Free. Nothing you stored was deleted.</Alert> : null}

			<section className="card stack billing-section" aria-labelledby="usage-title">
				<h2 id="usage-title">This period</h2>
				<Meter label="Transcription minutes" r={usage.minutes} fmt={(n) => `${Math.round(n * 10) / 10} min`} />
				<Meter label="Storage" r={usage.storage} fmt={formatBytes} />
				<Meter label="Chat messages" r={usage.chat_messages} fmt={String} />
				<p className="muted">
					API: {usage.api_requests.used} requests this hour of {limitText(usage.api_requests.limit)}. Period {formatDay(usage.period.start)} – {formatDay(usage.period.end)}.
				</p>
				{usage.history.length ? (
					<div className="usage-chart" role="img" aria-label="Minutes transcribed by day">
						{usage.history.map((d) => (
							<div key={d.date} className="usage-chart__day" title={`${d.date}: ${d.minutes} min`}>
								<span className="usage-chart__bar" style={{ height: `${(d.minutes / maxDay) * 100}%` }} />
								<span className="usage-chart__label">{d.date.slice(8)}</span>
							</div>
						))}
					</div>
				) : null}
			</section>

			<section className="card stack billing-section" aria-labelledby="plans-title">
				<div className="usage-meter__head">
					<h2 id="plans-title">Plans</h2>
					<label>
						<span className="muted">Pay in </span>
						<select value={currency} onChange={(e) => setCurrency(e.target.value as 'USD' | 'ZAR')} aria-label="Currency">
							<option value="USD">US dollars (card, Stripe)</option>
							<option value="ZAR">Rand (PayGate)</option>
						</select>
					</label>
				</div>
				<div className="plan-grid">
					{plans.map((p) => {
						const price = p.prices_minor[currency];
						const current = p.code === usage.plan.code;
						return (
							<div key={p.code} className={`plan${current ? ' plan--current' : ''}`} data-plan={p.code}>
								<h3>{p.name}</h3>
								<p className="plan__price">{price === undefined ? '—' : `${money(price, currency)} / month`}</p>
								<ul className="muted">
									<li>{limitText(p.limits.minutes_per_month)} minutes / month</li>
									<li>{limitText(p.limits.storage_bytes, formatBytes)} storage</li>
									<li>{limitText(p.limits.chat_messages_per_month)} chat messages</li>
									<li>{limitText(p.limits.api_requests_per_hour)} API requests / hour</li>
								</ul>
								{current ? (
									<span className="badge">Current plan</span>
								) : price ? (
									<button type="button" className="btn btn--primary" disabled={busy !== null} onClick={() => void upgrade(p)}>
										{busy === p.code ? 'Opening checkout…' : `Choose ${p.name}`}
									</button>
								) : null}
							</div>
						);
					})}
				</div>
				{usage.subscription.currency === 'USD' && usage.plan.code !== 'free' ? (
					<button type="button" className="btn" disabled={busy !== null} onClick={() => void portal()}>
						{busy === 'portal' ? 'Opening…' : 'Manage card or cancel'}
					</button>
				) : null}
			</section>

			<section className="card stack billing-section" aria-labelledby="invoices-title">
				<h2 id="invoices-title">Invoices</h2>
				{!invoices || invoices.length === 0 ? (
					<p className="muted">No invoices yet.</p>
				) : (
					<div className="table-wrap">
						<table className="table">
							<thead>
								<tr>
									<th scope="col">Number</th>
									<th scope="col">Date</th>
									<th scope="col">Total</th>
									<th scope="col">
										<span className="visually-hidden">Download</span>
									</th>
								</tr>
							</thead>
							<tbody>
								{invoices.map((i) => (
									<tr key={i.id} data-invoice={i.number}>
										<th scope="row">{i.number}</th>
										<td data-label="Date">{formatDate(i.issued_at)}</td>
										<td data-label="Total">
											{i.currency} {(i.total_minor / 100).toFixed(2)}
										</td>
										<td className="table__actions">
											<button type="button" className="btn btn--small btn--quiet" onClick={() => void download(i.pdf_url, `${i.number}.pdf`).catch((e) => toast(messageOf(e), 'error'))}>
												PDF
											</button>
										</td>
									</tr>
								))}
							</tbody>
						</table>
					</div>
				)}
			</section>
		</>
	);
}
