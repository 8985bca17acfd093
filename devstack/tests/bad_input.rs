//! Protocol details and bad input through a raw WebSocket client: framing, subprotocols,
//! malformed messages, missing objects, bad tokens, SPDY fallback, orphan-free teardown.
//! After every bad input the server must keep serving.

mod common;

use std::io::Write as _;
use std::time::Duration;

use common::{TestKube, eventually, process_gone};
use futures::{SinkExt as _, StreamExt as _};
use tokio::io::AsyncWriteExt as _;
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
use tokio_tungstenite::tungstenite::{self, Message};

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

const CHECKOUT: &str = "/api/v1/namespaces/payments/pods/checkout-7d9f-abc12";

fn request(
    t: &TestKube,
    path_query: &str,
    token: &str,
    protocols: &str,
) -> tungstenite::handshake::client::Request {
    let mut req = format!("ws://{}{path_query}", t.http_host())
        .into_client_request()
        .unwrap();
    req.headers_mut()
        .insert("authorization", format!("Bearer {token}").parse().unwrap());
    if !protocols.is_empty() {
        req.headers_mut()
            .insert("sec-websocket-protocol", protocols.parse().unwrap());
    }
    req
}

async fn connect(t: &TestKube, query: &str) -> (Ws, String) {
    let req = request(
        t,
        &format!("{CHECKOUT}/exec?{query}"),
        &t.kube.admin_token,
        "v5.channel.k8s.io",
    );
    let (ws, resp) = tokio_tungstenite::connect_async(req).await.unwrap();
    let proto = resp.headers()["sec-websocket-protocol"]
        .to_str()
        .unwrap()
        .to_owned();
    (ws, proto)
}

/// The HTTP status and body of a refused upgrade.
async fn refused(req: tungstenite::handshake::client::Request) -> (u16, serde_json::Value) {
    match tokio_tungstenite::connect_async(req).await {
        Err(tungstenite::Error::Http(resp)) => {
            let body = resp.body().clone().unwrap_or_default();
            (
                resp.status().as_u16(),
                serde_json::from_slice(&body).unwrap_or_default(),
            )
        }
        other => panic!(
            "expected an HTTP refusal, got {:?}",
            other.map(|(_, r)| r.status())
        ),
    }
}

async fn next_binary(ws: &mut Ws) -> Vec<u8> {
    loop {
        match tokio::time::timeout(Duration::from_secs(10), ws.next())
            .await
            .expect("a message")
        {
            Some(Ok(Message::Binary(b))) => return b.to_vec(),
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
            other => panic!("expected binary, got {other:?}"),
        }
    }
}

/// Reads until Close; returns (stdout, stderr, status JSON, close code).
async fn drain(ws: &mut Ws) -> (String, String, serde_json::Value, Option<u16>) {
    let (mut out, mut err, mut status) = (String::new(), String::new(), serde_json::Value::Null);
    loop {
        match tokio::time::timeout(Duration::from_secs(10), ws.next())
            .await
            .expect("a message")
        {
            Some(Ok(Message::Binary(b))) => match b[0] {
                1 => out.push_str(&String::from_utf8_lossy(&b[1..])),
                2 => err.push_str(&String::from_utf8_lossy(&b[1..])),
                3 => status = serde_json::from_slice(&b[1..]).unwrap(),
                ch => panic!("server wrote on channel {ch}"),
            },
            Some(Ok(Message::Close(frame))) => {
                return (out, err, status, frame.map(|f| u16::from(f.code)));
            }
            Some(Ok(_)) => {}
            Some(Err(_)) | None => return (out, err, status, None),
        }
    }
}

/// A fresh exec still works: proof the server survived whatever came before.
async fn still_serving(t: &TestKube) {
    let (mut ws, _) = connect(t, "command=echo&command=alive&stdout=true").await;
    assert_eq!(next_binary(&mut ws).await, [1]);
    let (out, _, status, code) = drain(&mut ws).await;
    assert_eq!(
        (out.as_str(), status["status"].as_str(), code),
        ("alive\n", Some("Success"), Some(1000))
    );
}

