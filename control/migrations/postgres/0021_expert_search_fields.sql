-- Relevance is now the field a keyword matches in (name, then domains, then bio), then
-- popularity, instead of ts_rank: a common word's best matches can then be read in
-- popularity order, a page's worth of rows, instead of ranking every expert who wrote it.
-- Each field gets its own tsvector, without positions (nothing is ranked from them any
-- more): GIN answers "in the name" exactly, where a weight restriction on the one weighted
-- `text_doc` needed a recheck; a keyword in any field is the three ORed, so `text_doc` goes.
ALTER TABLE expert_search
    ADD COLUMN name_doc tsvector,
    ADD COLUMN domains_doc tsvector,
    ADD COLUMN bio_doc tsvector;
UPDATE expert_search
   SET name_doc = strip(ts_filter(text_doc, '{a}')),
       domains_doc = strip(ts_filter(text_doc, '{b}')),
       bio_doc = strip(ts_filter(text_doc, '{c}'));
ALTER TABLE expert_search
    ALTER COLUMN name_doc SET NOT NULL,
    ALTER COLUMN domains_doc SET NOT NULL,
    ALTER COLUMN bio_doc SET NOT NULL,
    DROP COLUMN text_doc;
CREATE INDEX expert_search_name ON expert_search USING GIN (name_doc);
CREATE INDEX expert_search_domains ON expert_search USING GIN (domains_doc);
CREATE INDEX expert_search_bio ON expert_search USING GIN (bio_doc);
CREATE INDEX expert_search_popularity
    ON expert_search (consultations DESC, last_active_at DESC, account_id);
