//! `metav1.Status` error bodies and the one `IntoResponse` that maps [`ApiError`] to them.
//! Shapes follow `k8s.io/apimachinery/pkg/api/errors`, since kubectl prints `message` and
//! kube-rs parses the whole object into `Error::Api`.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::rbac::{Attributes, UserInfo, forbidden_message};

/// An error answer of the API server.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ApiError {
    /// Missing or unknown bearer token.
    #[error("Unauthorized")]
    Unauthorized,
    /// RBAC said no.
    #[error("{message}")]
    Forbidden {
        /// Kubernetes' full message.
        message: String,
        /// `details` (name, group, kind).
        details: Value,
    },
    /// A malformed or unsupported request.
    #[error("{0}")]
    BadRequest(String),
    /// An object that does not exist.
    #[error("{resource} {name:?} not found")]
    NotFound {
        /// Plural resource, e.g. `pods`.
        resource: String,
        /// Object name.
        name: String,
    },
    /// No such path.
    #[error("the server could not find the requested resource")]
    NoRoute,
    /// The path exists but not with this method.
    #[error("the server does not allow this method on the requested resource")]
    MethodNotAllowed,
    /// Something broke on our side; the detail is in `message` (devstack is a dev tool, so it
    /// says what broke rather than hiding it).
    #[error("Internal error occurred: {0}")]
    Internal(String),
}

impl ApiError {
    /// The 403 for `user` attempting `attrs`.
    pub fn forbidden(user: &UserInfo, attrs: &Attributes) -> Self {
        Self::forbidden_with(forbidden_message(user, attrs), attrs)
    }

    /// A 403 with a precomputed message (impersonation denials).
    pub fn forbidden_with(message: String, attrs: &Attributes) -> Self {
        let mut details = serde_json::Map::new();
        if !attrs.name.is_empty() {
            details.insert("name".into(), attrs.name.clone().into());
        }
        if !attrs.api_group.is_empty() {
            details.insert("group".into(), attrs.api_group.clone().into());
        }
        if !attrs.resource.is_empty() {
            details.insert("kind".into(), attrs.resource.clone().into());
        }
        Self::Forbidden {
            message,
            details: Value::Object(details),
        }
    }

    /// `pods "name" not found`.
    pub fn pod_not_found(name: &str) -> Self {
        Self::NotFound {
            resource: "pods".into(),
            name: name.into(),
        }
    }

    /// The HTTP status code.
    pub fn code(&self) -> StatusCode {
        match self {
            Self::Unauthorized => StatusCode::UNAUTHORIZED,
            Self::Forbidden { .. } => StatusCode::FORBIDDEN,
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::NotFound { .. } | Self::NoRoute => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The `metav1.Status` body.
    pub fn status(&self) -> Value {
        let (reason, details) = match self {
            Self::Unauthorized => ("Unauthorized", None),
            Self::Forbidden { details, .. } => ("Forbidden", Some(details.clone())),
            Self::BadRequest(_) => ("BadRequest", None),
            Self::NotFound { resource, name } => {
                ("NotFound", Some(json!({"name": name, "kind": resource})))
            }
            Self::NoRoute => ("NotFound", Some(json!({}))),
            Self::MethodNotAllowed => ("MethodNotAllowed", Some(json!({}))),
            Self::Internal(cause) => (
                "InternalError",
                Some(json!({"causes": [{"message": cause}]})),
            ),
        };
        let mut status = json!({
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.to_string(),
            "reason": reason,
            "code": self.code().as_u16(),
        });
        if let Some(details) = details {
            status["details"] = details;
        }
        status
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.code(), Json(self.status())).into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forbidden_exec_reads_like_kubernetes() {
        let user = UserInfo::new("alice@example.test", &[]);
        let attrs = Attributes::resource("create", "", "pods/exec", "payments", "x");
        let status = ApiError::forbidden(&user, &attrs).status();
        assert_eq!(
            status["message"],
            "pods \"x\" is forbidden: User \"alice@example.test\" cannot create resource \"pods/exec\" in API group \"\" in the namespace \"payments\""
        );
        assert_eq!(status["code"], 403);
        assert_eq!(status["details"], json!({"name": "x", "kind": "pods"}));
    }

    #[test]
    fn not_found_and_unauthorized() {
        assert_eq!(
            ApiError::pod_not_found("p").status()["message"],
            "pods \"p\" not found"
        );
        assert_eq!(ApiError::Unauthorized.status()["reason"], "Unauthorized");
    }
}
