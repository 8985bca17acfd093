-- Keyhole schema, version 1 (PostgreSQL). Times are Unix seconds (BIGINT).

CREATE TABLE sessions (
    id          TEXT PRIMARY KEY NOT NULL,
    data        TEXT NOT NULL,
    expiry_date BIGINT NOT NULL
);
CREATE INDEX sessions_expiry ON sessions (expiry_date);

CREATE TABLE auth_events (
    id       BIGSERIAL PRIMARY KEY,
    at       BIGINT NOT NULL,
    kind     TEXT NOT NULL,
    subject  TEXT,
    detail   TEXT NOT NULL
);

CREATE TABLE users (
    subject     TEXT PRIMARY KEY NOT NULL,
    email       TEXT,
    name        TEXT,
    groups_json TEXT NOT NULL,
    last_login  BIGINT NOT NULL
);
