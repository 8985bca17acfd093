//! Pods and namespaces as the apiserver serializes them: full objects, lists, and the
//! `meta.k8s.io/v1` `Table` kubectl asks for. Pure.

use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::cluster::{Namespace, Pod};

fn rfc3339(t: OffsetDateTime) -> String {
    // Kubernetes timestamps have second precision.
    t.replace_nanosecond(0)
        .unwrap_or(t)
        .format(&Rfc3339)
        .unwrap_or_default()
}

fn pod_metadata(ns: &str, pod: &Pod) -> Value {
    let mut meta = json!({
        "name": pod.name,
        "namespace": ns,
        "uid": pod.uid,
        "resourceVersion": "1",
        "creationTimestamp": rfc3339(pod.created),
    });
    if !pod.labels.is_empty() {
        meta["labels"] = json!(pod.labels);
    }
    if !pod.annotations.is_empty() {
        meta["annotations"] = json!(pod.annotations);
    }
    meta
}

/// A `v1` Pod, Running, with every container ready.
pub fn pod(ns: &str, pod: &Pod) -> Value {
    let started = rfc3339(pod.created + time::Duration::seconds(4));
    let containers: Vec<Value> = pod
        .containers
        .iter()
        .map(|c| {
            json!({
                "name": c.name, "image": c.image, "imagePullPolicy": "IfNotPresent", "resources": {},
                "terminationMessagePath": "/dev/termination-log", "terminationMessagePolicy": "File",
                // `kubectl attach -it` refuses a TTY unless the container declares one.
                "stdin": true, "tty": true,
            })
        })
        .collect();
    let statuses: Vec<Value> = pod
        .containers
        .iter()
        .map(|c| {
            json!({
                "name": c.name, "image": c.image, "imageID": format!("{}@sha256:{}", c.image, &pod.container_id(&c.name)[13..]),
                "containerID": pod.container_id(&c.name), "ready": true, "started": true, "restartCount": 0,
                "state": {"running": {"startedAt": started}}, "lastState": {},
            })
        })
        .collect();
    let condition = |t: &str| json!({"type": t, "status": "True", "lastProbeTime": null, "lastTransitionTime": started});
    json!({
        "kind": "Pod",
        "apiVersion": "v1",
        "metadata": pod_metadata(ns, pod),
        "spec": {
            "containers": containers, "restartPolicy": "Always", "terminationGracePeriodSeconds": 30,
            "dnsPolicy": "ClusterFirst", "serviceAccountName": "default", "nodeName": pod.node_name,
            "schedulerName": "default-scheduler", "enableServiceLinks": true,
        },
        "status": {
            "phase": "Running",
            "conditions": [condition("Initialized"), condition("Ready"), condition("ContainersReady"), condition("PodScheduled")],
            "hostIP": "127.0.0.1", "hostIPs": [{"ip": "127.0.0.1"}],
            "podIP": pod.ip, "podIPs": [{"ip": pod.ip}],
            "startTime": rfc3339(pod.created), "containerStatuses": statuses, "qosClass": "BestEffort",
        },
    })
}

/// A `v1` Namespace, Active.
pub fn namespace(ns: &Namespace, created: OffsetDateTime) -> Value {
    let mut labels = ns.labels.clone();
    labels.insert("kubernetes.io/metadata.name".into(), ns.name.clone());
    json!({
        "kind": "Namespace",
        "apiVersion": "v1",
        "metadata": {"name": ns.name, "uid": crate::cluster::stable_uid(&format!("namespace/{}", ns.name)), "resourceVersion": "1",
                     "creationTimestamp": rfc3339(created), "labels": labels},
        "spec": {"finalizers": ["kubernetes"]},
        "status": {"phase": "Active"},
    })
}

/// `PodList` / `NamespaceList`.
pub fn list(kind: &str, items: Vec<Value>) -> Value {
    json!({"kind": kind, "apiVersion": "v1", "metadata": {"resourceVersion": "1"}, "items": items})
}

