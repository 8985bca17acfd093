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

const ROUNDS: usize = 5;
const KEYS: usize = 1000;
const BYTES: u64 = 30_000_000;
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
    kube: &devstack::RunningKube,
) -> WsTerm<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>> {
    let base = kube.http_url.as_ref().unwrap().replace("http://", "ws://");
    let (ws, _) = tokio_tungstenite::connect_async(exec_request(&base, &kube.admin_token))
        .await
        .unwrap();
    let _ = ws.get_ref().get_ref_nodelay();
    WsTerm { ws }
}

trait NoDelay {
    fn get_ref_nodelay(&self);
}

impl NoDelay for tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream> {
    fn get_ref_nodelay(&self) {
        if let tokio_tungstenite::MaybeTlsStream::Plain(s) = self {
            let _ = s.set_nodelay(true);
        }
    }
}

async fn devstack_tls(
    kube: &devstack::RunningKube,
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

/// Echo round trips: alternately type `x` and DEL, each time waiting for its full echo.
async fn echo<T: Term>(t: &mut T) -> Vec<Duration> {
    settle(t, Duration::from_millis(300)).await;
    // Learn how many bytes each key echoes (readline may answer DEL with `\b \b` or `\b\e[K`).
    t.write(b"x").await;
    let x_len = settle(t, Duration::from_millis(100)).await.len();
    t.write(b"\x7f").await;
    let del_len = settle(t, Duration::from_millis(100)).await.len();
    let mut samples = Vec::with_capacity(KEYS);
    let mut sink = Vec::new();
    for i in 0..KEYS {
        let (key, want) = if i % 2 == 0 {
            (b"x", x_len)
        } else {
            (b"\x7f", del_len)
        };
        sink.clear();
        let start = Instant::now();
        t.write(key).await;
        while sink.len() < want {
            t.read_chunk(&mut sink).await;
        }
        samples.push(start.elapsed());
    }
    samples
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
    async fn measure<T: Term>(&mut self, mut t: T) {
        let mut s = echo(&mut t).await;
        self.p50.push(percentile(&mut s, 0.50));
        self.p99.push(percentile(&mut s, 0.99));
        self.mbps.push(throughput(&mut t).await);
    }
}

#[tokio::main]
async fn main() {
    let dir = tempfile::tempdir().unwrap();
    let mut opts = devstack::KubeOptions::new(dir.path());
    opts.http_listen = Some("127.0.0.1:0".parse().unwrap());
    let kube = devstack::start_kube(opts).await.unwrap();

    let (mut direct, mut plain, mut tls) = (Stats::default(), Stats::default(), Stats::default());
    for round in 0..ROUNDS {
        eprintln!("round {}/{ROUNDS}", round + 1);
        direct.measure(direct_pty()).await;
        plain.measure(devstack_plain(&kube).await).await;
        tls.measure(devstack_tls(&kube).await).await;
    }
    let d = (
        median(direct.p50.clone()),
        median(direct.p99.clone()),
        median(direct.mbps.clone()),
    );
    println!(
        "{KEYS} keystrokes and {BYTES} bytes of base64 per round, {ROUNDS} rounds, medians of rounds"
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
    kube.shutdown().await;
}
