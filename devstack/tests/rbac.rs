//! Table tests of RBAC and impersonation evaluation (pure; no server).

use devstack::Cluster;
use devstack::rbac::impersonation::{ImpersonationError, ImpersonationRequest, impersonate};
use devstack::rbac::{Attributes, Policy, UserInfo};

/// A policy from inline manifests (plus nothing else: no bootstrap roles).
fn policy(yaml: &str) -> Policy {
    let mut cluster = Cluster::parse("{}", "empty", None).unwrap();
    cluster.rbac = Policy::default();
    cluster.add_manifests(yaml, "inline").unwrap();
    cluster.rbac
}

const RULES: &str = r#"
kind: Role
metadata: {name: r, namespace: payments}
rules:
  - {apiGroups: [""], resources: ["pods"], verbs: ["get", "list"]}
  - {apiGroups: [""], resources: ["pods/exec"], verbs: ["create"], resourceNames: ["web-0"]}
  - {apiGroups: ["apps"], resources: ["*/scale"], verbs: ["*"]}
---
kind: RoleBinding
metadata: {name: rb, namespace: payments}
roleRef: {kind: Role, name: r}
subjects:
  - {kind: User, name: alice}
  - {kind: Group, name: oncall}
  - {kind: ServiceAccount, name: bot}
---
kind: ClusterRole
metadata: {name: viewer}
rules:
  - {apiGroups: [""], resources: ["namespaces"], verbs: ["get"]}
  - {nonResourceURLs: ["/healthz", "/logs/*"], verbs: ["get"]}
---
kind: ClusterRoleBinding
metadata: {name: crb}
roleRef: {kind: ClusterRole, name: viewer}
subjects: [{kind: Group, name: viewers}]
---
kind: RoleBinding
metadata: {name: viewer-in-search, namespace: search}
roleRef: {kind: ClusterRole, name: viewer}
subjects: [{kind: User, name: carol}]
---
kind: ClusterRole
metadata: {name: everything-in-ns}
rules: [{apiGroups: ["*"], resources: ["*"], verbs: ["*"]}]
---
kind: RoleBinding
metadata: {name: admin-in-search, namespace: search}
roleRef: {kind: ClusterRole, name: everything-in-ns}
subjects: [{kind: User, name: dave}]
"#;

fn res(verb: &str, group: &str, resource: &str, ns: &str, name: &str) -> Attributes {
    Attributes::resource(verb, group, resource, ns, name)
}

#[test]
fn rbac_rules_table() {
    let p = policy(RULES);
    let alice = UserInfo::new("alice", &[]);
    let oncall = UserInfo::new("someone", &["oncall"]);
    let bot = UserInfo::new("system:serviceaccount:payments:bot", &[]);
    let other_bot = UserInfo::new("system:serviceaccount:search:bot", &[]);
    let viewer = UserInfo::new("v", &["viewers"]);
    let carol = UserInfo::new("carol", &[]);
    let dave = UserInfo::new("dave", &[]);
    let nobody = UserInfo::new("mallory", &["system:authenticated"]);
    let cases: Vec<(&str, &UserInfo, Attributes, bool)> = vec![
        (
            "verb listed",
            &alice,
            res("get", "", "pods", "payments", "x"),
            true,
        ),
        (
            "verb not listed",
            &alice,
            res("delete", "", "pods", "payments", "x"),
            false,
        ),
        (
            "list collection",
            &alice,
            res("list", "", "pods", "payments", ""),
            true,
        ),
        (
            "role only in its namespace",
            &alice,
            res("get", "", "pods", "search", "x"),
            false,
        ),
        (
            "pods does not cover pods/exec",
            &alice,
            res("get", "", "pods/exec", "payments", "web-0"),
            false,
        ),
        (
            "subresource with resourceName",
            &alice,
            res("create", "", "pods/exec", "payments", "web-0"),
            true,
        ),
        (
            "resourceName mismatch",
            &alice,
            res("create", "", "pods/exec", "payments", "web-1"),
            false,
        ),
        (
            "apiGroup mismatch",
            &alice,
            res("get", "apps", "pods", "payments", "x"),
            false,
        ),
        (
            "*/subresource and * verb",
            &alice,
            res("patch", "apps", "deployments/scale", "payments", "d"),
            true,
        ),
        (
            "*/subresource needs a subresource",
            &alice,
            res("patch", "apps", "deployments", "payments", "d"),
            false,
        ),
        (
            "group subject",
            &oncall,
            res("get", "", "pods", "payments", "x"),
            true,
        ),
        (
            "service account in binding namespace",
            &bot,
            res("get", "", "pods", "payments", "x"),
            true,
        ),
        (
            "service account of another namespace",
            &other_bot,
            res("get", "", "pods", "payments", "x"),
            false,
        ),
        (
            "cluster role binding is cluster-wide",
            &viewer,
            res("get", "", "namespaces", "", "payments"),
            true,
        ),
        (
            "non-resource exact",
            &viewer,
            Attributes::non_resource("get", "/healthz"),
            true,
        ),
        (
            "non-resource prefix",
            &viewer,
            Attributes::non_resource("get", "/logs/kubelet"),
            true,
        ),
        (
            "non-resource other",
            &viewer,
            Attributes::non_resource("get", "/metrics"),
            false,
        ),
        (
            "rolebinding to clusterrole: in its namespace",
            &carol,
            res("get", "", "namespaces", "search", "search"),
            true,
        ),
        (
            "rolebinding to clusterrole: not cluster-wide",
            &carol,
            res("get", "", "namespaces", "", "payments"),
            false,
        ),
        (
            "non-resource never via rolebinding",
            &carol,
            Attributes::non_resource("get", "/healthz"),
            false,
        ),
        (
            "wildcards via rolebinding",
            &dave,
            res("create", "", "pods/exec", "search", "s"),
            true,
        ),
        (
            "wildcards stay in namespace",
            &dave,
            res("create", "", "pods/exec", "payments", "s"),
            false,
        ),
        (
            "deny by default",
            &nobody,
            res("get", "", "pods", "payments", "x"),
            false,
        ),
    ];
    for (what, user, attrs, want) in cases {
        let got = p.authorize(user, &attrs);
        assert_eq!(got.allowed, want, "{what}: {user:?} {attrs:?}");
        assert_eq!(
            got.reason.is_empty(),
            !want,
            "{what}: reason {:?}",
            got.reason
        );
    }
}

