//! Self sign-up: whether it is on, and the roles a new user gets.

use super::{ConfigError, Env};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Signup {
    /// `SIGNUP_ENABLED`: whether `POST /auth/register` creates accounts (off by default).
    pub enabled: bool,
    /// `SIGNUP_DEFAULT_ROLES`: the roles a self-registered user gets.
    pub default_roles: Vec<String>,
}

impl Signup {
    pub fn parse(env: &Env) -> Result<Self, ConfigError> {
        Ok(Signup {
            enabled: env.choice("SIGNUP_ENABLED", &[("false", false), ("true", true)])?,
            default_roles: parse_roles(env.get("SIGNUP_DEFAULT_ROLES"))?,
        })
    }
}

/// `SIGNUP_DEFAULT_ROLES`: comma-separated roles (default `user`; empty = none), each as
/// `authctl user create --role` accepts it.
fn parse_roles(value: Option<String>) -> Result<Vec<String>, ConfigError> {
    let Some(value) = value else {
        return Ok(vec!["user".to_string()]);
    };
    let roles: Vec<String> = value
        .split(',')
        .map(str::trim)
        .filter(|r| !r.is_empty())
        .map(str::to_string)
        .collect();
    if roles.iter().all(|r| crate::domain::valid_role(r)) {
        Ok(roles)
    } else {
        Err(ConfigError::new(
            "SIGNUP_DEFAULT_ROLES",
            "comma-separated roles of 1-64 characters of a-z A-Z 0-9 _ - : .",
            value,
        ))
    }
}
