//! Argon2id password hashing (PHC strings, so parameters can change later) and a verify that
//! takes the same time whether or not the user exists.

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Params, PasswordHasher, PasswordVerifier, Version};

/// OWASP's argon2id recommendation: m=19456 KiB (19 MiB), t=2, p=1.
pub const DEFAULT_M_COST_KIB: u32 = 19_456;
pub const DEFAULT_T_COST: u32 = 2;
pub const DEFAULT_P_COST: u32 = 1;

/// A well-formed argon2id PHC string with the default parameters that no known password
/// matches. Unknown users are verified against it so that they cost one full argon2id run,
/// like a wrong password does.
const DUMMY_HASH_DEFAULT_PARAMS: &str = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$zoGF0SkrSqe7HYGvkAs3O8WCnkOcRMG85ERqdrV4pU8";

#[derive(Debug, thiserror::Error)]
#[error("password hashing failed: {0}")]
pub struct HashError(String);

#[derive(Clone)]
pub struct Passwords {
    params: Params,
    dummy: String,
}

impl Default for Passwords {
    fn default() -> Self {
        Passwords {
            params: default_params(),
            dummy: DUMMY_HASH_DEFAULT_PARAMS.to_string(),
        }
    }
}

fn default_params() -> Params {
    Params::new(DEFAULT_M_COST_KIB, DEFAULT_T_COST, DEFAULT_P_COST, None)
        .unwrap_or_else(|_| unreachable!("the OWASP parameters are valid"))
}

fn argon(params: Params) -> Argon2<'static> {
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

impl Passwords {
    /// Custom parameters (e.g. cheaper ones for a benchmark baseline). Builds a dummy hash with
    /// the same parameters, once.
    pub fn with_params(m_cost_kib: u32, t_cost: u32, p_cost: u32) -> Result<Self, HashError> {
        let params =
            Params::new(m_cost_kib, t_cost, p_cost, None).map_err(|e| HashError(e.to_string()))?;
        let mut me = Passwords {
            params,
            dummy: String::new(),
        };
        me.dummy = me.hash_blocking("dummy password that matches nothing")?;
        Ok(me)
    }

    pub fn hash_blocking(&self, password: &str) -> Result<String, HashError> {
        let salt = SaltString::generate(&mut OsRng);
        argon(self.params.clone())
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| HashError(e.to_string()))
    }

    /// Verifies against a stored PHC string, or against the dummy hash when `stored` is `None`
    /// (unknown user): the answer is then always `false`, after the same work.
    pub fn verify_blocking(&self, password: &str, stored: Option<&str>) -> bool {
        let (phc, real) = match stored {
            Some(s) => (s, true),
            None => (self.dummy.as_str(), false),
        };
        let parsed = match PasswordHash::new(phc) {
            Ok(p) => p,
            Err(_) => {
                tracing::error!("stored password hash is not a valid PHC string");
                // Still spend the time, so a corrupt record is not a timing oracle.
                if let Ok(d) = PasswordHash::new(&self.dummy) {
                    let _ = argon(self.params.clone()).verify_password(password.as_bytes(), &d);
                }
                return false;
            }
        };
        // verify_password takes algorithm, version and parameters from the PHC string.
        let ok = argon(self.params.clone())
            .verify_password(password.as_bytes(), &parsed)
            .is_ok();
        ok && real
    }

    /// [`Self::verify_blocking`] off the async runtime's worker threads.
    pub async fn verify(&self, password: String, stored: Option<String>) -> bool {
        let me = self.clone();
        tokio::task::spawn_blocking(move || me.verify_blocking(&password, stored.as_deref()))
            .await
            .unwrap_or(false)
    }

    pub async fn hash(&self, password: String) -> Result<String, HashError> {
        let me = self.clone();
        tokio::task::spawn_blocking(move || me.hash_blocking(&password))
            .await
            .map_err(|e| HashError(e.to_string()))?
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_argon2id_phc_strings_with_owasp_parameters() {
        let p = Passwords::default();
        let h = p.hash_blocking("correct horse").unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{h}");
        assert!(p.verify_blocking("correct horse", Some(&h)));
        assert!(!p.verify_blocking("correct horsE", Some(&h)));
    }

    #[test]
    fn the_dummy_hash_uses_the_default_parameters() {
        let parsed = PasswordHash::new(DUMMY_HASH_DEFAULT_PARAMS).unwrap();
        assert_eq!(parsed.algorithm.as_str(), "argon2id");
        let params = Params::try_from(&parsed).unwrap();
        assert_eq!(
            (params.m_cost(), params.t_cost(), params.p_cost()),
            (DEFAULT_M_COST_KIB, DEFAULT_T_COST, DEFAULT_P_COST)
        );
    }

    #[test]
    fn unknown_users_never_verify() {
        let p = Passwords::default();
        assert!(!p.verify_blocking("", None));
        assert!(!p.verify_blocking("anything", None));
    }

    #[test]
    fn hashes_made_with_other_parameters_still_verify() {
        let cheap = Passwords::with_params(8, 1, 1).unwrap();
        let h = cheap.hash_blocking("pw").unwrap();
        assert!(Passwords::default().verify_blocking("pw", Some(&h)));
    }

    #[test]
    fn a_corrupt_stored_hash_is_a_failed_verify() {
        assert!(!Passwords::default().verify_blocking("pw", Some("not a phc string")));
    }
}
