//! The authorizer's revocation mode.

use super::{ConfigError, Env};

/// `AUTHORIZER_REVOCATION`: whether the authorizer also checks the token's session.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum AuthorizerRevocation {
    /// `off` (default): offline verification only; no network call per request.
    #[default]
    Off,
    /// `session`: one DynamoDB read per call; a revoked session's tokens are refused at once.
    Session,
}

/// `AUTHORIZER_REVOCATION_ON_ERROR`: what the session-checking authorizer answers when
/// DynamoDB cannot be read.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum RevocationFailMode {
    /// `deny` (default): fail closed; protected APIs are down while DynamoDB is.
    #[default]
    Deny,
    /// `allow`: fail open to the offline verdict; revocation lapses while DynamoDB is down.
    Allow,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AuthorizerSettings {
    pub revocation: AuthorizerRevocation,
    pub on_error: RevocationFailMode,
}

impl AuthorizerSettings {
    pub fn parse(env: &Env) -> Result<Self, ConfigError> {
        Ok(AuthorizerSettings {
            revocation: env.choice(
                "AUTHORIZER_REVOCATION",
                &[
                    ("off", AuthorizerRevocation::Off),
                    ("session", AuthorizerRevocation::Session),
                ],
            )?,
            on_error: env.choice(
                "AUTHORIZER_REVOCATION_ON_ERROR",
                &[
                    ("deny", RevocationFailMode::Deny),
                    ("allow", RevocationFailMode::Allow),
                ],
            )?,
        })
    }
}
