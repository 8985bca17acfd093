//! One module per route.

mod access_actions;
pub(crate) mod access_live;
pub(crate) mod approvals;
pub(crate) mod home;
pub(crate) mod login;
pub(crate) mod logs;
pub(crate) mod not_found;
pub(crate) mod pods;
pub(crate) mod policy;
pub(crate) mod request_detail;
pub(crate) mod requests;
pub(crate) mod sessions;
pub(crate) mod terminal;
