//! `pods/log`: the whole log or its tail, and `follow=true` as a chunked `text/plain` stream
//! that stays open while the file grows.
//!
//! Growth: one background ticker appends a plausible line per second to each log that someone
//! is following (and only those, so an idle devstack costs nothing), then wakes the followers.
//! Followers also re-check the file every second, so lines appended by anything else (an exec
//! doing `echo >> app.log`) are picked up too.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use futures::Stream;
use tokio::io::{AsyncReadExt as _, AsyncSeekExt as _};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

/// Followed log files: how many followers each has and how to wake them.
#[derive(Debug, Default)]
pub struct LogHub {
    /// A std mutex: only touched for a moment, never across an `.await`.
    followed: Mutex<HashMap<PathBuf, Followed>>,
}

/// One followed log file.
#[derive(Debug)]
struct Followed {
    /// Live followers; the entry goes when this drops to zero.
    count: usize,
    /// Wakes followers after an append.
    notify: Arc<Notify>,
    /// Container name written in generated lines.
    component: String,
}

/// Keeps a file in the ticker's set while a follower lives.
struct FollowGuard {
    hub: Arc<LogHub>,
    path: PathBuf,
}

impl Drop for FollowGuard {
    fn drop(&mut self) {
        let mut map = self
            .hub
            .followed
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(entry) = map.get_mut(&self.path) {
            entry.count -= 1;
            if entry.count == 0 {
                map.remove(&self.path);
            }
        }
    }
}

impl LogHub {
    fn follow(self: &Arc<Self>, path: &Path, component: &str) -> (FollowGuard, Arc<Notify>) {
        let mut map = self
            .followed
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let entry = map.entry(path.to_owned()).or_insert_with(|| Followed {
            count: 0,
            notify: Arc::new(Notify::new()),
            component: component.to_owned(),
        });
        entry.count += 1;
        let guard = FollowGuard {
            hub: self.clone(),
            path: path.to_owned(),
        };
        (guard, entry.notify.clone())
    }

    /// Appends a line to each followed log once a second until `shutdown`.
    pub async fn run_ticker(self: Arc<Self>, shutdown: CancellationToken) {
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut n = 1000u64;
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                () = shutdown.cancelled() => return,
            }
            let targets: Vec<(PathBuf, Arc<Notify>, String)> = {
                let map = self
                    .followed
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                map.iter()
                    .map(|(p, f)| (p.clone(), f.notify.clone(), f.component.clone()))
                    .collect()
            };
            for (path, notify, component) in targets {
                n += 1;
                let line = log_line(&component, time::OffsetDateTime::now_utc(), n);
                if let Err(e) = append(&path, &line).await {
                    tracing::debug!(path = %path.display(), error = %e, "cannot append log line");
                }
                notify.notify_waiters();
            }
        }
    }
}

async fn append(path: &Path, line: &str) -> std::io::Result<()> {
    use tokio::io::AsyncWriteExt as _;
    let mut f = tokio::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(path)
        .await?;
    f.write_all(line.as_bytes()).await
}

/// The last `n` lines of `content` (all of it when `n` is `None`).
pub fn tail(content: &[u8], n: Option<usize>) -> &[u8] {
    let Some(n) = n else { return content };
    if n == 0 {
        return &content[content.len()..];
    }
    // Skip a trailing newline so it does not count as an empty last line.
    let body = content.strip_suffix(b"\n").unwrap_or(content);
    let mut seen = 0;
    for (i, b) in body.iter().enumerate().rev() {
        if *b == b'\n' {
            seen += 1;
            if seen == n {
                return &content[i + 1..];
            }
        }
    }
    content
}