#[tokio::test]
async fn framing_first_frame_status_and_close() {
    let t = TestKube::start().await;
    let (mut ws, proto) = connect(
        &t,
        "&command=sh&command=-c&command=echo%20o;echo%20e%3E%262;exit%202&stdout=true&stderr=true",
    )
    .await;
    assert_eq!(proto, "v5.channel.k8s.io");
    assert_eq!(
        next_binary(&mut ws).await,
        [1],
        "empty first frame on stdout"
    );
    let (out, err, status, code) = drain(&mut ws).await;
    assert_eq!(
        (out.as_str(), err.as_str(), code),
        ("o\n", "e\n", Some(1000))
    );
    assert_eq!(status["reason"], "NonZeroExitCode");
    assert_eq!(
        status["details"]["causes"][0],
        serde_json::json!({"reason": "ExitCode", "message": "2"})
    );
    assert!(status.get("kind").is_none());

    // stderr only: the first frame is on channel 2.
    let (mut ws, _) = connect(&t, "command=true&stderr=true").await;
    assert_eq!(next_binary(&mut ws).await, [2]);
    // v4 when that is all the client offers.
    let req = request(
        &t,
        &format!("{CHECKOUT}/exec?command=true&stdout=true"),
        &t.kube.admin_token,
        "v4.channel.k8s.io",
    );
    let (_, resp) = tokio_tungstenite::connect_async(req).await.unwrap();
    assert_eq!(
        resp.headers()["sec-websocket-protocol"],
        "v4.channel.k8s.io"
    );
}

#[tokio::test]
async fn answers_pings_and_ignores_unknown_channels() {
    let t = TestKube::start().await;
    let (mut ws, _) = connect(&t, "command=cat&stdin=true&stdout=true").await;
    assert_eq!(next_binary(&mut ws).await, [1]);
    ws.send(Message::Ping(b"hb".to_vec().into())).await.unwrap();
    let pong = loop {
        match tokio::time::timeout(Duration::from_secs(5), ws.next())
            .await
            .unwrap()
        {
            Some(Ok(Message::Pong(p))) => break p,
            Some(Ok(_)) => {}
            other => panic!("{other:?}"),
        }
    };
    assert_eq!(&pong[..], b"hb");
    for junk in [
        vec![7u8, 1, 2],
        vec![1, b'x'],
        vec![3, b'{'],
        vec![],
        vec![4, b'n', b'o'],
    ] {
        ws.send(Message::Binary(junk.into())).await.unwrap();
    }
    ws.send(Message::Binary(b"\x00still here\n".to_vec().into()))
        .await
        .unwrap();
    assert_eq!(next_binary(&mut ws).await, b"\x01still here\n");
    ws.send(Message::Binary(vec![255, 0].into())).await.unwrap();
    let (_, _, status, code) = drain(&mut ws).await;
    assert_eq!(
        (status["status"].as_str(), code),
        (Some("Success"), Some(1000))
    );
}

#[tokio::test]
async fn protocol_violations_close_the_socket_and_kill_the_process() {
    let t = TestKube::start().await;
    let cases: [(Message, u16); 4] = [
        (
            Message::Binary([vec![4u8], vec![b' '; 5000]].concat().into()),
            1009,
        ),
        (Message::Binary(vec![255].into()), 1002),
        (Message::Binary(vec![255, 0, 0].into()), 1002),
        (Message::Text("0aGk=".into()), 1003),
    ];
    for (msg, want) in cases {
        let (mut ws, _) = connect(
            &t,
            "command=sh&command=-c&command=echo%20$$;exec%20sleep%20300&stdin=true&stdout=true",
        )
        .await;
        assert_eq!(next_binary(&mut ws).await, [1]);
        let pid: i32 = String::from_utf8(next_binary(&mut ws).await[1..].to_vec())
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        ws.send(msg).await.unwrap();
        let (_, _, _, code) = drain(&mut ws).await;
        assert_eq!(code, Some(want));
        assert!(
            eventually(5, || process_gone(pid)).await,
            "process {pid} survived a close {want}"
        );
    }
    still_serving(&t).await;
}

