//! Unit tests of the leases (kept apart so `lease.rs` stays readable).
use super::*;
use crate::store::now_unix;

#[tokio::test]
async fn leases_end_by_grant_and_session_and_unregister_on_drop() {
    let leases = Arc::new(Leases::new(
        LeaseConfig::default(),
        CancellationToken::new(),
    ));
    let mut a = leases.open(LeaseSpec {
        grant: Some(("g1".into(), "alice".into())),
        web_session: Some("sess-a".into()),
        ..Default::default()
    });
    let mut b = leases.open(LeaseSpec {
        web_session: Some("sess-b".into()),
        ..Default::default()
    });
    let c = leases.open(LeaseSpec::default());
    assert_eq!(leases.open_count(), 3);
    drop(c);
    assert_eq!(leases.open_count(), 2);
    assert_eq!(leases.end_grant("g1", &LeaseEnd::Expired), 1);
    assert_eq!(a.ended().await, LeaseEnd::Expired);
    // Asking again answers the same.
    assert_eq!(a.ended().await, LeaseEnd::Expired);
    assert_eq!(
        leases.end_session_key(&web_session_key("sess-b"), &LeaseEnd::LoggedOut),
        1
    );
    assert_eq!(b.ended().await, LeaseEnd::LoggedOut);
    assert_eq!(leases.open_count(), 0);
}

#[tokio::test(start_paused = true)]
async fn a_lease_ends_at_its_deadline() {
    let leases = Arc::new(Leases::new(
        LeaseConfig::default(),
        CancellationToken::new(),
    ));
    let mut l = leases.open(LeaseSpec {
        grant_expires_at: Some(now_unix() + 3600),
        session_ends_at: Some(now_unix() + 60),
        ..Default::default()
    });
    assert_eq!(l.ended().await, LeaseEnd::SessionExpired);
}

#[test]
fn session_keys_hide_the_id() {
    let k = web_session_key("secret-cookie-value");
    assert_eq!(k.len(), 32);
    assert!(!k.contains("secret"));
}
