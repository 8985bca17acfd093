//! Terminal benchmark: `cargo bench -p keyhole --bench terminal` (release; prints numbers).
//!
//! Three processes, as in a deployment: devstack's API server (this bench binary re-executed
//! with `KEYHOLE_BENCH_ROLE=devstack`), the real `keyhole` binary pointed at it through a
//! kubeconfig (context `gateway`), and this process with the clients (and the dev OIDC issuer,
//! which is off the measured paths). The gateway's RSS is the gateway alone, and neither
//! client shares a process (or a runtime's worker threads) with the API server. Then, in one
//! run:
//! 1. memory per idle session: RSS of the gateway before and after opening N terminals
//!    (`TERMINAL_BENCH_SESSIONS`, default 1000), each through the browser protocol;
//! 2. keystroke echo round trip (p50/p99) over four paths, paired key by key (`echo.rs`):
//!    Keyhole (a tokio-tungstenite client speaking the browser's protocol), kube-rs direct as
//!    devstack's admin, the same through a byte-copying proxy process (the floor of any
//!    gateway), and a single-task client speaking the exec protocol itself; and output
//!    throughput (100 MB of base64), Keyhole and kube-rs direct interleaved per round;
//! 3. what permessage-deflate would cost, on frames Keyhole really sent (`deflate.rs`).
//!
//! Echo is measured against `cat` on a raw TTY (`stty raw -echo; exec cat`), so each key
//! comes back as exactly one byte and no shell line editing is timed.

#[path = "terminal/deflate.rs"]
mod deflate;
#[path = "terminal/echo.rs"]
mod echo;
#[path = "terminal/roles.rs"]
mod roles;

#[path = "../tests/common/mod.rs"]
#[allow(unused_imports)]
mod common;

use std::time::{Duration, Instant};

use common::{Browser, WsStream, ws_connect};
use echo::EchoPath;
use futures::{SinkExt, StreamExt};
use k8s_openapi::api::core::v1::Pod;
use kube::api::{AttachParams, AttachedProcess};
use tokio::io::AsyncReadExt;
use tokio_tungstenite::tungstenite::Message;

const POD: &str = "checkout-7d9f-abc12";
const KEYS_PER_ROUND: usize = 500;
const OUTPUT_RAW: u64 = 75_000_000; // → 100,000,000 bytes of base64
const MARK: &[u8] = b"DONE-42";

struct Stack {
    url: String,
    child: std::process::Child,
    apiserver: std::process::Child,
    _idp: devstack::idp::RunningIdp,
    kubeconfig: std::path::PathBuf,
}

