//! The OpenAPI 3.1 document of Keyhole's API, served at `/api/openapi.json`: the access routes
//! and the terminal module's (pods, logs, the terminal WebSocket, sessions). It lives here
//! because the access API is most of it.
//!
//! Hand-written with `serde_json::json!` rather than generated: the API is small, a generator
//! (utoipa) would add derive attributes to the wasm-built `protocol` crate, and a test below
//! checks that every route of [`super::routes::api_router`] and the terminal's is described.

use serde_json::{Value, json};

fn ok(schema: Value) -> Value {
    json!({ "description": "OK", "content": { "application/json": { "schema": schema } } })
}

fn r(name: &str) -> Value {
    json!({ "$ref": format!("#/components/schemas/{name}") })
}

fn list(name: &str) -> Value {
    json!({ "type": "array", "items": r(name) })
}

fn errors(codes: &[&str]) -> serde_json::Map<String, Value> {
    codes
        .iter()
        .map(|c| {
            let desc = match *c {
                "400" => "Malformed body or query",
                "401" => "Not signed in",
                "403" => "Signed in, but not allowed (or CSRF/Origin check failed)",
                "404" => "No such thing, or not visible to the caller",
                "409" => "The request or grant is no longer in a state that allows this",
                "503" => "A dependency (Kubernetes, the database, the IdP) is unavailable",
                _ => "Invalid input (reason, duration, comment)",
            };
            (
                (*c).to_owned(),
                json!({ "description": desc, "content": { "application/json": { "schema": r("Error") } } }),
            )
        })
        .collect()
}

fn op(summary: &str, body: Option<&str>, response: Value, errs: &[&str]) -> Value {
    let mut responses = errors(errs);
    responses.insert("200".into(), response);
    let mut op = json!({ "summary": summary, "responses": responses });
    if let Some(b) = body {
        op["requestBody"] =
            json!({ "required": true, "content": { "application/json": { "schema": r(b) } } });
    }
    op
}

fn s_string() -> Value {
    json!({ "type": "string" })
}

fn id_param() -> Value {
    json!([{ "name": "id", "in": "path", "required": true, "schema": { "type": "string" } }])
}

fn scope_param(values: &[&str]) -> Value {
    json!([{ "name": "scope", "in": "query", "required": false,
             "schema": { "type": "string", "enum": values, "default": values[0] } }])
}

/// A page of `name`s: `{items, next_cursor}`.
fn page(name: &str) -> Value {
    json!({ "type": "object", "required": ["items", "next_cursor"], "properties": {
        "items": list(name),
        "next_cursor": { "type": ["string", "null"],
            "description": "Opaque. Pass it back as `cursor` (same scope and filters) for the next page; null on the last page." } } })
}

/// `scope` plus the paging parameters `cursor` and `limit`.
fn list_params(scopes: &[&str]) -> Value {
    let mut params = scope_param(scopes);
    if let Some(a) = params.as_array_mut() {
        a.push(json!({ "name": "cursor", "in": "query", "required": false,
            "description": "The `next_cursor` of the previous page; omit for the first page. An invalid cursor, or one of another list, is a 400.",
            "schema": { "type": "string" } }));
        a.push(json!({ "name": "limit", "in": "query", "required": false,
            "description": "Rows per page; outside 1–500 is a 400.",
            "schema": { "type": "integer", "minimum": 1, "maximum": 500, "default": 100 } }));
    }
    params
}

