//! The domain: what a grant is and how requests and grants move, as plain types and pure
//! functions (no I/O, no clock, no async).
//!
//! Each thing has exactly three shapes, and this module owns the middle one:
//! - the **row** (`store`), which only the store sees; the store parses every column into the
//!   domain type at its boundary (an unknown state or capability is a `Corrupt` error: fail
//!   closed);
//! - the **domain type** ([`Grant`]), with the invariants and the one answer to "is this grant
//!   active for this user now" ([`Grant::check_active`]);
//! - the **wire type** (`keyhole_protocol`), built from the domain type at the HTTP edge.
//!
//! - `grant.rs`: [`Grant`], a snapshot of the profile as approved.
//! - `lifecycle.rs`: the state machines of requests and grants (tested exhaustively).
//!
//! Dependencies: `domain` → `policy` (capabilities) and `keyhole_protocol` (the state enums,
//! which are also wire values). `store` and `access` depend on `domain`, never the reverse.

mod grant;
pub mod lifecycle;

pub use grant::{Grant, GrantEnded};
pub use lifecycle::{GrantState, RequestState};

#[cfg(test)]
pub(crate) use grant::tests::grant as test_grant;
