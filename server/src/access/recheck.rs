//! The re-check: every `access.recheck_seconds` (jittered), and at once after missed events,
//! ask the database about every grant and web session that open streams depend on, in one
//! batched query per kind, and end the leases whose access is gone. If the database cannot
//! answer for `access.verify_grace_seconds`, every lease ends as unverifiable (fail closed).

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use keyhole_protocol::access::GrantState;
use rand::Rng;
use tokio::sync::broadcast;
use tokio::time::Instant;

use super::lease::{LeaseEnd, Leases};
use super::{Access, GrantEvent};
use crate::store::{GrantStatus, Store, now_unix};

/// What the database said about a grant, for one holder, at `now`.
fn grant_verdict(status: Option<&GrantStatus>, subject: &str, now: i64) -> Option<LeaseEnd> {
    let Some(g) = status.filter(|g| g.subject == subject) else {
        return Some(LeaseEnd::GrantGone);
    };
    match g.state {
        Some(GrantState::Active) if g.expires_at > now => None,
        Some(GrantState::Active | GrantState::Expired) => Some(LeaseEnd::Expired),
        Some(GrantState::Revoked) => Some(LeaseEnd::Revoked {
            reason: g.revoke_reason.clone().unwrap_or_default(),
            by: g.revoked_by.clone(),
        }),
        None => Some(LeaseEnd::Unverifiable("unknown grant state".into())),
    }
}

/// One re-check of every open lease against the database.
async fn recheck(leases: &Leases, store: &Store) -> Result<usize, crate::store::StoreError> {
    let (grant_ids, session_ids, alive) = leases.snapshot();
    if grant_ids.is_empty() && session_ids.is_empty() {
        return Ok(0);
    }
    let now = now_unix();
    let grants: HashMap<String, GrantStatus> = if grant_ids.is_empty() {
        HashMap::new()
    } else {
        store
            .grant_statuses(&grant_ids)
            .await?
            .into_iter()
            .map(|g| (g.id.clone(), g))
            .collect()
    };
    let live: HashSet<String> = if session_ids.is_empty() {
        HashSet::new()
    } else {
        if !alive.is_empty() {
            let until = now + leases.config.idle.as_secs() as i64;
            store.touch_web_sessions(&alive, now, until).await?;
        }
        store
            .live_web_sessions(&session_ids, now)
            .await?
            .into_iter()
            .collect()
    };
    // Only the ids asked about are judged: a lease opened meanwhile waits for the next turn.
    let asked_grants: HashSet<&String> = grant_ids.iter().collect();
    let asked_sessions: HashSet<&String> = session_ids.iter().collect();
    Ok(leases.end_where(|e| {
        if let Some((g, subject)) = &e.grant
            && asked_grants.contains(g)
            && let Some(end) = grant_verdict(grants.get(g), subject, now)
        {
            return Some(end);
        }
        match &e.web_session {
            Some(s) if asked_sessions.contains(s) && !live.contains(s) => {
                Some(LeaseEnd::SessionExpired)
            }
            _ => None,
        }
    }))
}

/// The re-check period with ±20 % jitter, so replicas do not query in lockstep.
fn jittered(period: Duration) -> Duration {
    let f = rand::thread_rng().gen_range(0.8..1.2);
    period.mul_f64(f)
}

/// Ends leases on grant events, and re-checks them all on a timer; until `shutdown`, when
/// every lease ends with [`LeaseEnd::Shutdown`].
pub(super) async fn run(access: Access, mut events: broadcast::Receiver<GrantEvent>) {
    let leases = &access.inner.leases;
    let store = &access.inner.store;
    let config = leases.config;
    let mut last_ok = Instant::now();
    let mut next = Instant::now() + jittered(config.recheck);
    loop {
        let check = tokio::select! {
            biased;
            () = leases.shutdown.cancelled() => {
                leases.end_where(|_| Some(LeaseEnd::Shutdown));
                return;
            }
            ev = events.recv() => match ev {
                Ok(GrantEvent::Revoked { grant_id, reason, by }) => {
                    leases.end_grant(&grant_id, &LeaseEnd::Revoked { reason, by: Some(by) });
                    false
                }
                Ok(GrantEvent::Expired { grant_id }) => {
                    leases.end_grant(&grant_id, &LeaseEnd::Expired);
                    false
                }
                Ok(GrantEvent::WebSessionEnded { session, logged_out }) => {
                    let end = if logged_out { LeaseEnd::LoggedOut } else { LeaseEnd::SessionExpired };
                    leases.end_session_key(&session, &end);
                    false
                }
                // Events may have been missed: ask the database now.
                Ok(GrantEvent::Resync) | Err(broadcast::error::RecvError::Lagged(_)) => true,
                Err(broadcast::error::RecvError::Closed) => return,
            },
            () = tokio::time::sleep_until(next) => true,
        };
        if !check {
            continue;
        }
        match recheck(leases, store).await {
            Ok(ended) => {
                if ended > 0 {
                    tracing::info!(streams = ended, "access re-check closed streams");
                }
                last_ok = Instant::now();
                next = Instant::now() + jittered(config.recheck);
            }
            Err(e) => {
                let down = last_ok.elapsed();
                if down >= config.grace {
                    let n = leases.end_where(|e| {
                        (e.grant.is_some() || e.web_session.is_some()).then(|| {
                            LeaseEnd::Unverifiable(format!(
                                "database unreachable for {} s",
                                down.as_secs()
                            ))
                        })
                    });
                    tracing::error!(error = %e, streams = n, "cannot verify access: closed every open stream (fail closed)");
                } else {
                    tracing::warn!(error = %e, "access re-check failed; retrying");
                }
                // Try again soon, but never later than the grace period allows.
                let retry = Duration::from_secs(1).min(config.recheck);
                next = Instant::now() + retry;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(state: &str, expires_at: i64) -> GrantStatus {
        GrantStatus {
            id: "g".into(),
            subject: "alice".into(),
            state: GrantState::parse(state),
            expires_at,
            revoke_reason: Some("done".into()),
            revoked_by: Some("bob".into()),
        }
    }

    #[test]
    fn verdicts_fail_closed() {
        let now = 100;
        assert_eq!(
            grant_verdict(Some(&status("active", 200)), "alice", now),
            None
        );
        assert_eq!(
            grant_verdict(Some(&status("active", 100)), "alice", now),
            Some(LeaseEnd::Expired)
        );
        assert_eq!(
            grant_verdict(Some(&status("active", 200)), "mallory", now),
            Some(LeaseEnd::GrantGone)
        );
        assert_eq!(grant_verdict(None, "alice", now), Some(LeaseEnd::GrantGone));
        assert!(matches!(
            grant_verdict(Some(&status("revoked", 200)), "alice", now),
            Some(LeaseEnd::Revoked { .. })
        ));
        assert!(matches!(
            grant_verdict(Some(&status("weird", 200)), "alice", now),
            Some(LeaseEnd::Unverifiable(_))
        ));
    }
}
