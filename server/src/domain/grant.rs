//! [`Grant`]: time-bound access to a profile, as approved. A snapshot of the profile at
//! approval time, so a later policy edit never widens (or silently changes) a live grant.

use std::collections::BTreeMap;
use std::time::Duration;

use super::GrantState;
use crate::policy::CapabilitySet;

/// A grant, stored or new.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    /// Opaque id (sent as `Impersonate-Extra-keyhole.dev%2Fgrant-id`).
    pub id: String,
    /// The request it came from.
    pub request_id: String,
    /// The holder's IdP subject.
    pub subject: String,
    /// The holder's e-mail (display).
    pub holder_email: Option<String>,
    /// The holder's name (display).
    pub holder_name: Option<String>,
    /// `Impersonate-User`: the holder's Kubernetes user name, fixed at their sign-in.
    pub kube_user: String,
    /// The profile's name.
    pub profile: String,
    /// `Impersonate-Group`: the profile's Kubernetes groups at approval time.
    pub kubernetes_groups: Vec<String>,
    /// Namespaces the grant reaches.
    pub namespaces: Vec<String>,
    /// Only pods with all these labels (empty: every pod in `namespaces`).
    pub pod_selector: BTreeMap<String, String>,
    /// Narrowed to this one pod `(namespace, name)`, if the request asked for it.
    pub pod: Option<(String, String)>,
    /// What the grant allows.
    pub capabilities: CapabilitySet,
    /// The request's reason.
    pub reason: String,
    /// Close a terminal after this long without traffic.
    pub idle_timeout: Option<Duration>,
    /// The argv to exec in the container.
    pub exec_command: Vec<String>,
    /// `false`: strict mode (only the profile's allowed commands, non-interactive).
    pub interactive: bool,
    /// Unix seconds: approval time.
    pub starts_at: i64,
    /// Unix seconds: the grant ends here; every stream under it closes then at the latest.
    pub expires_at: i64,
    /// The stored state. Use [`Grant::state_at`]: an `Active` grant past `expires_at` is
    /// already over, even before the scheduler marks it.
    pub state: GrantState,
    /// When it was revoked or expired.
    pub ended_at: Option<i64>,
    /// Who revoked it (IdP subject).
    pub revoked_by: Option<String>,
    /// Why it was revoked.
    pub revoke_reason: Option<String>,
}

/// Why a grant is not active.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GrantEnded {
    /// It reached its end.
    Expired,
    /// It was revoked, for this reason.
    Revoked(String),
}

impl Grant {
    /// The state as of `now`: a grant past its end is expired, whatever the row says yet.
    pub fn state_at(&self, now: i64) -> GrantState {
        match self.state {
            GrantState::Active if self.expires_at <= now => GrantState::Expired,
            s => s,
        }
    }

    /// The one answer to "may this grant be used now": `Ok` only while it is active and
    /// before its end. (Whose it is, is the caller's check: see `Access::active_grant`.)
    pub fn check_active(&self, now: i64) -> Result<(), GrantEnded> {
        match self.state_at(now) {
            GrantState::Active => Ok(()),
            GrantState::Expired => Err(GrantEnded::Expired),
            GrantState::Revoked => Err(GrantEnded::Revoked(
                self.revoke_reason.clone().unwrap_or_default(),
            )),
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::policy::Capability;

    /// A grant for unit tests: active, exec only, on `payments`.
    pub(crate) fn grant() -> Grant {
        Grant {
            id: "g".into(),
            request_id: "r".into(),
            subject: "s".into(),
            holder_email: None,
            holder_name: None,
            kube_user: "alice@example.test".into(),
            profile: "p".into(),
            kubernetes_groups: vec!["keyhole:p".into()],
            namespaces: vec!["payments".into()],
            pod_selector: BTreeMap::new(),
            pod: None,
            capabilities: [Capability::Exec].into_iter().collect(),
            reason: "r".into(),
            idle_timeout: None,
            exec_command: vec!["sh".into()],
            interactive: true,
            starts_at: 0,
            expires_at: 100,
            state: GrantState::Active,
            ended_at: None,
            revoked_by: None,
            revoke_reason: None,
        }
    }

    #[test]
    fn active_until_its_end_and_never_after_revocation() {
        let mut g = grant();
        assert_eq!(g.check_active(99), Ok(()));
        assert_eq!(g.check_active(100), Err(GrantEnded::Expired));
        assert_eq!(g.state_at(100), GrantState::Expired);
        g.state = GrantState::Revoked;
        g.revoke_reason = Some("handover".into());
        assert_eq!(
            g.check_active(0),
            Err(GrantEnded::Revoked("handover".into()))
        );
        assert_eq!(g.state_at(1000), GrantState::Revoked);
        g.state = GrantState::Expired;
        assert_eq!(g.check_active(0), Err(GrantEnded::Expired));
    }
}
