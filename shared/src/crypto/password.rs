//! Argon2id password hashing (PHC strings, so parameters can change later) and a verify that
//! takes the same time whether or not the user exists.

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, SaltString};
use std::sync::Mutex;

use secrecy::{ExposeSecret, SecretString};

use argon2::{Algorithm, Argon2, Block, Params, PasswordHasher, Version};

/// OWASP's argon2id recommendation: m=19456 KiB (19 MiB), t=2, p=1.
pub const DEFAULT_M_COST_KIB: u32 = 19_456;
pub const DEFAULT_T_COST: u32 = 2;
pub const DEFAULT_P_COST: u32 = 1;

/// A well-formed argon2id PHC string with the default parameters that no known password
/// matches. Unknown users are verified against it so that they cost one full argon2id run,
/// like a wrong password does.
const DUMMY_HASH_DEFAULT_PARAMS: &str = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$zoGF0SkrSqe7HYGvkAs3O8WCnkOcRMG85ERqdrV4pU8";

#[derive(Debug, thiserror::Error)]
pub enum HashError {
    #[error("invalid argon2 parameters")]
    Params(#[source] argon2::Error),
    #[error("password hashing failed")]
    Hash(#[source] argon2::password_hash::Error),
    #[error("the password hashing task did not complete")]
    Task(#[source] tokio::task::JoinError),
}

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
        let params = Params::new(m_cost_kib, t_cost, p_cost, None).map_err(HashError::Params)?;
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
            .map_err(HashError::Hash)
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
                    let _ = verify_phc(password.as_bytes(), &d);
                }
                return false;
            }
        };
        verify_phc(password.as_bytes(), &parsed) && real
    }

    /// Whether a stored PHC string was made with other settings than these (another algorithm
    /// or version, other m / t / p costs or output length): the next successful login
    /// re-hashes it. An unparseable string is not "upgradable" (it verifies nothing).
    pub fn needs_rehash(&self, stored: &str) -> bool {
        let Ok(phc) = PasswordHash::new(stored) else {
            return false;
        };
        let same_algorithm = phc.algorithm == Algorithm::Argon2id.ident()
            && phc.version == Some(Version::V0x13.into());
        let same_params = Params::try_from(&phc).is_ok_and(|p| {
            p.m_cost() == self.params.m_cost()
                && p.t_cost() == self.params.t_cost()
                && p.p_cost() == self.params.p_cost()
                && phc.hash.map(|h| h.len())
                    == Some(
                        self.params
                            .output_len()
                            .unwrap_or(Params::DEFAULT_OUTPUT_LEN),
                    )
        });
        !(same_algorithm && same_params)
    }

    /// [`Self::verify_blocking`] off the async runtime's worker threads.
    pub async fn verify(&self, password: SecretString, stored: Option<String>) -> bool {
        let me = self.clone();
        tokio::task::spawn_blocking(move || {
            me.verify_blocking(password.expose_secret(), stored.as_deref())
        })
        .await
        .unwrap_or(false)
    }

    pub async fn hash(&self, password: SecretString) -> Result<String, HashError> {
        let me = self.clone();
        tokio::task::spawn_blocking(move || me.hash_blocking(password.expose_secret()))
            .await
            .map_err(HashError::Task)?
    }
}

/// argon2's working memory (19 MiB at the default parameters), kept for reuse: a fresh
/// allocation per verification costs thousands of page faults (measured by
/// `tools/bench/benches/login.rs`; docs/performance.md). A pool rather than one buffer per
/// thread: tokio's blocking pool runs each verification on whichever of its threads is free
/// (they come and go), so per-thread buffers were allocated and faulted in again and again,
/// and two paths of one process could run on differently backed memory (the login handler's
/// verify ran measurably slower than the same verify on the bench thread). In
/// Lambda (one event at a time) the pool holds one buffer; a dev server under load holds one
/// per concurrent login, up to [`POOLED_BUFFERS`].
static BUFFERS: Mutex<Vec<Vec<Block>>> = Mutex::new(Vec::new());
const POOLED_BUFFERS: usize = 4;

