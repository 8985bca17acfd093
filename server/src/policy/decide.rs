//! The decisions the access service asks the policy for. Pure: no I/O, no clock, no async.
//!
//! Inputs are the caller's IdP groups (from the login token) and what they ask for; outputs are
//! small enums. The access service keeps the state that decisions across time need (who already
//! approved, whether a request is still pending); [`Policy::check_review`] encodes the one such
//! rule that needs no state: a requester never reviews their own request.

use std::collections::HashMap;
use std::fmt;
use std::time::Duration;

use keyhole_protocol::api::Role;

use super::duration::format_duration;
use super::types::{CapabilitySet, Profile};
use super::{CommandRule, LineDecision, Policy, evaluate_line, evaluate_strict};

/// What someone asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestInput<'a> {
    /// The profile's name.
    pub profile: &'a str,
    /// How long the grant should last.
    pub duration: Duration,
    /// A narrower set than the profile grants (e.g. logs only); `None` means all of it.
    pub capabilities: Option<CapabilitySet>,
}

/// The policy's answer to a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RequestDecision {
    /// The request may not be made at all.
    Denied {
        /// Why; its `Display` is a sentence for the requester.
        reason: DenyReason,
    },
    /// Approved at once by a rule.
    AutoApproved {
        /// Index of the matching rule in the profile's `auto_approve` list.
        rule: usize,
    },
    /// Waits for approvers.
    Pending {
        /// Distinct approvals needed.
        required_approvals: u32,
        /// The request expires after this long without a decision.
        pending_timeout: Duration,
    },
}

/// Why a request was denied.
///
/// The HTTP layer decides how much of this to show: `UnknownProfile` and `NotRequester` may be
/// worth merging into one "not found" so that profile names do not leak to people who may not
/// request them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DenyReason {
    /// No profile has this name.
    UnknownProfile,
    /// The requester is in none of the profile's `request.groups`.
    NotRequester,
    /// The duration is zero.
    ZeroDuration,
    /// The duration is over the profile's maximum.
    TooLong {
        /// The profile's `max_duration`.
        max: Duration,
    },
    /// The request names a capability the profile does not grant (or an empty set).
    CapabilityNotInProfile,
}

impl fmt::Display for DenyReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DenyReason::UnknownProfile => f.write_str("there is no such profile"),
            DenyReason::NotRequester => {
                f.write_str("you are in none of the groups that may request this profile")
            }
            DenyReason::ZeroDuration => f.write_str("the duration must be longer than zero"),
            DenyReason::TooLong { max } => write!(
                f,
                "the duration is longer than this profile's maximum of {}",
                format_duration(*max)
            ),
            DenyReason::CapabilityNotInProfile => f.write_str(
                "the request must ask for some of this profile's capabilities, and only those",
            ),
        }
    }
}

/// Why someone may not review a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ReviewDenied {
    /// No profile has this name (e.g. it was removed from the policy since the request).
    #[error("the request's profile no longer exists in the policy")]
    UnknownProfile,
    /// The reviewer made the request: nobody approves their own access, even as an approver.
    #[error("you cannot review your own request")]
    OwnRequest,
    /// The reviewer is in none of the profile's `approval.groups`.
    #[error("you are in none of the groups that may approve this profile")]
    NotApprover,
}

/// Whether any of `user_groups` is in `allowed`. Both lists are short (a handful of policy
/// groups against the tens of groups a token carries), so a nested scan beats hashing.
fn any_in(user_groups: &[String], allowed: &[String]) -> bool {
    allowed.iter().any(|a| user_groups.iter().any(|g| g == a))
}

impl Policy {
    /// The UI roles of someone with these IdP groups, sorted and without repeats.
    pub fn roles_for(&self, groups: &[String]) -> Vec<Role> {
        let mut roles = Vec::new();
        let engineer = any_in(groups, &self.roles.engineers)
            || groups.iter().any(|g| self.request_index.contains_key(g));
        for (role, held) in [
            (Role::Engineer, engineer),
            (Role::Lead, any_in(groups, &self.roles.leads)),
            (Role::Auditor, any_in(groups, &self.roles.auditors)),
            (Role::Admin, any_in(groups, &self.roles.admins)),
        ] {
            if held {
                roles.push(role);
            }
        }
        roles
    }

