//! Tests of the registry: names, labels, guards, the task-local relay scope, scrape gauges.

use std::time::Duration;

use super::*;

/// The value of the series `series` (name plus labels, as exposed), if present.
fn value(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

fn encoded(m: &Metrics) -> String {
    m.encode(&DbCounts::default()).unwrap()
}

#[test]
fn every_metric_is_exposed_with_help_and_type() {
    let m = Metrics::new();
    let text = encoded(&m);
    // Families with labels appear with their first series; these exist from the start.
    for name in [
        "keyhole_terminals_open",
        "keyhole_terminal_bytes_total",
        "keyhole_relay_dropped_total",
    ] {
        assert!(text.contains(&format!("# HELP {name} ")), "{name}: {text}");
    }
    m.terminal_closed("exited");
    m.access_decision("p", &RequestDecision::AutoApproved { rule: 0 });
    drop(m.db_timer("readiness_ping"));
    m.http_request(&http::Method::GET, "/healthz", 200);
    let used = encoded(&m);
    for (name, kind) in [
        ("keyhole_terminals_open", "gauge"),
        ("keyhole_terminal_bytes_total", "counter"),
        ("keyhole_terminals_closed_total", "counter"),
        ("keyhole_relay_dropped_total", "counter"),
        ("keyhole_access_decisions_total", "counter"),
        ("keyhole_db_query_duration_seconds", "histogram"),
        ("keyhole_http_requests_total", "counter"),
    ] {
        assert!(
            used.contains(&format!("# TYPE {name} {kind}\n")),
            "{name}: {used}"
        );
        assert!(used.contains(&format!("# HELP {name} ")), "{name}");
    }
    assert_eq!(value(&text, "keyhole_terminals_open"), Some(0.0));
    for series in [
        "keyhole_terminal_bytes_total{direction=\"to_pod\"}",
        "keyhole_terminal_bytes_total{direction=\"to_browser\"}",
        "keyhole_relay_dropped_total{queue=\"to_pod\"}",
        "keyhole_relay_dropped_total{queue=\"to_browser\"}",
    ] {
        assert_eq!(value(&text, series), Some(0.0), "{series}");
    }
    // A failed (or skipped) count is left out, never reported stale.
    assert!(!text.contains("keyhole_grants_active"));
    assert!(!text.contains("keyhole_requests{"));
}

#[test]
fn scrape_gauges_report_every_state() {
    let db = DbCounts {
        grants_active: Some(3),
        requests: Some(vec![("pending".into(), 2), ("approved".into(), 5)]),
    };
    let text = Metrics::new().encode(&db).unwrap();
    assert!(
        text.contains("# TYPE keyhole_grants_active gauge"),
        "{text}"
    );
    assert_eq!(value(&text, "keyhole_grants_active"), Some(3.0));
    assert_eq!(
        value(&text, "keyhole_requests{state=\"pending\"}"),
        Some(2.0)
    );
    assert_eq!(
        value(&text, "keyhole_requests{state=\"approved\"}"),
        Some(5.0)
    );
    assert_eq!(
        value(&text, "keyhole_requests{state=\"denied\"}"),
        Some(0.0)
    );
    assert_eq!(
        value(&text, "keyhole_requests{state=\"expired\"}"),
        Some(0.0)
    );
}

#[test]
fn the_open_guard_counts_until_dropped_and_servers_do_not_mix() {
    let (a, b) = (Metrics::new(), Metrics::new());
    let one = a.terminal_opened();
    let two = a.terminal_opened();
    assert_eq!(value(&encoded(&a), "keyhole_terminals_open"), Some(2.0));
    assert_eq!(value(&encoded(&b), "keyhole_terminals_open"), Some(0.0));
    drop(one);
    drop(two);
    a.terminal_closed("revoked");
    let text = encoded(&a);
    assert_eq!(value(&text, "keyhole_terminals_open"), Some(0.0));
    assert_eq!(
        value(&text, "keyhole_terminals_closed_total{reason=\"revoked\"}"),
        Some(1.0)
    );
}

#[test]
fn decisions_name_the_rule_only_when_auto_approved() {
    let m = Metrics::new();
    m.access_decision("payments-debug", &RequestDecision::AutoApproved { rule: 1 });
    m.access_decision(
        "payments-debug",
        &RequestDecision::Pending {
            required_approvals: 1,
            pending_timeout: Duration::from_secs(60),
        },
    );
    m.access_decision(
        "<typed by a user>",
        &RequestDecision::Denied {
            reason: crate::policy::DenyReason::UnknownProfile,
        },
    );
    let text = encoded(&m);
    let auto = "keyhole_access_decisions_total{decision=\"auto_approved\",\
                rule=\"payments-debug/auto_approve[1]\"}";
    assert_eq!(value(&text, auto), Some(1.0), "{text}");
    let pending = "keyhole_access_decisions_total{decision=\"pending\",rule=\"none\"}";
    assert_eq!(value(&text, pending), Some(1.0));
    let refused = "keyhole_access_decisions_total{decision=\"refused\",rule=\"none\"}";
    assert_eq!(value(&text, refused), Some(1.0));
    assert!(!text.contains("typed by a user"));
}

#[test]
fn query_timers_and_http_counts() {
    let m = Metrics::new();
    drop(m.db_timer("readiness_ping"));
    m.http_request(&http::Method::GET, "/api/me", 200);
    m.http_request(
        &http::Method::from_bytes(b"BREW").unwrap(),
        "unmatched",
        404,
    );
    let text = encoded(&m);
    let count = "keyhole_db_query_duration_seconds_count{query=\"readiness_ping\"}";
    assert_eq!(value(&text, count), Some(1.0), "{text}");
    let me = "keyhole_http_requests_total{method=\"GET\",route=\"/api/me\",status=\"200\"}";
    assert_eq!(value(&text, me), Some(1.0), "{text}");
    let other = "keyhole_http_requests_total{method=\"other\",route=\"unmatched\",status=\"404\"}";
    assert_eq!(value(&text, other), Some(1.0), "{text}");
}

#[tokio::test]
async fn relay_counters_are_found_only_inside_a_scope() {
    assert!(RelayMeters::current().is_none());
    let m = Metrics::new();
    m.relay()
        .scope(async {
            let meters = RelayMeters::current().expect("in scope");
            meters.to_pod(3);
            meters.to_browser(5);
            meters.dropped_to_browser(2);
            meters.stalled_to_pod();
        })
        .await;
    let text = encoded(&m);
    let series = |s: &str| value(&text, s);
    assert_eq!(
        series("keyhole_terminal_bytes_total{direction=\"to_pod\"}"),
        Some(3.0)
    );
    assert_eq!(
        series("keyhole_terminal_bytes_total{direction=\"to_browser\"}"),
        Some(5.0)
    );
    assert_eq!(
        series("keyhole_relay_dropped_total{queue=\"to_browser\"}"),
        Some(2.0)
    );
    assert_eq!(
        series("keyhole_relay_dropped_total{queue=\"to_pod\"}"),
        Some(1.0)
    );
}
