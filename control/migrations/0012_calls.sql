-- Calls: a confirmed booking's video call. Presence per participant as the SFU reports it
-- (a set of whole Unix seconds, stored as JSON ranges and merged by union), and the
-- settlement decided from it. Portable SQL; times in ms unless named in seconds.

CREATE TABLE calls (
    booking_id      TEXT PRIMARY KEY REFERENCES bookings (id),
    -- Unix seconds the host ended the call at, if they did.
    host_ended_at   BIGINT,
    -- Set together, once, when the call is settled (with the booking's state change):
    -- completed, host_ended, time_up or balance_exhausted; expert or user for a no-show.
    end_reason      TEXT,
    no_show         TEXT,
    -- Unix seconds; presence after it did not count.
    cutoff          BIGINT,
    billed_seconds  BIGINT,
    -- Millimes: owed = from_hold (captured from the booking's hold) + extra (held from
    -- the wallet and captured, for an overrun beyond the hold).
    owed            BIGINT,
    from_hold       BIGINT,
    extra           BIGINT,
    settled_at      BIGINT,
    -- The extra capture was done in the ledger.
    extra_done_at   BIGINT,
    -- Millimes refunded by administrators, and why (latest).
    refunded        BIGINT NOT NULL DEFAULT 0,
    refund_reason   TEXT,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL
);
CREATE INDEX calls_unfinished ON calls (settled_at, extra_done_at);

CREATE TABLE call_presence (
    booking_id  TEXT NOT NULL REFERENCES bookings (id),
    -- The room token's subject: an account id.
    participant TEXT NOT NULL,
    -- JSON [[start, end], ...]: sorted, disjoint half-open ranges of Unix seconds.
    ranges      TEXT NOT NULL,
    -- The highest report sequence merged, and the highest of a report saying the
    -- participant left (-1: none): gone when no report followed the leave. Maxima, so
    -- merging is order-free like the union.
    newest_seq  BIGINT NOT NULL,
    left_seq    BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL,
    PRIMARY KEY (booking_id, participant)
);

-- One review per completed call, by its user; one reply by the expert; hidden by admins.
CREATE TABLE call_reviews (
    booking_id  TEXT PRIMARY KEY REFERENCES bookings (id),
    expert_id   TEXT NOT NULL REFERENCES experts (account_id),
    user_id     TEXT NOT NULL REFERENCES accounts (id),
    rating      BIGINT NOT NULL CHECK (rating BETWEEN 1 AND 5),
    body        TEXT NOT NULL,
    reply       TEXT,
    replied_at  BIGINT,
    hidden      BIGINT NOT NULL DEFAULT 0,
    hidden_reason TEXT,
    created_at  BIGINT NOT NULL
);
CREATE INDEX call_reviews_expert ON call_reviews (expert_id, created_at);
