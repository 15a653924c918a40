//! The signing key: creation, persistence, JWKS and signing.

use std::path::{Path, PathBuf};

use anyhow::Context;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use rsa::pkcs8::{DecodePrivateKey, EncodePrivateKey, EncodePublicKey, LineEnding};
use rsa::traits::PublicKeyParts;
use rsa::RsaPrivateKey;
use sha2::{Digest, Sha256};

use crate::TokenSpec;

/// File name of the persisted key inside the directory given to [`DevIssuer::load_or_create`].
const KEY_FILE: &str = "dev-issuer-key.pem";
const KEY_BITS: usize = 2048;

/// An RSA key that signs dev tokens, with its key id and public forms precomputed.
pub struct DevIssuer {
    encoding_key: EncodingKey,
    kid: String,
    n: String,
    e: String,
    public_key_pem: String,
}

impl std::fmt::Debug for DevIssuer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the private key.
        f.debug_struct("DevIssuer").field("kid", &self.kid).finish()
    }
}

impl DevIssuer {
    /// The key in `dir/dev-issuer-key.pem`, created (RSA 2048, PKCS#8 PEM) if it is not there yet.
    pub fn load_or_create(dir: &Path) -> anyhow::Result<Self> {
        let path = dir.join(KEY_FILE);
        if path.exists() {
            return Self::load(&path);
        }
        std::fs::create_dir_all(dir)
            .with_context(|| format!("creating the dev issuer directory {}", dir.display()))?;
        let key = new_key()?;
        let pem = key
            .to_pkcs8_pem(LineEnding::LF)
            .context("encoding the dev issuer key as PKCS#8 PEM")?;
        // Two processes may start at once (xtask and a test binary): write a private temp file
        // and hard-link it into place, which never replaces an existing key. The loser of the
        // race reads the winner's key, so both sign with the same one.
        let tmp = temp_path(dir);
        write_private(&tmp, pem.as_bytes())?;
        let linked = std::fs::hard_link(&tmp, &path);
        let _ = std::fs::remove_file(&tmp);
        match linked {
            Ok(()) => Self::from_key(&key),
            Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => Self::load(&path),
            Err(err) => Err(err).with_context(|| format!("storing the key in {}", path.display())),
        }
    }

    /// A fresh key that is never stored (tests use it as "some other issuer's key").
    pub fn generate() -> anyhow::Result<Self> {
        Self::from_key(&new_key()?)
    }

    fn load(path: &Path) -> anyhow::Result<Self> {
        let pem = std::fs::read_to_string(path)
            .with_context(|| format!("reading the dev issuer key {}", path.display()))?;
        let key = RsaPrivateKey::from_pkcs8_pem(&pem).with_context(|| {
            format!(
                "{} is not a PKCS#8 RSA private key (delete it to create a new one)",
                path.display()
            )
        })?;
        Self::from_key(&key)
    }

    fn from_key(key: &RsaPrivateKey) -> anyhow::Result<Self> {
        let private_pem = key
            .to_pkcs8_pem(LineEnding::LF)
            .context("encoding the dev issuer key")?;
        let encoding_key = EncodingKey::from_rsa_pem(private_pem.as_bytes())
            .context("loading the dev issuer key for signing")?;
        let public = key.to_public_key();
        let public_key_pem = public
            .to_public_key_pem(LineEnding::LF)
            .context("encoding the dev issuer public key")?;
        let n_bytes = public.n().to_bytes_be();
        let kid: String = URL_SAFE_NO_PAD
            .encode(Sha256::digest(&n_bytes))
            .chars()
            .take(16)
            .collect();
        Ok(Self {
            encoding_key,
            kid,
            n: URL_SAFE_NO_PAD.encode(&n_bytes),
            e: URL_SAFE_NO_PAD.encode(public.e().to_bytes_be()),
            public_key_pem,
        })
    }

    /// Key id: derived from the public modulus, so it is stable for a stored key.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The JWKS document publishing this key.
    pub fn jwks(&self) -> serde_json::Value {
        serde_json::json!({
            "keys": [{
                "kty": "RSA",
                "use": "sig",
                "alg": "RS256",
                "kid": self.kid,
                "n": self.n,
                "e": self.e,
            }]
        })
    }

    /// The public key as SPKI PEM (`-----BEGIN PUBLIC KEY-----`).
    pub fn public_key_pem(&self) -> String {
        self.public_key_pem.clone()
    }

    /// Signs `claims` as they are with RS256; the header carries this key's `kid`.
    pub fn sign(&self, claims: &serde_json::Value) -> anyhow::Result<String> {
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(self.kid.clone());
        jsonwebtoken::encode(&header, claims, &self.encoding_key).context("signing a dev token")
    }

