//! An OpenID provider's ID token (OpenID Connect Core 3.1.3.7), checked against the provider's
//! published keys: the signature with an algorithm the provider advertises (never `none`, never
//! HMAC), `iss`, `aud` (and `azp` with several audiences), `exp`, `iat`, `nonce`, `sub`. The
//! keys are the provider's JWKS, each read with the same strict JWK rules as our own
//! ([`VerifyKey::from_provider_jwk`]) and then as jsonwebtoken's key; the signature, `iss` and
//! `aud` are checked by `jsonwebtoken::decode` (on ring, through our crypto provider), the
//! rest of OpenID Connect's rules here, against the service's clock.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::Deserialize;
use serde_json::Value;

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{DecodingKey, Validation};

use super::keys::VerifyKey;
use crate::domain::SigningAlg;

/// The slack allowed between the provider's clock and ours, in seconds.
pub const CLOCK_SKEW_SECS: u64 = 60;
/// Longest ID token read (Google's are ~1 KB; claims-heavy providers a few).
const MAX_ID_TOKEN_LEN: usize = 16 * 1024;

/// A provider's signing keys (its JWKS), the usable ones: asymmetric, for an algorithm we
/// verify, not marked for encryption. Unusable members are skipped, not fatal (providers
/// publish keys of other kinds beside theirs).
#[derive(Default)]
pub struct ProviderKeys {
    keys: Vec<ProviderKey>,
}

/// One key: its `kid` and algorithm as our strict JWK reader accepted them, and the key
/// jsonwebtoken verifies with.
struct ProviderKey {
    kid: String,
    alg: SigningAlg,
    key: DecodingKey,
}

impl std::fmt::Debug for ProviderKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.keys.iter().map(|k| (&k.kid, k.alg)))
            .finish()
    }
}

impl ProviderKeys {
    pub fn from_jwks(jwks: &Value) -> ProviderKeys {
        let members = jwks.get("keys").and_then(Value::as_array);
        let keys = members
            .into_iter()
            .flatten()
            .filter(|jwk| jwk.get("use").and_then(Value::as_str) != Some("enc"))
            .flat_map(|jwk| {
                let decoding = serde_json::from_value::<Jwk>(jwk.clone())
                    .ok()
                    .and_then(|j| DecodingKey::from_jwk(&j).ok());
                // Our reader decides which algorithm the key is for (type, curve, size, no
                // private members); its parsed key is not kept, jsonwebtoken's verifies.
                [SigningAlg::Rs256, SigningAlg::Es256, SigningAlg::EdDsa]
                    .into_iter()
                    .filter_map(move |alg| VerifyKey::from_provider_jwk(alg, jwk).ok())
                    .filter_map(move |checked| {
                        decoding.clone().map(|key| ProviderKey {
                            kid: checked.kid,
                            alg: checked.alg,
                            key,
                        })
                    })
            })
            .collect();
        ProviderKeys { keys }
    }

    pub fn len(&self) -> usize {
        self.keys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The key for `alg` named `kid`; without a `kid`, the one key for `alg` if there is
    /// exactly one.
    fn find(&self, kid: Option<&str>, alg: SigningAlg) -> Option<&DecodingKey> {
        let mut of_alg = self.keys.iter().filter(|k| k.alg == alg);
        match kid {
            Some(kid) => of_alg.find(|k| k.kid == kid).map(|k| &k.key),
            None => {
                let first = of_alg.next()?;
                of_alg.next().is_none().then_some(&first.key)
            }
        }
    }
}

/// What an ID token must say.
#[derive(Clone, Debug)]
pub struct Expected<'a> {
    pub issuer: &'a str,
    pub client_id: &'a str,
    /// The nonce the flow sent in its authorization request.
    pub nonce: &'a str,
    /// What the provider's discovery document advertises (`id_token_signing_alg_values_supported`).
    pub algorithms: &'a [String],
    pub now: u64,
}

/// What the service takes from a verified ID token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdClaims {
    pub sub: String,
    pub email: Option<String>,
    pub email_verified: bool,
    pub name: Option<String>,
}

/// Why an ID token was refused (each case is the flow's `#error=`; the text is for the log).
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum IdTokenError {
    #[error("not a signed JWT")]
    Malformed,
    #[error("algorithm not allowed (none, HMAC, or not advertised by the provider)")]
    Algorithm,
    #[error("no provider key for the token's kid")]
    UnknownKey,
    #[error("bad signature")]
    Signature,
    #[error("wrong issuer")]
    Issuer,
    #[error("wrong audience")]
    Audience,
    #[error("wrong nonce")]
    Nonce,
    #[error("expired")]
    Expired,
    #[error("missing or invalid claims")]
    Claims,
}

