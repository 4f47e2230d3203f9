-- Full-text search over listed experts, SQLite side: an FTS5 table with one row per listed
-- expert, kept by search::index (text folded in Rust, so both backends tokenise alike).
-- FTS5 rows are found by integer rowid only, so each expert gets a stable one here.
CREATE TABLE expert_fts_keys (
    id         INTEGER PRIMARY KEY,
    account_id TEXT NOT NULL UNIQUE REFERENCES experts (account_id)
);
CREATE VIRTUAL TABLE expert_fts USING fts5(
    name,
    domains,
    bio,
    tokenize = 'unicode61 remove_diacritics 2'
);
