//! Terminal session rows outlive a crash: this process registers itself as a replica, keeps
//! its heartbeat while it runs, closes the rows of processes that stopped without closing them
//! (`gateway_lost`, on SQLite and PostgreSQL alike), and closes its own rows at a clean stop
//! (`server_shutdown`). The SQL is in `store/replicas.rs`.

use std::time::Duration;

use anyhow::Context;
use keyhole_protocol::terminal::CloseReason;
use tokio_util::sync::CancellationToken;

use crate::store::{Store, now_unix};

/// How often this process says it is alive.
pub const HEARTBEAT: Duration = Duration::from_secs(10);
/// A process not seen for this long is gone; its open sessions are closed as lost.
pub const LOST_AFTER: Duration = Duration::from_secs(60);

/// At start: register, and close what dead processes left open.
pub async fn start(store: &Store) -> anyhow::Result<()> {
    let now = now_unix();
    store
        .register_replica(now)
        .await
        .context("cannot register this gateway in the database")?;
    sweep(store, now).await;
    Ok(())
}

/// Closes sessions of processes not seen for [`LOST_AFTER`]; logs what it did.
async fn sweep(store: &Store, now: i64) {
    let stale_before = now - LOST_AFTER.as_secs() as i64;
    match store.end_lost_terminal_sessions(now, stale_before).await {
        Ok(0) => {}
        Ok(n) => tracing::warn!(
            sessions = n,
            "closed terminal sessions whose gateway process stopped without closing them \
             (reason: gateway_lost)"
        ),
        Err(e) => tracing::warn!(error = %e, "could not close sessions of lost gateway processes"),
    }
}

/// Heartbeat and sweep until `shutdown`.
pub fn spawn_heartbeat(store: Store, shutdown: CancellationToken) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(HEARTBEAT);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut n: u64 = 0;
        loop {
            tokio::select! {
                () = shutdown.cancelled() => return,
                _ = tick.tick() => {}
            }
            n += 1;
            let now = now_unix();
            if let Err(e) = store.replica_heartbeat(now).await {
                tracing::warn!(error = %e, "replica heartbeat failed");
                continue;
            }
            // Every sixth beat (once a minute): look for sessions of dead processes.
            if n.is_multiple_of(6) {
                sweep(&store, now).await;
            }
        }
    })
}

/// At a clean stop: close this process's open session rows (the relays were told to stop,
/// but their own row updates may not run before the runtime ends).
pub async fn stop(store: &Store) {
    match store
        .end_own_terminal_sessions(now_unix(), CloseReason::ServerShutdown)
        .await
    {
        Ok(0) => {}
        Ok(n) => tracing::info!(sessions = n, "closed open terminal sessions at shutdown"),
        Err(e) => tracing::warn!(error = %e, "could not close terminal sessions at shutdown"),
    }
}
