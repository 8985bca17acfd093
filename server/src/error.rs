//! The one error type of the HTTP layer and its mapping to JSON responses.
//!
//! Domain modules return their own narrow errors; handlers convert them into
//! [`AppError`]. 4xx errors carry a message for the user; 5xx errors return a
//! generic message and log the detail, because internal details (SQL, paths,
//! upstream bodies) help attackers more than users.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use keyhole_protocol::error::ApiError;

/// An error that becomes an HTTP response `{error, message}`.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// 400: the request body or query is wrong.
    #[error("{0}")]
    BadRequest(String),
    /// 401: no valid session.
    #[error("sign in first")]
    Unauthenticated,
    /// 403: signed in, but not allowed (or a CSRF/Origin check failed).
    #[error("{0}")]
    Forbidden(String),
    /// 404: no such thing (or not visible to the caller — same answer on purpose).
    #[error("{0}")]
    NotFound(String),
    /// 409: the thing exists but is in a state that forbids the action.
    #[error("{0}")]
    Conflict(String),
    /// 422: well-formed but invalid input.
    #[error("{0}")]
    Unprocessable(String),
    /// 503: a dependency (IdP, database, cluster) is unavailable.
    #[error("{0}")]
    Unavailable(String),
    /// 500: a bug or an unexpected failure; detail logged, not returned.
    #[error("internal error: {0:#}")]
    Internal(#[from] anyhow::Error),
}

impl AppError {
    /// Wraps any error as an internal one.
    pub fn internal(e: impl Into<anyhow::Error>) -> Self {
        Self::Internal(e.into())
    }

    fn parts(&self) -> (StatusCode, &'static str) {
        match self {
            Self::BadRequest(_) => (StatusCode::BAD_REQUEST, "bad_request"),
            Self::Unauthenticated => (StatusCode::UNAUTHORIZED, "unauthenticated"),
            Self::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden"),
            Self::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            Self::Conflict(_) => (StatusCode::CONFLICT, "conflict"),
            Self::Unprocessable(_) => (StatusCode::UNPROCESSABLE_ENTITY, "invalid"),
            Self::Unavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
            Self::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        }
    }
}

impl From<crate::store::StoreError> for AppError {
    fn from(e: crate::store::StoreError) -> Self {
        Self::Internal(e.into())
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let (status, code) = self.parts();
        let message = match &self {
            Self::Internal(e) => {
                tracing::error!(error = %format!("{e:#}"), "internal error");
                "something went wrong on the server; the problem was logged".to_owned()
            }
            other => other.to_string(),
        };
        (
            status,
            Json(ApiError {
                error: code.to_owned(),
                message,
            }),
        )
            .into_response()
    }
}

/// Result of an HTTP handler.
pub type AppResult<T> = Result<T, AppError>;

/// A JSON request body whose rejections (wrong content type, syntax, a missing or mistyped
/// field) are our `{error, message}` 400s naming the problem, not axum's plain text.
#[derive(Debug, Clone)]
pub struct JsonBody<T>(pub T);

impl<T, S> axum::extract::FromRequest<S> for JsonBody<T>
where
    T: serde::de::DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = AppError;

    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, AppError> {
        match Json::<T>::from_request(req, state).await {
            Ok(Json(v)) => Ok(JsonBody(v)),
            Err(e) => Err(AppError::BadRequest(format!(
                "invalid JSON body: {}",
                e.body_text()
            ))),
        }
    }
}
