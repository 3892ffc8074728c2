-- Billing, second part (issue 12): overage minutes reported to Stripe's
-- metered billing (Billing Meter events).
--
-- stripe_meter_event: the event_name of the Stripe Billing Meter a plan's
-- overage minutes are reported to (NULL: not reported).
ALTER TABLE plans ADD COLUMN stripe_meter_event TEXT;

-- PayGate monthly renewal: near the end of a paid period a job initiates the
-- next month's PayWeb3 payment (renews_period_end: the period_end it
-- renews, at most one per organization and period; NULL for a checkout)
-- and mails its pay link (pay_url) to the owners.
ALTER TABLE paygate_payments ADD COLUMN renews_period_end BIGINT;
ALTER TABLE paygate_payments ADD COLUMN pay_url TEXT;
CREATE UNIQUE INDEX paygate_payments_renewal ON paygate_payments(org_id, renews_period_end);

-- An invoice is issued when it is paid, or ahead of the payment for a
-- renewal (paid_at NULL until then).
ALTER TABLE invoices ADD COLUMN paid_at BIGINT;
UPDATE invoices SET paid_at = issued_at;

-- Issue 13: a chat message's place in the monthly quota is reserved when it
-- is accepted (in the transaction that checks the quota), and the
-- reservation becomes the message's usage record when its answer is stored.
-- expires_at: NULL for a record; for a reservation, when it stops counting
-- (an answer that never completed gives its place back then).
ALTER TABLE usage_records ADD COLUMN expires_at BIGINT;
