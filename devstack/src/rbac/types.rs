//! Kubernetes RBAC objects (`rbac.authorization.k8s.io/v1`) in their YAML/JSON shape.
//!
//! Only the fields the evaluator reads are modelled; everything else in a manifest (labels,
//! annotations, `apiVersion`) is accepted and ignored, so real manifests from `deploy/rbac/`
//! load unchanged.

use serde::{Deserialize, Serialize};

/// The part of `metadata` that RBAC evaluation needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectMeta {
    /// Object name.
    pub name: String,
    /// Namespace; required for `Role`/`RoleBinding`, absent for cluster-scoped objects.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
}

/// One `rules[]` entry of a Role or ClusterRole.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PolicyRule {
    /// Verbs, or `*`.
    #[serde(default)]
    pub verbs: Vec<String>,
    /// API groups (`""` = core), or `*`.
    #[serde(default)]
    pub api_groups: Vec<String>,
    /// Resources, `resource/subresource`, `*/subresource` or `*`.
    #[serde(default)]
    pub resources: Vec<String>,
    /// Exact object names; empty means any name.
    #[serde(default)]
    pub resource_names: Vec<String>,
    /// Non-resource URL paths; a trailing `*` is a prefix match.
    #[serde(default, rename = "nonResourceURLs")]
    pub non_resource_urls: Vec<String>,
}

/// A Role or a ClusterRole (the shapes are the same apart from the namespace).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Role {
    /// Name (and namespace, for a Role).
    pub metadata: ObjectMeta,
    /// The rules; additive, there are no deny rules.
    #[serde(default)]
    pub rules: Vec<PolicyRule>,
}

/// Who a binding applies to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Subject {
    /// `User`, `Group` or `ServiceAccount`; anything else never matches.
    pub kind: String,
    /// User name, group name or service-account name.
    pub name: String,
    /// ServiceAccount namespace; defaults to the binding's namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// `rbac.authorization.k8s.io` for users and groups; ignored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_group: Option<String>,
}

/// What a binding grants.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RoleRef {
    /// `Role` or `ClusterRole`.
    pub kind: String,
    /// Role name.
    pub name: String,
    /// Always `rbac.authorization.k8s.io`; ignored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_group: Option<String>,
}

/// A RoleBinding or a ClusterRoleBinding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Binding {
    /// Name (and namespace, for a RoleBinding).
    pub metadata: ObjectMeta,
    /// Subjects; a binding without subjects grants nothing.
    #[serde(default)]
    pub subjects: Vec<Subject>,
    /// The role granted.
    pub role_ref: RoleRef,
}

/// Any object that may appear in an RBAC manifest. ServiceAccounts and Namespaces are accepted
/// (deploy manifests usually carry them) and ignored by the evaluator.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "kind")]
pub enum RbacObject {
    /// A namespaced Role.
    Role(Role),
    /// A cluster-wide role.
    ClusterRole(Role),
    /// Grants a Role or ClusterRole inside one namespace.
    RoleBinding(Binding),
    /// Grants a ClusterRole everywhere.
    ClusterRoleBinding(Binding),
    /// Accepted and ignored: service accounts authenticate by token in devstack.
    ServiceAccount(serde_yaml::Value),
    /// Accepted and ignored: namespaces come from the cluster file.
    Namespace(serde_yaml::Value),
}