fn schemas() -> Value {
    let s = |t: &str| json!({ "type": t });
    let opt = |t: &str| json!({ "type": [t, "null"] });
    let strings = json!({ "type": "array", "items": { "type": "string" } });
    let request_state = json!({ "type": "string", "enum": ["pending", "approved", "denied", "cancelled", "expired"] });
    let grant_state = json!({ "type": "string", "enum": ["active", "revoked", "expired"] });
    json!({
        "Error": { "type": "object", "required": ["error", "message"],
            "properties": { "error": s("string"), "message": s("string") } },
        "Person": { "type": "object", "properties": { "subject": s("string"), "email": opt("string"), "name": opt("string") } },
        "PodRef": { "type": "object", "required": ["namespace", "name"], "properties": { "namespace": s("string"), "name": s("string") } },
        "ProfileInfo": { "type": "object", "properties": {
            "name": s("string"), "description": s("string"), "namespaces": strings, "capabilities": strings,
            "kubernetes_groups": strings, "default_duration_seconds": s("integer"), "max_duration_seconds": s("integer"),
            "auto_approve_up_to_seconds": opt("integer"), "required_approvals": s("integer") } },
        "CreateRequest": { "type": "object", "required": ["profile", "reason", "duration_seconds"], "properties": {
            "profile": s("string"), "reason": { "type": "string", "minLength": 1, "maxLength": 1000 },
            "duration_seconds": { "type": "integer", "minimum": 1 }, "pod": r("PodRef") } },
        "ReviewBody": { "type": "object", "properties": { "comment": { "type": "string", "maxLength": 1000,
            "description": "Optional to approve, required to deny." } } },
        "RevokeBody": { "type": "object", "required": ["reason"], "properties": { "reason": { "type": "string", "minLength": 1, "maxLength": 1000 } } },
        "Review": { "type": "object", "properties": { "reviewer": r("Person"),
            "verdict": { "type": "string", "enum": ["approve", "deny"] }, "comment": s("string"), "at": s("integer") } },
        "Grant": { "type": "object", "properties": {
            "id": s("string"), "request_id": s("string"), "holder": r("Person"), "kube_user": s("string"), "profile": s("string"),
            "kubernetes_groups": strings, "namespaces": strings, "pod": r("PodRef"), "capabilities": strings, "reason": s("string"),
            "state": grant_state, "starts_at": s("integer"), "expires_at": s("integer"), "revoked_at": opt("integer"),
            "revoked_by": opt("string"), "revoker": r("Person"), "revoke_reason": opt("string"), "can_revoke": s("boolean") } },
        "AccessRequest": { "type": "object", "properties": {
            "id": s("string"), "requester": r("Person"), "profile": s("string"), "reason": s("string"),
            "duration_seconds": s("integer"), "pod": r("PodRef"), "state": request_state, "created_at": s("integer"),
            "pending_expires_at": s("integer"), "decided_at": opt("integer"), "decided_by": opt("string"),
            "required_approvals": s("integer"), "reviews": list("Review"), "grant": r("Grant"),
            "can_review": s("boolean"), "can_cancel": s("boolean"), "profile_facts": r("ProfileFacts") } },
        "ProfileFacts": { "type": "object", "description": "What the profile grants, as the policy says now.", "properties": {
            "description": s("string"), "namespaces": strings, "capabilities": strings, "kubernetes_groups": strings,
            "max_duration_seconds": s("integer") } },
        "AccessEvent": { "type": "object", "description": "The `data` of one Server-Sent Event; the SSE `event` field repeats `kind`.",
            "properties": { "kind": { "type": "string", "enum": ["request_created", "request_reviewed", "request_approved",
                "request_denied", "request_cancelled", "request_expired", "grant_revoked", "grant_expired"] },
            "request_id": s("string"), "grant_id": opt("string"), "profile": s("string"), "requester": s("string"),
            "state": request_state, "at": s("integer") } },
        "PodSummary": { "type": "object", "properties": { "namespace": s("string"), "name": s("string"),
            "containers": strings, "phase": s("string"), "exec": s("boolean"), "logs": s("boolean"),
            "created_at": opt("integer"), "ready_containers": s("integer"), "restarts": s("integer"), "node": opt("string") } },
        "GrantPods": { "type": "object", "properties": { "grant_id": s("string"), "profile": s("string"),
            "expires_at": s("integer"), "kube_user": s("string"),
            "pods": { "type": "array", "items": r("PodSummary") } } },
        "SessionInfo": { "type": "object", "properties": {
            "id": s("string"), "user": r("Person"), "kube_user": s("string"), "grant_id": s("string"), "request_id": s("string"), "profile": s("string"),
            "namespace": s("string"), "pod": s("string"), "container": s("string"), "started_at": s("integer"),
            "ended_at": opt("integer"), "end_reason": opt("string"), "bytes_in": s("integer"), "bytes_out": s("integer"),
            "live": s("boolean"), "can_revoke": s("boolean") } },
        "PolicyView": { "type": "object", "properties": { "origin": s("string"), "source": s("string"), "profiles": s("integer"),
            "reload_ok": s("boolean"), "reload_at": s("integer"), "reload_messages": strings } },
    })
}

