//! Persistent state over SQLite (default) or PostgreSQL, through one code path.
//!
//! We use sqlx's `Any` driver with runtime queries (`$1` placeholders, which
//! both SQLite and PostgreSQL accept) and only portable column types: TEXT,
//! 64-bit integers (times are Unix seconds) — so every query is written once.
//! Each backend has its own migration directory (`server/migrations/{sqlite,postgres}`)
//! because DDL differs; migrations are embedded in the binary and run at start.
//!
//! Domain modules do not import `sqlx`; they call the typed functions here.

mod access;
mod auth_events;
mod leases;
mod lists;
mod metrics;
mod notify;
mod replicas;
mod terminal_sessions;
mod web_sessions;

pub use leases::GrantStatus;
pub use lists::{After, ListFilter, Visible};
pub use notify::{Listener, MAX_PAYLOAD as MAX_NOTIFY_PAYLOAD};

use std::str::FromStr;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, ConnectOptions};

pub use access::{AccessEventRow, ApproveOutcome, NewRequest, RequestRow, ReviewRow, Reviewer};
pub use auth_events::{AuthEvent, AuthEventKind};
pub use terminal_sessions::{NewTerminalSession, SessionListRow, TerminalSessionRow};
pub use web_sessions::WebSessionStore;

/// Which database the URL points at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// A local SQLite file (the embedded default).
    Sqlite,
    /// PostgreSQL, for several replicas.
    Postgres,
}

/// A cheap, cloneable handle to the database.
#[derive(Clone)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    /// PostgreSQL only: the URL again, for LISTEN connections (see `notify.rs`).
    listen_url: Option<std::sync::Arc<str>>,
    /// This process's id among the replicas sharing the database (`replicas.rs`); also the
    /// origin of the notifications it sends.
    replica_id: std::sync::Arc<str>,
    /// Times queries (`metrics.rs`); the server's registry once `with_metrics` set it.
    metrics: crate::metrics::Metrics,
}

/// Only the backend: the pool's options and the URL may carry a password.
impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("backend", &self.backend)
            .finish_non_exhaustive()
    }
}

/// Failures of the store; details go to the log, never to API clients.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Connecting or running a query failed.
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
    /// Running migrations failed.
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A stored value could not be decoded.
    #[error("corrupt stored value: {0}")]
    Corrupt(String),
}

impl Store {
    /// Connects, creating the SQLite file (and its directory) if needed, and migrates.
    pub async fn connect(url: &str) -> Result<Store, StoreError> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else {
            Backend::Postgres
        };
        let mut url = url.to_owned();
        if backend == Backend::Sqlite {
            if let Some(path) = sqlite_path(&url)
                && let Some(dir) = std::path::Path::new(&path).parent()
                && !dir.as_os_str().is_empty()
            {
                std::fs::create_dir_all(dir).map_err(|e| {
                    StoreError::Db(sqlx::Error::Configuration(
                        format!("cannot create {}: {e}", dir.display()).into(),
                    ))
                })?;
            }
            if !url.contains("mode=") {
                url.push_str(if url.contains('?') {
                    "&mode=rwc"
                } else {
                    "?mode=rwc"
                });
            }
        }
        let options = AnyConnectOptions::from_str(&url)?.disable_statement_logging();
        let pool = AnyPoolOptions::new()
            .max_connections(if backend == Backend::Sqlite { 4 } else { 16 })
            .acquire_timeout(Duration::from_secs(5))
            .after_connect(move |conn, _| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        // WAL lets readers run beside the single writer; the busy
                        // timeout turns lock contention into waiting, not errors.
                        sqlx::query("PRAGMA journal_mode = WAL")
                            .execute(&mut *conn)
                            .await?;
                        sqlx::query("PRAGMA busy_timeout = 5000")
                            .execute(&mut *conn)
                            .await?;
                        sqlx::query("PRAGMA foreign_keys = ON")
                            .execute(&mut *conn)
                            .await?;
                    }
                    Ok(())
                })
            })
            .connect_with(options)
            .await?;
        let listen_url = (backend == Backend::Postgres).then(|| url.as_str().into());
        let store = Store {
            pool,
            backend,
            listen_url,
            replica_id: uuid::Uuid::new_v4().simple().to_string().into(),
            metrics: Default::default(),
        };
        store.migrate().await?;
        Ok(store)
    }

    async fn migrate(&self) -> Result<(), StoreError> {
        match self.backend {
            Backend::Sqlite => sqlx::migrate!("migrations/sqlite").run(&self.pool).await?,
            Backend::Postgres => {
                sqlx::migrate!("migrations/postgres")
                    .run(&self.pool)
                    .await?;
            }
        }
        Ok(())
    }

    /// This process's replica id (random per start).
    pub fn replica_id(&self) -> &str {
        &self.replica_id
    }

    /// Which backend this is.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The pool, for the store's submodules.
    pub(crate) fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Readiness probe: one round trip.
    pub async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    /// Closes the pool (at shutdown).
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// The file path of a `sqlite://path?…` URL, or `None` for in-memory databases.
fn sqlite_path(url: &str) -> Option<String> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or_default();
    (!path.is_empty() && path != ":memory:").then(|| path.to_owned())
}

/// Current Unix time in seconds.
pub fn now_unix() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// Unix seconds (a grant's or a session's end) as an `Instant`, to sub-second precision; a
/// time in the past is now.
pub fn instant_of_unix(unix: i64) -> std::time::Instant {
    let now_ns = time::OffsetDateTime::now_utc().unix_timestamp_nanos();
    let left_ns = (i128::from(unix) * 1_000_000_000 - now_ns).max(0);
    std::time::Instant::now() + Duration::from_nanos(u64::try_from(left_ns).unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_paths() {
        assert_eq!(
            sqlite_path("sqlite://data/k.db").as_deref(),
            Some("data/k.db")
        );
        assert_eq!(sqlite_path("sqlite::memory:"), None);
        assert_eq!(
            sqlite_path("sqlite:///tmp/x.db?mode=rwc").as_deref(),
            Some("/tmp/x.db")
        );
    }

    #[tokio::test]
    async fn migrates_a_fresh_file_twice() {
        let dir = std::env::temp_dir().join(format!("keyhole-store-{}", uuid::Uuid::new_v4()));
        let url = format!("sqlite://{}/k.db", dir.display());
        let s = Store::connect(&url).await.unwrap();
        s.ping().await.unwrap();
        s.close().await;
        // Re-opening runs no migration twice and loses nothing.
        let s = Store::connect(&url).await.unwrap();
        s.ping().await.unwrap();
    }
}