#[tokio::test]
async fn dropping_the_socket_kills_the_whole_process_group() {
    let t = TestKube::start().await;
    let (mut ws, _) = connect(
        &t,
        "command=sh&command=-c&command=sleep%20300%20%26%20echo%20$$%20$!;%20wait&stdout=true",
    )
    .await;
    assert_eq!(next_binary(&mut ws).await, [1]);
    let line = String::from_utf8(next_binary(&mut ws).await[1..].to_vec()).unwrap();
    let pids: Vec<i32> = line
        .split_whitespace()
        .map(|p| p.parse().unwrap())
        .collect();
    assert_eq!(pids.len(), 2, "{line}");
    assert!(!process_gone(pids[0]) && !process_gone(pids[1]));
    drop(ws); // no Close frame: the TCP connection just goes away
    for pid in pids {
        assert!(
            eventually(5, || process_gone(pid)).await,
            "pid {pid} outlived its socket"
        );
    }
    still_serving(&t).await;
}

#[tokio::test]
async fn shutdown_kills_running_sessions() {
    let t = TestKube::start().await;
    let (mut ws, _) = connect(
        &t,
        "command=sh&command=-c&command=echo%20$$;exec%20sleep%20300&stdout=true",
    )
    .await;
    assert_eq!(next_binary(&mut ws).await, [1]);
    let pid: i32 = String::from_utf8(next_binary(&mut ws).await[1..].to_vec())
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let common::TestKube {
        kube, dir: _dir, ..
    } = t;
    kube.shutdown().await;
    let (_, _, _, code) = drain(&mut ws).await;
    assert_eq!(code, Some(1001));
    assert!(eventually(5, || process_gone(pid)).await);
}

#[tokio::test]
async fn malformed_websocket_frames_end_only_that_session() {
    let t = TestKube::start().await;
    let (ws, _) = connect(
        &t,
        "command=sh&command=-c&command=echo%20$$;exec%20sleep%20300&stdin=true&stdout=true",
    )
    .await;
    let mut ws = ws;
    assert_eq!(next_binary(&mut ws).await, [1]);
    let pid: i32 = String::from_utf8(next_binary(&mut ws).await[1..].to_vec())
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    // Write an unmasked frame with a reserved opcode straight onto the TCP stream.
    let tokio_tungstenite::MaybeTlsStream::Plain(mut tcp) = ws.into_inner() else {
        unreachable!("plain HTTP listener")
    };
    tcp.write_all(&[0x83, 0x02, 0xde, 0xad]).await.unwrap();
    assert!(
        eventually(5, || process_gone(pid)).await,
        "the session ended"
    );
    still_serving(&t).await;
}

#[tokio::test]
async fn refusals_are_kubernetes_status_objects() {
    let t = TestKube::start().await;
    let admin = t.kube.admin_token.clone();
    let v5 = "v5.channel.k8s.io";
    let ledger = "/api/v1/namespaces/payments/pods/ledger-0/exec";
    let cases = [
        (
            request(
                &t,
                "/api/v1/namespaces/payments/pods/nope/exec?command=sh&stdout=true",
                &admin,
                v5,
            ),
            404,
            r#"pods "nope" not found"#,
        ),
        (
            request(&t, &format!("{ledger}?command=sh&stdout=true"), &admin, v5),
            400,
            "a container name must be specified for pod ledger-0, choose one of: [ledger sidecar]",
        ),
        (
            request(
                &t,
                &format!("{ledger}?command=sh&stdout=true&container=db"),
                &admin,
                v5,
            ),
            400,
            "container db is not valid for pod ledger-0",
        ),
        (
            request(&t, &format!("{CHECKOUT}/exec?stdout=true"), &admin, v5),
            400,
            "you must specify at least one command",
        ),
        (
            request(&t, &format!("{CHECKOUT}/exec?command=sh"), &admin, v5),
            400,
            "you must specify at least 1 of stdin, stdout, stderr",
        ),
        (
            request(
                &t,
                &format!("{CHECKOUT}/exec?command=sh&stdout=true"),
                &admin,
                "v4.base64.channel.k8s.io",
            ),
            400,
            "unsupported WebSocket subprotocol",
        ),
        (
            request(
                &t,
                &format!("{CHECKOUT}/exec?command=sh&stdout=true"),
                "bad-token",
                v5,
            ),
            401,
            "Unauthorized",
        ),
        (
            request(
                &t,
                &format!("{CHECKOUT}/exec?command=sh&stdout=true"),
                "devstack-alice-token",
                v5,
            ),
            403,
            r#"pods "checkout-7d9f-abc12" is forbidden: User "alice@example.test" cannot get resource "pods/exec" in API group "" in the namespace "payments""#,
        ),
    ];
    for (req, code, message) in cases {
        let (got, body) = refused(req).await;
        assert_eq!(got, code, "{body}");
        assert_eq!(
            (body["kind"].as_str(), body["code"].as_u64()),
            (Some("Status"), Some(u64::from(code)))
        );
        assert!(
            body["message"].as_str().unwrap().contains(message),
            "{body}"
        );
    }
    still_serving(&t).await;
}

