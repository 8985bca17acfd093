//! The JSON Schema of the policy file, generated from the serde types in `model.rs`.
//!
//! The committed copy lives in `docs/policy.schema.json` (editors and CI validators use it).
//! A test fails when it is stale; regenerate it with
//! `UPDATE_SCHEMA=1 cargo test -p keyhole policy_schema` (or run the ignored test
//! `write_policy_schema`).

use schemars::generate::SchemaSettings;
use serde_json::Value;

use super::model::RawPolicy;

/// The policy file's JSON Schema, pretty-printed, ending with a newline.
pub fn schema_json() -> String {
    let schema = SchemaSettings::draft2020_12()
        .into_generator()
        .into_root_schema_for::<RawPolicy>();
    let mut value = serde_json::to_value(schema).expect("a schema serializes");
    drop_null(&mut value);
    let mut text = serde_json::to_string_pretty(&value).expect("a schema serializes");
    text.push('\n');
    text
}

/// Removes the `null` alternative that schemars gives every `Option`. Optional fields are
/// omitted, never `null` (the loader would read `~` as a string), so the schema must not
/// suggest otherwise.
fn drop_null(value: &mut Value) {
    let is_null = |v: &Value| v.get("type").is_some_and(|t| t == "null");
    match value {
        Value::Object(map) => {
            if map.get("default").is_some_and(Value::is_null) {
                map.remove("default");
            }
            if let Some(Value::Array(types)) = map.get_mut("type") {
                types.retain(|t| t != "null");
                if let [only] = types.as_slice() {
                    let only = only.clone();
                    map.insert("type".into(), only);
                }
            }
            let any_of = map.get("anyOf").and_then(Value::as_array);
            if let Some([inner, null]) = any_of.map(Vec::as_slice)
                && is_null(null)
            {
                let inner = inner.clone();
                map.remove("anyOf");
                if let Value::Object(fields) = inner {
                    map.extend(fields);
                }
            }
            map.values_mut().for_each(drop_null);
        }
        Value::Array(items) => items.iter_mut().for_each(drop_null),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    fn committed_path() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../docs/policy.schema.json")
    }

    #[test]
    fn policy_schema_is_up_to_date() {
        let path = committed_path();
        let fresh = schema_json();
        if std::env::var_os("UPDATE_SCHEMA").is_some() {
            std::fs::write(&path, &fresh).expect("write docs/policy.schema.json");
            return;
        }
        // Compared as JSON values, so key order (which depends on serde_json's features in
        // the build) does not matter.
        let committed: Value = std::fs::read_to_string(&path)
            .ok()
            .and_then(|text| serde_json::from_str(&text).ok())
            .unwrap_or_default();
        let fresh: Value = serde_json::from_str(&fresh).unwrap();
        assert!(
            committed == fresh,
            "docs/policy.schema.json is stale: the policy types changed. Regenerate it with\n  \
             UPDATE_SCHEMA=1 cargo test -p keyhole policy_schema\nand commit the result."
        );
    }

    #[test]
    #[ignore = "writes docs/policy.schema.json; run to regenerate it"]
    fn write_policy_schema() {
        std::fs::write(committed_path(), schema_json()).expect("write docs/policy.schema.json");
    }

    #[test]
    fn policy_schema_describes_the_file() {
        let schema: serde_json::Value = serde_json::from_str(&schema_json()).unwrap();
        assert_eq!(schema["title"], "Keyhole access policy");
        assert_eq!(schema["additionalProperties"], false);
        assert!(
            schema["required"]
                .as_array()
                .unwrap()
                .contains(&"version".into())
        );
        let text = schema.to_string();
        assert!(
            !text.contains("null"),
            "optional fields are omitted, never null"
        );
        for word in [
            "kubernetes_groups",
            "auto_approve",
            "command_rules",
            "portforward",
            "url_env",
        ] {
            assert!(text.contains(word), "{word}");
        }
    }
}
