//! Access tokens: minting (`SIGNING_ALG`, `typ: at+jwt`, `kid`) and strict offline verification.

use std::borrow::Cow;
use std::sync::Arc;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::Header;
use serde::de::IgnoredAny;
use serde::Deserialize;

use crate::config::Config;
use crate::crypto::keyring::{KeyRing, SigningKey};
use crate::crypto::keys::VerifyKey;
use crate::domain::{Claims, SigningAlg, User, ACCESS_TOKEN_TYP};
use crate::ports::Clock;

/// Leeway for `exp` / `nbf`, seconds (jsonwebtoken's default is 60; the contract allows ≤ 30).
pub const LEEWAY_SECS: u64 = 30;
/// Longest `Authorization` token we look at; real ones are well under 1 KiB.
pub const MAX_ACCESS_TOKEN_LEN: usize = 4096;

/// Why an access token could not be minted.
#[derive(Debug, thiserror::Error)]
pub enum MintError {
    #[error("could not sign the access token")]
    Sign(#[source] jsonwebtoken::errors::Error),
    /// The verifier would refuse it (a user with very many or very long roles): better no
    /// token than one every authorizer refuses.
    #[error("the access token would be {len} bytes with a {payload}-byte payload; the verifier takes at most {MAX_ACCESS_TOKEN_LEN} and {MAX_SEGMENT_LEN}")]
    TooLarge { len: usize, payload: usize },
}

/// What an access token says about its issuer and audience, and how long it lives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenSettings {
    pub issuer: String,
    pub audience: String,
    /// `exp - iat`, seconds.
    pub ttl: u64,
}

impl From<&Config> for TokenSettings {
    fn from(cfg: &Config) -> Self {
        TokenSettings {
            issuer: cfg.tokens.issuer.clone(),
            audience: cfg.tokens.audience.clone(),
            ttl: cfg.tokens.access_ttl,
        }
    }
}

pub fn mint_access_token(
    key: &SigningKey,
    cfg: &TokenSettings,
    user: &User,
    session_id: &str,
    amr: &[String],
    now: u64,
) -> Result<(String, u64), MintError> {
    let mut header = Header::new(crate::crypto::jwt_crypto::algorithm(key.alg()));
    header.typ = Some(ACCESS_TOKEN_TYP.to_string());
    header.kid = Some(key.kid.clone());
    let exp = now + cfg.ttl;
    let claims = Claims {
        iss: cfg.issuer.clone(),
        aud: cfg.audience.clone(),
        sub: user.user_id.clone(),
        username: user.username.as_str().to_string(),
        roles: user.roles.clone(),
        sid: session_id.to_string(),
        iat: now,
        nbf: now,
        exp,
        jti: uuid::Uuid::new_v4().simple().to_string(),
        amr: amr.to_vec(),
    };
    crate::crypto::jwt_crypto::install();
    let token = jsonwebtoken::encode(&header, &claims, &key.encoding).map_err(MintError::Sign)?;
    // The verifier's own limits, applied to what we hand out.
    let segment = |i: usize| token.split('.').nth(i).map_or(0, str::len);
    if token.len() > MAX_ACCESS_TOKEN_LEN
        || segment(0) > MAX_SEGMENT_LEN
        || segment(1) > MAX_SEGMENT_LEN
    {
        return Err(MintError::TooLarge {
            len: token.len(),
            payload: segment(1),
        });
    }
    Ok((token, cfg.ttl))
}

/// Why a token was refused (for logs and tests; callers only ever see 401/403).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum VerifyError {
    #[error("token is malformed")]
    Malformed,
    #[error("token type is not at+jwt")]
    WrongType,
    #[error("algorithm is not the configured one")]
    WrongAlgorithm,
    #[error("unknown key id")]
    UnknownKid,
    #[error("token has expired")]
    Expired,
    #[error("signature or claims are invalid")]
    Invalid,
    #[error("no signing key is available")]
    KeysUnavailable,
}

/// The JOSE header fields we read; anything else is ignored, except `crit`, which we refuse
/// (we understand no extension, RFC 7515 §4.1.11). Duplicate fields fail the parse.
#[derive(Deserialize)]
struct JoseHeader<'a> {
    #[serde(borrow)]
    alg: Cow<'a, str>,
    #[serde(borrow, default)]
    typ: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    kid: Option<Cow<'a, str>>,
    #[serde(default)]
    crit: Option<IgnoredAny>,
}

/// Longest header or payload segment we decode.
const MAX_SEGMENT_LEN: usize = 2048;

fn decode_segment(segment: &str) -> Result<Vec<u8>, VerifyError> {
    if segment.is_empty() || segment.len() > MAX_SEGMENT_LEN {
        return Err(VerifyError::Malformed);
    }
    URL_SAFE_NO_PAD
        .decode(segment)
        .map_err(|_| VerifyError::Malformed)
}

