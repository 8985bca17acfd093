//! The access broker: requests, reviews and time-bound grants, decided by the policy and kept
//! in the database. What RBAC alone cannot do: approval (never by the requester), time limits,
//! revocation, and a record of every step.
//!
//! # The service: one entry point, [`Access`], grouped by what it decides
//! Plain async methods, no HTTP (routes stay thin, benchmarks call them directly); every
//! failure is an [`AccessError`] (`error.rs`). SQL lives in `store::access`.
//!
//! | file | decides | methods |
//! |---|---|---|
//! | `requests.rs` | what a caller may request, and asks | `profiles`, `create_request`, `list_requests`, `get_request`, `policy_view` |
//! | `reviews.rs` | approvals and endings of requests | `approve`, `deny`, `cancel` |
//! | `grants.rs` | grants: whether one is active, revocation | `active_grant`, `grant_events`, `list_grants`, `revoke` |
//! | `visibility.rs` | who may see what; domain → wire types | `may_see_owned`, `may_revoke_profile`, `oversees_any` |
//! | `lease.rs`, `recheck.rs` | when an open stream must end | `lease`, `end_web_session` |
//!
//! # The rest
//! - `events.rs`: live events (a broadcast channel) and who may see each one.
//! - `fanout.rs`: the same events across replicas (PostgreSQL LISTEN/NOTIFY).
//! - `scheduler.rs`: expires pending requests and grants, every 250 ms.
//! - `webhook.rs`: notifications (generic JSON or Slack), retried in the background.
//! - `routes.rs`: the HTTP routes (including `GET /api/events`, Server-Sent Events);
//!   `openapi.rs`: the OpenAPI document at `/api/openapi.json`.
//!
//! State lives in the database (`store::access`); this module holds only channels, so any
//! number of [`Access`] clones share one broker.

mod error;
mod events;
mod fanout;
mod grants;
pub mod lease;
mod openapi;
mod page;
mod recheck;
mod requests;
mod reviews;
pub mod routes;
mod scheduler;
mod visibility;
mod webhook;

use std::sync::Arc;

use keyhole_protocol::access::AccessEvent;
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

pub use error::AccessError;
use error::check_text;
pub use grants::{GrantError, GrantEvent, GrantScope};
pub use lease::{Lease, LeaseConfig, LeaseEnd, LeaseSpec};
pub use page::{DEFAULT_LIMIT as PAGE_DEFAULT_LIMIT, MAX_LIMIT as PAGE_MAX_LIMIT, PageQuery};
pub use requests::RequestScope;

use crate::auth::Caller;
use crate::policy::PolicyHandle;
use crate::store::Store;

/// Capacity of the broadcast channels. A receiver that falls this far behind gets `Lagged`
/// (the SSE stream then tells the client to reload; the terminal re-checks its grant).
const CHANNEL_CAPACITY: usize = 1024;

/// The access broker: a cheap `Clone` handle, held in `AppState.access`.
#[derive(Clone)]
pub struct Access {
    inner: Arc<Inner>,
}

struct Inner {
    /// Requests, reviews, grants, audit rows.
    store: Store,
    /// The policy in force (hot-reloaded); asked afresh for every decision.
    policy: PolicyHandle,
    /// Grant revocations and expiries, for the terminal.
    grant_events: broadcast::Sender<GrantEvent>,
    /// Every request and grant change, for `GET /api/events` (filtered per viewer).
    live: broadcast::Sender<LiveEvent>,
    /// Webhook notifications (never blocks).
    notifier: webhook::Notifier,
    /// Other replicas (PostgreSQL only).
    fanout: Option<fanout::Fanout>,
    /// Every open stream's hold on its access (`lease.rs`).
    leases: Arc<lease::Leases>,
}

/// What live views (`GET /api/events`) hear.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LiveEvent {
    /// A request or grant changed; filter with [`Access::may_see_event`].
    Change(AccessEvent),
    /// Changes may have been missed (another replica's, while the connection that hears them
    /// was down): refetch.
    Resync,
}

impl Access {
    /// Creates the broker and starts its background tasks (the expiry scheduler and the
    /// webhook sender), which stop when `shutdown` is cancelled. `public_url` makes the links
    /// in notifications. Must be called inside a Tokio runtime.
    pub fn start(
        store: Store,
        policy: PolicyHandle,
        public_url: url::Url,
        shutdown: CancellationToken,
    ) -> Access {
        Self::start_with(store, policy, public_url, shutdown, LeaseConfig::default())
    }

    /// [`Access::start`] with the open streams' re-check settings.
    pub fn start_with(
        store: Store,
        policy: PolicyHandle,
        public_url: url::Url,
        shutdown: CancellationToken,
        leases: LeaseConfig,
    ) -> Access {
        let notifier = webhook::Notifier::spawn(policy.clone(), public_url, shutdown.clone());
        let fanout = fanout::Fanout::start(&store, &shutdown);
        let replicas = fanout.is_some();
        let access = Access {
            inner: Arc::new(Inner {
                store,
                policy,
                grant_events: broadcast::channel(CHANNEL_CAPACITY).0,
                live: broadcast::channel(CHANNEL_CAPACITY).0,
                notifier,
                fanout,
                leases: Arc::new(lease::Leases::new(leases, shutdown.clone())),
            }),
        };
        tokio::spawn(recheck::run(access.clone(), access.grant_events()));
        if replicas {
            tokio::spawn(fanout::listen_loop(access.clone(), shutdown.clone()));
        }
        tokio::spawn(scheduler::run(access.clone(), shutdown));
        access
    }

    /// A receiver of every live event from now on; filter with [`Access::may_see_event`].
    pub fn live_events(&self) -> broadcast::Receiver<LiveEvent> {
        self.inner.live.subscribe()
    }
}
