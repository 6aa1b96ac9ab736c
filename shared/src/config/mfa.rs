//! Multi-factor settings: where the data keys that seal TOTP secrets at rest live.

use super::{ConfigError, Env};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mfa {
    /// `MFA_KEY_SECRET_ID`: the Secrets Manager secret holding the data key set
    /// (`{"current": id, id: key text, ...}`, see `crypto::sealed`).
    pub key_secret_id: String,
}

impl Mfa {
    pub fn parse(env: &Env) -> Result<Self, ConfigError> {
        Ok(Mfa {
            key_secret_id: env.text("MFA_KEY_SECRET_ID", "lambda-jwt-auth/mfa-key")?,
        })
    }
}
