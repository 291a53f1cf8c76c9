//! DKIM signing (RFC 6376): receivers check the signature against the public key published
//! at `SELECTOR._domainkey.DOMAIN`, and DMARC needs it (or SPF) aligned with the From domain
//! before big mailbox providers trust a sender. lettre computes the signature; this module
//! reads the key the ways `openssl` writes it and signs each message for its From domain.

use std::{
    collections::HashMap,
    fmt,
    path::{Path, PathBuf},
    sync::{Arc, Mutex},
};

use base64::Engine as _;
use lettre::{
    Message,
    message::{
        dkim::{
            DkimCanonicalization, DkimCanonicalizationType, DkimConfig, DkimSigningAlgorithm,
            DkimSigningKey,
        },
        header::HeaderName,
    },
};
use rsa::{
    RsaPrivateKey,
    pkcs1::{DecodeRsaPrivateKey, EncodeRsaPrivateKey, LineEnding},
    pkcs8::{DecodePrivateKey, PrivateKeyInfo, der::pem},
    traits::PublicKeyParts,
};

use crate::transport::ConfigError;

/// Object identifiers of the two key types DKIM knows (RFC 8017, RFC 8410).
const OID_RSA: &str = "1.2.840.113549.1.1.1";
const OID_ED25519: &str = "1.3.101.112";

/// Receivers ignore shorter RSA keys (RFC 8301).
const MIN_RSA_BITS: usize = 1024;

/// The headers the signature covers: who, to whom, what and when, so none can be changed or
/// added on the way without breaking it (a listed header the message lacks is signed as
/// absent). Not Content-Type: lettre writes a multipart message's Content-Type with the body,
/// out of the signer's sight, so signing it would sign it as absent and fail every check;
/// the body hash covers the MIME structure anyway (the boundaries are in the body).
const SIGNED_HEADERS: [&str; 9] = [
    "From",
    "Reply-To",
    "To",
    "Cc",
    "Subject",
    "Date",
    "Message-ID",
    "Content-Language",
    "MIME-Version",
];

/// A DKIM private key with its selector, ready to sign. Cheap to clone; never prints the key.
#[derive(Clone)]
pub struct DkimSigner {
    selector: String,
    file: PathBuf,
    algorithm: DkimSigningAlgorithm,
    /// The key as lettre reads it: PKCS#1 PEM for RSA, the base64 seed for Ed25519.
    key_text: Arc<String>,
    /// One lettre configuration per signing domain, built on first use.
    configs: Arc<Mutex<HashMap<String, Arc<DkimConfig>>>>,
}

impl fmt::Debug for DkimSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DkimSigner")
            .field("selector", &self.selector)
            .field("file", &self.file)
            .field("algorithm", &self.algorithm_name())
            .finish_non_exhaustive()
    }
}

impl DkimSigner {
    /// Reads the private key in `file`: PEM, RSA (PKCS#1 `RSA PRIVATE KEY` or PKCS#8
    /// `PRIVATE KEY`) or Ed25519 (PKCS#8). Errors name the file, never the key.
    pub fn load(selector: &str, file: &Path) -> Result<DkimSigner, ConfigError> {
        let selector = selector.trim();
        let selector_ok = !selector.is_empty()
            && selector.len() <= 63
            && selector.split('.').all(|label| {
                !label.is_empty()
                    && label
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            });
        if !selector_ok {
            return Err(ConfigError::DkimSelector(format!(
                "\"{selector}\" is not a DNS name (letters, digits, - and _, e.g. tickler2027)"
            )));
        }
        let refuse = |reason: String| ConfigError::DkimKey {
            path: file.display().to_string(),
            reason,
        };
        let bytes = std::fs::read(file).map_err(|e| refuse(format!("cannot be read: {e}")))?;
        let (algorithm, key_text) = parse_private_key(&bytes).map_err(refuse)?;
        // lettre reads the key again when signing; make sure it will.
        DkimSigningKey::new(&key_text, algorithm)
            .map_err(|e| refuse(format!("the key does not load: {e}")))?;
        Ok(DkimSigner {
            selector: selector.to_string(),
            file: file.to_path_buf(),
            algorithm,
            key_text: Arc::new(key_text),
            configs: Arc::default(),
        })
    }

    pub fn selector(&self) -> &str {
        &self.selector
    }