/// The whole document.
pub(super) fn document() -> Value {
    let mut create = op(
        "Request a profile; policy denies, auto-approves or queues it",
        Some("CreateRequest"),
        ok(r("AccessRequest")),
        &["400", "401", "403", "404", "422"],
    );
    create["responses"]["201"] = create["responses"]["200"].take();
    create["responses"].as_object_mut().map(|m| m.remove("200"));
    let mut list_requests = op(
        "List requests, newest first, one page at a time (who may see what is applied before paging)",
        None,
        ok(page("AccessRequest")),
        &["400", "401", "403"],
    );
    list_requests["parameters"] = list_params(&["mine", "pending", "all", "visible"]);
    if let Some(params) = list_requests["parameters"].as_array_mut() {
        params.push(json!({ "name": "requester", "in": "query", "required": false,
            "description": "With `scope=visible` only: one requester's requests (IdP subject), as far as the caller may see them.",
            "schema": { "type": "string" } }));
    }
    let mut list_grants = op(
        "List grants, newest first, one page at a time (who may see what is applied before paging)",
        None,
        ok(page("Grant")),
        &["400", "401", "403"],
    );
    list_grants["parameters"] = list_params(&["mine", "active"]);
    let mut list_sessions = op(
        "List terminal sessions, newest first, one page at a time; `state=open` keeps the unfinished ones",
        None,
        ok(page("SessionInfo")),
        &["400", "401", "403"],
    );
    list_sessions["parameters"] = list_params(&["mine", "all"]);
    if let Some(params) = list_sessions["parameters"].as_array_mut() {
        params.push(json!({ "name": "state", "in": "query", "required": false,
            "schema": { "type": "string", "enum": ["any", "open"], "default": "any" } }));
        params.push(json!({ "name": "user", "in": "query", "required": false,
            "description": "With `scope=all` only: one user's sessions (IdP subject).",
            "schema": { "type": "string" } }));
    }
    let path_params = |names: &[&str]| -> Value {
        names
            .iter()
            .map(|n| json!({ "name": n, "in": "path", "required": true, "schema": { "type": "string" } }))
            .collect()
    };
    let query = |name: &str, t: &str, about: &str| json!({ "name": name, "in": "query", "required": false, "description": about, "schema": { "type": t } });
    let grant_errs = ["401", "403", "404", "503"];
    let mut pods = op(
        "The pods an active grant covers, listed as its holder (holder only)",
        None,
        ok(r("GrantPods")),
        &grant_errs,
    );
    pods["parameters"] = path_params(&["grant"]);
    let mut logs = json!({
        "summary": "A pod's log as plain text (holder only; profile needs `logs`); with `follow=true` it stays open and ends when the grant ends",
        "responses": {
            "200": { "description": "The log, streamed", "content": { "text/plain": { "schema": s_string() } } },
        },
    });
    let mut logs_params = path_params(&["grant", "ns", "pod"]);
    if let Some(a) = logs_params.as_array_mut() {
        a.push(query(
            "container",
            "string",
            "default: the pod's first container",
        ));
        a.push(query("follow", "boolean", "keep streaming"));
        a.push(query("tail", "integer", "last N lines"));
    }
    logs["parameters"] = logs_params;
    if let Some(m) = logs["responses"].as_object_mut() {
        m.extend(errors(&["400", "401", "403", "404", "503"]));
    }
    let mut terminal = json!({
        "summary": "The terminal WebSocket (holder only; profile needs interactive `exec`; same-origin `Origin`). Binary frames carry terminal bytes both ways, text frames JSON control messages; see docs/terminal.md",
        "responses": { "101": { "description": "Switching to the WebSocket" } },
    });
    let mut term_params = path_params(&["grant", "ns", "pod"]);
    if let Some(a) = term_params.as_array_mut() {
        a.push(query(
            "container",
            "string",
            "default: the pod's first container",
        ));
        a.push(query("cols", "integer", "initial width"));
        a.push(query("rows", "integer", "initial height"));
    }
    terminal["parameters"] = term_params;
    if let Some(m) = terminal["responses"].as_object_mut() {
        m.extend(errors(&["400", "401", "403", "404", "503"]));
    }
    let with_id = |mut o: Value| {
        o["parameters"] = id_param();
        o
    };
    let review_errs = ["400", "401", "403", "404", "409", "422"];
    json!({
        "openapi": "3.1.0",
        "info": { "title": "Keyhole API", "version": env!("CARGO_PKG_VERSION"),
            "description": "Requests, approvals and time-bound grants. Every POST needs the session cookie, \
                the `X-Keyhole-CSRF` header (from `GET /api/me`) and a same-origin `Origin`. See docs/access.md." },
        "servers": [{ "url": "/api" }],
        "paths": {
            "/profiles": { "get": op("Profiles the caller may request", None, ok(list("ProfileInfo")), &["401"]) },
            "/requests": { "get": list_requests, "post": create },
            "/requests/{id}": { "get": with_id(op("One request", None, ok(r("AccessRequest")), &["401", "404"])) },
            "/requests/{id}/approve": { "post": with_id(op("Approve (N-of-M; never one's own)", Some("ReviewBody"), ok(r("AccessRequest")), &review_errs)) },
            "/requests/{id}/deny": { "post": with_id(op("Deny with a comment (final)", Some("ReviewBody"), ok(r("AccessRequest")), &review_errs)) },
            "/requests/{id}/cancel": { "post": with_id(op("Cancel one's own pending request", None, ok(r("AccessRequest")), &["401", "403", "404", "409"])) },
            "/grants": { "get": list_grants },
            "/grants/{id}/revoke": { "post": with_id(op("Revoke an active grant (approvers, admins)", Some("RevokeBody"), ok(r("Grant")), &review_errs)) },
            "/events": { "get": { "summary": "Live updates (Server-Sent Events): `ready`, then one event per change the caller may see (`data`: AccessEvent); `resync` means refetch",
                "responses": { "200": { "description": "An event stream", "content": { "text/event-stream": { "schema": r("AccessEvent") } } },
                    "401": errors(&["401"])["401"] } } },
            "/grants/{grant}/pods": { "get": pods },
            "/grants/{grant}/pods/{ns}/{pod}/logs": { "get": logs },
            "/grants/{grant}/pods/{ns}/{pod}/terminal": { "get": terminal },
            "/sessions": { "get": list_sessions },
            "/policy": { "get": op("The effective policy and its last reload (admins)", None, ok(r("PolicyView")), &["401", "403"]) },
            "/openapi.json": { "get": { "summary": "This document", "responses": { "200": { "description": "OpenAPI 3.1" } } } },
        },
        "components": { "schemas": schemas() },
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn describes_every_access_route() {
        let doc = super::document();
        let paths = doc["paths"].as_object().unwrap();
        for p in [
            "/profiles",
            "/requests",
            "/requests/{id}",
            "/requests/{id}/approve",
            "/requests/{id}/deny",
            "/requests/{id}/cancel",
            "/grants",
            "/grants/{id}/revoke",
            "/events",
            "/sessions",
            "/grants/{grant}/pods",
            "/grants/{grant}/pods/{ns}/{pod}/logs",
            "/grants/{grant}/pods/{ns}/{pod}/terminal",
            "/policy",
            "/openapi.json",
        ] {
            assert!(paths.contains_key(p), "{p} missing");
        }
        assert_eq!(doc["openapi"], "3.1.0");
        assert!(doc["paths"]["/requests"]["post"]["responses"]["201"].is_object());
    }

    #[test]
    fn lists_are_paged() {
        let doc = super::document();
        for p in ["/requests", "/grants", "/sessions"] {
            let get = &doc["paths"][p]["get"];
            let names: Vec<_> = get["parameters"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| p["name"].as_str().unwrap())
                .collect();
            assert!(
                names.contains(&"cursor") && names.contains(&"limit"),
                "{p}: {names:?}"
            );
            let schema = &get["responses"]["200"]["content"]["application/json"]["schema"];
            assert!(schema["properties"]["next_cursor"].is_object(), "{p}");
            assert_eq!(schema["properties"]["items"]["type"], "array", "{p}");
        }
    }
}
