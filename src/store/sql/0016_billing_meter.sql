-- Billing, second part (issue 12): overage minutes reported to Stripe's
-- metered billing (Billing Meter events).
--
-- stripe_meter_event: the event_name of the Stripe Billing Meter a plan's
-- overage minutes are reported to (NULL: not reported).
ALTER TABLE plans ADD COLUMN stripe_meter_event TEXT;
