//! Shared components.

pub(crate) mod error_view;
pub(crate) mod guard;
pub(crate) mod layout;
