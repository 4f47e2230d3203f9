-- Expert payouts. Portable SQL, as 0001. Amounts are millimes.

-- The ledger's side of a payout (as ledger_holds is of a hold): the money an expert asked to be
-- paid, moved from `earnings:<expert>` to `payout:<expert>` (in transit) when requested, and
-- from there to `paid_out` (net) and `tax_payable` (withheld at source) when settled, or back
-- to the earnings when cancelled. A payout leaves 'pending' exactly once.
CREATE TABLE ledger_payouts (
    id          TEXT PRIMARY KEY,
    expert      TEXT NOT NULL,
    amount      BIGINT NOT NULL CHECK (amount > 0),
    withheld    BIGINT NOT NULL DEFAULT 0,
    state       TEXT NOT NULL CHECK (state IN ('pending', 'settled', 'cancelled')),
    created_at  BIGINT NOT NULL,
    resolved_at BIGINT,
    CHECK (withheld >= 0 AND withheld <= amount)
);
CREATE INDEX ledger_payouts_expert ON ledger_payouts (expert, state);

-- What payouts read to tell cleared earnings from earnings still within the clearing delay:
-- an expert's captured holds by capture time.
CREATE INDEX ledger_holds_payee ON ledger_holds (payee, state, resolved_at);

-- Payouts as experts ask for them and administrators decide them. The id is the ledger
-- payout's. The bank account's kind and last four characters are copied when the payout is
-- requested; the tax option, the rates in force and every amount of the tax computation when it
-- is approved, so a later change of rates or details never alters a past statement.
CREATE TABLE payouts (
    id              TEXT PRIMARY KEY,
    expert_id       TEXT NOT NULL REFERENCES accounts (id),
    idempotency_key TEXT NOT NULL,
    -- The expert's share paid out: what left their earnings.
    amount          BIGINT NOT NULL CHECK (amount > 0),
    state           TEXT NOT NULL CHECK (state IN ('requested', 'paid', 'rejected')),
    bank_kind       TEXT NOT NULL,
    bank_hint       TEXT NOT NULL,
    requested_at    BIGINT NOT NULL,
    decided_at      BIGINT,
    decided_by      TEXT REFERENCES accounts (id),
    -- Why it was rejected.
    reason          TEXT,
    -- The tax computation, recorded on approval.
    tax_option      TEXT CHECK (tax_option IN ('vat', 'withholding')),
    vat_bp          BIGINT,
    withholding_bp  BIGINT,
    gross           BIGINT,
    commission      BIGINT,
    vat             BIGINT,
    withheld        BIGINT,
    net             BIGINT,
    UNIQUE (expert_id, idempotency_key),
    CHECK (state = 'requested' OR decided_at IS NOT NULL),
    CHECK (state <> 'paid' OR net IS NOT NULL)
);
CREATE INDEX payouts_queue ON payouts (state, requested_at);
CREATE INDEX payouts_expert ON payouts (expert_id, requested_at);
