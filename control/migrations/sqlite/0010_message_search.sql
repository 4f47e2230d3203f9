-- Full-text search in messages, SQLite side: one FTS5 row per message, holding its text
-- folded in Rust (messaging::search), so both backends index the same words.
CREATE VIRTUAL TABLE message_fts USING fts5(
    message_id UNINDEXED,
    folded,
    tokenize = 'unicode61 remove_diacritics 2'
);
