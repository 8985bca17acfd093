//! Access reviews: `SelfSubjectAccessReview` (kube-rs sends JSON; `kubectl auth can-i` sends
//! protobuf, decoded by hand below) and `SubjectAccessReview` (JSON). Both answer 201 with the
//! spec echoed and `status.allowed`.

use std::collections::BTreeMap;

use axum::Extension;
use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use serde_json::{Value, json};

use super::AppState;
use super::auth::Caller;
use super::status::ApiError;
use crate::rbac::{Attributes, UserInfo};

/// `POST /apis/authorization.k8s.io/v1/selfsubjectaccessreviews`.
pub async fn self_subject(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let spec = if is_protobuf(&headers) {
        proto::decode_ssar(&body)
            .map_err(|e| ApiError::BadRequest(format!("invalid protobuf body: {e}")))?
    } else {
        let v: Value = serde_json::from_slice(&body)
            .map_err(|e| ApiError::BadRequest(format!("invalid JSON body: {e}")))?;
        v.get("spec").cloned().unwrap_or_else(|| json!({}))
    };
    let attrs = attributes_of(&spec)?;
    Ok(review(
        "SelfSubjectAccessReview",
        &state,
        &caller.user,
        &attrs,
        spec,
    ))
}

/// `POST /apis/authorization.k8s.io/v1/subjectaccessreviews`.
pub async fn subject(
    State(state): State<AppState>,
    body: Bytes,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let v: Value = serde_json::from_slice(&body)
        .map_err(|e| ApiError::BadRequest(format!("invalid JSON body: {e}")))?;
    let spec = v.get("spec").cloned().unwrap_or_else(|| json!({}));
    let strings = |key: &str| -> Vec<String> {
        spec.get(key)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|g| g.as_str().map(str::to_owned))
            .collect()
    };
    let extra: BTreeMap<String, Vec<String>> =
        serde_json::from_value(spec.get("extra").cloned().unwrap_or(json!({})))
            .map_err(|e| ApiError::BadRequest(format!("spec.extra: {e}")))?;
    let user = UserInfo {
        username: spec
            .get("user")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned(),
        uid: spec
            .get("uid")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned(),
        groups: strings("groups"),
        extra,
    };
    if user.username.is_empty() && user.groups.is_empty() {
        return Err(ApiError::BadRequest(
            "spec.user or spec.groups is required".into(),
        ));
    }
    let attrs = attributes_of(&spec)?;
    Ok(review("SubjectAccessReview", &state, &user, &attrs, spec))
}

fn review(
    kind: &str,
    state: &AppState,
    user: &UserInfo,
    attrs: &Attributes,
    spec: Value,
) -> (StatusCode, Json<Value>) {
    let decision = state.cluster.rbac.authorize(user, attrs);
    let mut status = json!({"allowed": decision.allowed});
    if !decision.reason.is_empty() {
        status["reason"] = decision.reason.into();
    }
    let body = json!({
        "kind": kind,
        "apiVersion": "authorization.k8s.io/v1",
        "metadata": {"creationTimestamp": null},
        "spec": spec,
        "status": status,
    });
    (StatusCode::CREATED, Json(body))
}

fn is_protobuf(headers: &HeaderMap) -> bool {
    headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/vnd.kubernetes.protobuf"))
}

