-- Full-text search over listed experts, PostgreSQL side: a weighted tsvector per expert
-- (name A, domains B, bio C, and facet tokens D: domains, languages, services offered, which
-- filters match on so the GIN index intersects them with the keywords), kept by
-- search::index (text folded in Rust, so both backends tokenise alike), under a GIN index.
ALTER TABLE experts ADD COLUMN search_doc tsvector;
CREATE INDEX experts_search ON experts USING GIN (search_doc);
-- Completion reads term prefixes as byte ranges; the C collation makes PostgreSQL compare
-- bytes as SQLite does, so the same range works on both and uses the index.
ALTER TABLE expert_terms ALTER COLUMN term TYPE TEXT COLLATE "C";
