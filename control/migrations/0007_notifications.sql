-- Notifications: the in-app centre, the durable job queue that delivers them (and runs
-- every scheduled send, such as booking reminders), web-push subscriptions, announcements,
-- and a phone number for SMS. Portable SQL (0006 is the payouts' number).

-- A phone number in E.164 form (+21620123456), for SMS; NULL when none was given.
ALTER TABLE accounts ADD COLUMN phone TEXT;

-- One row per notification shown in someone's centre. Title and body are rendered in the
-- recipient's language when emitted; data is the event's JSON for clients that link to it.
CREATE TABLE notifications (
    id          TEXT PRIMARY KEY,
    account_id  TEXT NOT NULL REFERENCES accounts (id),
    kind        TEXT NOT NULL,
    title       TEXT NOT NULL,
    body        TEXT NOT NULL,
    data        TEXT NOT NULL,
    -- Names the event for this recipient: emitting it again makes no second row.
    dedupe_key  TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    read_at     BIGINT,
    archived_at BIGINT,
    UNIQUE (account_id, dedupe_key)
);
CREATE INDEX notifications_account ON notifications (account_id, created_at, id);

-- The job queue. A job is claimed by one runner (state running, locked_by, locked_until);
-- a runner that dies leaves it running until locked_until, when another may claim it.
CREATE TABLE jobs (
    id           TEXT PRIMARY KEY,
    kind         TEXT NOT NULL,
    -- What the job does, named by its scheduler: scheduling the same key again updates a
    -- pending job and never makes a second one.
    job_key      TEXT NOT NULL UNIQUE,
    payload      TEXT NOT NULL,
    run_at       BIGINT NOT NULL,
    state        TEXT NOT NULL
                 CHECK (state IN ('pending', 'running', 'done', 'failed', 'cancelled')),
    -- Claims so far, the current one included.
    attempts     BIGINT NOT NULL DEFAULT 0,
    locked_by    TEXT,
    locked_until BIGINT,
    last_error   TEXT,
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL
);
CREATE INDEX jobs_due ON jobs (state, run_at);

-- A browser's push subscription (the PushSubscription of the Push API).
CREATE TABLE push_subscriptions (
    id         TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts (id),
    -- The push service's URL for this browser; one account at a time.
    endpoint   TEXT NOT NULL UNIQUE,
    -- The browser's P-256 public key and authentication secret, base64url.
    p256dh     TEXT NOT NULL,
    auth       TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX push_subscriptions_account ON push_subscriptions (account_id);

-- What administrators announced, to whom, and who did.
CREATE TABLE announcements (
    id         TEXT PRIMARY KEY,
    admin_id   TEXT NOT NULL REFERENCES accounts (id),
    title      TEXT NOT NULL,
    body       TEXT NOT NULL,
    segment    TEXT NOT NULL CHECK (segment IN ('all', 'users', 'experts', 'language')),
    language   TEXT,
    created_at BIGINT NOT NULL
);
