//! RBAC evaluation as the kube-apiserver does it (`plugin/pkg/auth/authorizer/rbac`), plus
//! impersonation checks. Pure: no I/O, no async; every decision is a function of the policy,
//! the user and the request attributes, so it is table-tested in `tests/rbac.rs`.
//!
//! What is modelled: verbs, apiGroups, resources with subresources (`pods/exec`, `*/exec`, `*`),
//! resourceNames, nonResourceURLs (exact and trailing-`*` prefix), Role/ClusterRole,
//! RoleBinding/ClusterRoleBinding, and User/Group/ServiceAccount subjects.
//! What is not: aggregated ClusterRoles (a controller fills those in), escalation checks on
//! writes to RBAC objects (devstack's RBAC is read-only).

pub mod impersonation;
pub mod types;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub use types::{Binding, ObjectMeta, PolicyRule, RbacObject, Role, RoleRef, Subject};

/// The Kubernetes group every authenticated user is in.
pub const ALL_AUTHENTICATED: &str = "system:authenticated";
/// The group of requests without credentials.
pub const ALL_UNAUTHENTICATED: &str = "system:unauthenticated";
/// The user name of requests without credentials.
pub const ANONYMOUS: &str = "system:anonymous";

/// An authenticated (or impersonated) identity, as in `k8s.io/apiserver/pkg/authentication/user`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserInfo {
    /// The user name, e.g. `alice@example.test` or `system:serviceaccount:ns:name`.
    pub username: String,
    /// Optional stable id.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub uid: String,
    /// Group names, including `system:authenticated` where applicable.
    #[serde(default)]
    pub groups: Vec<String>,
    /// Extra attributes (`Impersonate-Extra-<key>`); keys are lowercase.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub extra: BTreeMap<String, Vec<String>>,
}

impl UserInfo {
    /// A user with the given name and groups and nothing else.
    pub fn new(username: &str, groups: &[&str]) -> Self {
        Self {
            username: username.to_owned(),
            groups: groups.iter().map(|g| (*g).to_owned()).collect(),
            ..Self::default()
        }
    }

    /// The identity of a request that carried no credentials.
    pub fn anonymous() -> Self {
        Self::new(ANONYMOUS, &[ALL_UNAUTHENTICATED])
    }
}

/// What is being asked for: the `authorizer.Attributes` of one check.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Attributes {
    /// `get`, `list`, `create`, `impersonate`, … (lowercase).
    pub verb: String,
    /// True for `/api/...` and `/apis/...` object paths; false for discovery and other URLs.
    pub resource_request: bool,
    /// API group; `""` is the core group.
    pub api_group: String,
    /// API version (informational).
    pub api_version: String,
    /// Plural resource, e.g. `pods`.
    pub resource: String,
    /// Subresource, e.g. `exec`; empty if none.
    pub subresource: String,
    /// Namespace; empty for cluster-scoped requests.
    pub namespace: String,
    /// Object name; empty for collections.
    pub name: String,
    /// The URL path, for non-resource requests.
    pub path: String,
}

impl Attributes {
    /// A resource request.
    pub fn resource(
        verb: &str,
        api_group: &str,
        resource: &str,
        namespace: &str,
        name: &str,
    ) -> Self {
        let (resource, subresource) = resource.split_once('/').unwrap_or((resource, ""));
        Self {
            verb: verb.to_owned(),
            resource_request: true,
            api_group: api_group.to_owned(),
            api_version: "v1".to_owned(),
            resource: resource.to_owned(),
            subresource: subresource.to_owned(),
            namespace: namespace.to_owned(),
            name: name.to_owned(),
            path: String::new(),
        }
    }

    /// A non-resource request such as `GET /version`.
    pub fn non_resource(verb: &str, path: &str) -> Self {
        Self {
            verb: verb.to_owned(),
            path: path.to_owned(),
            ..Self::default()
        }
    }

    /// `resource/subresource`, as RBAC rules spell it.
    pub fn combined_resource(&self) -> String {
        if self.subresource.is_empty() {
            self.resource.clone()
        } else {
            format!("{}/{}", self.resource, self.subresource)
        }
    }
}

