//! `labelSelector` and `fieldSelector` query parameters: the equality-based subset
//! (`k=v`, `k==v`, `k!=v`, `k`, `!k`, comma = AND). Set-based selectors (`in`, `notin`) are
//! rejected with a clear message rather than silently ignored. Pure.

use std::collections::BTreeMap;

/// One parsed requirement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Requirement {
    /// `key=value` / `key==value`.
    Equals(String, String),
    /// `key!=value` (also true when the key is absent, as in Kubernetes).
    NotEquals(String, String),
    /// `key`.
    Exists(String),
    /// `!key`.
    NotExists(String),
}

/// A parsed selector (all requirements must hold).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Selector(pub Vec<Requirement>);

impl Selector {
    /// Parses a selector string; errors name the unsupported term.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut reqs = Vec::new();
        for term in text.split(',').map(str::trim).filter(|t| !t.is_empty()) {
            if term.contains(" in ") || term.contains(" notin ") || term.contains('(') {
                return Err(format!(
                    "unsupported selector {term:?}: devstack supports only =, ==, != and existence"
                ));
            }
            let req = if let Some((k, v)) = term.split_once("!=") {
                Requirement::NotEquals(k.trim().to_owned(), v.trim().to_owned())
            } else if let Some((k, v)) = term.split_once("==").or_else(|| term.split_once('=')) {
                Requirement::Equals(k.trim().to_owned(), v.trim().to_owned())
            } else if let Some(k) = term.strip_prefix('!') {
                Requirement::NotExists(k.trim().to_owned())
            } else {
                Requirement::Exists(term.to_owned())
            };
            reqs.push(req);
        }
        Ok(Self(reqs))
    }

    /// Does a set of key/value pairs satisfy every requirement?
    pub fn matches(&self, fields: &BTreeMap<String, String>) -> bool {
        self.0.iter().all(|r| match r {
            Requirement::Equals(k, v) => fields.get(k) == Some(v),
            Requirement::NotEquals(k, v) => fields.get(k) != Some(v),
            Requirement::Exists(k) => fields.contains_key(k),
            Requirement::NotExists(k) => !fields.contains_key(k),
        })
    }

    /// Field selectors only know a few fields; anything else is a 400 like in Kubernetes.
    pub fn check_fields(&self, known: &[&str]) -> Result<(), String> {
        for r in &self.0 {
            let key = match r {
                Requirement::Equals(k, _) | Requirement::NotEquals(k, _) => k,
                Requirement::Exists(k) | Requirement::NotExists(k) => {
                    return Err(format!(
                        "invalid field selector {k:?}: a field selector needs an operator"
                    ));
                }
            };
            if !known.contains(&key.as_str()) {
                return Err(format!("field label not supported: {key}"));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn equality_selectors() {
        let l = labels(&[("app", "checkout"), ("tier", "web")]);
        assert!(Selector::parse("app=checkout").unwrap().matches(&l));
        assert!(
            Selector::parse("app==checkout,tier=web")
                .unwrap()
                .matches(&l)
        );
        assert!(!Selector::parse("app=ledger").unwrap().matches(&l));
        assert!(Selector::parse("app!=ledger").unwrap().matches(&l));
        assert!(Selector::parse("tier").unwrap().matches(&l));
        assert!(Selector::parse("!missing").unwrap().matches(&l));
        assert!(!Selector::parse("!app").unwrap().matches(&l));
        assert!(Selector::parse("").unwrap().matches(&l));
        assert!(Selector::parse("app in (a,b)").is_err());
    }

    #[test]
    fn field_selectors_know_their_fields() {
        let s = Selector::parse("metadata.name=x").unwrap();
        assert!(s.check_fields(&["metadata.name"]).is_ok());
        assert!(
            Selector::parse("spec.foo=x")
                .unwrap()
                .check_fields(&["metadata.name"])
                .is_err()
        );
    }
}
