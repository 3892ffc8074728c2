-- Plans, subscriptions, metering and payments. Portable SQL (SQLite 3.40 /
-- PostgreSQL 15). Money is integer minor units (cents) plus an ISO 4217
-- code; a NULL limit means unlimited. The catalogue is data: `iamd plans
-- set` changes it, never a code edit.

CREATE TABLE plans (
    code          TEXT PRIMARY KEY,               -- 'free', 'pro', 'enterprise'
    name          TEXT NOT NULL,
    position      INTEGER NOT NULL DEFAULT 0,     -- display order
    minutes_per_month       BIGINT,               -- NULL = unlimited (fair use)
    storage_bytes           BIGINT,
    chat_messages_per_month BIGINT,
    api_requests_per_hour   BIGINT,
    overage_allowed INTEGER NOT NULL DEFAULT 0 CHECK (overage_allowed IN (0, 1)),
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL
);

-- A plan's price in one currency. provider_price_id: the Stripe price id
-- (USD) the Checkout Session subscribes to.
CREATE TABLE plan_prices (
    plan_code     TEXT NOT NULL REFERENCES plans(code) ON DELETE CASCADE,
    currency      TEXT NOT NULL,                  -- 'USD', 'ZAR'
    amount_minor  BIGINT NOT NULL CHECK (amount_minor >= 0),
    overage_minor_per_minute BIGINT NOT NULL DEFAULT 0,
    provider_price_id TEXT,
    PRIMARY KEY (plan_code, currency)
);

INSERT INTO plans (code, name, position, minutes_per_month, storage_bytes,
                   chat_messages_per_month, api_requests_per_hour, overage_allowed,
                   created_at, updated_at)
VALUES ('free', 'Free', 0, 60, 1073741824, 50, 100, 0, 0, 0),
       ('pro', 'Pro', 1, 500, 53687091200, 500, 5000, 0, 0, 0),
       ('enterprise', 'Enterprise', 2, NULL, 536870912000, NULL, 50000, 0, 0, 0);

INSERT INTO plan_prices (plan_code, currency, amount_minor) VALUES
    ('free', 'USD', 0), ('free', 'ZAR', 0),
    ('pro', 'USD', 2900), ('pro', 'ZAR', 36000),
    ('enterprise', 'USD', 9900), ('enterprise', 'ZAR', 72000);

-- One per organization that ever subscribed; an organization without a row
-- is on Free with calendar-month periods (UTC).
CREATE TABLE subscriptions (
    org_id        TEXT PRIMARY KEY REFERENCES organizations(id) ON DELETE CASCADE,
    plan_code     TEXT NOT NULL REFERENCES plans(code),
    state         TEXT NOT NULL DEFAULT 'active'
                  CHECK (state IN ('active', 'past_due', 'canceled')),
    currency      TEXT NOT NULL DEFAULT 'USD',
    provider      TEXT,                           -- 'stripe', 'paygate', NULL (manual / free)
    provider_customer_id     TEXT,
    provider_subscription_id TEXT,
    period_start  BIGINT NOT NULL,
    period_end    BIGINT NOT NULL,
    past_due_since BIGINT,                        -- start of the grace period
    provider_event_at BIGINT NOT NULL DEFAULT 0,  -- newest provider event applied (order)
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL
);
CREATE INDEX subscriptions_customer ON subscriptions(provider, provider_customer_id);

-- Metered usage. source_key makes a record idempotent: the job id for
-- transcribed seconds (a retried job never counts twice), the message id
-- for chat messages.
CREATE TABLE usage_records (
    id            TEXT PRIMARY KEY,
    org_id        TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    kind          TEXT NOT NULL CHECK (kind IN ('seconds', 'chat_messages')),
    source_key    TEXT NOT NULL,
    quantity      BIGINT NOT NULL,                -- seconds (rounded up) or a count
    meeting_id    TEXT,
    provider      TEXT,
    model         TEXT,
    transcription_cost BIGINT NOT NULL DEFAULT 0, -- what the engine cost us, micro-USD
    occurred_at   BIGINT NOT NULL
);
CREATE UNIQUE INDEX usage_records_source ON usage_records(kind, source_key);
CREATE INDEX usage_records_org ON usage_records(org_id, kind, occurred_at);

-- API requests per organization in fixed clock-hour windows.
CREATE TABLE api_request_windows (
    org_id        TEXT NOT NULL,
    window_start  BIGINT NOT NULL,                -- Unix ms, a whole hour
    requests      BIGINT NOT NULL,
    PRIMARY KEY (org_id, window_start)
);

-- 80 % and 100 % warnings, once per organization, kind and period.
CREATE TABLE usage_warnings (
    org_id        TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    kind          TEXT NOT NULL,                  -- 'minutes', 'storage', 'chat_messages'
    period_start  BIGINT NOT NULL,
    threshold     INTEGER NOT NULL,               -- 80 or 100
    created_at    BIGINT NOT NULL,
    PRIMARY KEY (org_id, kind, period_start, threshold)
);

-- Provider events (Stripe event ids, PayGate notifications) processed once.
CREATE TABLE billing_events (
    provider      TEXT NOT NULL,
    event_id      TEXT NOT NULL,
    type          TEXT NOT NULL,
    org_id        TEXT,
    outcome       TEXT NOT NULL DEFAULT '',
    received_at   BIGINT NOT NULL,
    PRIMARY KEY (provider, event_id)
);

-- PayGate PayWeb3 payments we initiated (reference = our id).
CREATE TABLE paygate_payments (
    reference     TEXT PRIMARY KEY,
    org_id        TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    plan_code     TEXT NOT NULL,
    amount_minor  BIGINT NOT NULL,
    currency      TEXT NOT NULL,
    pay_request_id TEXT UNIQUE,
    state         TEXT NOT NULL DEFAULT 'initiated'
                  CHECK (state IN ('initiated', 'paid', 'failed')),
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL
);

-- Our invoice for every payment. number is '<seq>' per organization.
CREATE TABLE invoices (
    id            TEXT PRIMARY KEY,
    org_id        TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    seq           INTEGER NOT NULL,
    number        TEXT NOT NULL,
    plan_code     TEXT NOT NULL,
    currency      TEXT NOT NULL,
    subtotal_minor BIGINT NOT NULL,
    vat_percent   INTEGER NOT NULL DEFAULT 0,
    vat_minor     BIGINT NOT NULL DEFAULT 0,
    total_minor   BIGINT NOT NULL,
    provider      TEXT NOT NULL,
    provider_ref  TEXT NOT NULL,                  -- Stripe invoice id, PayGate reference
    period_start  BIGINT NOT NULL,
    period_end    BIGINT NOT NULL,
    issued_at     BIGINT NOT NULL,
    UNIQUE (org_id, seq),
    UNIQUE (provider, provider_ref)
);
