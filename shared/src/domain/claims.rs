//! What an access token says (RFC 9068 profile, the contract's claim set).

use serde::{Deserialize, Serialize};

/// Access-token claims, exactly the contract's set.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    pub iss: String,
    pub aud: String,
    pub sub: String,
    pub username: String,
    pub roles: Vec<String>,
    pub sid: String,
    pub iat: u64,
    pub nbf: u64,
    pub exp: u64,
    pub jti: String,
    /// RFC 8176 authentication methods (`pwd`, ...); absent in tokens minted before it existed.
    #[serde(default)]
    pub amr: Vec<String>,
}

/// The `amr` of a password sign-in (RFC 8176).
pub const AMR_PASSWORD: &str = "pwd";

/// The JWT header `typ` of our access tokens (RFC 9068).
pub const ACCESS_TOKEN_TYP: &str = "at+jwt";
