//! The checks every pod route makes before touching a pod, shared by the pod list, the logs
//! and the terminal: the grant is active and the caller's own, allows the capability, and
//! covers the pod (namespace, selector, narrowing), which is read *as the user*.

use keyhole_protocol::terminal::PodSummary;

use crate::access::GrantError;
use crate::domain::Grant;
use crate::error::AppError;
use crate::kube::{UserKube, covers, summarize};
use crate::policy::Capability;

impl From<GrantError> for AppError {
    fn from(e: GrantError) -> Self {
        match e {
            // Someone else's grant is "not found" too: ids cannot be probed.
            GrantError::NotFound => AppError::NotFound("there is no such grant".into()),
            GrantError::Expired => AppError::Forbidden("the grant has expired".into()),
            GrantError::Revoked { reason } => {
                AppError::Forbidden(format!("the grant was revoked: {reason}"))
            }
            // Fail closed: no answer from the database, no session.
            GrantError::Store(e) => {
                tracing::error!(error = %e, "grant check failed");
                AppError::Unavailable("the grant cannot be checked right now".into())
            }
        }
    }
}

/// 403 unless the grant allows `cap`.
pub(super) fn require_capability(grant: &Grant, cap: Capability) -> Result<(), AppError> {
    if grant.capabilities.contains(cap) {
        Ok(())
    } else {
        Err(AppError::Forbidden(format!(
            "the profile {} does not allow {}",
            grant.profile,
            match cap {
                Capability::Exec => "a terminal (exec)",
                Capability::Logs => "reading logs",
                Capability::Portforward => "port forwarding",
                Capability::Debug => "debug containers",
            }
        )))
    }
}

/// The pod `namespace/name` if the grant covers it. The namespace is checked before asking
/// Kubernetes, so a pod outside the grant is refused without a call.
pub(super) async fn covered_pod(
    grant: &Grant,
    kube: &UserKube,
    namespace: &str,
    name: &str,
) -> Result<PodSummary, AppError> {
    let outside = || {
        AppError::Forbidden(format!(
            "the pod {namespace}/{name} is outside the grant (profile {})",
            grant.profile
        ))
    };
    if !grant.namespaces.iter().any(|n| n == namespace) {
        return Err(outside());
    }
    let pod = kube
        .get_pod(namespace, name)
        .await
        .map_err(|e| kube_error(grant, e))?
        .ok_or_else(|| AppError::NotFound(format!("no pod {namespace}/{name}")))?;
    let labels = pod.metadata.labels.clone().unwrap_or_default();
    if !covers(grant, namespace, name, &labels) {
        return Err(outside());
    }
    Ok(summarize(grant, &pod))
}

/// The container to use: the one asked for (it must exist), else the default.
pub(super) fn pick_container(pod: &PodSummary, wanted: Option<&str>) -> Result<String, AppError> {
    match wanted.filter(|c| !c.is_empty()) {
        Some(c) if pod.containers.iter().any(|x| x == c) => Ok(c.to_owned()),
        Some(c) => Err(AppError::BadRequest(format!(
            "the pod {} has no container {c:?} (it has {})",
            pod.name,
            pod.containers.join(", ")
        ))),
        None => {
            pod.containers.first().cloned().ok_or_else(|| {
                AppError::BadRequest(format!("the pod {} has no containers", pod.name))
            })
        }
    }
}

/// A Kubernetes API error as an HTTP error: RBAC denials stay 403 with Kubernetes' reason (it
/// names the impersonated user, which helps the user and reveals nothing new); 404 stays 404;
/// anything else means the cluster is unavailable (detail logged).
pub(super) fn kube_error(grant: &Grant, e: kube::Error) -> AppError {
    match e {
        kube::Error::Api(status) if status.code == 403 => AppError::Forbidden(format!(
            "Kubernetes denied this to {}: {}",
            grant.kube_user, status.message
        )),
        kube::Error::Api(status) if status.code == 404 => AppError::NotFound(status.message),
        kube::Error::Api(status) if status.code == 400 => AppError::BadRequest(status.message),
        other => {
            tracing::error!(error = %other, "Kubernetes API call failed");
            AppError::Unavailable("the Kubernetes API did not answer; try again".into())
        }
    }
}