/// One plausible log line for `component`.
pub fn log_line(component: &str, at: time::OffsetDateTime, n: u64) -> String {
    const ROUTES: [&str; 6] = [
        "/healthz",
        "/api/v1/orders",
        "/api/v1/cart",
        "/api/v1/payments",
        "/metrics",
        "/api/v1/search",
    ];
    let ts = crate::audit::micro_time(at);
    let route = ROUTES[(n % ROUTES.len() as u64) as usize];
    let ms = 3 + (n * 7919) % 240;
    let (level, status) = if n.is_multiple_of(23) {
        ("WARN", 503)
    } else {
        ("INFO", 200)
    };
    format!(
        "{ts} {level} {component}: GET {route} status={status} duration={ms}ms request_id={n:08x}\n"
    )
}

/// What `GET …/log` asked for.
#[derive(Debug, Clone, Default)]
pub struct LogRequest {
    /// Keep streaming as the file grows.
    pub follow: bool,
    /// Only the last N lines.
    pub tail_lines: Option<usize>,
    /// Stop after this many bytes (not with follow).
    pub limit_bytes: Option<usize>,
}

/// Reads the log for a non-follow request.
pub async fn read_log(path: &Path, req: &LogRequest) -> std::io::Result<Vec<u8>> {
    let content = tokio::fs::read(path).await.or_else(|e| match e.kind() {
        std::io::ErrorKind::NotFound => Ok(Vec::new()),
        _ => Err(e),
    })?;
    let mut out = tail(&content, req.tail_lines).to_vec();
    if let Some(limit) = req.limit_bytes {
        out.truncate(limit);
    }
    Ok(out)
}

/// A `follow=true` body: the tail, then new bytes as they are appended, until the client goes
/// away (the stream is dropped) or devstack shuts down.
pub async fn follow_log(
    hub: &Arc<LogHub>,
    path: &Path,
    container: &str,
    req: &LogRequest,
    shutdown: CancellationToken,
) -> std::io::Result<impl Stream<Item = std::io::Result<Bytes>> + Send + 'static> {
    let mut file = tokio::fs::File::open(path).await?;
    let mut initial = Vec::new();
    file.read_to_end(&mut initial).await?;
    let offset = initial.len() as u64;
    let first = tail(&initial, req.tail_lines).to_vec();
    let (guard, notify) = hub.follow(path, container);
    file.seek(std::io::SeekFrom::Start(offset)).await?;

    struct State {
        file: tokio::fs::File,
        first: Option<Vec<u8>>,
        notify: Arc<Notify>,
        shutdown: CancellationToken,
        _guard: FollowGuard,
    }
    let state = State {
        file,
        first: Some(first),
        notify,
        shutdown,
        _guard: guard,
    };
    Ok(futures::stream::unfold(state, |mut st| async move {
        if let Some(first) = st.first.take() {
            return Some((Ok(Bytes::from(first)), st));
        }
        let mut buf = vec![0u8; 16 * 1024];
        loop {
            // Register interest before reading so an append between the read and the wait is
            // not missed.
            let notify = st.notify.clone();
            let notified = notify.notified();
            match st.file.read(&mut buf).await {
                Ok(0) => {}
                Ok(n) => {
                    buf.truncate(n);
                    return Some((Ok(Bytes::from(buf)), st));
                }
                Err(e) => return Some((Err(e), st)),
            }
            tokio::select! {
                () = notified => {}
                () = tokio::time::sleep(Duration::from_secs(1)) => {}
                () = st.shutdown.cancelled() => return None,
            }
        }
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tail_counts_lines() {
        let text = b"a\nb\nc\n";
        assert_eq!(tail(text, Some(2)), b"b\nc\n");
        assert_eq!(tail(text, Some(10)), text);
        assert_eq!(tail(text, Some(0)), b"");
        assert_eq!(tail(text, None), text);
        assert_eq!(tail(b"a\nb", Some(1)), b"b");
    }

    #[test]
    fn log_lines_look_like_logs() {
        let line = log_line("checkout", time::OffsetDateTime::UNIX_EPOCH, 5);
        assert!(
            line.starts_with("1970-01-01T00:00:00.000000Z INFO checkout: GET"),
            "{line}"
        );
        assert!(line.ends_with('\n'));
    }
}
