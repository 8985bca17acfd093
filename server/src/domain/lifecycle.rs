//! The state machines of requests and grants, as pure functions.
//!
//! ```text
//!            review (not yet enough approvals)
//!              ┌──────┐
//!              ▼      │
//! request:  Pending ──┴─ approve ─▶ Approved ──▶ grant: Active ─ revoke ─▶ Revoked
//!              ├─ deny ──▶ Denied                         └────── expire ─▶ Expired
//!              ├─ cancel ▶ Cancelled
//!              └─ expire ▶ Expired
//! ```
//!
//! Every state but `Pending` and `Active` is final. The service asks [`request_transition`] /
//! [`grant_transition`] for the target state before touching the database, and the store makes
//! the same move with a conditional `UPDATE … WHERE state = <from>`, so two racing actors
//! cannot both move one request: the loser sees zero rows changed and gets a conflict.

pub use keyhole_protocol::access::{GrantState, RequestState};

/// Something that happens to a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestAction {
    /// An approval that does not yet reach the required count (N-of-M).
    Review,
    /// The last required approval, or an auto-approve rule.
    Approve,
    /// An approver said no.
    Deny,
    /// The requester withdrew it.
    Cancel,
    /// The pending timeout passed.
    Expire,
}

/// Something that happens to a grant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GrantAction {
    /// An approver or an admin ended it.
    Revoke,
    /// It reached `expires_at`.
    Expire,
}

/// A move the state machine does not allow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("cannot {action} a request that is {from}")]
pub struct IllegalTransition {
    /// The state it was in (its `as_str`).
    pub from: &'static str,
    /// What was tried.
    pub action: &'static str,
}

impl RequestAction {
    /// Every action, for exhaustive tests.
    pub const ALL: [RequestAction; 5] = [
        Self::Review,
        Self::Approve,
        Self::Deny,
        Self::Cancel,
        Self::Expire,
    ];

    /// A verb for messages.
    pub fn verb(self) -> &'static str {
        match self {
            Self::Review => "review",
            Self::Approve => "approve",
            Self::Deny => "deny",
            Self::Cancel => "cancel",
            Self::Expire => "expire",
        }
    }
}

impl GrantAction {
    /// Every action, for exhaustive tests.
    pub const ALL: [GrantAction; 2] = [Self::Revoke, Self::Expire];

    /// A verb for messages.
    pub fn verb(self) -> &'static str {
        match self {
            Self::Revoke => "revoke",
            Self::Expire => "expire",
        }
    }
}

/// The state a request moves to, or why it cannot.
pub fn request_transition(
    from: RequestState,
    action: RequestAction,
) -> Result<RequestState, IllegalTransition> {
    use RequestAction as A;
    use RequestState as S;
    match (from, action) {
        (S::Pending, A::Review) => Ok(S::Pending),
        (S::Pending, A::Approve) => Ok(S::Approved),
        (S::Pending, A::Deny) => Ok(S::Denied),
        (S::Pending, A::Cancel) => Ok(S::Cancelled),
        (S::Pending, A::Expire) => Ok(S::Expired),
        // Decisions are final: nothing leaves a decided state.
        (S::Approved | S::Denied | S::Cancelled | S::Expired, _) => Err(IllegalTransition {
            from: from.as_str(),
            action: action.verb(),
        }),
    }
}

/// The state a grant moves to, or why it cannot.
pub fn grant_transition(
    from: GrantState,
    action: GrantAction,
) -> Result<GrantState, IllegalTransition> {
    match (from, action) {
        (GrantState::Active, GrantAction::Revoke) => Ok(GrantState::Revoked),
        (GrantState::Active, GrantAction::Expire) => Ok(GrantState::Expired),
        (GrantState::Revoked | GrantState::Expired, _) => Err(IllegalTransition {
            from: from.as_str(),
            action: action.verb(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const REQUEST_STATES: [RequestState; 5] = [
        RequestState::Pending,
        RequestState::Approved,
        RequestState::Denied,
        RequestState::Cancelled,
        RequestState::Expired,
    ];
    const GRANT_STATES: [GrantState; 3] =
        [GrantState::Active, GrantState::Revoked, GrantState::Expired];

    #[test]
    fn pending_requests_move_as_drawn() {
        use RequestAction as A;
        use RequestState as S;
        for (action, to) in [
            (A::Review, S::Pending),
            (A::Approve, S::Approved),
            (A::Deny, S::Denied),
            (A::Cancel, S::Cancelled),
            (A::Expire, S::Expired),
        ] {
            assert_eq!(request_transition(S::Pending, action), Ok(to), "{action:?}");
        }
    }

    #[test]
    fn every_decided_request_refuses_every_action() {
        let mut checked = 0;
        for from in REQUEST_STATES
            .into_iter()
            .filter(|s| *s != RequestState::Pending)
        {
            for action in RequestAction::ALL {
                let err = request_transition(from, action).unwrap_err();
                assert_eq!(err.from, from.as_str());
                assert_eq!(err.action, action.verb());
                assert!(err.to_string().contains(from.as_str()), "{err}");
                checked += 1;
            }
        }
        // 4 final states × 5 actions: every illegal pair was tried.
        assert_eq!(checked, 20);
    }

    #[test]
    fn active_grants_move_as_drawn() {
        assert_eq!(
            grant_transition(GrantState::Active, GrantAction::Revoke),
            Ok(GrantState::Revoked)
        );
        assert_eq!(
            grant_transition(GrantState::Active, GrantAction::Expire),
            Ok(GrantState::Expired)
        );
    }

    #[test]
    fn every_ended_grant_refuses_every_action() {
        let mut checked = 0;
        for from in GRANT_STATES
            .into_iter()
            .filter(|s| *s != GrantState::Active)
        {
            for action in GrantAction::ALL {
                assert!(
                    grant_transition(from, action).is_err(),
                    "{from:?} {action:?}"
                );
                checked += 1;
            }
        }
        assert_eq!(checked, 4);
    }

    #[test]
    fn states_round_trip_their_spelling() {
        for s in REQUEST_STATES {
            assert_eq!(RequestState::parse(s.as_str()), Some(s));
        }
        for s in GRANT_STATES {
            assert_eq!(GrantState::parse(s.as_str()), Some(s));
        }
        assert_eq!(RequestState::parse("approved "), None);
    }
}