    /// `rsa` or `ed25519`, as the DNS record's `k=` tag says.
    pub fn algorithm_name(&self) -> &'static str {
        match self.algorithm {
            DkimSigningAlgorithm::Rsa => "rsa",
            DkimSigningAlgorithm::Ed25519 => "ed25519",
        }
    }

    /// Adds a `DKIM-Signature` header for `domain` (the From address's domain), relaxed
    /// canonicalization for headers and body: relays that refold headers or trim trailing
    /// spaces do not break it.
    pub fn sign(&self, message: &mut Message, domain: &str) {
        let domain = domain.to_ascii_lowercase();
        let config = {
            let mut configs = self
                .configs
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            match configs.get(&domain) {
                Some(config) => config.clone(),
                None => {
                    let Ok(key) = DkimSigningKey::new(&self.key_text, self.algorithm) else {
                        // Checked by `load`; the same text cannot fail now.
                        tracing::error!(file = %self.file.display(), "the DKIM key no longer loads");
                        return;
                    };
                    let config = Arc::new(DkimConfig::new(
                        self.selector.clone(),
                        domain.clone(),
                        key,
                        SIGNED_HEADERS
                            .iter()
                            .map(|name| HeaderName::new_from_ascii_str(name))
                            .collect(),
                        DkimCanonicalization {
                            header: DkimCanonicalizationType::Relaxed,
                            body: DkimCanonicalizationType::Relaxed,
                        },
                    ));
                    configs.insert(domain, config.clone());
                    config
                }
            }
        };
        message.sign(&config);
    }
}

/// The key as lettre wants it, from PEM text.
fn parse_private_key(bytes: &[u8]) -> Result<(DkimSigningAlgorithm, String), String> {
    let text =
        std::str::from_utf8(bytes).map_err(|_| "is not a PEM file (it is not text)".to_string())?;
    let start = text
        .find("-----BEGIN ")
        .ok_or_else(|| "is not a PEM file (no -----BEGIN line)".to_string())?;
    let (label, der) = pem::decode_vec(text[start..].trim().as_bytes())
        .map_err(|e| format!("is not a readable PEM file: {e}"))?;
    match label {
        "RSA PRIVATE KEY" => {
            let key = RsaPrivateKey::from_pkcs1_der(&der)
                .map_err(|e| format!("holds an RSA key that does not parse: {e}"))?;
            rsa_for_lettre(&key)
        }
        "PRIVATE KEY" => {
            let info = PrivateKeyInfo::try_from(der.as_slice())
                .map_err(|e| format!("holds a PKCS#8 key that does not parse: {e}"))?;
            match info.algorithm.oid.to_string().as_str() {
                OID_RSA => {
                    let key = RsaPrivateKey::from_pkcs8_der(&der)
                        .map_err(|e| format!("holds an RSA key that does not parse: {e}"))?;
                    rsa_for_lettre(&key)
                }
                OID_ED25519 => {
                    // The private key is an OCTET STRING (tag 4, length 32) of the seed.
                    let seed = match info.private_key {
                        [0x04, 0x20, seed @ ..] if seed.len() == 32 => seed,
                        _ => return Err("holds an Ed25519 key that does not parse".to_string()),
                    };
                    Ok((
                        DkimSigningAlgorithm::Ed25519,
                        base64::engine::general_purpose::STANDARD.encode(seed),
                    ))
                }
                other => Err(format!(
                    "holds a key of type {other}; DKIM signs with RSA or Ed25519 keys"
                )),
            }
        }
        "ENCRYPTED PRIVATE KEY" => Err("holds an encrypted key; Tickler needs it unencrypted \
             (openssl pkey -in ENCRYPTED.pem -out KEY.pem), readable only by its user"
            .to_string()),
        other => Err(format!(
            "holds a \"{other}\"; expected an RSA or Ed25519 private key \
             (-----BEGIN PRIVATE KEY----- or -----BEGIN RSA PRIVATE KEY-----)"
        )),
    }
}

fn rsa_for_lettre(key: &RsaPrivateKey) -> Result<(DkimSigningAlgorithm, String), String> {
    let bits = key.size() * 8;
    if bits < MIN_RSA_BITS {
        return Err(format!(
            "holds an RSA key of {bits} bits; receivers ignore DKIM keys under {MIN_RSA_BITS} \
             bits (make one of 2048)"
        ));
    }
    let pem = key
        .to_pkcs1_pem(LineEnding::LF)
        .map_err(|e| format!("holds an RSA key that cannot be re-encoded: {e}"))?;
    Ok((DkimSigningAlgorithm::Rsa, pem.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_bad_selectors_and_files_naming_them() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing.pem");
        for bad in ["", "a b", "x/../y", "a..b", "sel\r\nBcc"] {
            let err = DkimSigner::load(bad, &missing).unwrap_err();
            assert!(matches!(err, ConfigError::DkimSelector(_)), "{bad}: {err}");
        }
        let err = DkimSigner::load("tickler", &missing)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("missing.pem") && err.contains("cannot be read"),
            "{err}"
        );

        let cases: [(&str, &[u8]); 4] = [
            ("binary.pem", b"\xff\xfe\x00"),
            ("notpem.pem", b"hello"),
            (
                "cert.pem",
                b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
            ),
            (
                "garbled.pem",
                b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
            ),
        ];
        for (name, content) in cases {
            let path = dir.path().join(name);
            std::fs::write(&path, content).unwrap();
            let err = DkimSigner::load("tickler", &path).unwrap_err().to_string();
            assert!(err.contains(name), "{err}");
        }
    }
}
