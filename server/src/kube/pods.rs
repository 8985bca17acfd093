//! Which pods a grant covers. Kubernetes RBAC already limits the impersonated user to the
//! grant's namespaces; the profile's pod selector and a request narrowed to one pod are
//! Keyhole's own limits, enforced here (RBAC cannot express label selectors).

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Pod;
use keyhole_protocol::terminal::PodSummary;
use kube::Api;
use kube::api::ListParams;

use super::UserKube;
use crate::domain::Grant;
use crate::policy::Capability;

/// Whether `grant` covers the pod `namespace/name` with `labels`.
pub fn covers(
    grant: &Grant,
    namespace: &str,
    name: &str,
    labels: &BTreeMap<String, String>,
) -> bool {
    if !grant.namespaces.iter().any(|n| n == namespace) {
        return false;
    }
    if let Some((ns, pod)) = &grant.pod
        && (ns != namespace || pod != name)
    {
        return false;
    }
    grant
        .pod_selector
        .iter()
        .all(|(k, v)| labels.get(k) == Some(v))
}

/// The API view of a pod, with the default container first
/// (annotation `kubectl.kubernetes.io/default-container`, else the first one).
pub fn summarize(grant: &Grant, pod: &Pod) -> PodSummary {
    let meta = &pod.metadata;
    let mut containers: Vec<String> = pod
        .spec
        .as_ref()
        .map(|s| s.containers.iter().map(|c| c.name.clone()).collect())
        .unwrap_or_default();
    if let Some(default) = meta
        .annotations
        .as_ref()
        .and_then(|a| a.get("kubectl.kubernetes.io/default-container"))
        && let Some(i) = containers.iter().position(|c| c == default)
    {
        let c = containers.remove(i);
        containers.insert(0, c);
    }
    let statuses = pod
        .status
        .as_ref()
        .and_then(|s| s.container_statuses.clone())
        .unwrap_or_default();
    PodSummary {
        namespace: meta.namespace.clone().unwrap_or_default(),
        name: meta.name.clone().unwrap_or_default(),
        containers,
        phase: pod
            .status
            .as_ref()
            .and_then(|s| s.phase.clone())
            .unwrap_or_else(|| "Unknown".into()),
        exec: grant.capabilities.contains(Capability::Exec),
        logs: grant.capabilities.contains(Capability::Logs),
        created_at: meta.creation_timestamp.as_ref().map(|t| t.0.as_second()),
        ready_containers: statuses.iter().filter(|c| c.ready).count() as u32,
        restarts: statuses.iter().map(|c| c.restart_count.max(0) as u32).sum(),
        node: pod.spec.as_ref().and_then(|s| s.node_name.clone()),
    }
}

fn selector(grant: &Grant) -> Option<String> {
    (!grant.pod_selector.is_empty()).then(|| {
        grant
            .pod_selector
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(",")
    })
}

impl UserKube {
    /// The pods `grant` covers, listed as the user (one list per namespace), sorted.
    pub async fn list_pods(&self, grant: &Grant) -> Result<Vec<PodSummary>, kube::Error> {
        let mut params = ListParams::default();
        if let Some(sel) = selector(grant) {
            params = params.labels(&sel);
        }
        let mut out = Vec::new();
        for ns in &grant.namespaces {
            if let Some((pod_ns, _)) = &grant.pod
                && pod_ns != ns
            {
                continue;
            }
            let api: Api<Pod> = Api::namespaced(self.client.clone(), ns);
            for pod in api.list(&params).await? {
                let name = pod.metadata.name.clone().unwrap_or_default();
                let labels = pod.metadata.labels.clone().unwrap_or_default();
                if covers(grant, ns, &name, &labels) {
                    out.push(summarize(grant, &pod));
                }
            }
        }
        out.sort_by(|a, b| (&a.namespace, &a.name).cmp(&(&b.namespace, &b.name)));
        Ok(out)
    }

    /// One pod, read as the user; `None` if it does not exist.
    pub async fn get_pod(&self, namespace: &str, name: &str) -> Result<Option<Pod>, kube::Error> {
        Api::<Pod>::namespaced(self.client.clone(), namespace)
            .get_opt(name)
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grant() -> Grant {
        crate::domain::test_grant()
    }

    #[test]
    fn namespace_selector_and_narrowing() {
        let mut g = grant();
        let app = BTreeMap::from([("app".to_owned(), "checkout".to_owned())]);
        assert!(covers(&g, "payments", "checkout-1", &app));
        assert!(!covers(&g, "search", "checkout-1", &app));
        g.pod_selector = BTreeMap::from([("app".to_owned(), "ledger".to_owned())]);
        assert!(!covers(&g, "payments", "checkout-1", &app));
        g.pod_selector.clear();
        g.pod = Some(("payments".into(), "ledger-0".into()));
        assert!(!covers(&g, "payments", "checkout-1", &app));
        assert!(covers(&g, "payments", "ledger-0", &BTreeMap::new()));
        assert_eq!(selector(&grant()), None);
    }
}
