//! Shared components.

pub(crate) mod error_view;
pub(crate) mod guard;
pub(crate) mod layout;
mod title;

pub(crate) use title::set_title;
