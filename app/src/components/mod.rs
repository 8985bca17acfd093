//! Shared components.

pub mod guard;
pub mod layout;
