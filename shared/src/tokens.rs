//! Access tokens: minting (HS256, `typ: at+jwt`, `kid`) and strict offline verification.

use std::sync::Arc;

use jsonwebtoken::{Algorithm, Header, Validation};

use crate::config::Config;
use crate::domain::{Claims, User, ACCESS_TOKEN_TYP};
use crate::keyring::{KeyRing, SigningKey};
use crate::ports::Clock;

/// Leeway for `exp` / `nbf`, seconds (jsonwebtoken's default is 60; the contract allows ≤ 30).
pub const LEEWAY_SECS: u64 = 30;
/// Longest `Authorization` token we look at; real ones are well under 1 KiB.
pub const MAX_ACCESS_TOKEN_LEN: usize = 4096;

pub fn mint_access_token(
    key: &SigningKey,
    cfg: &Config,
    user: &User,
    session_id: &str,
    now: u64,
) -> Result<(String, u64), jsonwebtoken::errors::Error> {
    let mut header = Header::new(Algorithm::HS256);
    header.typ = Some(ACCESS_TOKEN_TYP.to_string());
    header.kid = Some(key.kid.clone());
    let exp = now + cfg.access_token_ttl;
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
    };
    let token = jsonwebtoken::encode(&header, &claims, &key.encoding)?;
    Ok((token, cfg.access_token_ttl))
}

/// Why a token was refused (for logs and tests; callers only ever see 401/403).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum VerifyError {
    #[error("token is malformed")]
    Malformed,
    #[error("token type is not at+jwt")]
    WrongType,
    #[error("algorithm is not HS256")]
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

/// Verifies access tokens with a `Validation` built once.
pub struct AccessTokenVerifier {
    validation: Validation,
    clock: Arc<dyn Clock>,
}

impl AccessTokenVerifier {
    pub fn new(cfg: &Config, clock: Arc<dyn Clock>) -> Self {
        let mut v = Validation::new(Algorithm::HS256);
        v.algorithms = vec![Algorithm::HS256];
        v.set_issuer(&[cfg.issuer.as_str()]);
        v.set_audience(&[cfg.audience.as_str()]);
        // Presence is enforced here; the types by `Claims` (u64 `exp`/`nbf`: a string fails).
        v.set_required_spec_claims(&["exp", "nbf", "iss", "aud", "sub"]);
        // `exp` and `nbf` are checked below against our `Clock` (same leeway), so that time is
        // one injectable source everywhere; jsonwebtoken would read the system clock itself.
        v.validate_exp = false;
        v.validate_nbf = false;
        v.leeway = LEEWAY_SECS;
        AccessTokenVerifier {
            validation: v,
            clock,
        }
    }

    pub async fn verify(&self, token: &str, keys: &KeyRing) -> Result<Claims, VerifyError> {
        if token.is_empty() || token.len() > MAX_ACCESS_TOKEN_LEN || !token.is_ascii() {
            return Err(VerifyError::Malformed);
        }
        let header = jsonwebtoken::decode_header(token).map_err(|_| VerifyError::Malformed)?;
        if header.alg != Algorithm::HS256 {
            return Err(VerifyError::WrongAlgorithm);
        }
        // jsonwebtoken does not check `typ`; an ID token or other JWT must not pass as ours.
        if header.typ.as_deref() != Some(ACCESS_TOKEN_TYP) {
            return Err(VerifyError::WrongType);
        }
        let kid = header.kid.ok_or(VerifyError::UnknownKid)?;
        let key = keys
            .key_for(&kid)
            .await
            .map_err(|_| VerifyError::KeysUnavailable)?
            .ok_or(VerifyError::UnknownKid)?;
        self.verify_with(token, &key)
    }

    /// Signature and claims check with a known key (no I/O).
    pub fn verify_with(&self, token: &str, key: &SigningKey) -> Result<Claims, VerifyError> {
        use jsonwebtoken::errors::ErrorKind;
        let claims = jsonwebtoken::decode::<Claims>(token, key.decoding_key(), &self.validation)
            .map(|data| data.claims)
            .map_err(|e| match e.kind() {
                ErrorKind::InvalidAlgorithm => VerifyError::WrongAlgorithm,
                _ => VerifyError::Invalid,
            })?;
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
