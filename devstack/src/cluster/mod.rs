//! The cluster's content: namespaces, pods, bearer tokens and RBAC, loaded from YAML.
//!
//! The file format is devstack's own for namespaces/pods/tokens, while RBAC is plain Kubernetes
//! manifests (inline under `rbac:` or in multi-document files listed under `rbacFiles:`), so the
//! same files can be `kubectl apply`-ed to a real cluster. The built-in cluster
//! ([`Cluster::builtin`]) embeds `cluster.default.yaml` plus `deploy/rbac/*.yaml`.

mod model;

use std::path::{Path, PathBuf};

use serde::Deserialize;

pub use model::{Container, Namespace, Pod, Token, stable_uid};

use crate::rbac::{Policy, RbacObject, UserInfo};

const DEFAULT_CLUSTER: &str = include_str!("../../cluster.default.yaml");
const BOOTSTRAP_RBAC: &str = include_str!("../rbac/bootstrap.yaml");
/// The deploy manifests the built-in cluster loads, by repository path.
const BUILTIN_RBAC: [(&str, &str); 3] = [
    (
        "deploy/rbac/gateway-clusterrole.yaml",
        include_str!("../../../deploy/rbac/gateway-clusterrole.yaml"),
    ),
    (
        "deploy/rbac/payments-debug-role.yaml",
        include_str!("../../../deploy/rbac/payments-debug-role.yaml"),
    ),
    (
        "deploy/rbac/search-debug-role.yaml",
        include_str!("../../../deploy/rbac/search-debug-role.yaml"),
    ),
];

/// Why a cluster file could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The YAML did not parse or did not have the expected shape.
    #[error("{file}:{line}:{column}: {message}")]
    Yaml {
        /// The file (or embedded name).
        file: String,
        /// 1-based line of the error (0 if unknown).
        line: usize,
        /// 1-based column of the error (0 if unknown).
        column: usize,
        /// serde_yaml's explanation.
        message: String,
    },
    /// The YAML parsed but makes no sense (duplicates, pods without containers, …).
    #[error("{file}: {message}")]
    Invalid {
        /// The file (or embedded name).
        file: String,
        /// What is wrong.
        message: String,
    },
}

/// Everything the fake API server serves.
#[derive(Debug, Clone)]
pub struct Cluster {
    /// Namespaces in file order, each with its pods.
    pub namespaces: Vec<Namespace>,
    /// Bearer tokens and who they authenticate as.
    pub tokens: Vec<Token>,
    /// Roles and bindings, including Kubernetes' bootstrap roles.
    pub rbac: Policy,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ClusterFile {
    #[serde(default)]
    namespaces: Vec<Namespace>,
    #[serde(default)]
    tokens: Vec<Token>,
    #[serde(default)]
    rbac: Vec<RbacObject>,
    #[serde(default)]
    rbac_files: Vec<PathBuf>,
}

impl Cluster {
    /// The built-in demo cluster: `payments` and `search` namespaces, the admin, gateway and
    /// alice tokens, and the RBAC of `deploy/rbac/`.
    pub fn builtin() -> Self {
        let mut cluster = Self::parse(DEFAULT_CLUSTER, "cluster.default.yaml", None)
            .expect("the embedded cluster.default.yaml is valid");
        for (name, text) in BUILTIN_RBAC {
            cluster
                .add_manifests(text, name)
                .expect("the embedded deploy/rbac manifests are valid");
        }
        cluster
    }

    /// Loads a cluster file; `rbacFiles` are resolved relative to its directory.
    pub fn from_file(path: &Path) -> Result<Self, ClusterError> {
        let text = read(path)?;
        Self::parse(&text, &path.display().to_string(), path.parent())
    }

    /// Parses cluster YAML. `source` names the file in errors; `base_dir` resolves `rbacFiles`
    /// (which are rejected when it is `None`).
    pub fn parse(text: &str, source: &str, base_dir: Option<&Path>) -> Result<Self, ClusterError> {
        let file: ClusterFile =
            serde_yaml::from_str(text).map_err(|e| match yaml_error(source, &e) {
                ClusterError::Yaml {
                    file,
                    line: 0,
                    message,
                    ..
                } => ClusterError::Yaml {
                    file,
                    line: 1,
                    column: 1,
                    message,
                },
                other => other,
            })?;
        let mut rbac = Policy::default();
        for object in bootstrap_objects() {
            rbac.add(object);
        }
        for object in file.rbac {
            rbac.add(object);
        }
        let mut cluster = Self {
            namespaces: file.namespaces,
            tokens: file.tokens,
            rbac,
        };
        for rel in &file.rbac_files {
            let Some(base) = base_dir else {
                return Err(invalid(
                    source,
                    "rbacFiles needs a cluster file on disk".into(),
                ));
            };
            let path = base.join(rel);
            cluster.add_manifests(&read(&path)?, &path.display().to_string())?;
        }
        cluster.validate(source)?;
        Ok(cluster)
    }

    /// Adds the RBAC objects of a (multi-document) Kubernetes manifest.
    pub fn add_manifests(&mut self, text: &str, source: &str) -> Result<(), ClusterError> {
        let starts = document_starts(text);
        for (i, document) in serde_yaml::Deserializer::from_str(text).enumerate() {
            // `Option` so that empty documents (a trailing `---`) are skipped.
            let object: Option<RbacObject> = Option::deserialize(document).map_err(|e| {
                // Errors such as a missing field carry no position: point at the document.
                let mut err = yaml_error(source, &e);
                if let ClusterError::Yaml {
                    line: line @ 0,
                    column,
                    ..
                } = &mut err
                {
                    *line = starts.get(i).copied().unwrap_or(1);
                    *column = 1;
                }
                err
            })?;
            if let Some(object) = object {
                self.rbac.add(object);
            }
        }
        Ok(())
    }