/// The result of one authorization check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// Whether some rule allowed the request.
    pub allowed: bool,
    /// `RBAC: allowed by …` when allowed; empty when denied (RBAC has no opinion then).
    pub reason: String,
}

/// All roles and bindings of a cluster.
#[derive(Debug, Clone, Default)]
pub struct Policy {
    /// Namespaced roles.
    pub roles: Vec<Role>,
    /// Cluster roles.
    pub cluster_roles: Vec<Role>,
    /// Namespaced bindings.
    pub role_bindings: Vec<Binding>,
    /// Cluster-wide bindings.
    pub cluster_role_bindings: Vec<Binding>,
}

impl Policy {
    /// Adds one manifest object. Namespaced objects without a namespace land in `default`, as
    /// `kubectl apply` would put them.
    pub fn add(&mut self, object: RbacObject) {
        fn in_ns(mut meta: ObjectMeta) -> ObjectMeta {
            meta.namespace.get_or_insert_with(|| "default".to_owned());
            meta
        }
        match object {
            RbacObject::Role(mut r) => {
                r.metadata = in_ns(r.metadata);
                self.roles.push(r);
            }
            RbacObject::ClusterRole(r) => self.cluster_roles.push(r),
            RbacObject::RoleBinding(mut b) => {
                b.metadata = in_ns(b.metadata);
                self.role_bindings.push(b);
            }
            RbacObject::ClusterRoleBinding(b) => self.cluster_role_bindings.push(b),
            RbacObject::ServiceAccount(_) | RbacObject::Namespace(_) => {}
        }
    }

    /// Is `user` allowed to do `attrs`? Deny by default; the first allowing rule wins, visiting
    /// ClusterRoleBindings first and then the RoleBindings of the request's namespace, like
    /// `VisitRulesFor`.
    pub fn authorize(&self, user: &UserInfo, attrs: &Attributes) -> Decision {
        for binding in &self.cluster_role_bindings {
            if let Some(reason) =
                self.binding_allows("ClusterRoleBinding", binding, "", user, attrs)
            {
                return Decision {
                    allowed: true,
                    reason,
                };
            }
        }
        if !attrs.namespace.is_empty() {
            for binding in &self.role_bindings {
                let ns = binding.metadata.namespace.as_deref().unwrap_or_default();
                if ns != attrs.namespace {
                    continue;
                }
                if let Some(reason) = self.binding_allows("RoleBinding", binding, ns, user, attrs) {
                    return Decision {
                        allowed: true,
                        reason,
                    };
                }
            }
        }
        Decision {
            allowed: false,
            reason: String::new(),
        }
    }

    fn binding_allows(
        &self,
        kind: &str,
        binding: &Binding,
        ns: &str,
        user: &UserInfo,
        attrs: &Attributes,
    ) -> Option<String> {
        let subject = binding
            .subjects
            .iter()
            .find(|s| subject_matches(s, ns, user))?;
        let rules = self.rules_for(&binding.role_ref, ns)?;
        rules.iter().any(|r| rule_allows(attrs, r)).then(|| {
            let name = if ns.is_empty() {
                binding.metadata.name.clone()
            } else {
                format!("{}/{ns}", binding.metadata.name)
            };
            format!(
                "RBAC: allowed by {kind} {name:?} of {} {:?} to {}",
                binding.role_ref.kind,
                binding.role_ref.name,
                describe_subject(subject, ns)
            )
        })
    }

    /// A RoleBinding's `Role` is looked up in the binding's namespace; a `ClusterRole` anywhere
    /// (and, through a RoleBinding, applies only in that binding's namespace).
    fn rules_for(&self, role_ref: &RoleRef, ns: &str) -> Option<&[PolicyRule]> {
        match role_ref.kind.as_str() {
            "ClusterRole" => self
                .cluster_roles
                .iter()
                .find(|r| r.metadata.name == role_ref.name)
                .map(|r| r.rules.as_slice()),
            "Role" if !ns.is_empty() => self
                .roles
                .iter()
                .find(|r| {
                    r.metadata.name == role_ref.name && r.metadata.namespace.as_deref() == Some(ns)
                })
                .map(|r| r.rules.as_slice()),
            _ => None,
        }
    }
}

