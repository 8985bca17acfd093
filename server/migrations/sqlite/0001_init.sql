-- Keyhole schema, version 1 (SQLite). Times are Unix seconds (INTEGER).

-- Browser sessions (tower-sessions records, JSON-encoded).
CREATE TABLE sessions (
    id          TEXT PRIMARY KEY NOT NULL,
    data        TEXT NOT NULL,
    expiry_date INTEGER NOT NULL
);
CREATE INDEX sessions_expiry ON sessions (expiry_date);

-- Authentication events (login succeeded/failed, logout), kept until the
-- audit chain takes them over.
CREATE TABLE auth_events (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    at       INTEGER NOT NULL,
    kind     TEXT NOT NULL,
    subject  TEXT,
    detail   TEXT NOT NULL
);

-- Users seen at login (for display names in lists; never used for access).
CREATE TABLE users (
    subject     TEXT PRIMARY KEY NOT NULL,
    email       TEXT,
    name        TEXT,
    groups_json TEXT NOT NULL,
    last_login  INTEGER NOT NULL
);
