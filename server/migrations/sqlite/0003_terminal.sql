-- Keyhole schema, version 3 (SQLite): one row per terminal session.
-- Times are Unix seconds (INTEGER).

CREATE TABLE terminal_sessions (
    id          TEXT PRIMARY KEY NOT NULL,
    subject     TEXT NOT NULL,         -- IdP subject of the user
    kube_user   TEXT NOT NULL,         -- Impersonate-User
    grant_id    TEXT NOT NULL,
    namespace   TEXT NOT NULL,
    pod         TEXT NOT NULL,
    container   TEXT NOT NULL,
    started_at  INTEGER NOT NULL,
    ended_at    INTEGER,               -- NULL while running
    end_reason  TEXT,                  -- expired | revoked | idle | server_shutdown | exited | client_closed | error
    bytes_in    INTEGER NOT NULL DEFAULT 0,   -- browser → pod
    bytes_out   INTEGER NOT NULL DEFAULT 0    -- pod → browser
);
CREATE INDEX terminal_sessions_grant ON terminal_sessions (grant_id);
CREATE INDEX terminal_sessions_subject ON terminal_sessions (subject, started_at);
