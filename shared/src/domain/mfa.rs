//! The second factor's domain: the pending login a right password of a user with TOTP starts
//! (its `mfa_token`, single use, five minutes), and the `amr` values each way in ends with.

use super::{TokenHash, Username};

/// How long an `mfa_token` lasts (the contract's `expires_in`).
pub const MFA_TOKEN_TTL: u64 = 300;

/// `amr` (RFC 8176) of a TOTP-completed login: password, one-time password, two factors.
pub const AMR_TOTP: [&str; 3] = ["pwd", "otp", "mfa"];
/// `amr` of a login completed with a recovery code: a password and a second factor, but not
/// an RFC 4226/6238 one-time password, so no `otp`.
pub const AMR_RECOVERY: [&str; 2] = ["pwd", "mfa"];

/// A login whose password was right, waiting for its second factor. Stored under the hash of
/// its `mfa_token` only; everything the session will need is decided here, at the password
/// step, so the second step cannot change it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MfaChallenge {
    pub hash: TokenHash,
    pub username: Username,
    pub user_id: String,
    /// The session's device id (the login body's `device_id`).
    pub device_id: String,
    /// The device a valid device token proved at the password step: the second step counts
    /// its failures on that device's budget, as the password step did.
    pub known_device: Option<String>,
    /// When the login began (epoch ms): the session is dated from here, so a password change
    /// during the second step still revokes it.
    pub started_ms: u64,
    pub expires_at: u64,
}

/// What a user presents as the second factor.
#[derive(Clone, PartialEq, Eq)]
pub enum SecondFactor {
    /// A six-digit TOTP code.
    Totp(String),
    /// One of the user's recovery codes, as typed.
    Recovery(String),
}

impl std::fmt::Debug for SecondFactor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            SecondFactor::Totp(_) => "Totp(..)",
            SecondFactor::Recovery(_) => "Recovery(..)",
        })
    }
}

impl SecondFactor {
    /// The `amr` of a login completed with this factor.
    pub fn amr(&self) -> Vec<String> {
        let values: &[&str] = match self {
            SecondFactor::Totp(_) => &AMR_TOTP,
            SecondFactor::Recovery(_) => &AMR_RECOVERY,
        };
        values.iter().map(|v| v.to_string()).collect()
    }

    /// `otp` or `recovery_code`: what the logs and metrics call it.
    pub fn kind(&self) -> &'static str {
        match self {
            SecondFactor::Totp(_) => "totp",
            SecondFactor::Recovery(_) => "recovery_code",
        }
    }
}

/// A pending second step: the `mfa_token` (secret: `Debug` hides it) and its lifetime.
#[derive(Clone, PartialEq, Eq)]
pub struct MfaPending {
    pub mfa_token: String,
    pub expires_in: u64,
}

impl std::fmt::Debug for MfaPending {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MfaPending")
            .field("expires_in", &self.expires_in)
            .finish_non_exhaustive()
    }
}
