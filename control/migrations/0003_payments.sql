-- Buying coins. Prices are millimes of TND; coins are credited to the ledger (0002) as
-- millimes too (1 coin = 500 millimes) by a deposit keyed `payment:<id>`, so a payment
-- credits its coins once however often it is confirmed.
CREATE TABLE payments (
    id              TEXT PRIMARY KEY,
    account_id      TEXT NOT NULL REFERENCES accounts (id),
    idempotency_key TEXT NOT NULL,
    coins           BIGINT NOT NULL CHECK (coins > 0),
    price           BIGINT NOT NULL CHECK (price > 0),
    provider        TEXT NOT NULL,
    -- The provider's id of the payment, once it gave one.
    provider_ref    TEXT,
    checkout_url    TEXT,
    state           TEXT NOT NULL CHECK (state IN ('pending', 'paid', 'failed')),
    failure         TEXT,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    settled_at      BIGINT,
    UNIQUE (account_id, idempotency_key)
);
CREATE UNIQUE INDEX payments_provider_ref ON payments (provider, provider_ref);
CREATE INDEX payments_state ON payments (state, created_at);
CREATE INDEX payments_account ON payments (account_id, created_at);

-- The sandbox provider's own record of what it was asked to charge and what was paid: it
-- stands in for a real gateway, so it keeps its state apart from ours.
CREATE TABLE sandbox_charges (
    id         TEXT PRIMARY KEY,
    amount     BIGINT NOT NULL,
    paid_at    BIGINT,
    created_at BIGINT NOT NULL
);
