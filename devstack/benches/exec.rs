//! Exec through devstack vs the same shell on a bare PTY: keystroke echo round trip (p50/p99)
//! and output throughput, measured on loopback with a native (tokio-tungstenite) client.
//!
//! Run: `cargo bench -p devstack --bench exec` (release profile). Method in docs/performance.md.
//! Contenders are interleaved per round (A B C A B C …) and medians of the rounds reported.

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::{SinkExt as _, StreamExt as _};
use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _};
use tokio_rustls::rustls;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;

const ROUNDS: usize = 3;
/// Keystrokes per contender per round, typed in blocks (`EXEC_BENCH_BLOCK`, default 1: every
/// key goes to each contender in turn, i.e. paired samples).
const KEYS: usize = 2000;
/// Bytes fed to base64 per throughput run, [`REPEATS`] runs per contender per round.
const BYTES: u64 = 20_000_000;
const REPEATS: usize = 2;
const SHELL: [&str; 3] = ["bash", "--norc", "--noprofile"];

/// One terminal under test: write keystrokes, read output.
#[allow(async_fn_in_trait)]
trait Term {
    async fn write(&mut self, bytes: &[u8]);
    /// Reads at least one chunk of output; returns its length.
    async fn read_chunk(&mut self, sink: &mut Vec<u8>) -> usize;
}

struct Pty {
    pty: pty_process::Pty,
    _child: tokio::process::Child,
    buf: Vec<u8>,
}

impl Term for Pty {
    async fn write(&mut self, bytes: &[u8]) {
        self.pty.write_all(bytes).await.unwrap();
    }
    async fn read_chunk(&mut self, sink: &mut Vec<u8>) -> usize {
        let n = self.pty.read(&mut self.buf).await.unwrap();
        sink.extend_from_slice(&self.buf[..n]);
        n
    }
}

struct WsTerm<S> {
    ws: tokio_tungstenite::WebSocketStream<S>,
}

impl<S: AsyncRead + AsyncWrite + Unpin> Term for WsTerm<S> {
    async fn write(&mut self, bytes: &[u8]) {
        let mut msg = Vec::with_capacity(bytes.len() + 1);
        msg.push(0);
        msg.extend_from_slice(bytes);
        self.ws.send(Message::Binary(msg.into())).await.unwrap();
    }
    async fn read_chunk(&mut self, sink: &mut Vec<u8>) -> usize {
        loop {
            match self.ws.next().await.unwrap().unwrap() {
                Message::Binary(b) if b.len() > 1 && b[0] == 1 => {
                    sink.extend_from_slice(&b[1..]);
                    return b.len() - 1;
                }
                Message::Close(_) => panic!("session closed"),
                _ => {}
            }
        }
    }
}

fn direct_pty() -> Pty {
    let (pty, pts) = pty_process::open().unwrap();
    pty.resize(pty_process::Size::new(24, 80)).unwrap();
    let child = pty_process::Command::new(SHELL[0])
        .args(&SHELL[1..])
        .env("TERM", "xterm-256color")
        .env("PS1", "$ ")
        .kill_on_drop(true)
        .spawn(pts)
        .unwrap();
    Pty {
        pty,
        _child: child,
        buf: vec![0; 32 * 1024],
    }
}

fn exec_request(
    base: &str,
    token: &str,
) -> tokio_tungstenite::tungstenite::handshake::client::Request {
    let cmd: String = SHELL.iter().map(|a| format!("&command={a}")).collect();
    let url = format!(
        "{base}/api/v1/namespaces/payments/pods/checkout-7d9f-abc12/exec?stdin=true&stdout=true&tty=true{cmd}"
    );
    let mut req = url.into_client_request().unwrap();
    req.headers_mut()
        .insert("authorization", format!("Bearer {token}").parse().unwrap());
    req.headers_mut().insert(
        "sec-websocket-protocol",
        "v5.channel.k8s.io".parse().unwrap(),
    );
    req
}

async fn devstack_plain(
    kube: &Server,
) -> WsTerm<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>> {
    let base = kube.http_url.as_ref().unwrap().replace("http://", "ws://");
    let (ws, _) = tokio_tungstenite::connect_async(exec_request(&base, &kube.admin_token))
        .await
        .unwrap();
    if let tokio_tungstenite::MaybeTlsStream::Plain(tcp) = ws.get_ref() {
        tcp.set_nodelay(true).unwrap();
    }
    WsTerm { ws }
}

