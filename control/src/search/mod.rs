//! Finding experts: the full-text index (FTS5 on SQLite, tsvector on
//! PostgreSQL) fed with text folded here so both backends match alike.

pub mod fold;
pub mod index;
