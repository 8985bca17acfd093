-- Keyhole schema, version 2 (SQLite): access requests, reviews, grants and their audit rows.
-- Times are Unix seconds (INTEGER). JSON lists are TEXT.

CREATE TABLE access_requests (
    id                 TEXT PRIMARY KEY NOT NULL,
    requester          TEXT NOT NULL,      -- IdP subject
    requester_email    TEXT,
    requester_name     TEXT,
    kube_user          TEXT NOT NULL,      -- Impersonate-User for the grant
    profile            TEXT NOT NULL,
    reason             TEXT NOT NULL,
    duration_seconds   INTEGER NOT NULL,
    pod_namespace      TEXT,
    pod_name           TEXT,
    state              TEXT NOT NULL,      -- pending | approved | denied | cancelled | expired
    required_approvals INTEGER NOT NULL,
    approvals          INTEGER NOT NULL DEFAULT 0,
    created_at         INTEGER NOT NULL,
    pending_expires_at INTEGER NOT NULL,
    decided_at         INTEGER,
    decided_by         TEXT
);
CREATE INDEX access_requests_state ON access_requests (state, pending_expires_at);
CREATE INDEX access_requests_requester ON access_requests (requester, created_at);

-- One row per reviewer per request: the primary key makes approvers distinct (N-of-M).
CREATE TABLE access_reviews (
    request_id     TEXT NOT NULL REFERENCES access_requests (id),
    reviewer       TEXT NOT NULL,
    reviewer_email TEXT,
    reviewer_name  TEXT,
    verdict        TEXT NOT NULL,          -- approve | deny
    comment        TEXT NOT NULL,
    at             INTEGER NOT NULL,
    PRIMARY KEY (request_id, reviewer)
);

-- A grant is a snapshot of the profile at approval time. UNIQUE (request_id): one request can
-- never yield two grants, however many approvers click at once.
CREATE TABLE grants (
    id                   TEXT PRIMARY KEY NOT NULL,
    request_id           TEXT NOT NULL UNIQUE REFERENCES access_requests (id),
    subject              TEXT NOT NULL,
    holder_email         TEXT,
    holder_name          TEXT,
    kube_user            TEXT NOT NULL,
    profile              TEXT NOT NULL,
    kubernetes_groups    TEXT NOT NULL,
    namespaces           TEXT NOT NULL,
    pod_selector         TEXT NOT NULL,
    pod_namespace        TEXT,
    pod_name             TEXT,
    capabilities         TEXT NOT NULL,
    reason               TEXT NOT NULL,
    idle_timeout_seconds INTEGER,
    exec_command         TEXT NOT NULL,
    interactive          INTEGER NOT NULL,
    starts_at            INTEGER NOT NULL,
    expires_at           INTEGER NOT NULL,
    state                TEXT NOT NULL,    -- active | revoked | expired
    ended_at             INTEGER,
    revoked_by           TEXT,
    revoke_reason        TEXT
);
CREATE INDEX grants_state ON grants (state, expires_at);
CREATE INDEX grants_subject ON grants (subject, starts_at);

-- Every transition: who, when, what, reason, comment. The audit-chain issue takes these over.
CREATE TABLE access_events (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    at         INTEGER NOT NULL,
    kind       TEXT NOT NULL,
    actor      TEXT NOT NULL,              -- IdP subject, or `policy` / `scheduler`
    request_id TEXT NOT NULL,
    grant_id   TEXT,
    reason     TEXT,
    comment    TEXT
);
CREATE INDEX access_events_request ON access_events (request_id);