async fn devstack_tls(
    kube: &Server,
) -> WsTerm<tokio_rustls::client::TlsStream<tokio::net::TcpStream>> {
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(rustls::pki_types::CertificateDer::from(kube.ca_der.clone()))
        .unwrap();
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let addr = kube.https_url.trim_start_matches("https://").to_owned();
    let tcp = tokio::net::TcpStream::connect(&addr).await.unwrap();
    tcp.set_nodelay(true).unwrap();
    let name = rustls::pki_types::ServerName::try_from("127.0.0.1").unwrap();
    let tls = tokio_rustls::TlsConnector::from(Arc::new(config))
        .connect(name, tcp)
        .await
        .unwrap();
    let base = format!("wss://{addr}");
    let (ws, _) = tokio_tungstenite::client_async(exec_request(&base, &kube.admin_token), tls)
        .await
        .unwrap();
    WsTerm { ws }
}

/// Waits until output has been quiet for `idle`.
async fn settle<T: Term>(t: &mut T, idle: Duration) -> Vec<u8> {
    let mut got = Vec::new();
    while tokio::time::timeout(idle, t.read_chunk(&mut got))
        .await
        .is_ok()
    {}
    got
}

/// How many bytes each key echoes (readline may answer DEL with `\b \b` or `\b\e[K`).
#[derive(Clone, Copy)]
struct EchoLens {
    x: usize,
    del: usize,
}

async fn calibrate<T: Term>(t: &mut T) -> EchoLens {
    settle(t, Duration::from_millis(300)).await;
    t.write(b"x").await;
    let x = settle(t, Duration::from_millis(100)).await.len();
    t.write(b"\x7f").await;
    let del = settle(t, Duration::from_millis(100)).await.len();
    EchoLens { x, del }
}

/// `keys` echo round trips (even, so the line ends empty): alternately `x` and DEL, each time
/// waiting for its full echo.
async fn echo_block<T: Term>(t: &mut T, lens: EchoLens, keys: usize, samples: &mut Vec<Duration>) {
    let mut sink = Vec::new();
    for i in 0..keys {
        let (key, want) = if i % 2 == 0 {
            (b"x", lens.x)
        } else {
            (b"\x7f", lens.del)
        };
        sink.clear();
        let start = Instant::now();
        t.write(key).await;
        while sink.len() < want {
            t.read_chunk(&mut sink).await;
        }
        samples.push(start.elapsed());
    }
}

/// Output throughput in MB/s (bytes received by the client, after tty newline translation).
async fn throughput<T: Term>(t: &mut T) -> f64 {
    settle(t, Duration::from_millis(200)).await;
    let cmd = format!("head -c {BYTES} /dev/zero | base64; echo __EN\"\"D__\r");
    let start = Instant::now();
    t.write(cmd.as_bytes()).await;
    let mut window = Vec::new();
    let mut total = 0usize;
    loop {
        let n = t.read_chunk(&mut window).await;
        total += n;
        if window.windows(7).any(|w| w == b"__END__") {
            break;
        }
        let keep = window.len().saturating_sub(16);
        window.drain(..keep);
    }
    total as f64 / start.elapsed().as_secs_f64() / 1e6
}

fn percentile(samples: &mut [Duration], p: f64) -> f64 {
    samples.sort();
    let idx = ((samples.len() as f64 - 1.0) * p).round() as usize;
    samples[idx].as_secs_f64() * 1e6
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

#[derive(Default)]
struct Stats {
    p50: Vec<f64>,
    p99: Vec<f64>,
    mbps: Vec<f64>,
}

impl Stats {
    fn push(&mut self, samples: &mut [Duration], mbps: &[f64]) {
        self.p50.push(percentile(samples, 0.50));
        self.p99.push(percentile(samples, 0.99));
        self.mbps.push(mbps.iter().sum::<f64>() / mbps.len() as f64);
    }
}

/// Fraction of CPU time busy over `window`, from /proc/stat.
fn busy(window: Duration) -> f64 {
    let sample = || -> (u64, u64) {
        let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
        let cpu: Vec<u64> = stat
            .lines()
            .next()
            .unwrap_or_default()
            .split_whitespace()
            .skip(1)
            .filter_map(|v| v.parse().ok())
            .collect();
        let idle = cpu.get(3).copied().unwrap_or(0) + cpu.get(4).copied().unwrap_or(0);
        (cpu.iter().sum(), idle)
    };
    let (t0, i0) = sample();
    std::thread::sleep(window);
    let (t1, i1) = sample();
    let total = (t1 - t0).max(1) as f64;
    1.0 - (i1 - i0) as f64 / total
}

/// Waits (up to 3 minutes) for the machine to be quiet (< 12% busy), as docs/performance.md ("How to measure") asks;
/// returns the busy fraction seen last.
fn wait_quiet() -> f64 {
    let deadline = Instant::now() + Duration::from_secs(180);
    loop {
        let b = busy(Duration::from_millis(500));
        if b < 0.12 || Instant::now() > deadline {
            return b;
        }
    }
}

/// What the client needs to know about the server.
struct Server {
    http_url: Option<String>,
    https_url: String,
    ca_der: Vec<u8>,
    admin_token: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// devstack on its own thread and 2-worker runtime, like a separate process would be, so the
/// client does not share its scheduler.
fn start_server() -> Server {
    let (info_tx, info_rx) = std::sync::mpsc::channel();
    let (stop, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let thread = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let dir = tempfile::tempdir().unwrap();
            let mut opts = devstack::KubeOptions::new(dir.path());
            opts.http_listen = Some("127.0.0.1:0".parse().unwrap());
            let kube = devstack::start_kube(opts).await.unwrap();
            let info = (
                kube.http_url.clone(),
                kube.https_url.clone(),
                kube.ca_der.clone(),
                kube.admin_token.clone(),
            );
            info_tx.send(info).unwrap();
            let _ = stop_rx.await;
            kube.shutdown().await;
        });
    });
    let (http_url, https_url, ca_der, admin_token) = info_rx.recv().unwrap();
    Server {
        http_url,
        https_url,
        ca_der,
        admin_token,
        stop: Some(stop),
        thread: Some(thread),
    }
}

