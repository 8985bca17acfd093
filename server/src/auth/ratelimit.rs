//! Failed logins per client address: a small token bucket keyed by the peer IP (IPv6 by its
//! /64, which one client usually holds whole). Each failed callback takes a token; tokens come
//! back at a steady rate; with none left, `/auth/callback` answers 429 at once and records
//! nothing. Full buckets are forgotten, so the map holds only addresses that failed recently.
//!
//! The key is the TCP peer, never `X-Forwarded-For` (anyone can write that header). Behind a
//! reverse proxy every client shares the proxy's address, so the limit becomes one budget for
//! everyone: size it with that in mind (see docs/security.md).

use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;

/// Failures allowed in a burst per address.
pub const FAILED_LOGIN_BURST: u32 = 10;
/// …refilled at this many per minute.
pub const FAILED_LOGIN_PERIOD: Duration = Duration::from_secs(60);
/// At most this many addresses are tracked; beyond it, the ones back to full are dropped
/// first, then the map is cleared (failing open for a moment beats unbounded memory).
const MAX_TRACKED: usize = 10_000;

/// A token bucket per client address.
#[derive(Debug)]
pub struct FailedLogins {
    burst: f64,
    per_sec: f64,
    buckets: Mutex<HashMap<IpAddr, Bucket>>,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

impl Default for FailedLogins {
    fn default() -> Self {
        Self::new(FAILED_LOGIN_BURST, FAILED_LOGIN_PERIOD)
    }
}

impl FailedLogins {
    /// `burst` failures, refilled at `burst` per `period`.
    pub fn new(burst: u32, period: Duration) -> Self {
        let burst = f64::from(burst.max(1));
        Self {
            burst,
            per_sec: burst / period.as_secs_f64().max(0.001),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    fn level(&self, b: Bucket, now: Instant) -> f64 {
        (b.tokens + now.saturating_duration_since(b.at).as_secs_f64() * self.per_sec)
            .min(self.burst)
    }

    /// `true` while `ip` may still fail a login (it has a token left).
    pub fn allowed(&self, ip: IpAddr, now: Instant) -> bool {
        let map = self
            .buckets
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        map.get(&key(ip)).is_none_or(|b| self.level(*b, now) >= 1.0)
    }

    /// Records one failed login from `ip` (takes a token).
    pub fn failed(&self, ip: IpAddr, now: Instant) {
        let mut map = self
            .buckets
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if map.len() >= MAX_TRACKED {
            map.retain(|_, b| self.level(*b, now) < self.burst);
            if map.len() >= MAX_TRACKED {
                map.clear();
            }
        }
        let level = map
            .get(&key(ip))
            .map_or(self.burst, |b| self.level(*b, now));
        map.insert(
            key(ip),
            Bucket {
                tokens: (level - 1.0).max(0.0),
                at: now,
            },
        );
    }
}

/// IPv4 as is (and IPv4-mapped IPv6 as IPv4); IPv6 by its /64.
fn key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::V6(Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
    }
}

/// The TCP peer's address, when the server was started with connect info (`lib::run` is);
/// `None` otherwise (e.g. a router driven directly in a test), which is never limited.
#[derive(Debug, Clone, Copy)]
pub struct PeerIp(pub Option<IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for PeerIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(PeerIp(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|ConnectInfo(addr)| addr.ip()),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ten_failures_a_minute_per_address() {
        let l = FailedLogins::default();
        let t0 = Instant::now();
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let b: IpAddr = "192.0.2.2".parse().unwrap();
        for _ in 0..10 {
            assert!(l.allowed(a, t0));
            l.failed(a, t0);
        }
        assert!(!l.allowed(a, t0), "the 11th failure in a burst is refused");
        assert!(l.allowed(b, t0), "other addresses are not affected");
        assert!(!l.allowed(a, t0 + Duration::from_secs(5)));
        assert!(
            l.allowed(a, t0 + Duration::from_secs(6)),
            "one token back after 6 s"
        );
        assert!(l.allowed(a, t0 + Duration::from_secs(600)));
    }

    #[test]
    fn ipv6_is_keyed_by_its_64_and_mapped_v4_as_v4() {
        let l = FailedLogins::new(1, Duration::from_secs(60));
        let t0 = Instant::now();
        l.failed("2001:db8:1:2::1".parse().unwrap(), t0);
        assert!(!l.allowed("2001:db8:1:2::ffff".parse().unwrap(), t0));
        assert!(l.allowed("2001:db8:1:3::1".parse().unwrap(), t0));
        l.failed("::ffff:192.0.2.7".parse().unwrap(), t0);
        assert!(!l.allowed("192.0.2.7".parse().unwrap(), t0));
    }

    #[test]
    fn the_map_stays_bounded() {
        let l = FailedLogins::new(1, Duration::from_secs(3600));
        let t0 = Instant::now();
        for i in 0..(MAX_TRACKED as u32 + 5) {
            l.failed(IpAddr::V4(i.into()), t0);
        }
        assert!(l.buckets.lock().unwrap().len() <= MAX_TRACKED);
    }
}