fn attributes_of(spec: &Value) -> Result<Attributes, ApiError> {
    let s = |obj: &Value, key: &str| {
        obj.get(key)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    if let Some(ra) = spec.get("resourceAttributes") {
        let mut a = Attributes::resource(
            &s(ra, "verb"),
            &s(ra, "group"),
            &s(ra, "resource"),
            &s(ra, "namespace"),
            &s(ra, "name"),
        );
        a.subresource = s(ra, "subresource");
        a.api_version = s(ra, "version");
        Ok(a)
    } else if let Some(nra) = spec.get("nonResourceAttributes") {
        Ok(Attributes::non_resource(&s(nra, "verb"), &s(nra, "path")))
    } else {
        Err(ApiError::BadRequest(
            "spec.resourceAttributes or spec.nonResourceAttributes is required".into(),
        ))
    }
}

/// Just enough protobuf to read kubectl's SSAR: `k8s\0` + `runtime.Unknown{typeMeta(1), raw(2)}`,
/// raw = SSAR{spec(2){resourceAttributes(1){namespace=1 verb=2 group=3 version=4 resource=5
/// subresource=6 name=7}, nonResourceAttributes(2){path=1 verb=2}}}.
pub mod proto {
    use serde_json::{Map, Value};

    /// Decodes the SSAR body into its JSON `spec`.
    pub fn decode_ssar(body: &[u8]) -> Result<Value, &'static str> {
        let unknown = body
            .strip_prefix(b"k8s\0")
            .ok_or("missing k8s protobuf magic")?;
        let raw = field(unknown, 2)?.ok_or("no raw object")?;
        let spec = field(raw, 2)?.ok_or("no spec")?;
        let mut out = Map::new();
        if let Some(ra) = field(spec, 1)? {
            let names = [
                "namespace",
                "verb",
                "group",
                "version",
                "resource",
                "subresource",
                "name",
            ];
            out.insert("resourceAttributes".into(), strings(ra, &names)?);
        }
        if let Some(nra) = field(spec, 2)? {
            out.insert(
                "nonResourceAttributes".into(),
                strings(nra, &["path", "verb"])?,
            );
        }
        Ok(Value::Object(out))
    }

    /// String fields 1..=names.len() of a message, as a JSON object.
    fn strings(msg: &[u8], names: &[&str]) -> Result<Value, &'static str> {
        let mut obj = Map::new();
        for item in Fields(msg) {
            let (number, value) = item?;
            if let (Some(name), Some(bytes)) = (names.get(number.wrapping_sub(1) as usize), value) {
                let s = std::str::from_utf8(bytes).map_err(|_| "string field is not UTF-8")?;
                obj.insert((*name).into(), s.into());
            }
        }
        Ok(Value::Object(obj))
    }

    /// The first length-delimited field `number` of `msg`.
    fn field(msg: &[u8], number: u64) -> Result<Option<&[u8]>, &'static str> {
        for item in Fields(msg) {
            if let (n, Some(bytes)) = item?
                && n == number
            {
                return Ok(Some(bytes));
            }
        }
        Ok(None)
    }

    /// Iterates `(field number, Some(bytes) for length-delimited | None for scalars)`.
    struct Fields<'a>(&'a [u8]);

    impl<'a> Iterator for Fields<'a> {
        type Item = Result<(u64, Option<&'a [u8]>), &'static str>;

        fn next(&mut self) -> Option<Self::Item> {
            if self.0.is_empty() {
                return None;
            }
            let result = (|| {
                let key = varint(&mut self.0)?;
                let value = match key & 7 {
                    0 => varint(&mut self.0).map(|_| None)?,
                    1 => take(&mut self.0, 8).map(|_| None)?,
                    2 => {
                        let len =
                            usize::try_from(varint(&mut self.0)?).map_err(|_| "length overflow")?;
                        Some(take(&mut self.0, len)?)
                    }
                    5 => take(&mut self.0, 4).map(|_| None)?,
                    _ => return Err("unsupported wire type"),
                };
                Ok((key >> 3, value))
            })();
            if result.is_err() {
                self.0 = &[];
            }
            Some(result)
        }
    }

    fn take<'a>(buf: &mut &'a [u8], n: usize) -> Result<&'a [u8], &'static str> {
        if buf.len() < n {
            return Err("truncated message");
        }
        let (head, tail) = buf.split_at(n);
        *buf = tail;
        Ok(head)
    }

    fn varint(buf: &mut &[u8]) -> Result<u64, &'static str> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let (&b, rest) = buf.split_first().ok_or("truncated varint")?;
            *buf = rest;
            value |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err("varint too long")
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        fn ld(number: u8, bytes: &[u8]) -> Vec<u8> {
            let mut v = vec![(number << 3) | 2, bytes.len() as u8];
            v.extend_from_slice(bytes);
            v
        }

        #[test]
        fn decodes_kubectl_can_i() {
            let ra = [
                ld(1, b"payments"),
                ld(2, b"create"),
                ld(5, b"pods"),
                ld(6, b"exec"),
            ]
            .concat();
            let ssar = [ld(1, b""), ld(2, &ld(1, &ra))].concat();
            let type_meta = [
                ld(1, b"authorization.k8s.io/v1"),
                ld(2, b"SelfSubjectAccessReview"),
            ]
            .concat();
            let body = [
                b"k8s\0".as_slice(),
                &ld(1, &type_meta),
                &ld(2, &ssar),
                &ld(3, b""),
                &ld(4, b""),
            ]
            .concat();
            let spec = decode_ssar(&body).unwrap();
            let ra = &spec["resourceAttributes"];
            assert_eq!(
                (ra["namespace"].as_str(), ra["verb"].as_str()),
                (Some("payments"), Some("create"))
            );
            assert_eq!(
                (ra["resource"].as_str(), ra["subresource"].as_str()),
                (Some("pods"), Some("exec"))
            );
            assert!(decode_ssar(b"k8s\0\x12\x05ab").is_err());
            assert!(decode_ssar(b"{}").is_err());
        }
    }
}
