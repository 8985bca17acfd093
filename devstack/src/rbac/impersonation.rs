//! `Impersonate-*` headers and the checks the kube-apiserver makes before honouring them
//! (`k8s.io/apiserver/pkg/endpoints/filters/impersonation.go`). Pure: headers in, a new
//! [`UserInfo`] or a denial out.
//!
//! Each impersonated item is its own `impersonate` check against the *caller's* rights:
//! `users` (or `serviceaccounts` in the SA's namespace), `groups`, `userextras/<key>` per value
//! (apiGroup `authentication.k8s.io`) and `uids` (same group), each with the item as the
//! resource name.

use std::collections::BTreeMap;

use super::{ALL_AUTHENTICATED, ALL_UNAUTHENTICATED, ANONYMOUS, Attributes, Policy, UserInfo};

/// Header carrying the user to act as.
pub const HEADER_USER: &str = "impersonate-user";
/// Repeatable header carrying a group.
pub const HEADER_GROUP: &str = "impersonate-group";
/// Header carrying the uid.
pub const HEADER_UID: &str = "impersonate-uid";
/// Prefix of the extra headers; the rest of the name is the percent-encoded key.
pub const HEADER_EXTRA_PREFIX: &str = "impersonate-extra-";

/// What the client asked to act as.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImpersonationRequest {
    /// `Impersonate-User`.
    pub user: Option<String>,
    /// `Impersonate-Uid`.
    pub uid: Option<String>,
    /// Every `Impersonate-Group`, in order.
    pub groups: Vec<String>,
    /// `Impersonate-Extra-<key>` values; keys lowercased and percent-decoded.
    pub extra: BTreeMap<String, Vec<String>>,
}

/// Why impersonation was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImpersonationError {
    /// Groups, uid or extras without `Impersonate-User` (Kubernetes answers 500 here).
    #[error("requested {0} without impersonating a user")]
    NoUser(String),
    /// The caller lacks `impersonate` on one item.
    #[error("{message}")]
    Forbidden {
        /// The check that failed (verb `impersonate`).
        attributes: Box<Attributes>,
        /// Kubernetes' 403 message.
        message: String,
    },
}

impl ImpersonationRequest {
    /// Collects the impersonation headers from `(lowercase name, value)` pairs; `None` when
    /// there are none.
    pub fn from_headers<'a>(headers: impl IntoIterator<Item = (&'a str, &'a str)>) -> Option<Self> {
        let mut req = Self::default();
        let mut any = false;
        for (name, value) in headers {
            let name = name.to_ascii_lowercase();
            if name == HEADER_USER {
                req.user = Some(value.to_owned());
            } else if name == HEADER_UID {
                req.uid = Some(value.to_owned());
            } else if name == HEADER_GROUP {
                req.groups.push(value.to_owned());
            } else if let Some(key) = name.strip_prefix(HEADER_EXTRA_PREFIX) {
                // The server lowercases the key and URL-path-unescapes it (`%2F` → `/`).
                let key = percent_decode(key).to_ascii_lowercase();
                req.extra.entry(key).or_default().push(value.to_owned());
            } else {
                continue;
            }
            any = true;
        }
        any.then_some(req)
    }
}

/// Checks every impersonated item against `caller`'s rights and returns the identity the
/// request will run as. The order of checks follows the apiserver: user, groups, extras, uid.
pub fn impersonate(
    policy: &Policy,
    caller: &UserInfo,
    req: &ImpersonationRequest,
) -> Result<UserInfo, ImpersonationError> {
    let Some(username) = req.user.clone() else {
        return Err(ImpersonationError::NoUser(describe(req)));
    };
    let check = |attrs: Attributes| -> Result<(), ImpersonationError> {
        if policy.authorize(caller, &attrs).allowed {
            Ok(())
        } else {
            let message = super::forbidden_message(caller, &attrs);
            Err(ImpersonationError::Forbidden {
                attributes: Box::new(attrs),
                message,
            })
        }
    };

    let mut groups = req.groups.clone();
    if let Some(sa) = username.strip_prefix("system:serviceaccount:") {
        let (ns, name) = sa.split_once(':').unwrap_or(("", sa));
        check(Attributes::resource(
            "impersonate",
            "",
            "serviceaccounts",
            ns,
            name,
        ))?;
        if req.groups.is_empty() {
            groups = vec![
                "system:serviceaccounts".to_owned(),
                format!("system:serviceaccounts:{ns}"),
            ];
        }
    } else {
        check(Attributes::resource(
            "impersonate",
            "",
            "users",
            "",
            &username,
        ))?;
    }
    for group in &req.groups {
        check(Attributes::resource("impersonate", "", "groups", "", group))?;
    }
    for (key, values) in &req.extra {
        for value in values {
            let resource = format!("userextras/{key}");
            check(Attributes::resource(
                "impersonate",
                "authentication.k8s.io",
                &resource,
                "",
                value,
            ))?;
        }
    }
    if let Some(uid) = &req.uid {
        check(Attributes::resource(
            "impersonate",
            "authentication.k8s.io",
            "uids",
            "",
            uid,
        ))?;
    }

    let (implied, opposite) = if username == ANONYMOUS {
        (ALL_UNAUTHENTICATED, ALL_AUTHENTICATED)
    } else {
        (ALL_AUTHENTICATED, ALL_UNAUTHENTICATED)
    };
    if !groups.iter().any(|g| g == implied || g == opposite) {
        groups.push(implied.to_owned());
    }
    Ok(UserInfo {
        username,
        uid: req.uid.clone().unwrap_or_default(),
        groups,
        extra: req.extra.clone(),
    })
}

fn describe(req: &ImpersonationRequest) -> String {
    let mut parts: Vec<String> = req.groups.iter().map(|g| format!("group {g:?}")).collect();
    parts.extend(req.extra.keys().map(|k| format!("extra {k:?}")));
    if let Some(uid) = &req.uid {
        parts.push(format!("uid {uid:?}"));
    }
    format!("[{}]", parts.join(" "))
}

/// Decodes `%XX` escapes (Go's `url.PathUnescape`); malformed escapes are kept verbatim.
pub fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2]))
        {
            out.push((h * 16 + l) as u8);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_keys_like_client_go_encodes_them() {
        assert_eq!(
            percent_decode("keyhole.dev%2fgrant-id"),
            "keyhole.dev/grant-id"
        );
        assert_eq!(percent_decode("foo%252f"), "foo%2f");
        assert_eq!(percent_decode("bad%zz%"), "bad%zz%");
        assert_eq!(percent_decode("%4"), "%4");
    }

    #[test]
    fn collects_headers() {
        let req = ImpersonationRequest::from_headers([
            ("Impersonate-User", "alice"),
            ("impersonate-group", "a"),
            ("impersonate-group", "b"),
            ("impersonate-extra-Keyhole.dev%2FGrant-Id", "g-1"),
            ("authorization", "Bearer x"),
        ])
        .unwrap();
        assert_eq!(req.user.as_deref(), Some("alice"));
        assert_eq!(req.groups, ["a", "b"]);
        assert_eq!(req.extra["keyhole.dev/grant-id"], ["g-1"]);
        assert!(ImpersonationRequest::from_headers([("accept", "x")]).is_none());
    }
}
