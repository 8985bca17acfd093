//! [`AccessError`]: why an access operation failed, in words a user can act on; and the one
//! check of free text (reasons, comments).

use crate::policy::{DenyReason, ReviewDenied};
use crate::store::StoreError;

/// Longest reason, comment or revocation reason, in characters.
pub(crate) const MAX_TEXT: usize = 1000;

/// Why an access operation failed.
#[derive(Debug, thiserror::Error)]
pub enum AccessError {
    /// Bad input (empty reason, bad pod name, …): nothing was changed.
    #[error("{0}")]
    Invalid(String),
    /// No profile of that name that the caller may request. Profiles the caller may not
    /// request get the same answer, so their names do not leak.
    #[error("there is no profile named `{0}` that you may request")]
    UnknownProfile(String),
    /// The policy refused the request (duration, capabilities).
    #[error("{0}")]
    Denied(DenyReason),
    /// No such request, or not visible to the caller (same answer on purpose).
    #[error("there is no such request")]
    RequestNotFound,
    /// No such grant, or not visible to the caller (same answer on purpose).
    #[error("there is no such grant")]
    GrantNotFound,
    /// Visible, but the caller may not do this.
    #[error("{0}")]
    Forbidden(String),
    /// The caller may not review this request (their own, or not an approver).
    #[error("{0}")]
    Review(ReviewDenied),
    /// The caller already reviewed this request.
    #[error("you have already reviewed this request")]
    AlreadyReviewed,
    /// The request is no longer pending: decisions are final.
    #[error("the request is {0}; only pending requests can be changed")]
    NotPending(String),
    /// The grant is no longer active.
    #[error("the grant is {0}; only active grants can be revoked")]
    GrantNotActive(String),
    /// The database failed (logged; the user sees a generic message).
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Checks a free-text field: trimmed, 1–1000 characters (or 0–1000 when optional).
pub(super) fn check_text(field: &str, text: &str, required: bool) -> Result<String, AccessError> {
    let t = text.trim();
    if required && t.is_empty() {
        return Err(AccessError::Invalid(format!("{field} is required")));
    }
    if t.chars().count() > MAX_TEXT {
        return Err(AccessError::Invalid(format!(
            "{field} is longer than {MAX_TEXT} characters"
        )));
    }
    Ok(t.to_owned())
}
