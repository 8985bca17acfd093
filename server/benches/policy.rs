//! Policy decision benchmark: `cargo bench -p keyhole --bench policy`.
//!
//! A policy of 200 profiles (one per team, each with its own request, approval and auto-approve
//! groups) and users carrying 24 IdP groups, as tokens from a large company do. Measures the
//! calls the access service makes per request and per review. Target: ≤ 10 µs each.
//!
//! Plain `Instant` loops, no framework: each sample times a batch of calls, and the report gives
//! the mean and the p50/p99 of the per-call time over the samples.

use std::hint::black_box;
use std::time::{Duration, Instant};

use keyhole::policy::{Policy, RequestDecision, RequestInput};

const PROFILES: usize = 200;
const SAMPLES: usize = 2_000;
const BATCH: usize = 200;

fn policy_text() -> String {
    let mut src = String::from(
        "version: 1\nroles:\n  leads: [platform-leads]\n  auditors: [auditors]\nprofiles:\n",
    );
    for i in 0..PROFILES {
        src.push_str(&format!(
            "  - name: team-{i}-debug
    namespaces: [team-{i}, team-{i}-jobs]
    capabilities: [exec, logs]
    kubernetes_groups: [\"keyhole:team-{i}-debug\"]
    default_duration: 30m
    max_duration: 4h
    request: {{ groups: [team-{i}-oncall, team-{i}-devs, team-{i}-leads] }}
    approval: {{ groups: [team-{i}-leads, platform-leads], required: 2 }}
    auto_approve:
      - {{ groups: [team-{i}-oncall], max_duration: 30m }}
      - {{ groups: [team-{i}-devs], capabilities: [logs] }}
"
        ));
    }
    src.push_str(
        "command_rules:\n  - { name: no-rm, action: deny, programs: [rm], flags: [-r] }\n",
    );
    src
}

/// 24 groups, the interesting ones last (the worst case for a linear scan).
fn user_groups(team: usize, role: &str) -> Vec<String> {
    let mut groups: Vec<String> = (0..22).map(|i| format!("org-wide-group-{i}")).collect();
    groups.push("vpn-users".into());
    groups.push(format!("team-{team}-{role}"));
    groups
}

/// Runs `f` in batches and prints mean, p50 and p99 nanoseconds per call.
fn bench(name: &str, mut f: impl FnMut()) -> Duration {
    for _ in 0..BATCH * 10 {
        f();
    }
    let mut per_call = Vec::with_capacity(SAMPLES);
    let start = Instant::now();
    for _ in 0..SAMPLES {
        let t = Instant::now();
        for _ in 0..BATCH {
            f();
        }
        per_call.push(t.elapsed().as_nanos() as f64 / BATCH as f64);
    }
    let mean = start.elapsed().as_nanos() as f64 / (SAMPLES * BATCH) as f64;
    per_call.sort_by(f64::total_cmp);
    let p50 = per_call[SAMPLES / 2];
    let p99 = per_call[SAMPLES * 99 / 100];
    println!("{name:<44} mean {mean:>8.0} ns   p50 {p50:>8.0} ns   p99 {p99:>8.0} ns");
    Duration::from_nanos(p99 as u64)
}

fn main() {
    let policy = Policy::from_str(&policy_text(), "bench.yaml").expect("bench policy is valid");
    assert_eq!(policy.profiles().len(), PROFILES);
    let last = format!("team-{}-debug", PROFILES - 1);
    let oncall = user_groups(PROFILES - 1, "oncall");
    let devs = user_groups(PROFILES - 1, "devs");
    let lead = user_groups(PROFILES - 1, "leads");
    let outsider = user_groups(7, "oncall");
    let request = |minutes: u64| RequestInput {
        profile: &last,
        duration: Duration::from_secs(minutes * 60),
        capabilities: None,
    };
    let (short, long) = (request(30), request(120));
    assert!(matches!(
        policy.decide_request(&oncall, &short),
        RequestDecision::AutoApproved { .. }
    ));
    assert!(matches!(
        policy.decide_request(&devs, &long),
        RequestDecision::Pending { .. }
    ));
    assert!(matches!(
        policy.decide_request(&outsider, &short),
        RequestDecision::Denied { .. }
    ));

    println!(
        "policy decisions: {PROFILES} profiles, users with {} groups",
        oncall.len()
    );
    let mut worst = Duration::ZERO;
    let mut run = |name, f: &mut dyn FnMut()| worst = worst.max(bench(name, f));
    run("decide_request (auto-approved)", &mut || {
        black_box(policy.decide_request(black_box(&oncall), black_box(&short)));
    });
    run("decide_request (pending, no rule matches)", &mut || {
        black_box(policy.decide_request(black_box(&devs), black_box(&long)));
    });
    run("decide_request (denied, not a requester)", &mut || {
        black_box(policy.decide_request(black_box(&outsider), black_box(&short)));
    });
    run("may_approve", &mut || {
        black_box(policy.may_approve(black_box(&lead), black_box(&last)));
    });
    run("check_review (allowed)", &mut || {
        black_box(policy.check_review("bob", black_box(&lead), "alice", black_box(&last)))
            .expect("bob may review");
    });
    run("check_review (not an approver)", &mut || {
        black_box(policy.check_review("carol", black_box(&outsider), "alice", &last)).ok();
    });
    println!("-- not on the per-request path (informational):");
    bench("roles_for", || {
        black_box(policy.roles_for(black_box(&oncall)));
    });
    bench("requestable_profiles (group index)", || {
        black_box(policy.requestable_profiles(black_box(&oncall)));
    });
    let verdict = if worst <= Duration::from_micros(10) {
        "within"
    } else {
        "OVER"
    };
    println!("worst p99 of the decisions: {worst:?} ({verdict} the 10 µs target)");
}
