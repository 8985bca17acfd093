//! Admission, in the apiserver's filter order: authentication (bearer token) →
//! impersonation → authorization (RBAC) → handler → audit event.
//!
//! Exec/attach/portforward over WebSocket are GETs, checked as `get`; like Kubernetes 1.35+
//! (`AuthorizePodWebsocketUpgradeCreatePermission`) devstack also requires `create`, so a
//! read-only role can never open a shell.

use std::collections::BTreeMap;
use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::HeaderMap;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::AppState;
use super::request_info;
use super::status::ApiError;
use crate::audit::{AuditEvent, ObjectRef, ResponseStatus, micro_time};
use crate::rbac::impersonation::{ImpersonationError, ImpersonationRequest, impersonate};
use crate::rbac::{ANONYMOUS, Attributes, Decision, UserInfo};

/// Who a request runs as, and what it was authorized for; put in the request extensions.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The effective (possibly impersonated) user.
    pub user: UserInfo,
    /// The request's attributes.
    pub attrs: Attributes,
}

/// Outcome of the admission steps, kept for the audit event.
struct Admission {
    authenticated: Option<UserInfo>,
    impersonated: Option<UserInfo>,
    decision: Option<Decision>,
}

/// What the audit event needs from the request (taken before the handler consumes it).
struct Summary {
    uri: String,
    user_agent: String,
    source: Option<String>,
    follow: bool,
}

impl Summary {
    fn of(req: &Request) -> Self {
        let uri = req.uri();
        Self {
            uri: uri
                .path_and_query()
                .map_or_else(|| uri.path().to_owned(), ToString::to_string),
            user_agent: req
                .headers()
                .get(axum::http::header::USER_AGENT)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned(),
            source: req
                .extensions()
                .get::<ConnectInfo<SocketAddr>>()
                .map(|c| c.0.ip().to_string()),
            follow: uri.query().is_some_and(|q| q.contains("follow=true")),
        }
    }
}

/// The middleware. The audit event is written when the response starts (for exec: at the
/// 101), so tests can read it while the session is still open.
pub async fn admit(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let received = time::OffsetDateTime::now_utc();
    let attrs =
        request_info::attributes(req.method().as_str(), req.uri().path(), req.uri().query());
    let summary = Summary::of(&req);
    let mut admission = Admission {
        authenticated: None,
        impersonated: None,
        decision: None,
    };
    let response = match check(&state, req.headers(), &attrs, &mut admission) {
        Ok(user) => {
            req.extensions_mut().insert(Caller {
                user,
                attrs: attrs.clone(),
            });
            next.run(req).await
        }
        Err(e) => e.into_response(),
    };
    write_audit(
        &state,
        &summary,
        &attrs,
        &admission,
        response.status().as_u16(),
        received,
    );
    response
}

fn check(
    state: &AppState,
    headers: &HeaderMap,
    attrs: &Attributes,
    adm: &mut Admission,
) -> Result<UserInfo, ApiError> {
    let caller = match bearer(headers) {
        Some(token) => state
            .cluster
            .authenticate(token)
            .ok_or(ApiError::Unauthorized)?,
        None => UserInfo::anonymous(),
    };
    adm.authenticated = Some(caller.clone());

    let pairs = headers
        .iter()
        .filter_map(|(k, v)| Some((k.as_str(), v.to_str().ok()?)));
    let user = match ImpersonationRequest::from_headers(pairs) {
        None => caller.clone(),
        Some(req) => match impersonate(&state.cluster.rbac, &caller, &req) {
            Ok(user) => {
                adm.impersonated = Some(user.clone());
                user
            }
            Err(ImpersonationError::NoUser(what)) => {
                return Err(ApiError::Internal(format!(
                    "requested {what} without impersonating a user"
                )));
            }
            Err(ImpersonationError::Forbidden {
                attributes,
                message,
            }) => {
                adm.decision = Some(Decision {
                    allowed: false,
                    reason: String::new(),
                });
                return Err(deny(
                    &caller,
                    ApiError::forbidden_with(message, &attributes),
                ));
            }
        },
    };

    let decision = state.cluster.rbac.authorize(&user, attrs);
    adm.decision = Some(decision.clone());
    if !decision.allowed {
        return Err(deny(&user, ApiError::forbidden(&user, attrs)));
    }
    if is_websocket_stream(attrs) {
        let create = Attributes {
            verb: "create".into(),
            ..attrs.clone()
        };
        let also = state.cluster.rbac.authorize(&user, &create);
        if !also.allowed {
            adm.decision = Some(also);
            return Err(deny(&user, ApiError::forbidden(&user, &create)));
        }
    }
    Ok(user)
}

/// Requests without credentials that RBAC refuses get 401, not 403: devstack wants a token.
fn deny(user: &UserInfo, forbidden: ApiError) -> ApiError {
    if user.username == ANONYMOUS {
        ApiError::Unauthorized
    } else {
        forbidden
    }
}

fn is_websocket_stream(attrs: &Attributes) -> bool {
    attrs.resource_request
        && attrs.verb == "get"
        && attrs.api_group.is_empty()
        && attrs.resource == "pods"
        && matches!(
            attrs.subresource.as_str(),
            "exec" | "attach" | "portforward"
        )
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers
        .get(axum::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

fn write_audit(
    state: &AppState,
    req: &Summary,
    attrs: &Attributes,
    adm: &Admission,
    code: u16,
    received: time::OffsetDateTime,
) {
    let Some(log) = &state.audit else { return };
    let long_running = code == 101 || (code == 200 && req.follow);
    let mut annotations = BTreeMap::new();
    if let Some(d) = &adm.decision {
        annotations.insert(
            "authorization.k8s.io/decision".into(),
            if d.allowed { "allow" } else { "forbid" }.into(),
        );
        annotations.insert("authorization.k8s.io/reason".into(), d.reason.clone());
    }
    let event = AuditEvent {
        kind: "Event".into(),
        api_version: "audit.k8s.io/v1".into(),
        level: "Metadata".into(),
        audit_id: uuid::Uuid::new_v4().to_string(),
        stage: if long_running {
            "ResponseStarted"
        } else {
            "ResponseComplete"
        }
        .into(),
        request_uri: req.uri.clone(),
        verb: attrs.verb.clone(),
        user: adm.authenticated.clone().unwrap_or_default(),
        impersonated_user: adm.impersonated.clone(),
        source_ips: req.source.iter().cloned().collect(),
        user_agent: req.user_agent.clone(),
        object_ref: attrs.resource_request.then(|| ObjectRef {
            resource: attrs.resource.clone(),
            namespace: attrs.namespace.clone(),
            name: attrs.name.clone(),
            api_group: attrs.api_group.clone(),
            api_version: attrs.api_version.clone(),
            subresource: attrs.subresource.clone(),
        }),
        response_status: ResponseStatus {
            metadata: BTreeMap::new(),
            code,
        },
        request_received_timestamp: micro_time(received),
        stage_timestamp: micro_time(time::OffsetDateTime::now_utc()),
        annotations,
    };
    log.write(&event);
}
