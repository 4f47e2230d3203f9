-- Accounts and identity. Portable SQL: it runs unchanged on SQLite and PostgreSQL.
-- Times are Unix milliseconds (BIGINT); flags are 0/1 BIGINTs; ids are UUID text.

CREATE TABLE accounts (
    id                TEXT PRIMARY KEY,
    email             TEXT NOT NULL,
    email_normalized  TEXT NOT NULL UNIQUE,
    password_hash     TEXT NOT NULL,
    role              TEXT NOT NULL CHECK (role IN ('user', 'expert', 'admin')),
    status            TEXT NOT NULL CHECK (status IN ('active', 'deactivated', 'deleted')),
    first_name        TEXT NOT NULL,
    last_name         TEXT NOT NULL,
    bio               TEXT,
    interests         TEXT NOT NULL DEFAULT '[]',
    privacy           TEXT NOT NULL DEFAULT 'public' CHECK (privacy IN ('public', 'private')),
    language          TEXT NOT NULL DEFAULT 'fr',
    notify_email      BIGINT NOT NULL DEFAULT 1,
    notify_sms        BIGINT NOT NULL DEFAULT 0,
    notify_push       BIGINT NOT NULL DEFAULT 1,
    photo_key         TEXT,
    email_verified_at BIGINT,
    -- Lower-cased name and email, folded in Rust so search matches the same
    -- way on both backends (SQLite's lower() folds ASCII only).
    search_text       TEXT NOT NULL,
    created_at        BIGINT NOT NULL,
    updated_at        BIGINT NOT NULL,
    deleted_at        BIGINT
);
CREATE INDEX accounts_created ON accounts (created_at, id);

-- A session is one login; its refresh tokens rotate and form a family.
CREATE TABLE sessions (
    id             TEXT PRIMARY KEY,
    account_id     TEXT NOT NULL REFERENCES accounts (id),
    created_at     BIGINT NOT NULL,
    revoked_at     BIGINT,
    revoked_reason TEXT
);
CREATE INDEX sessions_account ON sessions (account_id);

CREATE TABLE refresh_tokens (
    token_hash TEXT PRIMARY KEY,
    session_id TEXT NOT NULL REFERENCES sessions (id),
    issued_at  BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at    BIGINT
);
CREATE INDEX refresh_tokens_session ON refresh_tokens (session_id);

-- Login attempts per email address, whether or not an account has it, so a
-- lockout says nothing about who is registered. An attempt is counted before
-- the password is checked, which is what makes parallel guessing useless.
CREATE TABLE login_attempts (
    -- SHA-256 of the normalised address: fixed size whatever a client sends,
    -- and no plain addresses kept for people who have no account.
    email_hash   TEXT PRIMARY KEY,
    failures     BIGINT NOT NULL,
    locked_until BIGINT,
    updated_at   BIGINT NOT NULL
);

-- Nonces of single-use links (password reset) that have been used.
CREATE TABLE used_links (
    nonce   TEXT PRIMARY KEY,
    used_at BIGINT NOT NULL
);

-- Who did what to which account, for accountability.
CREATE TABLE admin_actions (
    id         TEXT PRIMARY KEY,
    admin_id   TEXT NOT NULL REFERENCES accounts (id),
    action     TEXT NOT NULL,
    account_id TEXT NOT NULL REFERENCES accounts (id),
    at         BIGINT NOT NULL
);
CREATE INDEX admin_actions_account ON admin_actions (account_id, at);
