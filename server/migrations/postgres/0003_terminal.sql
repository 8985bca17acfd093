-- Keyhole schema, version 3 (PostgreSQL): one row per terminal session.
-- Times are Unix seconds (BIGINT).

CREATE TABLE terminal_sessions (
    id          TEXT PRIMARY KEY NOT NULL,
    subject     TEXT NOT NULL,         -- IdP subject of the user
    kube_user   TEXT NOT NULL,         -- Impersonate-User
    grant_id    TEXT NOT NULL,
    namespace   TEXT NOT NULL,
    pod         TEXT NOT NULL,
    container   TEXT NOT NULL,
    started_at  BIGINT NOT NULL,
    ended_at    BIGINT,               -- NULL while running
    end_reason  TEXT,                  -- expired | revoked | idle | server_shutdown | exited | client_closed | error
    bytes_in    BIGINT NOT NULL DEFAULT 0,   -- browser → pod
    bytes_out   BIGINT NOT NULL DEFAULT 0    -- pod → browser
);
CREATE INDEX terminal_sessions_grant ON terminal_sessions (grant_id);
CREATE INDEX terminal_sessions_subject ON terminal_sessions (subject, started_at);
