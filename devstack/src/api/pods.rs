//! Pods and namespaces: list (with `labelSelector`/`fieldSelector`), get, and `Table` output
//! when the `Accept` header asks for `as=Table` (kubectl's `get`).

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use super::AppState;
use super::render;
use super::selector::Selector;
use super::status::ApiError;
use crate::cluster::{Namespace, Pod};

fn wants_table(headers: &HeaderMap) -> bool {
    headers
        .get_all(axum::http::header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.contains("as=Table"))
}

fn query_map(query: Option<&str>) -> BTreeMap<String, String> {
    url::form_urlencoded::parse(query.unwrap_or_default().as_bytes())
        .into_owned()
        .collect()
}

struct Filter {
    labels: Selector,
    fields: Selector,
}

impl Filter {
    fn from_query(query: Option<&str>) -> Result<Self, ApiError> {
        let q = query_map(query);
        if q.get("watch").is_some_and(|w| w == "true" || w == "1") {
            return Err(ApiError::BadRequest(
                "watch is not supported by devstack".into(),
            ));
        }
        let labels = Selector::parse(q.get("labelSelector").map_or("", String::as_str))
            .map_err(ApiError::BadRequest)?;
        let fields = Selector::parse(q.get("fieldSelector").map_or("", String::as_str))
            .map_err(ApiError::BadRequest)?;
        fields
            .check_fields(&["metadata.name", "metadata.namespace", "status.phase"])
            .map_err(ApiError::BadRequest)?;
        Ok(Self { labels, fields })
    }

    fn pod(&self, ns: &str, pod: &Pod) -> bool {
        let fields = BTreeMap::from([
            ("metadata.name".to_owned(), pod.name.clone()),
            ("metadata.namespace".to_owned(), ns.to_owned()),
            ("status.phase".to_owned(), "Running".to_owned()),
        ]);
        self.labels.matches(&pod.labels) && self.fields.matches(&fields)
    }
}

fn pods_response(rows: &[(&str, &Pod)], headers: &HeaderMap) -> Response {
    if wants_table(headers) {
        Json(render::pod_table(rows, time::OffsetDateTime::now_utc())).into_response()
    } else {
        let items = rows.iter().map(|(ns, p)| render::pod(ns, p)).collect();
        Json(render::list("PodList", items)).into_response()
    }
}

/// `GET /api/v1/namespaces/{ns}/pods`. An unknown namespace lists nothing, as in Kubernetes.
pub async fn list_pods(
    State(state): State<AppState>,
    Path(ns): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let filter = Filter::from_query(query.as_deref())?;
    let pods = state
        .cluster
        .namespace(&ns)
        .map(|n| n.pods.as_slice())
        .unwrap_or_default();
    let rows: Vec<(&str, &Pod)> = pods
        .iter()
        .filter(|p| filter.pod(&ns, p))
        .map(|p| (ns.as_str(), p))
        .collect();
    Ok(pods_response(&rows, &headers))
}

/// `GET /api/v1/pods` (all namespaces).
pub async fn list_all_pods(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let filter = Filter::from_query(query.as_deref())?;
    let rows: Vec<(&str, &Pod)> = state
        .cluster
        .pods()
        .filter(|(ns, p)| filter.pod(&ns.name, p))
        .map(|(ns, p)| (ns.name.as_str(), p))
        .collect();
    Ok(pods_response(&rows, &headers))
}

/// `GET /api/v1/namespaces/{ns}/pods/{name}`.
pub async fn get_pod(
    State(state): State<AppState>,
    Path((ns, name)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let pod = state
        .cluster
        .pod(&ns, &name)
        .ok_or_else(|| ApiError::pod_not_found(&name))?;
    if wants_table(&headers) {
        return Ok(Json(render::pod_table(
            &[(ns.as_str(), pod)],
            time::OffsetDateTime::now_utc(),
        ))
        .into_response());
    }
    Ok(Json(render::pod(&ns, pod)).into_response())
}

fn namespace_json(state: &AppState, ns: &Namespace) -> Value {
    render::namespace(ns, state.cluster_created)
}

/// `GET /api/v1/namespaces`.
pub async fn list_namespaces(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let items: Vec<Value> = state
        .cluster
        .namespaces
        .iter()
        .map(|n| namespace_json(&state, n))
        .collect();
    if wants_table(&headers) {
        Json(render::namespace_table(
            &items,
            time::OffsetDateTime::now_utc(),
            state.cluster_created,
        ))
        .into_response()
    } else {
        Json(render::list("NamespaceList", items)).into_response()
    }
}

/// `GET /api/v1/namespaces/{ns}`.
pub async fn get_namespace(
    State(state): State<AppState>,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let ns = state
        .cluster
        .namespace(&name)
        .ok_or_else(|| ApiError::NotFound {
            resource: "namespaces".into(),
            name: name.clone(),
        })?;
    let item = namespace_json(&state, ns);
    if wants_table(&headers) {
        let now = time::OffsetDateTime::now_utc();
        return Ok(
            Json(render::namespace_table(&[item], now, state.cluster_created)).into_response(),
        );
    }
    Ok(Json(item).into_response())
}
