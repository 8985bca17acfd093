//! Shared test harness: a real Keyhole server on 127.0.0.1:0 (the same `run`
//! that `main` uses), a real development IdP (devstack) on another port, and
//! a small cookie-keeping HTTP client that walks the real login flow.

#![allow(dead_code)]

pub(crate) mod access;
pub(crate) mod shell;

use std::collections::BTreeMap;
use std::path::PathBuf;

use devstack::idp::{IdpClient, IdpOptions, IdpUser, RunningIdp};
use keyhole::config::Config;
use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};
use reqwest::redirect::Policy;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub(crate) const CLIENT_ID: &str = "keyhole-test";
pub(crate) const CLIENT_SECRET: &str = "keyhole-test-secret";
/// The inline script of the fixture index.html (its hash must be in the CSP).
pub(crate) const INLINE_SCRIPT: &str = "window.__fixture = 1;";

/// A running server and its IdP. Dropping it stops both.
pub(crate) struct TestServer {
    pub url: String,
    idp: Option<RunningIdp>,
    pub dir: PathBuf,
    pub db_url: String,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<anyhow::Result<()>>>,
}

/// The database for a server whose state lives in `dir`: SQLite in `dir`, or, when
/// `POSTGRES_TEST_URL` is set (`make test-postgres`), a PostgreSQL database named
/// after `dir` on that server, created if missing (so a restart with the same `dir` finds its
/// data, like the SQLite file).
pub(crate) async fn database_url(dir: &std::path::Path) -> String {
    let Ok(base) = std::env::var("POSTGRES_TEST_URL") else {
        return format!("sqlite://{}/keyhole.db", dir.display());
    };
    use sqlx::Connection as _;
    let name: String = dir
        .file_name()
        .unwrap()
        .to_string_lossy()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
    // PostgreSQL truncates identifiers at 63 bytes; keep the unique tail.
    let name = format!("k_{}", &name[name.len().saturating_sub(60)..]);
    let base = base.trim_end_matches('/');
    let mut admin = sqlx::PgConnection::connect(&format!("{base}/postgres"))
        .await
        .expect("POSTGRES_TEST_URL reachable");
    let exists: Option<i32> = sqlx::query_scalar("SELECT 1 FROM pg_database WHERE datname = $1")
        .bind(&name)
        .fetch_optional(&mut admin)
        .await
        .unwrap();
    if exists.is_none() {
        sqlx::query(&format!("CREATE DATABASE \"{name}\""))
            .execute(&mut admin)
            .await
            .unwrap();
    }
    let _ = admin.close().await;
    format!("{base}/{name}")
}

/// Options for [`TestServer::start_with`].
#[derive(Default)]
pub(crate) struct Options {
    /// Reuse this state directory (database) — to test restarts.
    pub dir: Option<PathBuf>,
    /// Point the server at this issuer instead of the test IdP.
    pub issuer_override: Option<String>,
    /// Reuse this IdP.
    pub idp: Option<RunningIdp>,
    /// IdP users besides the demo users (alice, bob, carol), e.g. [`user`]`("dave", &[…])`.
    pub extra_users: Vec<IdpUser>,
    /// Policy YAML, written to `<dir>/policy.yaml` and used instead of the built-in one.
    pub policy: Option<String>,
    /// More `KEYHOLE_*` settings, e.g. `("KEYHOLE_TERMINAL_KEEPALIVE_SECONDS", "1")`.
    pub env: Vec<(&'static str, &'static str)>,
    /// Share another server's database (a second replica).
    pub database_url: Option<String>,
}

/// A click-to-login IdP user `name` (`sub` = `devidp-<name>`, e-mail `<name>@example.test`).
pub(crate) fn user(name: &str, groups: &[&str]) -> IdpUser {
    IdpUser {
        username: name.to_owned(),
        password: None,
        sub: format!("devidp-{name}"),
        email: format!("{name}@example.test"),
        name: name.to_owned(),
        groups: groups.iter().map(|g| (*g).to_owned()).collect(),
    }
}

impl TestServer {
    pub(crate) async fn start() -> TestServer {
        Self::start_with(Options::default()).await
    }

