//! Prometheus metrics: one registry per server instance (no global state, so several servers can
//! run in one process), behind a cheap `Clone` handle, [`Metrics`].
//!
//! The handle is built with the rest of the state (`lib.rs`) and reaches the code that counts:
//! `AppState.metrics` (HTTP, `/metrics`), `Terminal.metrics` (sessions), the store (query
//! times; the access service asks it for the decision counter). Database gauges
//! (`keyhole_grants_active`, `keyhole_requests`) are not kept here: they are counted at scrape
//! time and encoded with [`Metrics::encode`], so they are never stale.
//!
//! Label values come from closed sets (close reasons, route templates, policy rule names,
//! fixed query names), never from request input, so the number of series stays bounded.
//!
//! - `relay.rs`: what a terminal's relay counts (bytes, drops), reached through a task-local
//!   scope; the open-terminal guard.

mod relay;

use std::sync::Arc;
use std::time::Instant;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::encoding::prometheus_text;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

pub use relay::{OpenTerminal, RelayMeters};

use crate::policy::RequestDecision;

/// The `Content-Type` of `/metrics` (Prometheus text format 0.0.4).
pub const CONTENT_TYPE: &str = prometheus_text::CONTENT_TYPE;

/// The request states `keyhole_requests{state}` always reports (0 when there are none).
pub const REQUEST_STATES: [&str; 5] = ["pending", "approved", "denied", "cancelled", "expired"];

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DirectionLabel {
    direction: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct QueueLabel {
    queue: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReasonLabel {
    reason: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StateLabel {
    state: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DecisionLabels {
    decision: &'static str,
    rule: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct QueryLabel {
    query: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct HttpLabels {
    method: &'static str,
    route: String,
    status: u16,
}

type QueryHistograms = Family<QueryLabel, Histogram, fn() -> Histogram>;

/// One server's metrics. Cheap to clone (an `Arc`).
#[derive(Clone)]
pub struct Metrics {
    inner: Arc<Inner>,
}

struct Inner {
    registry: Registry,
    terminals_open: Gauge,
    closed: Family<ReasonLabel, Counter>,
    relay: RelayMeters,
    decisions: Family<DecisionLabels, Counter>,
    db_queries: QueryHistograms,
    http: Family<HttpLabels, Counter>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

/// Database query times: 0.5 ms to about 8 s.
fn query_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.0005, 2.0, 15))
}

impl Metrics {
    /// A fresh registry with every metric registered.
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("keyhole");
        let terminals_open = Gauge::default();
        registry.register(
            "terminals_open",
            "Terminal sessions relaying right now",
            terminals_open.clone(),
        );
        let bytes = Family::<DirectionLabel, Counter>::default();
        registry.register(
            "terminal_bytes",
            "Terminal bytes relayed, by direction (to_pod: input, to_browser: output)",
            bytes.clone(),
        );
        let closed = Family::<ReasonLabel, Counter>::default();
        registry.register(
            "terminals_closed",
            "Terminal sessions ended, by close reason",
            closed.clone(),
        );
        let dropped = Family::<QueueLabel, Counter>::default();
        registry.register(
            "relay_dropped",
            "Terminal messages dropped because the browser stopped reading (to_browser), and \
             sessions cut because the pod stopped accepting input (to_pod)",
            dropped.clone(),
        );
        let decisions = Family::<DecisionLabels, Counter>::default();
        registry.register(
            "access_decisions",
            "Policy outcomes of access request creation (auto_approved by which rule, pending, \
             refused)",
            decisions.clone(),
        );
        let db_queries: QueryHistograms = Family::new_with_constructor(query_histogram);
        registry.register(
            "db_query_duration_seconds",
            "Time of selected database queries (lease re-checks, scrape counts, readiness)",
            db_queries.clone(),
        );
        let http = Family::<HttpLabels, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests answered, by method, route template and status",
            http.clone(),
        );
        // Created up front, so both directions and queues are exported (at 0) from the start.
        let bytes_of = |direction| bytes.get_or_create_owned(&DirectionLabel { direction });
        let dropped_of = |queue| dropped.get_or_create_owned(&QueueLabel { queue });
        let relay = RelayMeters {
            to_pod_bytes: bytes_of("to_pod"),
            to_browser_bytes: bytes_of("to_browser"),
            to_pod_dropped: dropped_of("to_pod"),
            to_browser_dropped: dropped_of("to_browser"),
        };
        Metrics {
            inner: Arc::new(Inner {
                registry,
                terminals_open,
                closed,
                relay,
                decisions,
                db_queries,
                http,
            }),
        }
    }

    /// The Prometheus text exposition of every metric, plus the database gauges counted for
    /// this scrape (a gauge whose count failed is left out rather than reported stale).
    pub fn encode(&self, db: &DbCounts) -> Result<String, std::fmt::Error> {
        let mut out = String::new();
        prometheus_text::encode(&mut out, &self.inner.registry)?;
        let mut scrape = Registry::with_prefix("keyhole");
        if let Some(n) = db.grants_active {
            let g: Gauge = Gauge::default();
            g.set(n);
            scrape.register("grants_active", "Grants active now", g);
        }
        if let Some(counts) = &db.requests {
            let family = Family::<StateLabel, Gauge>::default();
            for state in REQUEST_STATES {
                family
                    .get_or_create(&StateLabel {
                        state: state.into(),
                    })
                    .set(0);
            }
            for (state, n) in counts {
                family
                    .get_or_create(&StateLabel {
                        state: state.clone(),
                    })
                    .set(*n);
            }
            scrape.register("requests", "Access requests, by state", family);
        }
        prometheus_text::encode(&mut out, &scrape)?;
        Ok(out)
    }

    /// A terminal session starts relaying; it counts as open until the guard is dropped.
    pub fn terminal_opened(&self) -> OpenTerminal {
        OpenTerminal::new(self.inner.terminals_open.clone())
    }

    /// A terminal session ended with `reason` (a `CloseReason` string).
    pub fn terminal_closed(&self, reason: &str) {
        self.inner
            .closed
            .get_or_create(&ReasonLabel {
                reason: reason.to_owned(),
            })
            .inc();
    }

    /// The counters a session's relay updates (see [`RelayMeters::scope`]).
    pub fn relay(&self) -> RelayMeters {
        self.inner.relay.clone()
    }

    /// Counts the policy's answer to a new request for `profile`. Only an auto-approval names
    /// a rule (`<profile>/auto_approve[<index>]`; the profile exists then); otherwise `none`,
    /// so names typed by users never become label values.
    pub fn access_decision(&self, profile: &str, decision: &RequestDecision) {
        let (decision, rule) = match decision {
            RequestDecision::AutoApproved { rule } => {
                ("auto_approved", format!("{profile}/auto_approve[{rule}]"))
            }
            RequestDecision::Pending { .. } => ("pending", "none".to_owned()),
            RequestDecision::Denied { .. } => ("refused", "none".to_owned()),
        };
        self.inner
            .decisions
            .get_or_create(&DecisionLabels { decision, rule })
            .inc();
    }

    /// Times one database query: its duration is observed when the timer is dropped.
    pub fn db_timer(&self, query: &'static str) -> DbTimer {
        DbTimer {
            histogram: self
                .inner
                .db_queries
                .get_or_create_owned(&QueryLabel { query }),
            start: Instant::now(),
        }
    }

    /// The current value of one exposed series (name plus labels), for tests.
    #[cfg(test)]
    pub(crate) fn sample(&self, series: &str) -> Option<f64> {
        let text = self.encode(&DbCounts::default()).ok()?;
        text.lines()
            .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
    }

    /// Counts one answered HTTP request. `route` is the matched route template (or
    /// `unmatched`); unusual methods are counted as `other`.
    pub fn http_request(&self, method: &http::Method, route: &str, status: u16) {
        let labels = HttpLabels {
            method: method_label(method),
            route: route.to_owned(),
            status,
        };
        self.inner.http.get_or_create(&labels).inc();
    }
}

/// The database gauges counted for one scrape; `None` = the count failed.
#[derive(Debug, Default, Clone)]
pub struct DbCounts {
    /// Grants active and not past their end.
    pub grants_active: Option<i64>,
    /// Requests per state.
    pub requests: Option<Vec<(String, i64)>>,
}

/// Observes a query's duration when dropped (so failed queries are timed too).
pub struct DbTimer {
    histogram: Histogram,
    start: Instant,
}

impl Drop for DbTimer {
    fn drop(&mut self) {
        self.histogram.observe(self.start.elapsed().as_secs_f64());
    }
}

/// A bounded label for an HTTP method.
fn method_label(method: &http::Method) -> &'static str {
    use http::Method;
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::PATCH => "PATCH",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

#[cfg(test)]
mod tests;
