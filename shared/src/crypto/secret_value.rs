//! The signing secret's JSON value: parsed into key bytes, and rendered back (set-up and
//! rotation). HS256 `{"signing_key": "<base64>"}`; asymmetric `{"signing_key": "<PKCS#8 PEM>",
//! "next_key": "<PKCS#8 PEM>"}`.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use secrecy::{ExposeSecret, SecretSlice, SecretString};
use serde::Deserialize;

use crate::crypto::keys;
use crate::domain::SigningAlg;
use crate::error::KeyError;

/// Shortest HS256 signing key accepted, bytes.
pub const MIN_KEY_BYTES: usize = keys::MIN_HMAC_KEY_BYTES;

/// One version of the signing secret, parsed: the key that signs and, in an asymmetric mode,
/// the next one.
pub struct SecretValue {
    pub signing: SecretSlice<u8>,
    pub next: Option<SecretSlice<u8>>,
}

/// Parses the secret's JSON value: HS256 `{"signing_key": "<base64 of >= 32 bytes>"}`;
/// asymmetric `{"signing_key": "<PKCS#8 PEM>", "next_key": "<PKCS#8 PEM>"}` (`next_key`
/// optional). The keys themselves are checked by [`SigningKey::new`].
pub fn parse_signing_secret(alg: SigningAlg, json: &str) -> Result<SecretValue, KeyError> {
    #[derive(Deserialize)]
    struct Value {
        signing_key: String,
        #[serde(default)]
        next_key: Option<String>,
    }
    let shape = match alg {
        SigningAlg::Hs256 => "{\"signing_key\": \"<base64>\"}",
        _ => "{\"signing_key\": \"<PKCS#8 PEM>\", \"next_key\": \"<PKCS#8 PEM>\"}",
    };
    let value: Value = serde_json::from_str(json)
        .map_err(|_| KeyError::Malformed(format!("SIGNING_ALG={alg} expects JSON {shape}")))?;
    if alg.is_asymmetric() {
        return Ok(SecretValue {
            signing: keys::from_pem(alg, &value.signing_key)?,
            next: value
                .next_key
                .map(|pem| keys::from_pem(alg, &pem))
                .transpose()?,
        });
    }
    let bytes = STANDARD
        .decode(value.signing_key.trim())
        .map_err(|_| KeyError::Malformed("signing_key is not valid base64".into()))?;
    if bytes.len() < MIN_KEY_BYTES {
        return Err(KeyError::TooShort(bytes.len()));
    }
    Ok(SecretValue {
        signing: bytes.into(),
        next: None,
    })
}

/// Renders a secret value in [`parse_signing_secret`]'s shape (set-up and rotation).
pub fn render_signing_secret(
    alg: SigningAlg,
    signing: &SecretSlice<u8>,
    next: Option<&SecretSlice<u8>>,
) -> SecretString {
    let value = if alg.is_asymmetric() {
        let mut value = serde_json::json!({
            "signing_key": keys::to_pem(signing).expose_secret(),
        });
        if let Some(next) = next {
            value["next_key"] = keys::to_pem(next).expose_secret().into();
        }
        value
    } else {
        serde_json::json!({ "signing_key": STANDARD.encode(signing.expose_secret()) })
    };
    value.to_string().into()
}
