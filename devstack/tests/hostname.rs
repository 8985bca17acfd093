//! A pod's process sees the pod's name as its hostname (its own UTS namespace, inside an
//! unprivileged user namespace), keeps the user's own uid, and has no capabilities. Skipped,
//! with the reason printed, where the machine does not allow it (devstack then falls back to
//! the host's hostname; see docs/devstack.md, "Hostname").

mod common;

use common::TestKube;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, AttachParams};
use tokio::io::AsyncReadExt as _;

/// Runs `script` with `sh -c` in `pod`'s `container` (namespace payments); its stdout.
async fn run(t: &TestKube, pod: &str, container: &str, script: &str) -> String {
    let pods: Api<Pod> = Api::namespaced(t.admin(), "payments");
    let mut proc = pods
        .exec(
            pod,
            ["sh", "-c", script],
            &AttachParams::default().container(container),
        )
        .await
        .unwrap();
    let mut out = String::new();
    proc.stdout()
        .unwrap()
        .read_to_string(&mut out)
        .await
        .unwrap();
    proc.join().await.unwrap();
    out
}

#[tokio::test]
async fn hostname_in_a_pod_is_the_pod_name() {
    if let Err(why) = devstack::exec::process::uts() {
        eprintln!("skipped: this machine cannot give pods their own hostname: {why}");
        return;
    }
    let t = TestKube::start().await;
    let out = run(
        &t,
        "checkout-7d9f-abc12",
        "app",
        "hostname; uname -n; echo $HOSTNAME; id -u; grep ^CapEff /proc/self/status",
    )
    .await;
    let uid = std::process::Command::new("id").arg("-u").output().unwrap();
    let uid = String::from_utf8(uid.stdout).unwrap();
    assert_eq!(
        out,
        format!(
            "checkout-7d9f-abc12\ncheckout-7d9f-abc12\ncheckout-7d9f-abc12\n{uid}CapEff:\t0000000000000000\n"
        )
    );
    // Another pod, another name; and the shell cannot change it.
    let out = run(
        &t,
        "ledger-0",
        "sidecar",
        "hostname other 2>/dev/null; hostname",
    )
    .await;
    assert_eq!(out, "ledger-0\n");
}