/// `kubectl get pods` columns.
pub fn pod_table(rows: &[(&str, &Pod)], now: OffsetDateTime) -> Value {
    let columns = json!([
        col("Name", "name", 0, "Name must be unique within a namespace."),
        col(
            "Ready",
            "",
            0,
            "The aggregate readiness state of this pod for accepting traffic."
        ),
        col(
            "Status",
            "",
            0,
            "The aggregate status of the containers in this pod."
        ),
        col(
            "Restarts",
            "",
            0,
            "The number of times the containers in this pod have been restarted."
        ),
        col(
            "Age",
            "",
            0,
            "CreationTimestamp is a timestamp representing the server time when this object was created."
        ),
        col("IP", "", 1, "podIP is the IP address allocated to the pod."),
        col(
            "Node",
            "",
            1,
            "NodeName is a request to schedule this pod onto a specific node."
        ),
        col(
            "Nominated Node",
            "",
            1,
            "nominatedNodeName is set only when this pod preempts other pods on the node."
        ),
        col(
            "Readiness Gates",
            "",
            1,
            "If specified, all readiness gates will be evaluated for pod readiness."
        ),
    ]);
    let rows: Vec<Value> = rows
        .iter()
        .map(|(ns, p)| {
            let n = p.containers.len();
            json!({
                "cells": [p.name, format!("{n}/{n}"), "Running", "0", human_duration(now - p.created), p.ip, p.node_name, "<none>", "<none>"],
                "object": partial(pod_metadata(ns, p)),
            })
        })
        .collect();
    table(columns, rows)
}

/// `kubectl get namespaces` columns.
pub fn namespace_table(items: &[Value], now: OffsetDateTime, created: OffsetDateTime) -> Value {
    let columns = json!([
        col("Name", "name", 0, "Name must be unique within a namespace."),
        col("Status", "", 0, "The status of the namespace"),
        col(
            "Age",
            "",
            0,
            "CreationTimestamp is a timestamp representing the server time when this object was created."
        ),
    ]);
    let rows: Vec<Value> = items
        .iter()
        .map(|ns| json!({"cells": [ns["metadata"]["name"], "Active", human_duration(now - created)], "object": partial(ns["metadata"].clone())}))
        .collect();
    table(columns, rows)
}

fn col(name: &str, format: &str, priority: u8, description: &str) -> Value {
    json!({"name": name, "type": "string", "format": format, "description": description, "priority": priority})
}

fn partial(metadata: Value) -> Value {
    json!({"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": metadata})
}

fn table(columns: Value, rows: Vec<Value>) -> Value {
    json!({"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": {"resourceVersion": "1"},
           "columnDefinitions": columns, "rows": rows})
}

/// `duration.HumanDuration` from apimachinery: `45s`, `3m12s`, `95m`, `5h3m`, `20h`, `3d4h`, `12d`.
pub fn human_duration(d: time::Duration) -> String {
    let s = d.whole_seconds().max(0);
    let (m, h) = (s / 60, s / 3600);
    match () {
        () if s < 120 => format!("{s}s"),
        () if m < 10 && s % 60 != 0 => format!("{m}m{}s", s % 60),
        () if m < 180 => format!("{m}m"),
        () if h < 8 && m % 60 != 0 => format!("{h}h{}m", m % 60),
        () if h < 48 => format!("{h}h"),
        () if h < 24 * 8 && h % 24 != 0 => format!("{}d{}h", h / 24, h % 24),
        () if h < 24 * 365 * 2 => format!("{}d", h / 24),
        () => format!("{}y", h / 24 / 365),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_durations() {
        let d = time::Duration::seconds;
        assert_eq!(human_duration(d(45)), "45s");
        assert_eq!(human_duration(d(192)), "3m12s");
        assert_eq!(human_duration(d(95 * 60)), "95m");
        assert_eq!(human_duration(d(5 * 3600 + 180)), "5h3m");
        assert_eq!(human_duration(d(20 * 3600)), "20h");
        assert_eq!(human_duration(d(76 * 3600)), "3d4h");
    }
}
