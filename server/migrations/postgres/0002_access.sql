-- Keyhole schema, version 2 (PostgreSQL): access requests, reviews, grants and their audit rows.
-- Times are Unix seconds (BIGINT). JSON lists are TEXT.

CREATE TABLE access_requests (
    id                 TEXT PRIMARY KEY NOT NULL,
    requester          TEXT NOT NULL,      -- IdP subject
    requester_email    TEXT,
    requester_name     TEXT,
    kube_user          TEXT NOT NULL,      -- Impersonate-User for the grant
    profile            TEXT NOT NULL,
    reason             TEXT NOT NULL,
    duration_seconds   BIGINT NOT NULL,
    pod_namespace      TEXT,
    pod_name           TEXT,
    state              TEXT NOT NULL,      -- pending | approved | denied | cancelled | expired
    required_approvals BIGINT NOT NULL,
    approvals          BIGINT NOT NULL DEFAULT 0,
    created_at         BIGINT NOT NULL,
    pending_expires_at BIGINT NOT NULL,
    decided_at         BIGINT,
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
    at             BIGINT NOT NULL,
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
    idle_timeout_seconds BIGINT,
    exec_command         TEXT NOT NULL,
    interactive          BIGINT NOT NULL,
    starts_at            BIGINT NOT NULL,
    expires_at           BIGINT NOT NULL,
    state                TEXT NOT NULL,    -- active | revoked | expired
    ended_at             BIGINT,
    revoked_by           TEXT,
    revoke_reason        TEXT
);
CREATE INDEX grants_state ON grants (state, expires_at);
CREATE INDEX grants_subject ON grants (subject, starts_at);

-- Every transition: who, when, what, reason, comment. The audit-chain issue takes these over.
CREATE TABLE access_events (
    id         BIGSERIAL PRIMARY KEY,
    at         BIGINT NOT NULL,
    kind       TEXT NOT NULL,
    actor      TEXT NOT NULL,              -- IdP subject, or `policy` / `scheduler`
    request_id TEXT NOT NULL,
    grant_id   TEXT,
    reason     TEXT,
    comment    TEXT
);
CREATE INDEX access_events_request ON access_events (request_id);
