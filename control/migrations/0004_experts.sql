-- Experts: profiles, the domain taxonomy, verification (documents, bank account, tax status,
-- linked social accounts, review decisions), moderation, and the portable half of search.
-- Portable SQL; the full-text index differs per backend (sqlite/ and postgres/ beside this).

-- The taxonomy administrators manage.
CREATE TABLE domains (
    slug       TEXT PRIMARY KEY,
    name_fr    TEXT NOT NULL,
    name_en    TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
INSERT INTO domains (slug, name_fr, name_en, created_at) VALUES
    ('finance', 'Finance', 'Finance', 0),
    ('well-being', 'Bien-être', 'Well-being', 0),
    ('technology', 'Technologie', 'Technology', 0),
    ('lifestyle', 'Style de vie', 'Lifestyle', 0),
    ('health', 'Santé', 'Health', 0),
    ('law', 'Droit', 'Law', 0),
    ('education', 'Éducation', 'Education', 0),
    ('business', 'Entreprise', 'Business', 0);

-- One row per account that started an expert profile.
CREATE TABLE experts (
    account_id      TEXT PRIMARY KEY REFERENCES accounts (id),
    bio             TEXT NOT NULL DEFAULT '',
    languages       TEXT NOT NULL DEFAULT '[]',
    city            TEXT,
    -- Microdegrees, so positions stay integers on both backends.
    latitude_e6     BIGINT,
    longitude_e6    BIGINT,
    -- Coins; NULL means the service is not offered.
    price_text      BIGINT CHECK (price_text > 0),
    price_video     BIGINT CHECK (price_video > 0),
    price_call      BIGINT CHECK (price_call > 0),
    instant_booking BIGINT NOT NULL DEFAULT 0,
    state           TEXT NOT NULL DEFAULT 'draft'
                    CHECK (state IN ('draft', 'submitted', 'approved', 'rejected')),
    -- The reason of the last rejection.
    state_reason    TEXT,
    submitted_at    BIGINT,
    decided_at      BIGINT,
    tax_option      TEXT CHECK (tax_option IN ('vat', 'withholding')),
    bank_kind       TEXT CHECK (bank_kind IN ('rib', 'iban')),
    -- AES-GCM sealed account number (base64), and its last four digits for display.
    bank_account    TEXT,
    bank_hint       TEXT,
    hidden          BIGINT NOT NULL DEFAULT 0,
    -- Approved, not hidden, account active: what search, profile pages and bookings
    -- admit. Kept by experts::listing, the one place that decides it.
    listed          BIGINT NOT NULL DEFAULT 0,
    -- Folded full name (lower case, no diacritics) for suggestions.
    name_folded     TEXT NOT NULL DEFAULT '',
    -- Fed by calls and reviews.
    consultations   BIGINT NOT NULL DEFAULT 0,
    rating_count    BIGINT NOT NULL DEFAULT 0,
    rating_sum      BIGINT NOT NULL DEFAULT 0,
    -- Average rating x 1000, so sorting and filtering compare integers.
    rating_milli    BIGINT NOT NULL DEFAULT 0,
    last_active_at  BIGINT NOT NULL,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL
);
CREATE INDEX experts_queue ON experts (state, submitted_at);
CREATE INDEX experts_listed_popularity ON experts (listed, consultations, last_active_at);
CREATE INDEX experts_listed_rating ON experts (listed, rating_milli);
CREATE INDEX experts_listed_call ON experts (listed, price_call);
CREATE INDEX experts_position ON experts (latitude_e6, longitude_e6);

CREATE TABLE expert_domains (
    account_id TEXT NOT NULL REFERENCES experts (account_id),
    domain     TEXT NOT NULL REFERENCES domains (slug),
    PRIMARY KEY (account_id, domain)
);
CREATE INDEX expert_domains_domain ON expert_domains (domain, account_id);

CREATE TABLE expert_languages (
    account_id TEXT NOT NULL REFERENCES experts (account_id),
    language   TEXT NOT NULL,
    PRIMARY KEY (account_id, language)
);
CREATE INDEX expert_languages_language ON expert_languages (language, account_id);

-- Words of listed experts' names, for completion as one types.
CREATE TABLE expert_terms (
    term       TEXT NOT NULL,
    account_id TEXT NOT NULL REFERENCES experts (account_id),
    PRIMARY KEY (term, account_id)
);
CREATE INDEX expert_terms_account ON expert_terms (account_id);

-- Identity documents. The content is AES-GCM sealed in the object store; a replaced
-- document keeps its row (replaced_at set) so the review history still names it.
CREATE TABLE expert_documents (
    id           TEXT PRIMARY KEY,
    account_id   TEXT NOT NULL REFERENCES accounts (id),
    kind         TEXT NOT NULL CHECK (kind IN ('cin_front', 'cin_back', 'cin_pdf')),
    content_type TEXT NOT NULL,
    size         BIGINT NOT NULL,
    sha256       TEXT NOT NULL,
    object_key   TEXT NOT NULL,
    uploaded_at  BIGINT NOT NULL,
    replaced_at  BIGINT
);
CREATE INDEX expert_documents_account ON expert_documents (account_id, kind);

-- Every read of a document's content, by whom.
CREATE TABLE document_reads (
    id          TEXT PRIMARY KEY,
    document_id TEXT NOT NULL REFERENCES expert_documents (id),
    reader_id   TEXT NOT NULL REFERENCES accounts (id),
    at          BIGINT NOT NULL
);
CREATE INDEX document_reads_document ON document_reads (document_id, at);

-- The verification history: submissions and decisions, with who and why.
CREATE TABLE expert_reviews (
    id         TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts (id),
    actor_id   TEXT NOT NULL REFERENCES accounts (id),
    action     TEXT NOT NULL CHECK (action IN ('submitted', 'approved', 'rejected')),
    reason     TEXT,
    at         BIGINT NOT NULL
);
CREATE INDEX expert_reviews_account ON expert_reviews (account_id, at);

-- Social accounts proven through the provider's OAuth 2 / OpenID Connect login.
CREATE TABLE social_links (
    account_id  TEXT NOT NULL REFERENCES accounts (id),
    provider    TEXT NOT NULL CHECK (provider IN ('linkedin', 'instagram')),
    subject     TEXT NOT NULL,
    handle      TEXT NOT NULL,
    url         TEXT,
    verified_at BIGINT NOT NULL,
    PRIMARY KEY (account_id, provider)
);

-- Platform settings administrators change at run time (tax rates).
CREATE TABLE platform_settings (
    key        TEXT PRIMARY KEY,
    value      TEXT NOT NULL,
    updated_by TEXT REFERENCES accounts (id),
    updated_at BIGINT NOT NULL
);

-- Reports of profiles (and, with messaging, messages) by signed-in people.
CREATE TABLE reports (
    id          TEXT PRIMARY KEY,
    reporter_id TEXT NOT NULL REFERENCES accounts (id),
    target_kind TEXT NOT NULL CHECK (target_kind IN ('profile', 'message')),
    target_id   TEXT NOT NULL,
    reason      TEXT NOT NULL,
    details     TEXT,
    state       TEXT NOT NULL CHECK (state IN ('open', 'closed')),
    created_at  BIGINT NOT NULL,
    closed_at   BIGINT,
    closed_by   TEXT REFERENCES accounts (id)
);
CREATE INDEX reports_queue ON reports (state, created_at);
-- One open report per person and target: repeating it adds nothing to the queue.
CREATE UNIQUE INDEX reports_open ON reports (reporter_id, target_kind, target_id) WHERE state = 'open';

-- Every moderation action, with its author and reason.
CREATE TABLE moderation_actions (
    id          TEXT PRIMARY KEY,
    admin_id    TEXT NOT NULL REFERENCES accounts (id),
    action      TEXT NOT NULL,
    target_kind TEXT NOT NULL,
    target_id   TEXT NOT NULL,
    report_id   TEXT REFERENCES reports (id),
    reason      TEXT NOT NULL,
    at          BIGINT NOT NULL
);
CREATE INDEX moderation_actions_target ON moderation_actions (target_kind, target_id, at);