    /// Mints a token from `spec` (see [`TokenSpec::claims`]).
    pub fn token(&self, spec: &TokenSpec) -> anyhow::Result<String> {
        self.sign(&spec.claims())
    }
}

fn new_key() -> anyhow::Result<RsaPrivateKey> {
    RsaPrivateKey::new(&mut rand::thread_rng(), KEY_BITS).context("generating an RSA key")
}

fn temp_path(dir: &Path) -> PathBuf {
    dir.join(format!(
        ".{KEY_FILE}.{}.{}.tmp",
        std::process::id(),
        uuid::Uuid::new_v4().simple()
    ))
}

fn write_private(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options
        .open(path)
        .with_context(|| format!("creating {}", path.display()))?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .with_context(|| format!("writing {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::jwk::JwkSet;
    use jsonwebtoken::{DecodingKey, Validation};

    fn temp_dir() -> PathBuf {
        let dir = std::env::temp_dir().join(format!("dev-issuer-test-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn decoding_key(issuer: &DevIssuer) -> DecodingKey {
        let set: JwkSet = serde_json::from_value(issuer.jwks()).unwrap();
        let jwk = set.find(issuer.kid()).expect("kid in the JWKS");
        DecodingKey::from_jwk(jwk).unwrap()
    }

    #[test]
    fn minted_token_verifies_against_the_jwks() {
        let issuer = DevIssuer::generate().unwrap();
        let tenant = "11111111-1111-4111-8111-111111111111";
        let spec = TokenSpec::new(9010)
            .tenant(tenant)
            .app("22222222-2222-4222-8222-222222222222")
            .roles(&["Provisioning.User.Read"]);
        let token = issuer.token(&spec).unwrap();

        let header = jsonwebtoken::decode_header(&token).unwrap();
        assert_eq!(header.alg, Algorithm::RS256);
        assert_eq!(header.kid.as_deref(), Some(issuer.kid()));

        let mut validation = Validation::new(Algorithm::RS256);
        validation.set_audience(&[crate::DEV_AUDIENCE]);
        validation.set_issuer(&[format!("http://127.0.0.1:9010/{tenant}/v2.0")]);
        let data =
            jsonwebtoken::decode::<serde_json::Value>(&token, &decoding_key(&issuer), &validation)
                .unwrap();
        assert_eq!(data.claims["tid"], tenant);
        assert_eq!(data.claims["roles"][0], "Provisioning.User.Read");
        assert!(data.claims["oid"].is_string());
    }

    #[test]
    fn another_key_does_not_verify() {
        let ours = DevIssuer::generate().unwrap();
        let theirs = DevIssuer::generate().unwrap();
        assert_ne!(ours.kid(), theirs.kid());
        let token = theirs.token(&TokenSpec::new(9010)).unwrap();
        let mut validation = Validation::new(Algorithm::RS256);
        validation.validate_aud = false;
        let result =
            jsonwebtoken::decode::<serde_json::Value>(&token, &decoding_key(&ours), &validation);
        assert!(result.is_err());
    }

    #[test]
    fn key_persists_across_load_or_create() {
        let dir = temp_dir();
        let first = DevIssuer::load_or_create(&dir).unwrap();
        let second = DevIssuer::load_or_create(&dir).unwrap();
        assert_eq!(first.kid(), second.kid());
        assert_eq!(first.jwks(), second.jwks());
        assert_eq!(first.public_key_pem(), second.public_key_pem());
        // A token from one verifies with the keys of the other.
        let token = first.token(&TokenSpec::new(9010)).unwrap();
        let mut validation = Validation::new(Algorithm::RS256);
        validation.validate_aud = false;
        jsonwebtoken::decode::<serde_json::Value>(&token, &decoding_key(&second), &validation)
            .unwrap();
        let pem = std::fs::read_to_string(dir.join(KEY_FILE)).unwrap();
        assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----"));
        // Only the key file is left behind, no temp files.
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn public_key_pem_is_spki() {
        let issuer = DevIssuer::generate().unwrap();
        assert!(issuer
            .public_key_pem()
            .starts_with("-----BEGIN PUBLIC KEY-----"));
        let jwk = &issuer.jwks()["keys"][0];
        assert_eq!(jwk["kty"], "RSA");
        assert_eq!(jwk["alg"], "RS256");
        assert_eq!(jwk["use"], "sig");
        assert_eq!(jwk["e"], "AQAB");
        assert_eq!(issuer.kid().len(), 16);
    }
}
