-- Calendar and bookings: experts' availability (weekly rules and dated exceptions, in the
-- expert's own time zone), bookings with their hold, meeting invitations, and the private
-- iCalendar feeds. Portable SQL: times are Unix milliseconds, local times minutes of the day.

-- An expert's calendar settings; a row once they set their availability.
CREATE TABLE expert_calendars (
    expert_id          TEXT PRIMARY KEY REFERENCES experts (account_id),
    -- IANA name, e.g. Africa/Tunis.
    time_zone          TEXT NOT NULL,
    buffer_minutes     BIGINT NOT NULL CHECK (buffer_minutes >= 0),
    min_notice_minutes BIGINT NOT NULL CHECK (min_notice_minutes >= 0),
    horizon_days       BIGINT NOT NULL CHECK (horizon_days > 0),
    updated_at         BIGINT NOT NULL
);

-- Weekly hours: ISO weekday (Monday 1) and local minutes of the day, end exclusive
-- (1440 is midnight at the end of the day).
CREATE TABLE availability_rules (
    expert_id    TEXT NOT NULL REFERENCES experts (account_id),
    weekday      BIGINT NOT NULL CHECK (weekday BETWEEN 1 AND 7),
    start_minute BIGINT NOT NULL,
    end_minute   BIGINT NOT NULL,
    CHECK (start_minute >= 0 AND start_minute < end_minute AND end_minute <= 1440),
    PRIMARY KEY (expert_id, weekday, start_minute)
);
-- Search's availability filter takes candidates by weekday.
CREATE INDEX availability_rules_weekday ON availability_rules (weekday, expert_id);

-- A local date off (no weekly hours that day) or with extra hours.
CREATE TABLE availability_exceptions (
    expert_id    TEXT NOT NULL REFERENCES experts (account_id),
    -- YYYY-MM-DD in the expert's time zone, so text order is date order.
    day          TEXT NOT NULL,
    kind         TEXT NOT NULL CHECK (kind IN ('day_off', 'extra')),
    -- 0 and 1440 for a day off.
    start_minute BIGINT NOT NULL,
    end_minute   BIGINT NOT NULL,
    CHECK (start_minute >= 0 AND start_minute < end_minute AND end_minute <= 1440),
    PRIMARY KEY (expert_id, day, kind, start_minute)
);
CREATE INDEX availability_exceptions_day ON availability_exceptions (kind, day, expert_id);

CREATE TABLE bookings (
    id            TEXT PRIMARY KEY,
    user_id       TEXT NOT NULL REFERENCES accounts (id),
    expert_id     TEXT NOT NULL REFERENCES experts (account_id),
    start_at      BIGINT NOT NULL,
    end_at        BIGINT NOT NULL,
    minutes       BIGINT NOT NULL CHECK (minutes >= 10),
    -- Coins per minute when booked, and the price in millimes: copied, so a later
    -- price change never reaches the booking.
    rate          BIGINT NOT NULL CHECK (rate > 0),
    price         BIGINT NOT NULL CHECK (price > 0),
    -- Confirmed at once (the expert's setting when booked) or a request.
    instant       BIGINT NOT NULL,
    -- The user's IANA zone when booking, for the times in their notifications.
    user_time_zone TEXT NOT NULL,
    -- reserving: the slot is taken, the hold is being made. requested: waiting for the
    -- expert. proposed: the expert offered another time, waiting for the user.
    state         TEXT NOT NULL CHECK (state IN ('reserving', 'requested', 'proposed',
                  'confirmed', 'declined', 'expired', 'cancelled', 'completed', 'failed')),
    -- When a request or a proposal lapses.
    respond_by    BIGINT,
    hold_id       TEXT,
    -- What the ledger owes the booking's hold once it ends (a release, or a capture of
    -- settle_amount millimes), written with the state change and done after the commit;
    -- settled_at says it was done. The sweep finishes any left undone.
    settlement    TEXT CHECK (settlement IN ('release', 'capture')),
    settle_amount BIGINT,
    settled_at    BIGINT,
    -- user or expert, and why, for cancellations and declines.
    ended_by      TEXT,
    reason        TEXT,
    -- Bumped on every change calendar clients must see (iCalendar SEQUENCE).
    sequence      BIGINT NOT NULL DEFAULT 0,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL
);
CREATE INDEX bookings_expert_time ON bookings (expert_id, start_at);
CREATE INDEX bookings_user_time ON bookings (user_id, start_at);
CREATE INDEX bookings_state_deadline ON bookings (state, respond_by);
CREATE INDEX bookings_state_end ON bookings (state, end_at);
CREATE INDEX bookings_unsettled ON bookings (settled_at, settlement);

-- Further participants of a booking's meeting.
CREATE TABLE booking_participants (
    booking_id   TEXT NOT NULL REFERENCES bookings (id),
    account_id   TEXT NOT NULL REFERENCES accounts (id),
    state        TEXT NOT NULL CHECK (state IN ('invited', 'accepted', 'declined', 'removed')),
    invited_by   TEXT NOT NULL REFERENCES accounts (id),
    invited_at   BIGINT NOT NULL,
    responded_at BIGINT,
    PRIMARY KEY (booking_id, account_id)
);
CREATE INDEX booking_participants_account ON booking_participants (account_id, booking_id);

-- One private iCalendar feed per account: found by the SHA-256 of its token; the token
-- itself is sealed (AES-GCM) so its owner can be shown the URL again.
CREATE TABLE calendar_feeds (
    account_id   TEXT PRIMARY KEY REFERENCES accounts (id),
    token_hash   TEXT NOT NULL UNIQUE,
    token_sealed TEXT NOT NULL,
    created_at   BIGINT NOT NULL
);
