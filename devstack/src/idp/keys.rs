//! The issuer's RS256 signing key: generation, the JWKS document, and compact
//! JWS signing and verification.
//!
//! We build the JWS by hand from `rsa` + `sha2` rather than pulling in a JWT
//! crate: the issuer only ever signs one algorithm, and a test-support hook
//! ([`super::IdTokenOverride::Tampered`]) needs to assemble deliberately broken
//! tokens, which JWT libraries rightly refuse to do.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use rsa::sha2::{Digest as _, Sha256};
use rsa::traits::PublicKeyParts as _;
use rsa::{Pkcs1v15Sign, RsaPrivateKey, RsaPublicKey};
use serde_json::{Value, json};

/// RSA modulus size. 2048 bits is the smallest size relying parties accept
/// without complaint, and keeps generation fast.
const KEY_BITS: usize = 2048;

/// One RSA key pair with its key id.
pub(crate) struct SigningKey {
    /// The private key; never leaves the process.
    private: RsaPrivateKey,
    /// Key id: the RFC 7638 JWK thumbprint, so it changes whenever the key does
    /// (which is what makes a relying party refetch the JWKS after a restart).
    kid: String,
    /// The public half as a JWK, ready for `/jwks`.
    jwk: Value,
}

impl std::fmt::Debug for SigningKey {
    // Redacted: a Debug print must never dump key material into a log.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

impl SigningKey {
    /// Generates a fresh key. Takes well under a second thanks to the
    /// `opt-level` overrides for `rsa` and `num-bigint-dig` in the workspace
    /// `Cargo.toml`; callers on an async runtime should still run it in
    /// `spawn_blocking`.
    pub(crate) fn generate() -> anyhow::Result<Self> {
        let private = RsaPrivateKey::new(&mut rand::thread_rng(), KEY_BITS)?;
        Ok(Self::from_private(private))
    }

    fn from_private(private: RsaPrivateKey) -> Self {
        let n = B64.encode(private.n().to_bytes_be());
        let e = B64.encode(private.e().to_bytes_be());
        // RFC 7638: members in lexicographic order, no whitespace.
        let canonical = format!(r#"{{"e":"{e}","kty":"RSA","n":"{n}"}}"#);
        let kid = B64.encode(Sha256::digest(canonical.as_bytes()));
        let jwk = json!({
            "kty": "RSA",
            "use": "sig",
            "alg": "RS256",
            "kid": kid,
            "n": n,
            "e": e,
        });
        Self { private, kid, jwk }
    }

    /// The key id put in every token header.
    pub(crate) fn kid(&self) -> &str {
        &self.kid
    }

    /// The public key as a JWK.
    pub(crate) fn jwk(&self) -> &Value {
        &self.jwk
    }

    /// Signs `claims` as a compact RS256 JWS whose header names `kid`.
    pub(crate) fn sign(&self, claims: &Value) -> String {
        self.sign_with_kid(claims, &self.kid)
    }

    /// Like [`Self::sign`] but with any header `kid`; used to forge a token
    /// that claims to come from another key.
    pub(crate) fn sign_with_kid(&self, claims: &Value, kid: &str) -> String {
        let header = json!({ "alg": "RS256", "typ": "JWT", "kid": kid });
        let signing_input = format!("{}.{}", b64_json(&header), b64_json(claims));
        let digest = Sha256::digest(signing_input.as_bytes());
        let signature = self
            .private
            .sign(Pkcs1v15Sign::new::<Sha256>(), &digest)
            // PKCS#1 v1.5 signing of a SHA-256 digest with a 2048-bit key
            // cannot fail: the only error is a digest too long for the key.
            .expect("RS256 signing with a 2048-bit key");
        format!("{signing_input}.{}", B64.encode(signature))
    }

    /// Verifies a compact JWS signed by this key and returns its claims.
    /// Checks only the signature, not `exp` or `aud`: the one caller is
    /// `id_token_hint` at logout, where an expired token is expected.
    pub(crate) fn verify(&self, jws: &str) -> Option<Value> {
        let (signing_input, signature) = jws.rsplit_once('.')?;
        let (header, payload) = signing_input.split_once('.')?;
        let header: Value = serde_json::from_slice(&B64.decode(header).ok()?).ok()?;
        if header.get("alg")? != "RS256" {
            return None;
        }
        let signature = B64.decode(signature).ok()?;
        let digest = Sha256::digest(signing_input.as_bytes());
        RsaPublicKey::from(&self.private)
            .verify(Pkcs1v15Sign::new::<Sha256>(), &digest, &signature)
            .ok()?;
        serde_json::from_slice(&B64.decode(payload).ok()?).ok()
    }
}

/// Base64url (no padding) of a JSON value's compact serialisation.
pub(crate) fn b64_json(value: &Value) -> String {
    B64.encode(serde_json::to_vec(value).expect("a JSON value always serialises"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signs_and_verifies_and_rejects_tampering() {
        let key = SigningKey::generate().unwrap();
        let token = key.sign(&json!({ "sub": "alice" }));
        assert_eq!(key.verify(&token).unwrap()["sub"], "alice");

        let mut parts: Vec<&str> = token.split('.').collect();
        let forged = b64_json(&json!({ "sub": "mallory" }));
        parts[1] = &forged;
        assert!(key.verify(&parts.join(".")).is_none());

        let other = SigningKey::generate().unwrap();
        assert!(other.verify(&token).is_none());
        assert_ne!(key.kid(), other.kid());
        assert_eq!(key.jwk()["kid"], key.kid());
    }
}
