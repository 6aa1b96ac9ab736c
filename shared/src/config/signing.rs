//! The signing key: where it lives, its algorithm, how long it is cached.

use super::{ConfigError, Env, SigningAlg};

const DAY: u64 = 86_400;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Signing {
    /// `SIGNING_SECRET_ID`: the Secrets Manager secret (name or ARN) holding the key.
    pub secret_id: String,
    /// `SIGNING_ALG`.
    pub alg: SigningAlg,
    /// `PUBLIC_KEYS_SECRET_ID`: in an asymmetric mode, the secret holding the public JWKS the
    /// rotation publishes; the authorizer and the discovery function read only this one.
    pub public_keys_secret_id: String,
    /// `SECRET_CACHE_TTL`: how long the key ring is cached before it is re-read, seconds.
    pub cache_ttl: u64,
}

impl Signing {
    pub const DEFAULT_SECRET_ID: &'static str = "lambda-jwt-auth/signing-key";
    pub const DEFAULT_PUBLIC_KEYS_SECRET_ID: &'static str = "lambda-jwt-auth/public-keys";

    pub fn parse(env: &Env) -> Result<Self, ConfigError> {
        Ok(Signing {
            secret_id: env.text("SIGNING_SECRET_ID", Self::DEFAULT_SECRET_ID)?,
            alg: match env.get("SIGNING_ALG") {
                None => SigningAlg::default(),
                Some(v) => SigningAlg::parse(&v).ok_or_else(|| {
                    ConfigError::new("SIGNING_ALG", "HS256, RS256, ES256 or EdDSA", v)
                })?,
            },
            public_keys_secret_id: env
                .text("PUBLIC_KEYS_SECRET_ID", Self::DEFAULT_PUBLIC_KEYS_SECRET_ID)?,
            cache_ttl: env.number("SECRET_CACHE_TTL", 300, 0..=DAY)?,
        })
    }
}
