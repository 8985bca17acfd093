//! Terminal benchmark: `cargo bench -p keyhole --bench terminal` (release; prints numbers).
//!
//! Starts devstack (API server + OIDC issuer) in this process and the real `keyhole` binary
//! as a child process pointed at devstack through a kubeconfig (context `gateway`), so the
//! child's RSS is the gateway alone. Then, in one run:
//! 1. memory per idle session: RSS of the gateway before and after opening N terminals
//!    (`TERMINAL_BENCH_SESSIONS`, default 1000), each through the browser protocol;
//! 2. keystroke echo round trip (p50/p99) and output throughput (100 MB of base64), through
//!    Keyhole (a tokio-tungstenite client speaking the browser's protocol) and directly
//!    against devstack's exec (kube-rs as admin), interleaved K D K D … over several rounds.
//!
//! Echo is measured against `cat` on a raw TTY (`stty raw -echo; exec cat`), so each key
//! comes back as exactly one byte and no shell line editing is timed.

#[path = "../tests/common/mod.rs"]
#[allow(unused_imports)]
mod common;

use std::time::{Duration, Instant};

use common::{Browser, WsStream, ws_connect};
use futures::{SinkExt, StreamExt};
use k8s_openapi::api::core::v1::Pod;
use kube::api::{AttachParams, AttachedProcess};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_tungstenite::tungstenite::Message;

const POD: &str = "checkout-7d9f-abc12";
const ROUNDS: usize = 3;
const KEYS_PER_ROUND: usize = 500;
const OUTPUT_RAW: u64 = 75_000_000; // → 100,000,000 bytes of base64
const MARK: &[u8] = b"DONE-42";

struct Stack {
    url: String,
    child: std::process::Child,
    _kube: devstack::RunningKube,
    _idp: devstack::idp::RunningIdp,
    kubeconfig: std::path::PathBuf,
}

impl Drop for Stack {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
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
    let kube = devstack::start_kube(devstack::KubeOptions::new(dir.join("devstack")))
        .await
        .unwrap();
    let kubeconfig = dir.join("kubeconfig");
    std::fs::write(&kubeconfig, kube.kubeconfig_yaml()).unwrap();
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
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_keyhole"))
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
        _kube: kube,
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
async fn drain(ws: &mut WsStream, quiet: Duration) {
    while let Ok(Some(Ok(_))) = tokio::time::timeout(quiet, ws.next()).await {}
}

async fn keyhole_echo(ws: &mut WsStream, keys: usize) -> Vec<Duration> {
    let mut out = Vec::with_capacity(keys);
    for _ in 0..keys {
        let t = Instant::now();
        ws.send(Message::Binary(vec![b'a'].into())).await.unwrap();
        loop {
            match ws.next().await {
                Some(Ok(Message::Binary(b))) if b.contains(&b'a') => break,
                Some(Ok(_)) => {}
                other => panic!("echo failed: {other:?}"),
            }
        }
        out.push(t.elapsed());
    }
    out
}

async fn direct_exec(client: &kube::Client, cmd: &str) -> AttachedProcess {
    let api: kube::Api<Pod> = kube::Api::namespaced(client.clone(), "payments");
    let ap = AttachParams::interactive_tty().max_stdout_buf_size(64 * 1024);
    api.exec(POD, ["/bin/sh", "-c", cmd], &ap).await.unwrap()
}

async fn direct_echo(client: &kube::Client, keys: usize) -> Vec<Duration> {
    let mut p = direct_exec(client, "stty raw -echo; exec cat").await;
    let mut stdin = p.stdin().unwrap();
    let mut stdout = p.stdout().unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut buf = vec![0u8; 4096];
    let mut out = Vec::with_capacity(keys);
    for _ in 0..keys {
        let t = Instant::now();
        stdin.write_all(b"a").await.unwrap();
        stdin.flush().await.unwrap();
        loop {
            let n = stdout.read(&mut buf).await.unwrap();
            if buf[..n].contains(&b'a') {
                break;
            }
        }
        out.push(t.elapsed());
    }
    p.abort();
    out
}

fn has_mark(tail: &mut Vec<u8>, chunk: &[u8]) -> bool {
    tail.extend_from_slice(chunk);
    let found = tail.windows(MARK.len()).any(|w| w == MARK);
    let keep = tail.len().saturating_sub(MARK.len());
    tail.drain(..keep);
    found
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
    let sessions: usize = std::env::var("TERMINAL_BENCH_SESSIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000);
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
    let direct = kube::Client::try_from(cfg).unwrap();
    let (mut k_echo, mut d_echo) = (Vec::new(), Vec::new());
    let (mut k_tput, mut d_tput) = (Vec::new(), Vec::new());
    for round in 0..ROUNDS {
        let mut ws = open(&stack, &alice, &grant).await;
        ws.send(Message::Binary(
            b"stty raw -echo; exec cat\r".to_vec().into(),
        ))
        .await
        .unwrap();
        drain(&mut ws, Duration::from_millis(300)).await;
        k_echo.extend(keyhole_echo(&mut ws, KEYS_PER_ROUND).await);
        drop(ws);
        d_echo.extend(direct_echo(&direct, KEYS_PER_ROUND).await);
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
    k_echo.sort();
    d_echo.sort();
    let (kp50, kp99) = (pct(&k_echo, 0.5), pct(&k_echo, 0.99));
    let (dp50, dp99) = (pct(&d_echo, 0.5), pct(&d_echo, 0.99));
    println!(
        "echo (µs, {} keys each): keyhole p50 {kp50:.1} p99 {kp99:.1} | direct p50 {dp50:.1} p99 {dp99:.1} | keyhole adds {:+.0}% to p50",
        k_echo.len(),
        (kp50 / dp50 - 1.0) * 100.0
    );
    let (k, d) = (median(&mut k_tput), median(&mut d_tput));
    println!(
        "throughput (MB/s, median of {ROUNDS}): keyhole {k:.1} | direct {d:.1} | keyhole keeps {:.0}%",
        k / d * 100.0
    );
}
