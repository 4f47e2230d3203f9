-- Full-text search in messages, PostgreSQL side: one tsvector per message of its text
-- folded in Rust (messaging::search), so both backends index the same words.
CREATE TABLE message_search (
    message_id TEXT PRIMARY KEY REFERENCES messages (id),
    doc        tsvector NOT NULL
);
CREATE INDEX message_search_doc ON message_search USING GIN (doc);
