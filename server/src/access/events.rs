//! Live events: every request and grant change is published once on a broadcast channel;
//! each `GET /api/events` stream filters it for its viewer. The event names what changed (ids,
//! profile, new state) and no more; the client then fetches what it may see.
//!
//! Who hears what: the requester hears about their own requests; approvers of the profile
//! hear about its requests (so a lead's queue updates within a second); auditors and admins
//! hear everything. Grant revocations and expiries also go to the terminal's channel
//! ([`super::GrantEvent`]).

use keyhole_protocol::access::{AccessEvent, AccessEventKind, RequestState};

use super::visibility::may_see;
use super::webhook::Notice;
use super::{Access, Caller, GrantEvent, LiveEvent};
use crate::store::{NewRequest, now_unix};

impl Access {
    /// Whether `caller` may receive `event`.
    pub fn may_see_event(&self, caller: &Caller, event: &AccessEvent) -> bool {
        let policy = self.inner.policy.current();
        may_see(&policy, caller, &event.requester, &event.profile)
    }

    /// Publishes a change to live viewers and webhooks. Never blocks, never fails: nobody
    /// listening is fine, and webhook delivery happens in the background.
    pub(super) fn publish(
        &self,
        kind: AccessEventKind,
        req: &NewRequest,
        state: RequestState,
        grant_id: Option<String>,
        detail: Option<(String, String)>,
    ) {
        let event = AccessEvent {
            kind,
            request_id: req.id.clone(),
            grant_id,
            profile: req.profile.clone(),
            requester: req.requester.clone(),
            state,
            at: now_unix(),
        };
        let _ = self.inner.live.send(LiveEvent::Change(event.clone()));
        self.fan_out(super::fanout::Wire::Access(event.clone()));
        self.inner.notifier.notify(Notice {
            event,
            requester: req
                .requester_name
                .clone()
                .or_else(|| req.requester_email.clone())
                .unwrap_or_else(|| req.requester.clone()),
            reason: req.reason.clone(),
            duration_seconds: req.duration_seconds,
            by_and_comment: detail,
        });
    }

    /// Tells this replica's open streams that a grant ended (other replicas heard it from the
    /// `NOTIFY` sent inside the ending transaction: [`Access::grant_end_notification`]).
    pub(super) fn publish_grant_end(&self, event: GrantEvent) {
        tracing::info!(grant = event.grant_id(), ?event, "grant ended");
        let _ = self.inner.grant_events.send(event);
    }
}
