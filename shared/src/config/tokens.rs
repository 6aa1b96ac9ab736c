//! Access tokens: who issues them, for whom, for how long.

use super::{ConfigError, Env};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tokens {
    /// `TOKEN_ISSUER`: the `iss` claim (and, when it is an https URL, the discovery base).
    pub issuer: String,
    /// `TOKEN_AUDIENCE`: the `aud` claim.
    pub audience: String,
    /// `ACCESS_TOKEN_TTL`: access-token lifetime, seconds.
    pub access_ttl: u64,
}

impl Tokens {
    pub const DEFAULT_ISSUER: &'static str = "lambda-jwt-auth";
    pub const DEFAULT_AUDIENCE: &'static str = "lambda-jwt-auth-api";

    pub fn parse(env: &Env) -> Result<Self, ConfigError> {
        Ok(Tokens {
            issuer: env.text("TOKEN_ISSUER", Self::DEFAULT_ISSUER)?,
            audience: env.text("TOKEN_AUDIENCE", Self::DEFAULT_AUDIENCE)?,
            access_ttl: env.number("ACCESS_TOKEN_TTL", 900, 1..=86_400)?,
        })
    }
}
