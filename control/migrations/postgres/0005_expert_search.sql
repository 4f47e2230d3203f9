-- Full-text search over listed experts, PostgreSQL side: one narrow row per listed expert,
-- kept by search::index (text folded in Rust, so both backends tokenise alike): a weighted
-- tsvector (name A, domains B, bio C, and facet tokens D: domains, languages, services,
-- price and rating bounds, grid cells, which filters match on so the GIN index intersects
-- them with the keywords) under a GIN index, beside copies of what filters and sorts read.
-- Ranking reads every matched row, so the rows are kept narrow (many to a page, apart from
-- the wide `experts` rows); the trigger keeps the copies equal to `experts`.
CREATE TABLE expert_search (
    account_id     TEXT PRIMARY KEY REFERENCES experts (account_id),
    search_doc     tsvector NOT NULL,
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
CREATE INDEX expert_search_doc ON expert_search USING GIN (search_doc);

CREATE FUNCTION expert_search_follow() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE expert_search SET price_text = NEW.price_text, price_video = NEW.price_video,
        price_call = NEW.price_call, rating_count = NEW.rating_count,
        rating_milli = NEW.rating_milli, consultations = NEW.consultations,
        last_active_at = NEW.last_active_at, latitude_e6 = NEW.latitude_e6,
        longitude_e6 = NEW.longitude_e6
    WHERE account_id = NEW.account_id
      AND (price_text, price_video, price_call, rating_count, rating_milli, consultations,
           last_active_at, latitude_e6, longitude_e6)
          IS DISTINCT FROM
          (NEW.price_text, NEW.price_video, NEW.price_call, NEW.rating_count, NEW.rating_milli,
           NEW.consultations, NEW.last_active_at, NEW.latitude_e6, NEW.longitude_e6);
    RETURN NULL;
END
$$;
CREATE TRIGGER expert_search_follow AFTER UPDATE ON experts
    FOR EACH ROW EXECUTE FUNCTION expert_search_follow();

-- Completion reads term prefixes as byte ranges; the C collation makes PostgreSQL compare
-- bytes as SQLite does, so the same range works on both and uses the index.
ALTER TABLE expert_terms ALTER COLUMN term TYPE TEXT COLLATE "C";
