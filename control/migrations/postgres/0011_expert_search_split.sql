-- Keywords and facet tokens in separate tsvectors. With both in one, matching a keyword
-- in the text fields needed a weight-restricted tsquery (name, domains, bio: A, B, C), which
-- a GIN index cannot check: every candidate row was rechecked, and ranked over a tsvector
-- twice as large as its text. Now `text_doc` holds the weighted text (ranked), `tags_doc`
-- the facet tokens (matched only, no positions); neither query restricts weights, so the
-- two GIN indexes answer exactly and ranking reads half the bytes.
ALTER TABLE expert_search ADD COLUMN tags_doc tsvector;
UPDATE expert_search
   SET tags_doc = strip(ts_filter(search_doc, '{d}')),
       search_doc = ts_filter(search_doc, '{a,b,c}');
ALTER TABLE expert_search ALTER COLUMN tags_doc SET NOT NULL;
ALTER TABLE expert_search RENAME COLUMN search_doc TO text_doc;
ALTER INDEX expert_search_doc RENAME TO expert_search_text;
CREATE INDEX expert_search_tags ON expert_search USING GIN (tags_doc);
