-- Full-text search over listed experts, PostgreSQL side: a weighted tsvector per expert
-- (name A, domains B, bio C), kept by search::index (text folded in Rust, so both
-- backends tokenise alike), under a GIN index.
ALTER TABLE experts ADD COLUMN search_doc tsvector;
CREATE INDEX experts_search ON experts USING GIN (search_doc);
