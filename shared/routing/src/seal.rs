//! Precompiled artifacts are native code that wasmtime loads with an `unsafe` deserialize.
//! Checking them against a digest stored in the same table as the artifact would let anyone
//! who can write that table run code in every routing function, so artifacts are sealed with
//! an HMAC whose key lives outside the table (configuration: a secret in AWS, a generated file
//! in the local stack), and the seal is checked before any byte is deserialized.

use std::sync::Arc;

use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// Shortest secret accepted, in bytes.
pub const MIN_SECRET_BYTES: usize = 32;

/// The key artifacts are sealed with: a secret text (the HMAC key is its bytes), so that a
/// generated password from a secret store serves as it is.
#[derive(Clone)]
pub struct ArtifactKey(Arc<String>);

impl std::fmt::Debug for ArtifactKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ArtifactKey(…)")
    }
}

impl ArtifactKey {
    /// A fresh random key: artifacts sealed with it verify only in this process.
    pub fn random() -> Self {
        let bytes: [u8; 32] = rand::random();
        Self(Arc::new(hex::encode(bytes)))
    }

    /// A key from its secret text (surrounding white space ignored), at least 32 bytes.
    pub fn from_secret(text: &str) -> Result<Self, String> {
        let text = text.trim();
        if text.len() < MIN_SECRET_BYTES {
            return Err(format!(
                "the artifact key has {} bytes; at least {MIN_SECRET_BYTES} are needed",
                text.len()
            ));
        }
        Ok(Self(Arc::new(text.to_owned())))
    }

    /// The secret text, to hand the key to another process of one's own (benchmarks).
    pub fn secret(&self) -> &str {
        &self.0
    }

    fn mac(&self) -> HmacSha256 {
        // HMAC takes keys of any length.
        <HmacSha256 as Mac>::new_from_slice(self.0.as_bytes()).expect("HMAC accepts any key length")
    }

    /// The seal of `artifact`, as hex.
    pub fn seal(&self, artifact: &[u8]) -> String {
        let mut mac = self.mac();
        mac.update(artifact);
        hex::encode(mac.finalize().into_bytes())
    }

    /// Whether `seal` is this key's seal of `artifact` (compared in constant time).
    pub fn verifies(&self, artifact: &[u8], seal: &str) -> bool {
        let Ok(expected) = hex::decode(seal) else {
            return false;
        };
        let mut mac = self.mac();
        mac.update(artifact);
        mac.verify_slice(&expected).is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_seal_verifies_only_its_artifact_under_its_key() {
        let key = ArtifactKey::from_secret(&"k".repeat(32)).unwrap();
        let seal = key.seal(b"artifact");
        assert!(key.verifies(b"artifact", &seal));
        assert!(!key.verifies(b"artifacT", &seal));
        assert!(!ArtifactKey::random().verifies(b"artifact", &seal));
        assert!(!key.verifies(b"artifact", "not hex"));
        assert!(ArtifactKey::from_secret(" short ")
            .unwrap_err()
            .contains("at least 32"));
        let again = ArtifactKey::from_secret(key.secret()).unwrap();
        assert_eq!(again.seal(b"x"), key.seal(b"x"));
    }
}