/// The client (and the bare PTY) run on one thread, like a terminal client process.
#[tokio::main(flavor = "current_thread")]
async fn main() {
    let mut kube = start_server();
    let block: usize = std::env::var("EXEC_BENCH_BLOCK")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|b| *b > 0 && KEYS.is_multiple_of(*b))
        .unwrap_or(1);

    let (mut direct, mut plain, mut tls) = (Stats::default(), Stats::default(), Stats::default());
    let mut busiest = 0.0f64;
    for round in 0..ROUNDS {
        let b = wait_quiet();
        busiest = busiest.max(b);
        eprintln!(
            "round {}/{ROUNDS} (machine {:.0}% busy before it)",
            round + 1,
            b * 100.0
        );
        // All three sessions stay open and take turns in small blocks, so load changes on
        // this shared machine hit every contender alike.
        let (mut a, mut p, mut t) = (
            direct_pty(),
            devstack_plain(&kube).await,
            devstack_tls(&kube).await,
        );
        let (la, lp, lt) = (
            calibrate(&mut a).await,
            calibrate(&mut p).await,
            calibrate(&mut t).await,
        );
        let (mut sa, mut sp, mut st) = (Vec::new(), Vec::new(), Vec::new());
        // Rotate which contender goes first, so no one always follows the same other.
        for i in 0..KEYS / block {
            for j in 0..3 {
                match (i + j) % 3 {
                    0 => echo_block(&mut a, la, block, &mut sa).await,
                    1 => echo_block(&mut p, lp, block, &mut sp).await,
                    _ => echo_block(&mut t, lt, block, &mut st).await,
                }
            }
        }
        let (mut ma, mut mp, mut mt) = (Vec::new(), Vec::new(), Vec::new());
        for _ in 0..REPEATS {
            ma.push(throughput(&mut a).await);
            mp.push(throughput(&mut p).await);
            mt.push(throughput(&mut t).await);
        }
        direct.push(&mut sa, &ma);
        plain.push(&mut sp, &mp);
        tls.push(&mut st, &mt);
    }
    let d = (
        median(direct.p50.clone()),
        median(direct.p99.clone()),
        median(direct.mbps.clone()),
    );
    println!(
        "{KEYS} keystrokes (blocks of {block}, interleaved) and {REPEATS}x{BYTES} bytes through base64 \
         per contender per round, {ROUNDS} rounds, medians of rounds"
    );
    println!("| path | echo p50 µs | echo p99 µs | output MB/s | vs direct |");
    println!("|---|---|---|---|---|");
    println!(
        "| bare PTY (bash --norc) | {:.1} | {:.1} | {:.1} | 100% |",
        d.0, d.1, d.2
    );
    for (name, s) in [
        ("devstack exec, ws:// (plain HTTP)", &plain),
        ("devstack exec, wss:// (TLS)", &tls),
    ] {
        let (p50, p99, mbps) = (
            median(s.p50.clone()),
            median(s.p99.clone()),
            median(s.mbps.clone()),
        );
        println!(
            "| {name} | {p50:.1} (+{:.1}) | {p99:.1} | {mbps:.1} | {:.0}% |",
            p50 - d.0,
            mbps / d.2 * 100.0
        );
    }
    let _ = kube.stop.take().unwrap().send(());
    kube.thread.take().unwrap().join().unwrap();
}
