//! The bench's other processes: this binary re-executed with `KEYHOLE_BENCH_ROLE` set runs
//! devstack's API server or a byte-copying TCP proxy instead of the bench.

/// The API server process: devstack in `dir`, kubeconfig written to `dir/kubeconfig`, "ready"
/// on stdout; runs until its stdin closes (the bench ended or died).
pub(crate) async fn devstack(dir: std::path::PathBuf) {
    let kube = devstack::start_kube(devstack::KubeOptions::new(dir.join("devstack")))
        .await
        .unwrap();
    std::fs::write(dir.join("kubeconfig"), kube.kubeconfig_yaml()).unwrap();
    println!("ready");
    let mut sink = Vec::new();
    let _ = tokio::io::AsyncReadExt::read_to_end(&mut tokio::io::stdin(), &mut sink).await;
}

/// The floor of any gateway: a process that only copies bytes (TCP, TLS passed through)
/// between a client and `target`. Prints its address; runs until its stdin closes.
pub(crate) async fn proxy(target: String) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    println!("{}", listener.local_addr().unwrap());
    let accept = async {
        loop {
            let (mut a, _) = listener.accept().await.unwrap();
            let target = target.clone();
            tokio::spawn(async move {
                let mut b = tokio::net::TcpStream::connect(target).await.unwrap();
                let _ = (a.set_nodelay(true), b.set_nodelay(true));
                let _ = tokio::io::copy_bidirectional(&mut a, &mut b).await;
            });
        }
    };
    let (mut sink, mut stdin) = (Vec::new(), tokio::io::stdin());
    tokio::select! {
        _ = accept => {}
        _ = tokio::io::AsyncReadExt::read_to_end(&mut stdin, &mut sink) => {}
    }
}

/// Re-executes this bench binary in `role`; returns the child and the first line it printed.
pub(crate) fn spawn(role: &str, env: (&str, &std::ffi::OsStr)) -> (std::process::Child, String) {
    use std::io::BufRead;
    use std::process::{Command, Stdio};
    let mut child = Command::new(std::env::current_exe().unwrap())
        .env("KEYHOLE_BENCH_ROLE", role)
        .env(env.0, env.1)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    (child, line.trim().to_owned())
}

/// Starts the API server process and waits until it is ready.
pub(crate) fn start_apiserver(dir: &std::path::Path) -> std::process::Child {
    let (child, line) = spawn("devstack", ("KEYHOLE_BENCH_DIR", dir.as_os_str()));
    assert_eq!(line, "ready", "devstack did not start");
    child
}