fn with_buffer<R>(blocks: usize, f: impl FnOnce(&mut [Block]) -> R) -> R {
    let lock = || {
        BUFFERS
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    };
    let mut memory = lock().pop().unwrap_or_default();
    if memory.len() < blocks {
        memory.resize(blocks, Block::default());
    }
    let result = f(&mut memory[..blocks]);
    let mut pool = lock();
    if pool.len() < POOLED_BUFFERS {
        pool.push(memory);
    }
    result
}

/// Verifies `password` against a parsed PHC string: algorithm, version, parameters, salt and
/// output length all come from the string; the comparison is constant-time.
fn verify_phc(password: &[u8], phc: &PasswordHash<'_>) -> bool {
    use subtle::ConstantTimeEq;
    let (Ok(algorithm), Ok(params), Some(expected), Some(salt)) = (
        Algorithm::try_from(phc.algorithm),
        Params::try_from(phc),
        phc.hash.as_ref(),
        phc.salt.as_ref(),
    ) else {
        return false;
    };
    let version = match phc.version.map(Version::try_from) {
        None => Version::V0x13,
        Some(Ok(v)) => v,
        Some(Err(_)) => return false,
    };
    let mut salt_buf = [0u8; 64];
    let Ok(salt) = salt.decode_b64(&mut salt_buf) else {
        return false;
    };
    let blocks = params.block_count();
    let mut out = vec![0u8; expected.len()];
    let computed = with_buffer(blocks, |memory| {
        Argon2::new(algorithm, version, params)
            .hash_password_into_with_memory(password, salt, &mut out, memory)
    });
    computed.is_ok() && bool::from(out.as_slice().ct_eq(expected.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn concurrent_verifications_share_a_bounded_pool_of_buffers() {
        let p = Passwords::with_params(8192, 2, 1).unwrap();
        let h = p.hash_blocking("pool pw").unwrap();
        let threads = POOLED_BUFFERS + 3;
        let start = std::sync::Barrier::new(threads);
        std::thread::scope(|s| {
            for i in 0..threads {
                let (p, h, start) = (&p, &h, &start);
                s.spawn(move || {
                    start.wait(); // all verifying at once: more buffers in use than pooled
                    assert!(p.verify_blocking("pool pw", Some(h)), "thread {i}");
                    assert!(!p.verify_blocking("pool pX", Some(h)), "thread {i}");
                });
            }
        });
        // Other tests may be borrowing a buffer right now, so only the bound is certain.
        let pooled = BUFFERS.lock().unwrap().len();
        assert!(pooled <= POOLED_BUFFERS, "{pooled} buffers kept");
    }

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
    fn verification_agrees_with_the_argon2_crate() {
        use argon2::PasswordVerifier;
        let p = Passwords::default();
        let h = p.hash_blocking("pw-1").unwrap();
        let parsed = PasswordHash::new(&h).unwrap();
        for candidate in ["pw-1", "pw-2", ""] {
            assert_eq!(
                verify_phc(candidate.as_bytes(), &parsed),
                Argon2::default()
                    .verify_password(candidate.as_bytes(), &parsed)
                    .is_ok(),
                "{candidate}"
            );
        }
        // argon2i / argon2d hashes and other output lengths verify too.
        let other = Argon2::new(
            Algorithm::Argon2i,
            Version::V0x10,
            Params::new(64, 1, 1, Some(16)).unwrap(),
        )
        .hash_password(b"x", &SaltString::generate(&mut OsRng))
        .unwrap()
        .to_string();
        assert!(p.verify_blocking("x", Some(&other)));
        assert!(!p.verify_blocking("y", Some(&other)));
    }

    #[test]
    fn a_corrupt_stored_hash_is_a_failed_verify() {
        assert!(!Passwords::default().verify_blocking("pw", Some("not a phc string")));
    }
}
