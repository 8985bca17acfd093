//! Types shared by the Keyhole server and the browser app.
//!
//! Everything here is plain serde data with no I/O, so the crate builds for
//! `wasm32-unknown-unknown` (the app) and the host (the server) alike.
//!
//! # Layout
//! - [`api`]: JSON bodies of the REST API (`/api/...`).
//! - [`access`]: requests, reviews, grants and live events (`/api/requests`, …).
//! - [`error`]: the JSON error body every failing API call returns.
//! - [`terminal`]: the terminal WebSocket messages and the pod list of a grant.

pub mod access;
pub mod api;
pub mod error;
pub mod terminal;