    /// The profiles someone with these groups may request, in file order.
    pub fn requestable_profiles(&self, groups: &[String]) -> Vec<&Profile> {
        self.indexed(&self.request_index, groups)
    }

    /// The profiles whose requests someone with these groups may review, in file order.
    pub fn approvable_profiles(&self, groups: &[String]) -> Vec<&Profile> {
        self.indexed(&self.approve_index, groups)
    }

    fn indexed(&self, index: &HashMap<String, Vec<usize>>, groups: &[String]) -> Vec<&Profile> {
        let mut hits: Vec<usize> = groups
            .iter()
            .filter_map(|g| index.get(g))
            .flatten()
            .copied()
            .collect();
        hits.sort_unstable();
        hits.dedup();
        hits.into_iter().map(|i| &self.profiles[i]).collect()
    }

    /// Decides a new request: denied, auto-approved, or pending for approvers.
    ///
    /// Checks, in order: the profile exists, the requester may request it, the duration is
    /// above zero and within the maximum, the capabilities are the profile's. Then the first
    /// auto-approve rule that fully matches approves it; otherwise it waits.
    pub fn decide_request(&self, groups: &[String], req: &RequestInput<'_>) -> RequestDecision {
        let deny = |reason| RequestDecision::Denied { reason };
        let Some(profile) = self.profile(req.profile) else {
            return deny(DenyReason::UnknownProfile);
        };
        if !any_in(groups, &profile.request_groups) {
            return deny(DenyReason::NotRequester);
        }
        if req.duration.is_zero() {
            return deny(DenyReason::ZeroDuration);
        }
        if req.duration > profile.max_duration {
            return deny(DenyReason::TooLong {
                max: profile.max_duration,
            });
        }
        let needs = req.capabilities.unwrap_or(profile.capabilities);
        if needs.is_empty() || !needs.is_subset(profile.capabilities) {
            return deny(DenyReason::CapabilityNotInProfile);
        }
        let auto = profile.auto_approve.iter().position(|rule| {
            any_in(groups, &rule.groups)
                && req.duration <= rule.max_duration
                && rule
                    .capabilities
                    .is_none_or(|allowed| needs.is_subset(allowed))
        });
        match auto {
            Some(rule) => RequestDecision::AutoApproved { rule },
            None => RequestDecision::Pending {
                required_approvals: profile.approval.required,
                pending_timeout: profile.approval.pending_timeout,
            },
        }
    }

    /// Whether someone with these groups may approve or deny requests for `profile`.
    pub fn may_approve(&self, reviewer_groups: &[String], profile: &str) -> bool {
        self.profile(profile)
            .is_some_and(|p| any_in(reviewer_groups, &p.approval.groups))
    }

    /// Whether this reviewer may review this requester's request: never their own, and only as
    /// a member of an approving group. Subjects are the IdP's stable `sub` values. Counting
    /// distinct approvers (N-of-M) is the access service's job, as it holds the reviews.
    pub fn check_review(
        &self,
        reviewer_subject: &str,
        reviewer_groups: &[String],
        requester_subject: &str,
        profile: &str,
    ) -> Result<(), ReviewDenied> {
        let Some(p) = self.profile(profile) else {
            return Err(ReviewDenied::UnknownProfile);
        };
        // Checked before group membership on purpose: a lead who requests access is still
        // in the approving group, and must still wait for someone else.
        if reviewer_subject == requester_subject {
            return Err(ReviewDenied::OwnRequest);
        }
        if !any_in(reviewer_groups, &p.approval.groups) {
            return Err(ReviewDenied::NotApprover);
        }
        Ok(())
    }

    /// Decides one terminal line for a profile with the simple matcher: interactive profiles
    /// use the command rules, strict profiles also need an `allowed_commands` prefix. `None`
    /// when there is no such profile.
    pub fn check_line(&self, profile: &str, line: &str) -> Option<LineDecision> {
        let p = self.profile(profile)?;
        let rules: &[CommandRule] = &self.command_rules;
        Some(if p.exec.interactive {
            evaluate_line(rules, line)
        } else {
            evaluate_strict(rules, &p.exec.allowed_commands, line)
        })
    }
}

#[cfg(test)]
#[path = "decide_tests.rs"]
mod tests;