    pub(crate) async fn start_with(opts: Options) -> TestServer {
        let dir = opts.dir.unwrap_or_else(|| {
            let d = std::env::temp_dir().join(format!("keyhole-test-{}", uuid::Uuid::new_v4()));
            std::fs::create_dir_all(&d).unwrap();
            d
        });
        let dist = dir.join("dist");
        std::fs::create_dir_all(&dist).unwrap();
        std::fs::write(
            dist.join("index.html"),
            format!("<!DOCTYPE html><html><head><script src=\"/app.js\"></script><script type=\"module\">{INLINE_SCRIPT}</script></head><body>fixture</body></html>"),
        )
        .unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let idp = match opts.idp {
            Some(idp) => idp,
            None => devstack::idp::start(IdpOptions {
                listen: "127.0.0.1:0".parse().unwrap(),
                clients: vec![IdpClient {
                    client_id: CLIENT_ID.into(),
                    client_secret: CLIENT_SECRET.into(),
                    redirect_uris: vec![format!("{url}/auth/callback")],
                }],
                users: if opts.extra_users.is_empty() {
                    Vec::new()
                } else {
                    let mut users = IdpUser::demo_users();
                    users.extend(opts.extra_users);
                    users
                },
                ..Default::default()
            })
            .await
            .unwrap(),
        };
        let db_url = match opts.database_url {
            Some(url) => url,
            None => database_url(&dir).await,
        };
        let issuer = opts
            .issuer_override
            .unwrap_or_else(|| idp.issuer().to_owned());
        let mut env: Vec<(String, String)> = vec![
            // Development mode: devstack's embedded cluster stands in for [kubernetes]
            // ([oidc] is the test IdP below, which wins over the development one).
            ("KEYHOLE_DEV".into(), "true".into()),
            ("KEYHOLE_PUBLIC_URL".into(), url.clone()),
            ("KEYHOLE_DIST_DIR".into(), dist.display().to_string()),
            ("KEYHOLE_DATA_DIR".into(), dir.display().to_string()),
            ("KEYHOLE_DATABASE_URL".into(), db_url.clone()),
            ("KEYHOLE_OIDC_ISSUER".into(), issuer),
            ("KEYHOLE_OIDC_CLIENT_ID".into(), CLIENT_ID.into()),
            ("KEYHOLE_OIDC_CLIENT_SECRET".into(), CLIENT_SECRET.into()),
        ];
        if let Some(policy) = &opts.policy {
            let file = dir.join("policy.yaml");
            std::fs::write(&file, policy).unwrap();
            env.push(("KEYHOLE_POLICY_FILE".into(), file.display().to_string()));
        }
        env.extend(opts.env.iter().map(|(k, v)| ((*k).into(), (*v).into())));
        let config = Config::load(None, env).unwrap();
        let (stop, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(keyhole::run(config, listener, async move {
            let _ = rx.await;
        }));
        // Serving means startup (migrations, clean-up) is done: tests may then open the
        // database themselves without racing the server's migrations.
        let http = reqwest::Client::new();
        for _ in 0..600 {
            if let Ok(res) = http.get(format!("{url}/healthz")).send().await
                && res.status().is_success()
            {
                break;
            }
            assert!(
                !task.is_finished(),
                "the test server stopped during startup"
            );
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        TestServer {
            url,
            idp: Some(idp),
            dir,
            db_url,
            stop: Some(stop),
            task: Some(task),
        }
    }

    /// Stops the server (graceful) and returns the IdP and state dir for a restart.
    pub(crate) async fn stop(mut self) -> (RunningIdp, PathBuf) {
        let _ = self.stop.take().unwrap().send(());
        let _ = self.task.take().unwrap().await;
        (self.idp.take().unwrap(), self.dir.clone())
    }

    /// The test IdP (for its test hooks).
    pub(crate) fn idp(&self) -> &RunningIdp {
        self.idp.as_ref().unwrap()
    }

    /// A fresh client with no cookies.
    pub(crate) fn client(&self) -> Browser {
        Browser::new(&self.url)
    }

    /// A client signed in as a demo user (`alice`, `bob`, `carol`).
    pub(crate) async fn login(&self, user: &str) -> Browser {
        let mut b = self.client();
        let callback = b.authorize(user, "/").await;
        let res = b.get_abs(&callback).await;
        assert_eq!(res.status(), 303, "callback should redirect");
        assert_eq!(location(&res), "/", "login should land on /");
        b.refresh_csrf().await;
        b
    }

    /// The audit rows of the authentication events, newest first.
    pub(crate) async fn auth_events(&self) -> Vec<keyhole::store::AuthEvent> {
        let store = keyhole::store::Store::connect(&self.db_url).await.unwrap();
        let events = store.auth_events(100).await.unwrap();
        store.close().await;
        events
    }
}

/// A minimal cookie-keeping client for one origin (Keyhole's). Redirects are
/// not followed, so each hop can be checked.
pub(crate) struct Browser {
    pub base: String,
    http: reqwest::Client,
    cookies: BTreeMap<String, String>,
    pub csrf: String,
}

impl Browser {
    pub(crate) fn new(base: &str) -> Browser {
        Browser {
            base: base.to_owned(),
            http: reqwest::Client::builder()
                .redirect(Policy::none())
                .build()
                .unwrap(),
            cookies: BTreeMap::new(),
            csrf: String::new(),
        }
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    fn keep_cookies(&mut self, res: &reqwest::Response) {
        for v in res.headers().get_all(SET_COOKIE) {
            let s = v.to_str().unwrap();
            let pair = s.split(';').next().unwrap();
            let (k, v) = pair.split_once('=').unwrap();
            if s.contains("Max-Age=0") || v.is_empty() {
                self.cookies.remove(k);
            } else {
                self.cookies.insert(k.to_owned(), v.to_owned());
            }
        }
    }

    pub(crate) fn session_cookie(&self) -> Option<String> {
        self.cookies.get("keyhole_session").cloned()
    }

    pub(crate) fn set_session_cookie(&mut self, v: &str) {
        self.cookies.insert("keyhole_session".into(), v.into());
    }

    /// GET a path on Keyhole (with cookies).
    pub(crate) async fn get(&mut self, path: &str) -> reqwest::Response {
        let url = format!("{}{}", self.base, path);
        self.get_abs(&url).await
    }

    /// GET a path on Keyhole with cookies as the app's background fetches do
    /// (`X-Keyhole-Background: 1`: not activity for the idle timeout).
    pub(crate) async fn get_background(&mut self, path: &str) -> reqwest::Response {
        let res = self
            .http
            .get(format!("{}{}", self.base, path))
            .header(COOKIE, self.cookie_header())
            .header("x-keyhole-background", "1")
            .send()
            .await
            .unwrap();
        self.keep_cookies(&res);
        res
    }

    /// GET a path on Keyhole with cookies and `Authorization: Bearer <token>`.
    pub(crate) async fn get_bearer(&mut self, path: &str, token: &str) -> reqwest::Response {
        let res = self
            .http
            .get(format!("{}{}", self.base, path))
            .header(COOKIE, self.cookie_header())
            .header(reqwest::header::AUTHORIZATION, format!("Bearer {token}"))
            .send()
            .await
            .unwrap();
        self.keep_cookies(&res);
        res
    }

    /// GET an absolute URL; cookies are sent only to Keyhole's origin.
    pub(crate) async fn get_abs(&mut self, url: &str) -> reqwest::Response {
        let mut req = self.http.get(url);
        if url.starts_with(&self.base) {
            req = req.header(COOKIE, self.cookie_header());
        }
        let res = req.send().await.unwrap();
        if url.starts_with(&self.base) {
            self.keep_cookies(&res);
        }
        res
    }

    /// POST JSON with the CSRF header and our Origin.
    pub(crate) async fn post(&mut self, path: &str, body: serde_json::Value) -> reqwest::Response {
        let origin = self.base.clone();
        let csrf = self.csrf.clone();
        self.post_with(path, body, Some(&origin), Some(&csrf)).await
    }

    /// POST JSON with chosen Origin and CSRF headers (None = omitted).
    pub(crate) async fn post_with(
        &mut self,
        path: &str,
        body: serde_json::Value,
        origin: Option<&str>,
        csrf: Option<&str>,
    ) -> reqwest::Response {
        let mut req = self
            .http
            .post(format!("{}{}", self.base, path))
            .header(COOKIE, self.cookie_header())
            .json(&body);
        if let Some(o) = origin {
            req = req.header("origin", o);
        }
        if let Some(c) = csrf {
            req = req.header("x-keyhole-csrf", c);
        }
        let res = req.send().await.unwrap();
        self.keep_cookies(&res);
        res
    }

    /// Walks /auth/login → IdP authorize → IdP login form as `user`, and
    /// returns the callback URL the IdP redirects to (not yet followed).
    pub(crate) async fn authorize(&mut self, user: &str, return_to: &str) -> String {
        let authorize = self.start_login(return_to).await;
        idp_login(&authorize, user).await
    }

    /// GET /auth/login and return the IdP authorize URL.
    pub(crate) async fn start_login(&mut self, return_to: &str) -> String {
        let res = self
            .get(&format!("/auth/login?return_to={}", urlencode(return_to)))
            .await;
        assert_eq!(res.status(), 303, "login should redirect to the IdP");
        location(&res)
    }

    /// Reads the CSRF token from /api/me.
    pub(crate) async fn refresh_csrf(&mut self) {
        let me: serde_json::Value = self.get("/api/me").await.json().await.unwrap();
        self.csrf = me["csrf_token"].as_str().unwrap().to_owned();
    }
}

/// Submits the dev IdP's login form for `user` and returns the redirect
/// (to the relying party's callback).
pub(crate) async fn idp_login(authorize_url: &str, user: &str) -> String {
    let http = reqwest::Client::builder()
        .redirect(Policy::none())
        .build()
        .unwrap();
    let page = http.get(authorize_url).send().await.unwrap();
    assert_eq!(page.status(), 200, "authorize should show the login page");
    let html = page.text().await.unwrap();
    let marker = "name=\"interaction\" value=\"";
    let start = html.find(marker).expect("interaction field") + marker.len();
    let interaction = &html[start..start + html[start..].find('"').unwrap()];
    let issuer = authorize_url.split("/authorize").next().unwrap();
    let res = http
        .post(format!("{issuer}/login"))
        .form(&[("interaction", interaction), ("username", user)])
        .send()
        .await
        .unwrap();
    assert!(
        res.status().is_redirection(),
        "IdP login should redirect: {}",
        res.status()
    );
    location(&res)
}

pub(crate) fn location(res: &reqwest::Response) -> String {
    res.headers()
        .get(LOCATION)
        .expect("Location")
        .to_str()
        .unwrap()
        .to_owned()
}

pub(crate) fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// Replaces the query parameter `key` of `url` with `value`.
pub(crate) fn with_param(url: &str, key: &str, value: &str) -> String {
    let mut u = url::Url::parse(url).unwrap();
    let pairs: Vec<(String, String)> = u
        .query_pairs()
        .filter(|(k, _)| k != key)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    u.query_pairs_mut()
        .clear()
        .extend_pairs(pairs)
        .append_pair(key, value);
    u.to_string()
}

/// A query parameter of `url`.
pub(crate) fn param(url: &str, key: &str) -> Option<String> {
    url::Url::parse(url)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.into_owned())
}

/// A client WebSocket to Keyhole (terminal tests).
pub(crate) type WsStream =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Opens a WebSocket to `path` on `base` with an optional session cookie value and Origin.
/// A refused handshake gives `Err((status, body))`.
pub(crate) async fn ws_connect(
    base: &str,
    path: &str,
    session_cookie: Option<&str>,
    origin: Option<&str>,
) -> Result<WsStream, (u16, String)> {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let url = format!("{}{path}", base.replacen("http", "ws", 1));
    let mut req = url.into_client_request().unwrap();
    if let Some(c) = session_cookie {
        req.headers_mut()
            .insert("cookie", format!("keyhole_session={c}").parse().unwrap());
    }
    if let Some(o) = origin {
        req.headers_mut().insert("origin", o.parse().unwrap());
    }
    match tokio_tungstenite::connect_async(req).await {
        Ok((ws, _)) => Ok(ws),
        Err(tokio_tungstenite::tungstenite::Error::Http(res)) => {
            let body = res
                .body()
                .as_ref()
                .map(|b| String::from_utf8_lossy(b).into_owned())
                .unwrap_or_default();
            Err((res.status().as_u16(), body))
        }
        Err(e) => panic!("websocket connect failed: {e}"),
    }
}
