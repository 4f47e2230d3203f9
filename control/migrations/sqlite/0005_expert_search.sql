-- Full-text search over listed experts, SQLite side: an FTS5 table with one row per listed
-- expert, kept by search::index (text folded in Rust, so both backends tokenise alike).
-- `tags` holds facet tokens (domains, languages, services offered) that filters match on,
-- so FTS5 intersects them with the keywords instead of a join per match; it weighs 0 in bm25.
--
-- FTS5 rows are found by integer rowid only, so each expert gets a stable one here, beside
-- copies of what filters and sorts read: a keyword match then costs one integer-key lookup.
-- The trigger keeps the copies equal to `experts` whatever updates it.
CREATE TABLE expert_fts_keys (
    id             INTEGER PRIMARY KEY,
    account_id     TEXT NOT NULL UNIQUE REFERENCES experts (account_id),
    price_text     BIGINT,
    price_video    BIGINT,
    price_call     BIGINT,
    rating_count   BIGINT NOT NULL,
    rating_milli   BIGINT NOT NULL,
    consultations  BIGINT NOT NULL,
    last_active_at BIGINT NOT NULL,
    latitude_e6    BIGINT,
    longitude_e6   BIGINT
);
CREATE TRIGGER expert_fts_keys_follow AFTER UPDATE ON experts BEGIN
    UPDATE expert_fts_keys SET price_text = NEW.price_text, price_video = NEW.price_video,
        price_call = NEW.price_call, rating_count = NEW.rating_count,
        rating_milli = NEW.rating_milli, consultations = NEW.consultations,
        last_active_at = NEW.last_active_at, latitude_e6 = NEW.latitude_e6,
        longitude_e6 = NEW.longitude_e6
    WHERE account_id = NEW.account_id;
END;
CREATE VIRTUAL TABLE expert_fts USING fts5(
    name,
    domains,
    bio,
    tags,
    tokenize = 'unicode61 remove_diacritics 2'
);
