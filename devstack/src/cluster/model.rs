//! The objects of a devstack cluster file, and the derived fields (uid, IP, creation time) that
//! make them look like real pods. Derived fields are deterministic hashes of `namespace/name` so
//! two runs serve the same uids.

use std::collections::BTreeMap;

use serde::Deserialize;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use crate::rbac::{ALL_AUTHENTICATED, UserInfo};

/// A namespace and its pods.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Namespace {
    /// Name.
    pub name: String,
    /// Labels (`kubernetes.io/metadata.name` is added when served).
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// Pods, all `Running`.
    #[serde(default)]
    pub pods: Vec<Pod>,
}

/// A pod. Every exec in it runs a real process in the pod's working directory.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pod {
    /// Name.
    pub name: String,
    /// Labels, matched by `labelSelector`.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// Annotations, e.g. `kubectl.kubernetes.io/default-container`.
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
    /// Containers; at least one.
    pub containers: Vec<Container>,
    /// Node name shown in `-o wide`.
    #[serde(default = "default_node")]
    pub node_name: String,
    /// Derived: stable uid.
    #[serde(skip)]
    pub uid: String,
    /// Derived: pod IP in 10.244.0.0/16.
    #[serde(skip)]
    pub ip: String,
    /// Derived: creation time, a few hours before devstack started.
    #[serde(skip, default = "OffsetDateTime::now_utc")]
    pub created: OffsetDateTime,
}

/// A container of a pod.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Container {
    /// Name.
    pub name: String,
    /// Image reference (shown only).
    #[serde(default = "default_image")]
    pub image: String,
}

/// A bearer token and the identity it authenticates as.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Token {
    /// The secret.
    pub token: String,
    /// User name.
    pub user: String,
    /// Optional uid.
    #[serde(default)]
    pub uid: String,
    /// Groups (`system:authenticated` is implied).
    #[serde(default)]
    pub groups: Vec<String>,
    /// The kubeconfig context to write for it (`admin`, `gateway`), if any.
    #[serde(default)]
    pub context: Option<String>,
}

fn default_node() -> String {
    "devstack-node-1".to_owned()
}

fn default_image() -> String {
    "registry.example.test/app:latest".to_owned()
}

/// A v4-shaped uuid derived from `key`, so uids survive restarts.
pub fn stable_uid(key: &str) -> String {
    let h = Sha256::digest(key.as_bytes());
    let hex: String = h.iter().map(|b| format!("{b:02x}")).collect();
    format!(
        "{}-{}-4{}-8{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[13..16],
        &hex[17..20],
        &hex[20..32]
    )
}

impl Pod {
    /// Fills the derived fields; called once when the cluster is loaded.
    pub(crate) fn finish(&mut self, namespace: &str) {
        let h = Sha256::digest(format!("{namespace}/{}", self.name).as_bytes());
        let hex: String = h.iter().map(|b| format!("{b:02x}")).collect();
        self.uid = format!(
            "{}-{}-4{}-8{}-{}",
            &hex[0..8],
            &hex[8..12],
            &hex[13..16],
            &hex[17..20],
            &hex[20..32]
        );
        self.ip = format!("10.244.{}.{}", h[0], h[1].max(2));
        let age_minutes = 90 + i64::from(u16::from_be_bytes([h[2], h[3]]) % 2000);
        self.created = OffsetDateTime::now_utc() - time::Duration::minutes(age_minutes);
    }

    /// The container kubectl would pick: the `kubectl.kubernetes.io/default-container`
    /// annotation if it names a container, else the first.
    pub fn default_container(&self) -> &Container {
        self.annotations
            .get("kubectl.kubernetes.io/default-container")
            .and_then(|n| self.containers.iter().find(|c| c.name == *n))
            .unwrap_or(&self.containers[0])
    }

    /// The container a streaming request (`exec`, `attach`, `log`) names, by the apiserver's
    /// rule: empty means the only container, and is an error when there are several.
    pub fn select_container(&self, requested: Option<&str>) -> Result<&Container, String> {
        match requested.filter(|c| !c.is_empty()) {
            None if self.containers.len() == 1 => Ok(&self.containers[0]),
            None => Err(format!(
                "a container name must be specified for pod {}, choose one of: [{}]",
                self.name,
                self.container_names().join(" ")
            )),
            Some(name) => self
                .containers
                .iter()
                .find(|c| c.name == name)
                .ok_or_else(|| format!("container {name} is not valid for pod {}", self.name)),
        }
    }

    /// Container names in order.
    pub fn container_names(&self) -> Vec<&str> {
        self.containers.iter().map(|c| c.name.as_str()).collect()
    }

    /// A containerd-style container id, stable per container.
    pub fn container_id(&self, container: &str) -> String {
        let h = Sha256::digest(format!("{}/{container}", self.uid).as_bytes());
        let hex: String = h.iter().map(|b| format!("{b:02x}")).collect();
        format!("containerd://{hex}")
    }
}

impl Token {
    /// The identity the token authenticates as.
    pub fn user_info(&self) -> UserInfo {
        let mut groups = self.groups.clone();
        if !groups.iter().any(|g| g == ALL_AUTHENTICATED) {
            groups.push(ALL_AUTHENTICATED.to_owned());
        }
        UserInfo {
            username: self.user.clone(),
            uid: self.uid.clone(),
            groups,
            extra: BTreeMap::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(containers: &[&str]) -> Pod {
        let yaml = format!(
            "name: p\ncontainers: [{}]",
            containers
                .iter()
                .map(|c| format!("{{name: {c}}}"))
                .collect::<Vec<_>>()
                .join(",")
        );
        let mut p: Pod = serde_yaml::from_str(&yaml).unwrap();
        p.finish("ns");
        p
    }

    #[test]
    fn container_rules_follow_the_apiserver() {
        assert_eq!(pod(&["app"]).select_container(None).unwrap().name, "app");
        assert_eq!(
            pod(&["app"]).select_container(Some("")).unwrap().name,
            "app"
        );
        assert_eq!(
            pod(&["a", "b"]).select_container(None).unwrap_err(),
            "a container name must be specified for pod p, choose one of: [a b]"
        );
        assert_eq!(
            pod(&["a", "b"]).select_container(Some("b")).unwrap().name,
            "b"
        );
        assert_eq!(
            pod(&["a"]).select_container(Some("x")).unwrap_err(),
            "container x is not valid for pod p"
        );
    }

    #[test]
    fn derived_fields_are_stable() {
        let (a, b) = (pod(&["app"]), pod(&["app"]));
        assert_eq!(a.uid, b.uid);
        assert_eq!(a.uid.len(), 36);
        assert_eq!(a.container_id("app"), b.container_id("app"));
    }
}
