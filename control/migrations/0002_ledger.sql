-- The ledger: double-entry and append-only. Amounts are millimes (1 coin = 500 millimes).
-- Portable SQL, as 0001. Balances are signed; every transfer takes its amount from one account
-- and adds it to another, so the balances of all accounts always sum to zero.

-- 'wallet:<account>', 'held:<account>' (a payer's coins on hold), 'earnings:<account>',
-- 'revenue', 'clearing:<provider>' (money a payment provider collected for us: negative).
CREATE TABLE ledger_accounts (
    id              TEXT PRIMARY KEY,
    kind            TEXT NOT NULL,
    owner           TEXT,
    balance         BIGINT NOT NULL DEFAULT 0,
    may_go_negative BIGINT NOT NULL DEFAULT 0,
    created_at      BIGINT NOT NULL,
    -- The store checks before it moves money; this is the backstop.
    CHECK (may_go_negative = 1 OR balance >= 0)
);
CREATE INDEX ledger_accounts_owner ON ledger_accounts (owner);

-- One row per money-moving request, keyed by the caller's idempotency key: a retry finds the
-- first result here; the same key with another request is refused.
CREATE TABLE ledger_operations (
    key        TEXT PRIMARY KEY,
    kind       TEXT NOT NULL,
    request    TEXT NOT NULL,
    result     TEXT,
    at         BIGINT NOT NULL
);

CREATE TABLE ledger_holds (
    id          TEXT PRIMARY KEY,
    payer       TEXT NOT NULL,
    payee       TEXT NOT NULL,
    amount      BIGINT NOT NULL CHECK (amount > 0),
    captured    BIGINT NOT NULL DEFAULT 0,
    refunded    BIGINT NOT NULL DEFAULT 0,
    state       TEXT NOT NULL CHECK (state IN ('pending', 'captured', 'released', 'expired')),
    expires_at  BIGINT,
    reference   TEXT NOT NULL,
    reason      TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    resolved_at BIGINT,
    CHECK (captured >= 0 AND captured <= amount),
    CHECK (refunded >= 0 AND refunded <= captured)
);
CREATE INDEX ledger_holds_expiry ON ledger_holds (state, expires_at);
CREATE INDEX ledger_holds_payer ON ledger_holds (payer, created_at);

-- Immutable: never updated, never deleted. Corrections are new transfers.
CREATE TABLE ledger_transfers (
    id           TEXT PRIMARY KEY,
    operation    TEXT NOT NULL REFERENCES ledger_operations (key),
    position     BIGINT NOT NULL,
    -- Checked at commit: the store writes a request's transfers before it
    -- moves the balances (and creates new accounts), so the hot accounts
    -- (revenue) stay locked for as short a time as possible.
    from_account TEXT NOT NULL REFERENCES ledger_accounts (id) DEFERRABLE INITIALLY DEFERRED,
    to_account   TEXT NOT NULL REFERENCES ledger_accounts (id) DEFERRABLE INITIALLY DEFERRED,
    amount       BIGINT NOT NULL CHECK (amount > 0),
    kind         TEXT NOT NULL,
    hold_id      TEXT,
    reference    TEXT NOT NULL,
    at           BIGINT NOT NULL
);
CREATE INDEX ledger_transfers_from ON ledger_transfers (from_account, at);
CREATE INDEX ledger_transfers_to ON ledger_transfers (to_account, at);
CREATE INDEX ledger_transfers_hold ON ledger_transfers (hold_id);
