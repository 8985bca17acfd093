//! HTTP request → authorization attributes, as `k8s.io/apiserver/pkg/endpoints/request`
//! `RequestInfoFactory` does it. Pure.

use crate::rbac::Attributes;

/// Derives the RBAC attributes of a request from its method, path and query.
pub fn attributes(method: &str, path: &str, query: Option<&str>) -> Attributes {
    let parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
    let method = method.to_ascii_uppercase();
    let (group, version, rest) = match parts.as_slice() {
        ["api", version, rest @ ..] if !rest.is_empty() => ("", *version, rest),
        ["apis", group, version, rest @ ..] if !rest.is_empty() => (*group, *version, rest),
        _ => {
            // Discovery, /version, /healthz, …: non-resource requests with the lowercase method.
            let verb = match method.as_str() {
                "HEAD" => "get".to_owned(),
                m => m.to_ascii_lowercase(),
            };
            return Attributes::non_resource(&verb, path);
        }
    };

    let mut attrs = Attributes {
        resource_request: true,
        api_group: group.to_owned(),
        api_version: version.to_owned(),
        path: path.to_owned(),
        ..Attributes::default()
    };
    let mut rest: &[&str] = rest;
    if rest[0] == "namespaces" {
        if rest.len() >= 3 {
            attrs.namespace = rest[1].to_owned();
            rest = &rest[2..];
        } else if rest.len() == 2 {
            // `namespaces/{name}`: the namespace of a namespace is itself.
            attrs.namespace = rest[1].to_owned();
        }
    }
    attrs.resource = rest[0].to_owned();
    if let Some(name) = rest.get(1) {
        attrs.name = (*name).to_owned();
    }
    if let Some(sub) = rest.get(2) {
        attrs.subresource = (*sub).to_owned();
    }

    let watch = query.is_some_and(|q| {
        url::form_urlencoded::parse(q.as_bytes())
            .any(|(k, v)| k == "watch" && (v == "true" || v == "1"))
    });
    attrs.verb = match method.as_str() {
        "POST" => "create",
        "GET" | "HEAD" if !attrs.name.is_empty() => "get",
        "GET" | "HEAD" if watch => "watch",
        "GET" | "HEAD" => "list",
        "PUT" => "update",
        "PATCH" => "patch",
        "DELETE" if !attrs.name.is_empty() => "delete",
        "DELETE" => "deletecollection",
        other => {
            return Attributes {
                verb: other.to_ascii_lowercase(),
                ..attrs
            };
        }
    }
    .to_owned();
    attrs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resource_requests() {
        let a = attributes(
            "GET",
            "/api/v1/namespaces/payments/pods/ledger-0/exec",
            Some("&command=sh"),
        );
        assert_eq!(
            (
                a.verb.as_str(),
                a.api_group.as_str(),
                a.resource.as_str(),
                a.subresource.as_str()
            ),
            ("get", "", "pods", "exec")
        );
        assert_eq!(
            (a.namespace.as_str(), a.name.as_str()),
            ("payments", "ledger-0")
        );
        assert_eq!(
            attributes("POST", "/api/v1/namespaces/p/pods/x/exec", None).verb,
            "create"
        );
        assert_eq!(
            attributes("GET", "/api/v1/namespaces/p/pods", None).verb,
            "list"
        );
        assert_eq!(
            attributes("GET", "/api/v1/namespaces/p/pods", Some("watch=true")).verb,
            "watch"
        );
        let ns = attributes("GET", "/api/v1/namespaces/payments", None);
        assert_eq!(
            (
                ns.resource.as_str(),
                ns.name.as_str(),
                ns.namespace.as_str()
            ),
            ("namespaces", "payments", "payments")
        );
        let ssar = attributes(
            "POST",
            "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
            None,
        );
        assert_eq!(
            (
                ssar.api_group.as_str(),
                ssar.resource.as_str(),
                ssar.verb.as_str()
            ),
            ("authorization.k8s.io", "selfsubjectaccessreviews", "create")
        );
    }

    #[test]
    fn non_resource_requests() {
        for path in [
            "/version",
            "/api",
            "/api/v1",
            "/apis",
            "/apis/authorization.k8s.io/v1",
            "/healthz",
        ] {
            let a = attributes("GET", path, None);
            assert!(!a.resource_request, "{path}");
            assert_eq!((a.verb.as_str(), a.path.as_str()), ("get", path));
        }
    }
}
