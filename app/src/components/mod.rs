//! Shared components.

pub mod error_view;
pub mod guard;
pub mod layout;