fn subject_matches(subject: &Subject, binding_ns: &str, user: &UserInfo) -> bool {
    match subject.kind.as_str() {
        "User" => user.username == subject.name,
        "Group" => user.groups.contains(&subject.name),
        "ServiceAccount" => {
            let ns = subject
                .namespace
                .as_deref()
                .filter(|n| !n.is_empty())
                .unwrap_or(binding_ns);
            user.username == format!("system:serviceaccount:{ns}:{}", subject.name)
        }
        _ => false,
    }
}

fn describe_subject(subject: &Subject, binding_ns: &str) -> String {
    if subject.kind == "ServiceAccount" {
        let ns = subject
            .namespace
            .as_deref()
            .filter(|n| !n.is_empty())
            .unwrap_or(binding_ns);
        format!("ServiceAccount {:?}", format!("{}/{ns}", subject.name))
    } else {
        format!("{} {:?}", subject.kind, subject.name)
    }
}

/// `RuleAllows` from `pkg/apis/rbac/v1/evaluation_helpers.go`.
pub fn rule_allows(attrs: &Attributes, rule: &PolicyRule) -> bool {
    let verb_ok = has(&rule.verbs, "*") || has(&rule.verbs, &attrs.verb);
    if !attrs.resource_request {
        return verb_ok
            && rule.non_resource_urls.iter().any(|u| {
                u == "*"
                    || *u == attrs.path
                    || u.strip_suffix('*')
                        .is_some_and(|p| attrs.path.starts_with(p))
            });
    }
    let group_ok = has(&rule.api_groups, "*") || has(&rule.api_groups, &attrs.api_group);
    // "pods" does not cover "pods/exec", and "pods/*" is not a wildcard: only "*" and "*/sub" are.
    let combined = attrs.combined_resource();
    let resource_ok = has(&rule.resources, "*")
        || has(&rule.resources, &combined)
        || (!attrs.subresource.is_empty()
            && has(&rule.resources, &format!("*/{}", attrs.subresource)));
    let name_ok = rule.resource_names.is_empty() || has(&rule.resource_names, &attrs.name);
    verb_ok && group_ok && resource_ok && name_ok
}

fn has(list: &[String], item: &str) -> bool {
    list.iter().any(|x| x == item)
}

/// The explanation Kubernetes puts in a 403 (`responsewriters.forbiddenMessage` wrapped by
/// `NewForbidden`), e.g. `pods "x" is forbidden: User "alice" cannot create resource "pods/exec"
/// in API group "" in the namespace "payments"`.
pub fn forbidden_message(user: &UserInfo, attrs: &Attributes) -> String {
    if !attrs.resource_request {
        return format!(
            "forbidden: User {:?} cannot {} path {:?}",
            user.username, attrs.verb, attrs.path
        );
    }
    let why = if attrs.namespace.is_empty() {
        format!(
            "User {:?} cannot {} resource {:?} in API group {:?} at the cluster scope",
            user.username,
            attrs.verb,
            attrs.combined_resource(),
            attrs.api_group
        )
    } else {
        format!(
            "User {:?} cannot {} resource {:?} in API group {:?} in the namespace {:?}",
            user.username,
            attrs.verb,
            attrs.combined_resource(),
            attrs.api_group,
            attrs.namespace
        )
    };
    let qualified = qualified_resource(attrs);
    if attrs.name.is_empty() {
        format!("{qualified} is forbidden: {why}")
    } else {
        format!("{qualified} {:?} is forbidden: {why}", attrs.name)
    }
}

/// `schema.GroupResource.String()`: `pods`, or `userextras.authentication.k8s.io`.
pub fn qualified_resource(attrs: &Attributes) -> String {
    if attrs.api_group.is_empty() {
        attrs.resource.clone()
    } else {
        format!("{}.{}", attrs.resource, attrs.api_group)
    }
}