#[tokio::test]
async fn plain_http_refusals() {
    let t = TestKube::start().await;
    let http = reqwest::Client::new();
    let base = t.kube.http_url.clone().unwrap();
    let get = |path: &str, token: Option<&str>| {
        let mut r = http.get(format!("{base}{path}"));
        if let Some(tok) = token {
            r = r.bearer_auth(tok);
        }
        r.send()
    };
    assert_eq!(get("/version", None).await.unwrap().status(), 200);
    let no_token = get("/api/v1/namespaces/payments/pods", None).await.unwrap();
    assert_eq!(no_token.status(), 401);
    assert_eq!(
        no_token.json::<serde_json::Value>().await.unwrap()["reason"],
        "Unauthorized"
    );
    assert_eq!(
        get("/api/v1/namespaces/payments/pods", Some("wrong"))
            .await
            .unwrap()
            .status(),
        401
    );
    assert_eq!(
        get("/api/v1/nothing-here", Some(&t.kube.admin_token))
            .await
            .unwrap()
            .status(),
        404
    );
    let exec_get = get(
        &format!("{CHECKOUT}/exec?command=sh&stdout=true"),
        Some(&t.kube.admin_token),
    )
    .await
    .unwrap();
    assert_eq!(exec_get.status(), 400, "a GET without Upgrade");

    // kubectl's SPDY fallback: validated, then refused with a readable reason.
    let spdy = http
        .post(format!(
            "{base}{CHECKOUT}/exec?command=sh&stdin=true&stdout=true&tty=true"
        ))
        .bearer_auth(&t.kube.admin_token)
        .header("upgrade", "SPDY/3.1")
        .header("connection", "Upgrade")
        .send()
        .await
        .unwrap();
    assert_eq!(spdy.status(), 400);
    let body: serde_json::Value = spdy.json().await.unwrap();
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("SPDY is not supported by devstack"),
        "{body}"
    );
    let forbidden = http
        .post(format!("{base}{CHECKOUT}/exec?command=sh&stdout=true"))
        .bearer_auth("devstack-alice-token")
        .send()
        .await
        .unwrap();
    assert_eq!(forbidden.status(), 403);
    let table = http
        .get(format!(
            "{base}/api/v1/namespaces/payments/pods?labelSelector=app%20in%20(a)"
        ))
        .bearer_auth(&t.kube.admin_token)
        .send()
        .await
        .unwrap();
    assert_eq!(table.status(), 400);
}

#[test]
fn unparseable_cluster_yaml_names_file_and_line() {
    let mut file = tempfile::NamedTempFile::new().unwrap();
    writeln!(
        file,
        "namespaces:\n  - name: payments\n    pods:\n      - name: [oops"
    )
    .unwrap();
    let err = devstack::Cluster::from_file(file.path())
        .unwrap_err()
        .to_string();
    let name = file.path().display().to_string();
    assert!(err.starts_with(&format!("{name}:4:")), "{err}");

    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("rbac.yaml"), "kind: Role\nmetadata: {name: r, namespace: x}\n---\nkind: RoleBinding\nmetadata: {name: b}\n").unwrap();
    std::fs::write(dir.path().join("cluster.yaml"), "rbacFiles: [rbac.yaml]\n").unwrap();
    let err = devstack::Cluster::from_file(&dir.path().join("cluster.yaml"))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("rbac.yaml:4:") && err.contains("roleRef"),
        "{err}"
    );
}