impl Drop for Stack {
    fn drop(&mut self) {
        for c in [&mut self.child, &mut self.apiserver] {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

async fn start() -> Stack {
    let dir = std::env::temp_dir().join(format!("keyhole-bench-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(dir.join("dist")).unwrap();
    std::fs::write(
        dir.join("dist/index.html"),
        "<!DOCTYPE html><title>bench</title>",
    )
    .unwrap();
    let apiserver = roles::start_apiserver(&dir);
    let kubeconfig = dir.join("kubeconfig");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}");
    let idp = devstack::idp::start(devstack::idp::IdpOptions {
        listen: "127.0.0.1:0".parse().unwrap(),
        clients: vec![devstack::idp::IdpClient {
            client_id: "bench".into(),
            client_secret: "bench-secret".into(),
            redirect_uris: vec![format!("{url}/auth/callback")],
        }],
        ..Default::default()
    })
    .await
    .unwrap();
    let mut gateway = std::process::Command::new(env!("CARGO_BIN_EXE_keyhole"));
    if let Ok(n) = std::env::var("TERMINAL_BENCH_GATEWAY_WORKERS") {
        gateway.env("TOKIO_WORKER_THREADS", n);
    }
    let child = gateway
        .arg("serve")
        .env("KEYHOLE_LISTEN", format!("127.0.0.1:{port}"))
        .env("KEYHOLE_PUBLIC_URL", &url)
        .env("KEYHOLE_DIST_DIR", dir.join("dist"))
        .env("KEYHOLE_DATA_DIR", &dir)
        .env(
            "KEYHOLE_DATABASE_URL",
            format!("sqlite://{}/k.db", dir.display()),
        )
        .env("KEYHOLE_OIDC_ISSUER", idp.issuer())
        .env("KEYHOLE_OIDC_CLIENT_ID", "bench")
        .env("KEYHOLE_OIDC_CLIENT_SECRET", "bench-secret")
        .env("KEYHOLE_KUBERNETES_KUBECONFIG", &kubeconfig)
        .env("KEYHOLE_KUBERNETES_CONTEXT", "gateway")
        .env("KEYHOLE_LOG", "warn")
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(dir.join("keyhole.log")).unwrap())
        .spawn()
        .unwrap();
    let http = reqwest::Client::new();
    let mut up = false;
    for _ in 0..200 {
        if http.get(format!("{url}/healthz")).send().await.is_ok() {
            up = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        up,
        "keyhole did not start:\n{}",
        std::fs::read_to_string(dir.join("keyhole.log")).unwrap_or_default()
    );
    Stack {
        url,
        child,
        apiserver,
        _idp: idp,
        kubeconfig,
    }
}

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap()
}

async fn open(stack: &Stack, b: &Browser, grant: &str) -> WsStream {
    let path = format!("/api/grants/{grant}/pods/payments/{POD}/terminal?cols=120&rows=40");
    let mut ws = ws_connect(
        &stack.url,
        &path,
        b.session_cookie().as_deref(),
        Some(&stack.url),
    )
    .await
    .expect("terminal opens");
    // hello, then the prompt.
    let mut seen_output = false;
    while !seen_output {
        match ws.next().await {
            Some(Ok(Message::Binary(_))) => seen_output = true,
            Some(Ok(_)) => {}
            other => panic!("session ended early: {other:?}"),
        }
    }
    ws
}

/// Reads binary frames until nothing arrives for `quiet`.
async fn drain<W>(ws: &mut W, quiet: Duration)
where
    W: futures::Stream<Item = Result<Message, tokio_tungstenite::tungstenite::Error>> + Unpin,
{
    while let Ok(Some(Ok(_))) = tokio::time::timeout(quiet, ws.next()).await {}
}

async fn direct_exec(client: &kube::Client, cmd: &str) -> AttachedProcess {
    let api: kube::Api<Pod> = kube::Api::namespaced(client.clone(), "payments");
    let ap = AttachParams::interactive_tty().max_stdout_buf_size(64 * 1024);
    api.exec(POD, ["/bin/sh", "-c", cmd], &ap).await.unwrap()
}

/// The four echo paths, each with `cat` on a raw TTY: Keyhole (browser protocol), kube-rs
/// `AttachedProcess` direct, the same through a byte-copying proxy process, and a single-task
/// client speaking the exec channel protocol over kube-rs's connection (no task or pipes).
async fn echo_paths(
    stack: &Stack,
    alice: &Browser,
    grant: &str,
    direct: &kube::Client,
    via_proxy: &kube::Client,
) -> Vec<EchoPath> {
    use kube::core::Resource;
    const CAT: &str = "stty raw -echo; exec cat";
    let mut ws = open(stack, alice, grant).await;
    ws.send(Message::Binary(format!("{CAT}\r").into_bytes().into()))
        .await
        .unwrap();
    drain(&mut ws, Duration::from_millis(300)).await;
    let keyhole = EchoPath::Ws {
        ws: Box::new(ws),
        prefix: Vec::new(),
    };
    let attached = EchoPath::attached(direct_exec(direct, CAT).await);
    let proxied = EchoPath::attached(direct_exec(via_proxy, CAT).await);
    let req = kube::core::Request::new(Pod::url_path(&(), Some("payments")))
        .exec(
            POD,
            ["/bin/sh", "-c", CAT],
            &AttachParams::interactive_tty(),
        )
        .unwrap();
    let mut raw = direct.connect(req).await.unwrap().into_stream();
    drain(&mut raw, Duration::from_millis(300)).await;
    let raw = EchoPath::Ws {
        ws: Box::new(raw),
        prefix: vec![0],
    };
    vec![keyhole, attached, proxied, raw]
}

fn has_mark(tail: &mut Vec<u8>, chunk: &[u8]) -> bool {
    tail.extend_from_slice(chunk);
    let found = tail.windows(MARK.len()).any(|w| w == MARK);
    let keep = tail.len().saturating_sub(MARK.len());
    tail.drain(..keep);
    found
}

/// Runs `cmd` (with echo off) and returns the output frames exactly as Keyhole sent them.
async fn keyhole_frames(ws: &mut WsStream, cmd: &str) -> Vec<Vec<u8>> {
    let line = format!("stty -echo; {cmd}; echo DONE-$((40+2))\r");
    ws.send(Message::Binary(line.into_bytes().into()))
        .await
        .unwrap();
    let (mut frames, mut tail) = (Vec::new(), Vec::new());
    loop {
        match ws.next().await {
            Some(Ok(Message::Binary(b))) => {
                let done = has_mark(&mut tail, &b);
                frames.push(b.to_vec());
                if done {
                    return frames;
                }
            }
            Some(Ok(_)) => {}
            other => panic!("capture ended: {other:?}"),
        }
    }
}

fn throughput_cmd() -> String {
    format!("head -c {OUTPUT_RAW} /dev/zero | base64 -w 0; echo DONE-$((40+2))")
}

async fn keyhole_throughput(ws: &mut WsStream) -> (f64, u64) {
    let t = Instant::now();
    let line = format!("stty -echo; {}\r", throughput_cmd());
    ws.send(Message::Binary(line.into_bytes().into()))
        .await
        .unwrap();
    let (mut bytes, mut tail) = (0u64, Vec::new());
    loop {
        match ws.next().await {
            Some(Ok(Message::Binary(b))) => {
                bytes += b.len() as u64;
                if has_mark(&mut tail, &b) {
                    break;
                }
            }
            Some(Ok(_)) => {}
            other => panic!("throughput run ended: {other:?}"),
        }
    }
    (bytes as f64 / t.elapsed().as_secs_f64() / 1e6, bytes)
}

async fn direct_throughput(client: &kube::Client) -> (f64, u64) {
    let t = Instant::now();
    let mut p = direct_exec(client, &throughput_cmd()).await;
    let mut stdout = p.stdout().unwrap();
    let mut buf = vec![0u8; 64 * 1024];
    let (mut bytes, mut tail) = (0u64, Vec::new());
    loop {
        let n = stdout.read(&mut buf).await.unwrap();
        assert!(n > 0, "direct output ended without the marker");
        bytes += n as u64;
        if has_mark(&mut tail, &buf[..n]) {
            break;
        }
    }
    p.abort();
    (bytes as f64 / t.elapsed().as_secs_f64() / 1e6, bytes)
}

fn pct(sorted: &[Duration], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1e6
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

#[tokio::main]
async fn main() {
    if std::env::var("KEYHOLE_BENCH_ROLE").as_deref() == Ok("devstack") {
        let dir = std::env::var_os("KEYHOLE_BENCH_DIR").expect("KEYHOLE_BENCH_DIR");
        return roles::devstack(dir.into()).await;
    }
    if std::env::var("KEYHOLE_BENCH_ROLE").as_deref() == Ok("proxy") {
        let target = std::env::var("KEYHOLE_BENCH_TARGET").expect("KEYHOLE_BENCH_TARGET");
        return roles::proxy(target).await;
    }
    let sessions: usize = std::env::var("TERMINAL_BENCH_SESSIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000);
    let rounds: usize = std::env::var("TERMINAL_BENCH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3);
    // On a fresh heap (measured first: RSS growth would hide in memory freed by later steps).
    let deflate_state = deflate::state_kib(500, || rss_kib(std::process::id()));
    let stack = start().await;
    let pid = stack.child.id();
    let mut alice = Browser::new(&stack.url);
    let callback = alice.authorize("alice", "/").await;
    alice.get_abs(&callback).await;
    alice.refresh_csrf().await;
    let res = alice
        .post(
            "/api/requests",
            serde_json::json!({"profile": "payments-debug", "reason": "bench", "duration_seconds": 1800}),
        )
        .await;
    let body: serde_json::Value = res.json().await.unwrap();
    let grant = body["grant"]["id"].as_str().expect("grant").to_owned();

    // 1. Memory per idle session (fresh process; warmed by one session).
    drop(open(&stack, &alice, &grant).await);
    tokio::time::sleep(Duration::from_secs(1)).await;
    let base = rss_kib(pid);
    let t = Instant::now();
    let mut open_sessions = Vec::with_capacity(sessions);
    for _ in 0..sessions {
        open_sessions.push(open(&stack, &alice, &grant).await);
    }
    let opened_in = t.elapsed();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let with = rss_kib(pid);
    println!(
        "memory: gateway RSS {base} KiB idle → {with} KiB with {sessions} open terminals = {:.1} KiB per idle session (opened in {:.1} s, {:.1} ms each)",
        (with.saturating_sub(base)) as f64 / sessions as f64,
        opened_in.as_secs_f64(),
        opened_in.as_secs_f64() * 1e3 / sessions as f64
    );
    drop(open_sessions);
    tokio::time::sleep(Duration::from_secs(2)).await;

    // 2. Echo and throughput, interleaved.
    let cfg = kube::Config::from_custom_kubeconfig(
        kube::config::Kubeconfig::read_from(&stack.kubeconfig).unwrap(),
        &kube::config::KubeConfigOptions {
            context: Some("admin".into()),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let authority = cfg.cluster_url.authority().unwrap().to_string();
    let (mut proxy, proxy_addr) = roles::spawn(
        "proxy",
        ("KEYHOLE_BENCH_TARGET", std::ffi::OsStr::new(&authority)),
    );
    let mut via_proxy_cfg = cfg.clone();
    via_proxy_cfg.cluster_url = format!("https://{proxy_addr}").parse().unwrap();
    let via_proxy = kube::Client::try_from(via_proxy_cfg).unwrap();
    let direct = kube::Client::try_from(cfg).unwrap();
    let mut samples: Vec<Vec<Duration>> = vec![Vec::new(); 4];
    let (mut k_tput, mut d_tput) = (Vec::new(), Vec::new());
    for round in 0..rounds {
        let mut paths = echo_paths(&stack, &alice, &grant, &direct, &via_proxy).await;
        for (all, new) in samples
            .iter_mut()
            .zip(echo::paired(&mut paths, KEYS_PER_ROUND).await)
        {
            all.extend(new);
        }
        drop(paths);
        let mut ws = open(&stack, &alice, &grant).await;
        drain(&mut ws, Duration::from_millis(200)).await;
        let (k, kb) = keyhole_throughput(&mut ws).await;
        drop(ws);
        let (d, db) = direct_throughput(&direct).await;
        println!(
            "round {round}: throughput keyhole {k:.1} MB/s ({kb} B), direct {d:.1} MB/s ({db} B)"
        );
        k_tput.push(k);
        d_tput.push(d);
    }
    for v in &mut samples {
        v.sort();
    }
    let p50: Vec<f64> = samples.iter().map(|v| pct(v, 0.5)).collect();
    let p99: Vec<f64> = samples.iter().map(|v| pct(v, 0.99)).collect();
    let names = [
        "keyhole (browser protocol)",
        "direct, kube-rs AttachedProcess",
        "direct, kube-rs AttachedProcess through a byte-copying proxy process",
        "direct, single-task client (exec channel protocol on kube-rs's connection)",
    ];
    println!("echo (µs, {} paired keys per path):", samples[0].len());
    for (i, name) in names.iter().enumerate() {
        println!("  {name}: p50 {:.1} p99 {:.1}", p50[i], p99[i]);
    }
    println!(
        "  keyhole adds {:+.0}% ({:+.0} µs) to p50 vs kube-rs direct, {:+.0}% ({:+.0} µs) vs the single-task client",
        (p50[0] / p50[1] - 1.0) * 100.0,
        p50[0] - p50[1],
        (p50[0] / p50[3] - 1.0) * 100.0,
        p50[0] - p50[3],
    );
    println!(
        "  floor of any gateway process: the proxy adds {:+.0}% ({:+.0} µs) to kube-rs direct",
        (p50[2] / p50[1] - 1.0) * 100.0,
        p50[2] - p50[1],
    );
    let (k, d) = (median(&mut k_tput), median(&mut d_tput));
    println!(
        "throughput (MB/s, median of {rounds}): keyhole {k:.1} | direct {d:.1} | keyhole keeps {:.0}%",
        k / d * 100.0
    );

    let _ = proxy.kill();
    let _ = proxy.wait();

    // 3. permessage-deflate: what it would cost per MB and per keystroke, on real frames.
    let mut ws = open(&stack, &alice, &grant).await;
    drain(&mut ws, Duration::from_millis(200)).await;
    let workloads = [
        (
            "ls -lR --color=always /usr",
            "ls -lR --color=always /usr 2>/dev/null | head -c 20000000",
        ),
        ("base64", "head -c 15000000 /dev/urandom | base64"),
    ];
    for (name, cmd) in workloads {
        let frames = keyhole_frames(&mut ws, cmd).await;
        let avg = frames.iter().map(Vec::len).sum::<usize>() / frames.len().max(1);
        for level in [1, 6] {
            let c = deflate::measure(&frames, level);
            println!(
                "deflate level {level}, {name} ({} frames, {avg} B avg, {:.1} MB): gateway {:.1} ms CPU/MB (≤ {:.0} MB/s per core), browser inflate {:.1} ms/MB, size {:.0}%",
                frames.len(),
                c.bytes as f64 / 1e6,
                c.deflate_ms_per_mb(),
                1e3 / c.deflate_ms_per_mb(),
                c.inflate_ms_per_mb(),
                c.ratio() * 100.0
            );
        }
    }
    for level in [1, 6] {
        println!(
            "deflate level {level}, one keystroke's echo (1-byte message, warm stream): +{:.1} µs deflate+inflate p50",
            deflate::echo_p50(level).as_secs_f64() * 1e6
        );
    }
    println!(
        "deflate state per session with context takeover (compressor + inflater, flate2/miniz_oxide, window 15): {deflate_state:.0} KiB"
    );
}