#[derive(Deserialize)]
struct Header {
    alg: String,
    kid: Option<String>,
    crit: Option<Value>,
}

#[derive(Deserialize)]
struct Claims {
    sub: String,
    aud: Audience,
    exp: u64,
    iat: u64,
    nonce: Option<String>,
    azp: Option<String>,
    email: Option<String>,
    #[serde(default)]
    email_verified: EmailVerified,
    name: Option<String>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Audience {
    One(String),
    Many(Vec<String>),
}

/// `email_verified` as providers send it: a boolean, or (some) the string "true".
#[derive(Default, Deserialize)]
#[serde(untagged)]
enum EmailVerified {
    Bool(bool),
    Text(String),
    #[default]
    Absent,
}

fn segment(part: &str) -> Result<Vec<u8>, IdTokenError> {
    URL_SAFE_NO_PAD
        .decode(part)
        .map_err(|_| IdTokenError::Malformed)
}

/// Verifies `token` (the token endpoint's `id_token`) against `keys` and `expected`.
pub fn verify_id_token(
    token: &str,
    keys: &ProviderKeys,
    expected: &Expected<'_>,
) -> Result<IdClaims, IdTokenError> {
    if token.len() > MAX_ID_TOKEN_LEN || !token.is_ascii() {
        return Err(IdTokenError::Malformed);
    }
    let mut parts = token.split('.');
    // Three segments; the header read here first for what jsonwebtoken's ignores (`crit`) and
    // for the algorithm and key it must not choose itself.
    let (Some(header), Some(_), Some(_), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(IdTokenError::Malformed);
    };
    let header: Header =
        serde_json::from_slice(&segment(header)?).map_err(|_| IdTokenError::Malformed)?;
    if header.crit.is_some() {
        return Err(IdTokenError::Malformed);
    }
    let alg = SigningAlg::parse(&header.alg)
        .filter(|a| *a != SigningAlg::Hs256)
        .filter(|a| expected.algorithms.iter().any(|x| x == a.as_str()))
        .ok_or(IdTokenError::Algorithm)?;
    let key = keys
        .find(header.kid.as_deref(), alg)
        .ok_or(IdTokenError::UnknownKey)?;
    // The signature, `iss` and `aud` by jsonwebtoken; `exp` and `iat` below, on our clock.
    crate::crypto::jwt_crypto::install();
    let mut validation = Validation::new(crate::crypto::jwt_crypto::algorithm(alg));
    validation.validate_exp = false;
    validation.leeway = 0;
    validation.set_issuer(&[expected.issuer]);
    validation.set_audience(&[expected.client_id]);
    validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
    let claims = jsonwebtoken::decode::<Claims>(token, key, &validation)
        .map_err(|e| match e.kind() {
            ErrorKind::InvalidSignature => IdTokenError::Signature,
            ErrorKind::InvalidIssuer => IdTokenError::Issuer,
            ErrorKind::InvalidAudience => IdTokenError::Audience,
            ErrorKind::InvalidAlgorithm => IdTokenError::Algorithm,
            ErrorKind::Json(_) | ErrorKind::MissingRequiredClaim(_) => IdTokenError::Claims,
            _ => IdTokenError::Malformed,
        })?
        .claims;
    let audience_ok = match &claims.aud {
        Audience::One(aud) => aud == expected.client_id,
        Audience::Many(auds) => {
            auds.iter().any(|a| a == expected.client_id)
                && (auds.len() == 1 || claims.azp.as_deref() == Some(expected.client_id))
        }
    };
    if !audience_ok
        || claims
            .azp
            .as_deref()
            .is_some_and(|a| a != expected.client_id)
    {
        return Err(IdTokenError::Audience);
    }
    if expected.now >= claims.exp.saturating_add(CLOCK_SKEW_SECS) {
        return Err(IdTokenError::Expired);
    }
    if claims.iat > expected.now.saturating_add(CLOCK_SKEW_SECS) {
        return Err(IdTokenError::Claims);
    }
    if claims.nonce.as_deref() != Some(expected.nonce) {
        return Err(IdTokenError::Nonce);
    }
    if claims.sub.is_empty() || claims.sub.len() > 255 {
        return Err(IdTokenError::Claims);
    }
    Ok(IdClaims {
        sub: claims.sub,
        email: claims.email,
        email_verified: matches!(claims.email_verified, EmailVerified::Bool(true))
            || matches!(&claims.email_verified, EmailVerified::Text(t) if t == "true"),
        name: claims.name,
    })
}

#[cfg(test)]
mod tests;