/// Verifies access tokens: one pass over the token, keys built once per key version.
///
/// Checks, in order: three base64url segments; header `alg` exactly the ring's `SIGNING_ALG`
/// (so `none`, every other algorithm and in particular HS256 keyed with a public key are
/// refused before any key is touched), `typ` `at+jwt` (jsonwebtoken does not check it), a
/// `kid` naming a key the ring holds, the signature with that key ([`VerifyKey`], built once
/// per key version: HMAC-SHA256 with a constant-time comparison, or ring's RSA, ECDSA P-256 and
/// Ed25519, the same calls as the jsonwebtoken provider in [`crate::crypto::jwt_crypto`] that
/// signs), then the claims into the strictly typed [`Claims`] (all required, `exp`/`nbf`
/// integers: a string `exp` fails the parse), `iss`, `aud`, a non-empty `sub`, and `exp`/`nbf`
/// against our [`Clock`] with [`LEEWAY_SECS`].
///
/// Why not `jsonwebtoken::decode` with a `Validation`: it parses the header a second time,
/// the claims twice (into a map, then the type) and builds the key per call, all of it per
/// request on the authorizer's hot path (docs/performance.md).
pub struct AccessTokenVerifier {
    issuer: String,
    audience: String,
    clock: Arc<dyn Clock>,
}

impl AccessTokenVerifier {
    pub fn new(cfg: &TokenSettings, clock: Arc<dyn Clock>) -> Self {
        AccessTokenVerifier {
            issuer: cfg.issuer.clone(),
            audience: cfg.audience.clone(),
            clock,
        }
    }

    pub async fn verify(&self, token: &str, keys: &KeyRing) -> Result<Claims, VerifyError> {
        let parts = split_token(token)?;
        let header = decode_segment(parts.header)?;
        let kid = checked_kid(&header, keys.alg())?.ok_or(VerifyError::UnknownKid)?;
        let key = keys
            .verify_key_for(&kid)
            .await
            .map_err(|_| VerifyError::KeysUnavailable)?
            .ok_or(VerifyError::UnknownKid)?;
        self.check(&parts, &key)
    }

    /// Signature and claims with a known key (no I/O); the header must still be ours.
    pub fn verify_with(&self, token: &str, key: &SigningKey) -> Result<Claims, VerifyError> {
        let parts = split_token(token)?;
        checked_kid(&decode_segment(parts.header)?, key.alg())?;
        self.check(&parts, &key.verify)
    }

    fn check(&self, parts: &Parts<'_>, key: &VerifyKey) -> Result<Claims, VerifyError> {
        // The longest signature is RSA-4096's 512 bytes; the segment must be canonical
        // unpadded base64url (a re-encoding of the same bytes with other trailing bits fails).
        let mut buf = [0u8; 512];
        let signature = match URL_SAFE_NO_PAD.decode_slice(parts.signature, &mut buf) {
            Ok(n) if parts.signature.len() == (n * 4).div_ceil(3) => &buf[..n],
            _ => return Err(VerifyError::Invalid),
        };
        if !key.verify(parts.signing_input.as_bytes(), signature) {
            return Err(VerifyError::Invalid);
        }
        let claims: Claims = serde_json::from_slice(&decode_segment(parts.payload)?)
            .map_err(|_| VerifyError::Invalid)?;
        if claims.iss != self.issuer || claims.aud != self.audience || claims.sub.is_empty() {
            return Err(VerifyError::Invalid);
        }
        let now = self.clock.now();
        if now >= claims.exp.saturating_add(LEEWAY_SECS) {
            return Err(VerifyError::Expired);
        }
        if claims.nbf > now.saturating_add(LEEWAY_SECS) {
            return Err(VerifyError::Invalid);
        }
        Ok(claims)
    }
}

/// Parses and checks the decoded header (`alg`, `typ`, no `crit`); returns its `kid`, borrowed
/// from `bytes` unless it had escapes.
fn checked_kid(bytes: &[u8], alg: SigningAlg) -> Result<Option<Cow<'_, str>>, VerifyError> {
    let header: JoseHeader<'_> =
        serde_json::from_slice(bytes).map_err(|_| VerifyError::Malformed)?;
    if header.alg != alg.as_str() {
        return Err(VerifyError::WrongAlgorithm);
    }
    if header.typ.as_deref() != Some(ACCESS_TOKEN_TYP) {
        return Err(VerifyError::WrongType);
    }
    if header.crit.is_some() {
        return Err(VerifyError::Invalid);
    }
    Ok(header.kid)
}

struct Parts<'a> {
    header: &'a str,
    payload: &'a str,
    signature: &'a str,
    signing_input: &'a str,
}

fn split_token(token: &str) -> Result<Parts<'_>, VerifyError> {
    if token.is_empty() || token.len() > MAX_ACCESS_TOKEN_LEN || !token.is_ascii() {
        return Err(VerifyError::Malformed);
    }
    let (signing_input, signature) = token.rsplit_once('.').ok_or(VerifyError::Malformed)?;
    let (header, payload) = signing_input
        .split_once('.')
        .ok_or(VerifyError::Malformed)?;
    if payload.contains('.') || signature.is_empty() {
        return Err(VerifyError::Malformed);
    }
    Ok(Parts {
        header,
        payload,
        signature,
        signing_input,
    })
}
