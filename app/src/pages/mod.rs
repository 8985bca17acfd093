//! One module per route.

mod access_actions;
mod access_live;
pub mod approvals;
pub mod home;
pub mod login;
pub mod logs;
pub mod not_found;
pub mod pods;
pub mod policy;
pub mod request_detail;
pub mod requests;
pub mod sessions;
pub mod terminal;
