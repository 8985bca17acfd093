//! The error body of every failing API call: `{"error": "<code>", "message": "<human text>"}`.

use serde::{Deserialize, Serialize};

/// JSON body returned with every 4xx/5xx from `/api/...` and `/auth/...`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiError {
    /// A stable machine-readable code, e.g. `unauthenticated`, `forbidden`, `not_found`.
    pub error: String,
    /// A sentence for humans that says what went wrong and, when possible, what to do.
    pub message: String,
}
