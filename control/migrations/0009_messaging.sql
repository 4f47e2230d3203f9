-- Messaging: one conversation per user-expert pair, its messages (paid ones carry their
-- hold), video uploads in progress, and blocks between accounts. Portable SQL; the
-- full-text index of messages differs per backend (sqlite/ and postgres/ 0010 beside this).

CREATE TABLE conversations (
    id              TEXT PRIMARY KEY,
    user_id         TEXT NOT NULL REFERENCES accounts (id),
    expert_id       TEXT NOT NULL REFERENCES experts (account_id),
    -- Read receipts: each side has read every message up to this time (Unix ms).
    user_read_at    BIGINT NOT NULL DEFAULT 0,
    expert_read_at  BIGINT NOT NULL DEFAULT 0,
    last_message_at BIGINT NOT NULL,
    created_at      BIGINT NOT NULL,
    UNIQUE (user_id, expert_id)
);
CREATE INDEX conversations_expert ON conversations (expert_id, last_message_at);
CREATE INDEX conversations_user ON conversations (user_id, last_message_at);

-- A video being uploaded in chunks, then the file a video message plays.
CREATE TABLE message_videos (
    id              TEXT PRIMARY KEY,
    conversation_id TEXT NOT NULL REFERENCES conversations (id),
    owner_id        TEXT NOT NULL REFERENCES accounts (id),
    content_type    TEXT NOT NULL CHECK (content_type IN ('video/webm', 'video/mp4')),
    size            BIGINT NOT NULL CHECK (size > 0),
    duration_ms     BIGINT NOT NULL CHECK (duration_ms > 0),
    -- Bytes received so far: where the next chunk starts.
    received        BIGINT NOT NULL DEFAULT 0,
    -- uploading -> complete (all bytes in) -> sent (a message plays it).
    state           TEXT NOT NULL CHECK (state IN ('uploading', 'complete', 'sent')),
    -- original: the upload as it came; the recorder transcodes it later.
    processing      TEXT NOT NULL DEFAULT 'original'
                    CHECK (processing IN ('original', 'transcoding', 'ready', 'failed')),
    object_key      TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL
);

CREATE TABLE messages (
    id              TEXT PRIMARY KEY,
    conversation_id TEXT NOT NULL REFERENCES conversations (id),
    sender_id       TEXT NOT NULL REFERENCES accounts (id),
    kind            TEXT NOT NULL CHECK (kind IN ('text', 'video')),
    -- Exactly as sent (any Unicode); a video message may carry a caption.
    body            TEXT NOT NULL,
    video_id        TEXT UNIQUE REFERENCES message_videos (id),
    -- Millimes held when a user sent it (the expert's price then, never changed after);
    -- 0 for experts' messages, which are free.
    price           BIGINT NOT NULL CHECK (price >= 0),
    hold_id         TEXT,
    -- free: nothing held. pending: held until the expert replies (answered, captured
    -- 80/20) or reply_by passes (expired, released). Leaves pending exactly once.
    state           TEXT NOT NULL CHECK (state IN ('free', 'pending', 'answered', 'expired')),
    reply_by        BIGINT,
    -- The expert's message that settled this one, and the one a reply named.
    answered_by     TEXT,
    answers         TEXT,
    settled_at      BIGINT,
    -- A booking proposal: a slot of the expert the user may accept in one step.
    proposal_start  BIGINT,
    proposal_minutes BIGINT,
    proposal_booking_id TEXT REFERENCES bookings (id),
    -- The sender's Idempotency-Key: a retried send returns the first message.
    client_key      TEXT,
    hidden          BIGINT NOT NULL DEFAULT 0,
    created_at      BIGINT NOT NULL,
    UNIQUE (sender_id, client_key)
);
CREATE INDEX messages_conversation ON messages (conversation_id, created_at, id);
CREATE INDEX messages_pending ON messages (conversation_id, state, created_at);

-- blocker_id no longer receives messages from blocked_id (and cannot send to them).
CREATE TABLE blocks (
    blocker_id TEXT NOT NULL REFERENCES accounts (id),
    blocked_id TEXT NOT NULL REFERENCES accounts (id),
    created_at BIGINT NOT NULL,
    PRIMARY KEY (blocker_id, blocked_id)
);
