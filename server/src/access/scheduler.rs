//! Ends what is due: pending requests past their timeout and grants past their end.
//!
//! Ticks every 250 ms, so with one-second timestamps an expiry takes effect at most 1.25 s
//! after its deadline second begins, and usually well within one second. (Nothing relies on
//! the tick for safety: [`super::Access::active_grant`] and every review already treat a past
//! deadline as expired; the tick makes the change visible and tells open terminals.) Each row
//! moves with a conditional UPDATE, so two replicas ticking at once end it only once.

use std::time::Duration;

use keyhole_protocol::access::{AccessEventKind, RequestState};
use tokio_util::sync::CancellationToken;

use super::{Access, GrantEvent};
use crate::store::now_unix;

/// How often the scheduler looks for due rows.
pub(super) const TICK: Duration = Duration::from_millis(250);

/// Runs until `shutdown` is cancelled.
pub(super) async fn run(access: Access, shutdown: CancellationToken) {
    let mut ticks = tokio::time::interval(TICK);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = ticks.tick() => {}
        }
        if let Err(e) = access.expire_due(now_unix()).await {
            // Fail closed is already guaranteed by the deadline checks; log and try again.
            tracing::warn!(error = %e, "access scheduler: expiring due rows failed");
        }
    }
}

impl Access {
    /// Expires everything due at `now`; publishes each change.
    pub(super) async fn expire_due(&self, now: i64) -> Result<(), crate::store::StoreError> {
        let store = &self.inner.store;
        for req in store.expire_requests(now).await? {
            tracing::info!(request = %req.new.id, "pending request expired");
            self.publish(
                AccessEventKind::RequestExpired,
                &req.new,
                RequestState::Expired,
                None,
                None,
            );
        }
        let notify = |g: &crate::domain::Grant| {
            self.grant_end_notification(&GrantEvent::Expired {
                grant_id: g.id.clone(),
            })
        };
        for grant in store.expire_grants(now, notify).await? {
            self.publish_grant_end(GrantEvent::Expired {
                grant_id: grant.id.clone(),
            });
            if let Some(req) = store.request(&grant.request_id).await? {
                self.publish(
                    AccessEventKind::GrantExpired,
                    &req.new,
                    RequestState::Approved,
                    Some(grant.id),
                    None,
                );
            }
        }
        Ok(())
    }
}
