//! `USERS_TABLE`, `SESSIONS_TABLE`.

use super::{ConfigError, Env};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tables {
    pub users: String,
    pub sessions: String,
}

impl Tables {
    pub const DEFAULT_USERS: &'static str = "auth-users";
    pub const DEFAULT_SESSIONS: &'static str = "auth-sessions";

    pub fn parse(env: &Env) -> Result<Self, ConfigError> {
        Ok(Tables {
            users: env.text("USERS_TABLE", Self::DEFAULT_USERS)?,
            sessions: env.text("SESSIONS_TABLE", Self::DEFAULT_SESSIONS)?,
        })
    }
}