#[test]
fn allow_reasons_name_the_binding() {
    let p = policy(RULES);
    let d = p.authorize(
        &UserInfo::new("alice", &[]),
        &res("get", "", "pods", "payments", "x"),
    );
    assert_eq!(
        d.reason,
        r#"RBAC: allowed by RoleBinding "rb/payments" of Role "r" to User "alice""#
    );
    let d = p.authorize(
        &UserInfo::new("system:serviceaccount:payments:bot", &[]),
        &res("get", "", "pods", "payments", "x"),
    );
    assert!(
        d.reason.ends_with(r#"to ServiceAccount "bot/payments""#),
        "{}",
        d.reason
    );
}

fn gateway() -> UserInfo {
    Cluster::builtin()
        .authenticate("devstack-gateway-token")
        .unwrap()
}

fn imp(
    user: Option<&str>,
    groups: &[&str],
    extra: &[(&str, &str)],
    uid: Option<&str>,
) -> ImpersonationRequest {
    let mut req = ImpersonationRequest {
        user: user.map(str::to_owned),
        uid: uid.map(str::to_owned),
        groups: groups.iter().map(|g| (*g).to_owned()).collect(),
        ..Default::default()
    };
    for (k, v) in extra {
        req.extra
            .entry((*k).to_owned())
            .or_default()
            .push((*v).to_owned());
    }
    req
}

#[test]
fn gateway_impersonation_table() {
    let cluster = Cluster::builtin();
    let gw = gateway();
    let alice = UserInfo::new("alice@example.test", &["system:authenticated"]);
    let admin = cluster.authenticate("devstack-admin-token").unwrap();
    let cases: Vec<(&str, &UserInfo, ImpersonationRequest, Result<(), &str>)> = vec![
        (
            "any user",
            &gw,
            imp(Some("alice@example.test"), &[], &[], None),
            Ok(()),
        ),
        (
            "keyhole group",
            &gw,
            imp(
                Some("alice@example.test"),
                &["keyhole:payments-debug"],
                &[],
                None,
            ),
            Ok(()),
        ),
        (
            "both keyhole groups",
            &gw,
            imp(
                Some("a"),
                &["keyhole:payments-debug", "keyhole:search-debug"],
                &[],
                None,
            ),
            Ok(()),
        ),
        (
            "system:masters is not a keyhole group",
            &gw,
            imp(Some("alice@example.test"), &["system:masters"], &[], None),
            Err(
                r#"groups "system:masters" is forbidden: User "system:serviceaccount:keyhole:keyhole-gateway" cannot impersonate resource "groups" in API group "" at the cluster scope"#,
            ),
        ),
        (
            "allowed extras",
            &gw,
            imp(
                Some("a"),
                &[],
                &[
                    ("keyhole.dev/grant-id", "g-1"),
                    ("keyhole.dev/session-id", "s-1"),
                    ("keyhole.dev/reason", "INC-7 db"),
                ],
                None,
            ),
            Ok(()),
        ),
        (
            "other extra key",
            &gw,
            imp(Some("a"), &[], &[("scopes", "x")], None),
            Err(
                r#"userextras.authentication.k8s.io "x" is forbidden: User "system:serviceaccount:keyhole:keyhole-gateway" cannot impersonate resource "userextras/scopes" in API group "authentication.k8s.io" at the cluster scope"#,
            ),
        ),
        (
            "uid is not granted",
            &gw,
            imp(Some("a"), &[], &[], Some("u-1")),
            Err(r#"uids.authentication.k8s.io "u-1" is forbidden"#),
        ),
        (
            "service account user needs serviceaccounts",
            &gw,
            imp(
                Some("system:serviceaccount:payments:default"),
                &[],
                &[],
                None,
            ),
            Err(r#"serviceaccounts "default" is forbidden"#),
        ),
        (
            "a plain user may not impersonate",
            &alice,
            imp(Some("bob"), &[], &[], None),
            Err(r#"users "bob" is forbidden"#),
        ),
        (
            "cluster-admin may impersonate anything",
            &admin,
            imp(Some("x"), &["system:masters"], &[("k", "v")], Some("u")),
            Ok(()),
        ),
    ];
    for (what, caller, req, want) in cases {
        match (impersonate(&cluster.rbac, caller, &req), want) {
            (Ok(_), Ok(())) => {}
            (Err(ImpersonationError::Forbidden { message, .. }), Err(prefix)) => {
                assert!(message.starts_with(prefix), "{what}: {message}");
            }
            (got, want) => panic!("{what}: got {got:?}, want {want:?}"),
        }
    }
    let err = impersonate(&cluster.rbac, &gw, &imp(None, &["g"], &[], None)).unwrap_err();
    assert!(matches!(err, ImpersonationError::NoUser(_)));
}

#[test]
fn impersonated_identity_and_its_rights() {
    let cluster = Cluster::builtin();
    let req = imp(
        Some("alice@example.test"),
        &["keyhole:payments-debug"],
        &[("keyhole.dev/grant-id", "g-42")],
        None,
    );
    let alice = impersonate(&cluster.rbac, &gateway(), &req).unwrap();
    assert_eq!(
        alice.groups,
        ["keyhole:payments-debug", "system:authenticated"]
    );
    assert_eq!(alice.extra["keyhole.dev/grant-id"], ["g-42"]);
    let anon = impersonate(
        &cluster.rbac,
        &cluster.authenticate("devstack-admin-token").unwrap(),
        &imp(Some("system:anonymous"), &[], &[], None),
    )
    .unwrap();
    assert_eq!(anon.groups, ["system:unauthenticated"]);

    let can = |verb: &str, resource: &str, ns: &str| {
        cluster
            .rbac
            .authorize(&alice, &res(verb, "", resource, ns, "p"))
            .allowed
    };
    assert!(can("get", "pods/exec", "payments") && can("create", "pods/exec", "payments"));
    assert!(can("get", "pods/log", "payments") && can("list", "pods", "payments"));
    assert!(!can("create", "pods/exec", "search"));
    assert!(!can("create", "pods/attach", "payments"));
    assert!(!can("delete", "pods", "payments"));
    // The gateway itself can do nothing to pods: it only impersonates.
    assert!(
        !cluster
            .rbac
            .authorize(&gateway(), &res("get", "", "pods", "payments", "p"))
            .allowed
    );
    assert!(
        !cluster
            .rbac
            .authorize(&gateway(), &res("create", "", "pods/exec", "payments", "p"))
            .allowed
    );
}

#[test]
fn logs_only_group_reads_logs_but_cannot_exec() {
    // The `payments-logs` profile of the demo policy impersonates
    // keyhole:payments-logs; deploy/rbac gives that group read-only rights.
    let cluster = Cluster::builtin();
    let req = imp(
        Some("alice@example.test"),
        &["keyhole:payments-logs"],
        &[],
        None,
    );
    let alice = impersonate(&cluster.rbac, &gateway(), &req).unwrap();
    let can = |verb: &str, resource: &str, ns: &str| {
        cluster
            .rbac
            .authorize(&alice, &res(verb, "", resource, ns, "p"))
            .allowed
    };
    assert!(can("get", "pods/log", "payments") && can("list", "pods", "payments"));
    assert!(!can("get", "pods/exec", "payments") && !can("create", "pods/exec", "payments"));
    assert!(!can("get", "pods/log", "search"));
}