    fn validate(&mut self, source: &str) -> Result<(), ClusterError> {
        let mut seen = std::collections::BTreeSet::new();
        for ns in &mut self.namespaces {
            if !seen.insert(ns.name.clone()) {
                return Err(invalid(
                    source,
                    format!("namespace {:?} is defined twice", ns.name),
                ));
            }
            let mut pods = std::collections::BTreeSet::new();
            for pod in &mut ns.pods {
                if !pods.insert(pod.name.clone()) {
                    return Err(invalid(
                        source,
                        format!("pod {}/{} is defined twice", ns.name, pod.name),
                    ));
                }
                if pod.containers.is_empty() {
                    return Err(invalid(
                        source,
                        format!("pod {}/{} has no containers", ns.name, pod.name),
                    ));
                }
                pod.finish(&ns.name);
            }
        }
        let mut tokens = std::collections::BTreeSet::new();
        for token in &self.tokens {
            if token.token.is_empty() || !tokens.insert(token.token.as_str()) {
                return Err(invalid(
                    source,
                    format!("token of {:?} is empty or duplicated", token.user),
                ));
            }
        }
        Ok(())
    }

    /// The namespace called `name`.
    pub fn namespace(&self, name: &str) -> Option<&Namespace> {
        self.namespaces.iter().find(|n| n.name == name)
    }

    /// The pod `ns/name`.
    pub fn pod(&self, ns: &str, name: &str) -> Option<&Pod> {
        self.namespace(ns)?.pods.iter().find(|p| p.name == name)
    }

    /// Every pod with its namespace.
    pub fn pods(&self) -> impl Iterator<Item = (&Namespace, &Pod)> {
        self.namespaces
            .iter()
            .flat_map(|ns| ns.pods.iter().map(move |p| (ns, p)))
    }

    /// Who a bearer token authenticates as (`system:authenticated` added, as the apiserver does).
    pub fn authenticate(&self, bearer: &str) -> Option<UserInfo> {
        // Constant-time comparison is pointless here (loopback demo with published tokens).
        let token = self.tokens.iter().find(|t| t.token == bearer)?;
        Some(token.user_info())
    }

    /// The token whose `context` is `name` (`admin`, `gateway`).
    pub fn token_for_context(&self, name: &str) -> Option<&Token> {
        self.tokens
            .iter()
            .find(|t| t.context.as_deref() == Some(name))
    }
}

fn bootstrap_objects() -> Vec<RbacObject> {
    serde_yaml::Deserializer::from_str(BOOTSTRAP_RBAC)
        .map(|d| RbacObject::deserialize(d).expect("bootstrap.yaml is valid"))
        .collect()
}

/// 1-based first line of each YAML document (after each `---` separator).
fn document_starts(text: &str) -> Vec<usize> {
    let mut starts = vec![1];
    for (i, line) in text.lines().enumerate() {
        if line.starts_with("---") {
            if i == 0 {
                starts[0] = 2;
            } else {
                starts.push(i + 2);
            }
        }
    }
    starts
}

fn read(path: &Path) -> Result<String, ClusterError> {
    std::fs::read_to_string(path).map_err(|source| ClusterError::Read {
        path: path.to_owned(),
        source,
    })
}

fn yaml_error(file: &str, e: &serde_yaml::Error) -> ClusterError {
    let (line, column) = e.location().map_or((0, 0), |l| (l.line(), l.column()));
    ClusterError::Yaml {
        file: file.to_owned(),
        line,
        column,
        message: e.to_string(),
    }
}

fn invalid(file: &str, message: String) -> ClusterError {
    ClusterError::Invalid {
        file: file.to_owned(),
        message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_cluster_has_the_demo_content() {
        let c = Cluster::builtin();
        let ledger = c.pod("payments", "ledger-0").unwrap();
        assert_eq!(ledger.default_container().name, "ledger");
        assert_eq!(c.pod("search", "search-api-0").unwrap().containers.len(), 1);
        assert!(
            c.rbac
                .cluster_roles
                .iter()
                .any(|r| r.metadata.name == "keyhole-gateway-impersonator")
        );
        assert!(c.token_for_context("gateway").is_some());
        let admin = c.authenticate("devstack-admin-token").unwrap();
        assert!(admin.groups.contains(&"system:authenticated".to_owned()));
    }

    #[test]
    fn yaml_errors_name_file_and_line() {
        let err = Cluster::parse("namespaces:\n  - name: a\n    pods: 3\n", "bad.yaml", None)
            .unwrap_err();
        let msg = err.to_string();
        assert!(msg.starts_with("bad.yaml:3:"), "{msg}");
        let mut c = Cluster::builtin();
        let err = c
            .add_manifests(
                "kind: Role\nmetadata: {name: x}\n---\nkind: Nope\n",
                "m.yaml",
            )
            .unwrap_err();
        assert!(err.to_string().starts_with("m.yaml:4:"), "{err}");
    }

    #[test]
    fn rejects_duplicates_and_empty_pods() {
        let text = "namespaces:\n  - name: a\n    pods:\n      - name: p\n        containers: []\n";
        assert!(
            Cluster::parse(text, "x", None)
                .unwrap_err()
                .to_string()
                .contains("no containers")
        );
    }
}
