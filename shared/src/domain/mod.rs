//! Pure domain types: usernames, users, sessions, access-token claims, refresh tokens.

mod claims;
mod email;
mod identity;
mod mfa;
mod passkey;
pub mod password_policy;
mod refresh_token;
pub mod revocation;
mod signing_alg;

pub use claims::{Claims, ACCESS_TOKEN_TYP, AMR_PASSWORD};
pub use email::{
    email_token_hash, new_email_token, Email, EmailError, EmailToken, EmailTokenKind, MAX_EMAIL_LEN,
};
pub use identity::{
    FlowPurpose, Identity, LinkedIdentity, OauthFlow, AMR_FEDERATED, FLOW_TTL, MAX_SUBJECT_LEN,
};
pub use mfa::{MfaChallenge, MfaPending, SecondFactor, AMR_RECOVERY, AMR_TOTP, MFA_TOKEN_TTL};
pub use passkey::{
    new_ceremony_id, Ceremony, CeremonyKind, NewCredential, Passkey, PasskeyUse, AMR_PASSKEY,
    CEREMONY_TTL, MAX_PASSKEY_NAME,
};
pub use refresh_token::{RefreshToken, TokenHash};
pub use signing_alg::SigningAlg;

/// Longest username accepted, in bytes (the contract's limit).
pub const MAX_USERNAME_LEN: usize = 128;
/// Longest password accepted, in bytes (the contract's limit; argon2 hashes what it is given).
pub const MAX_PASSWORD_BYTES: usize = 1024;

/// A username as stored: ASCII, lower-cased, 1..=128 bytes of `a-z 0-9 . _ @ + -`.
///
/// Case handling: usernames are case-insensitive. `Alice` and `alice` are the same account;
/// the stored and displayed form is the lower-cased one.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Username(String);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum UsernameError {
    #[error("username is empty")]
    Empty,
    #[error("username is longer than {MAX_USERNAME_LEN} bytes")]
    TooLong,
    #[error("username may contain only letters, digits and . _ @ + -")]
    BadCharacter,
    #[error("username must contain a letter or a digit")]
    NoLetterOrDigit,
}

impl Username {
    pub fn parse(raw: &str) -> Result<Self, UsernameError> {
        if raw.is_empty() {
            return Err(UsernameError::Empty);
        }
        if raw.len() > MAX_USERNAME_LEN {
            return Err(UsernameError::TooLong);
        }
        if !raw
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._@+-".contains(&b))
        {
            return Err(UsernameError::BadCharacter);
        }
        // `..`, `-`, `@`: names made only of separators read as paths or nothing at all.
        if !raw.bytes().any(|b| b.is_ascii_alphanumeric()) {
            return Err(UsernameError::NoLetterOrDigit);
        }
        Ok(Username(raw.to_ascii_lowercase()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for Username {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// `YYYY-MM-DDTHH:MM:SSZ` (RFC 3339, UTC) for epoch seconds.
pub fn rfc3339(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Howard Hinnant's civil-from-days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Longest role name, in characters.
pub const MAX_ROLE_LEN: usize = 64;

/// A role: 1-64 characters of `a-z A-Z 0-9 _ - : .` (no commas: the authorizer passes roles
/// on comma-joined).
pub fn valid_role(role: &str) -> bool {
    !role.is_empty()
        && role.len() <= MAX_ROLE_LEN
        && role
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_-:.".contains(&b))
}

/// A stored account.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct User {
    /// Stable opaque id (a UUID): the access token's `sub`.
    pub user_id: String,
    pub username: Username,
    /// Argon2id PHC string; parameters travel with it so they can change later.
    pub password_hash: String,
    pub roles: Vec<String>,
    pub disabled: bool,
    pub created_at: u64,
    /// Set by a password change or an administrator's set-password: every session begun
    /// before it is revoked, whatever its refresh token says.
    pub sessions_cutoff: Option<SessionCutoff>,
    /// The user's address (unique across users), if any; a new one replaces it only once
    /// verified.
    pub email: Option<Email>,
    pub email_verified: bool,
    /// The second factor: sealed secrets only, never one in clear.
    pub totp: TotpState,
    /// The credential ids of the user's passkeys.
    pub passkeys: Vec<String>,
    /// The user's identities at OpenID providers (one per provider at most).
    pub identities: Vec<LinkedIdentity>,
}

/// A user's TOTP as stored: secrets sealed (`crypto::sealed`), recovery codes hashed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TotpState {
    /// The sealed secret of a confirmed TOTP: on when present.
    pub secret: Option<String>,
    /// A sealed secret awaiting its first code (enrolment).
    pub pending: Option<String>,
    /// The last time step spent: codes of it and earlier steps are refused.
    pub last_step: u64,
    /// Hashes of the unused recovery codes.
    pub recovery_codes: Vec<String>,
}

impl TotpState {
    /// Whether TOTP is on (confirmed, not merely pending).
    pub fn enabled(&self) -> bool {
        self.secret.is_some()
    }
}

impl User {
    /// A new, enabled user with no sessions cutoff yet.
    pub fn new(
        user_id: impl Into<String>,
        username: Username,
        password_hash: String,
        roles: Vec<String>,
        created_at: u64,
    ) -> Self {
        Self {
            user_id: user_id.into(),
            username,
            password_hash,
            roles,
            disabled: false,
            created_at,
            sessions_cutoff: None,
            email: None,
            email_verified: false,
            totp: TotpState::default(),
            passkeys: Vec::new(),
            identities: Vec::new(),
        }
    }
}

/// Sessions begun before `at_ms` are revoked, except `kept` (the session a user changed their
/// password from). Stored on the user, so one write revokes them all at once (the items are
/// deleted too, but a session a racing login or refresh wrote meanwhile dies here).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionCutoff {
    pub at_ms: u64,
    pub kept: Option<String>,
}

impl User {
    /// Whether `session` survived the user's last password change. A session is dated from
    /// the start of the login that made it, so a login that checked the old password and
    /// stored its session after the change still falls before the cutoff.
    pub fn honours(&self, session: &Session) -> bool {
        self.honours_session(session.created_at_ms, &session.session_id)
    }

    /// When the password last changed (a change, a reset or an administrator's set-password:
    /// the only writers of the cutoff), epoch milliseconds; `None` if never since sign-up.
    pub fn password_changed_at_ms(&self) -> Option<u64> {
        self.sessions_cutoff.as_ref().map(|cut| cut.at_ms)
    }

    /// The stored password hash, if the user has a password (one who signed up through an
    /// OpenID provider has none until they set one).
    pub fn password(&self) -> Option<&str> {
        (!self.password_hash.is_empty()).then_some(self.password_hash.as_str())
    }

    /// The identity linked at `provider`, if any.
    pub fn identity_at(&self, provider: &str) -> Option<&LinkedIdentity> {
        self.identities.iter().find(|i| i.provider == provider)
    }

    /// Whether removing `identity` would leave a way to sign in: a password, a passkey or
    /// another identity.
    pub fn could_sign_in_without(&self, identity: &LinkedIdentity) -> bool {
        self.password().is_some()
            || !self.passkeys.is_empty()
            || self.identities.iter().any(|i| i != identity)
    }

    /// Whether removing the passkey `credential_id` would leave a way to sign in.
    pub fn could_sign_in_without_passkey(&self, credential_id: &str) -> bool {
        self.password().is_some()
            || !self.identities.is_empty()
            || self.passkeys.iter().any(|p| p != credential_id)
    }

    /// [`User::honours`] for a session known by its start and id.
    pub fn honours_session(&self, created_at_ms: u64, session_id: &str) -> bool {
        self.sessions_cutoff
            .as_ref()
            .is_none_or(|cut| cut.honours(created_at_ms, session_id))
    }
}

impl SessionCutoff {
    /// Whether the session begun at `created_at_ms` survives this cutoff.
    pub fn honours(&self, created_at_ms: u64, session_id: &str) -> bool {
        created_at_ms >= self.at_ms || self.kept.as_deref() == Some(session_id)
    }
}

/// A password hash to replace, if it is still `expected` (a concurrent change wins otherwise),
/// and with `cutoff` the sessions begun before it revoked in the same write.
#[derive(Clone, Copy, Debug)]
pub struct PasswordReplacement<'a> {
    pub username: &'a Username,
    pub expected: &'a str,
    pub new_hash: &'a str,
    pub cutoff: Option<&'a SessionCutoff>,
}

/// How many spent refresh-token hashes a session remembers for reuse detection. An older
/// spent token is still refused (its hash matches nothing), just without revoking the session.
pub const SPENT_HISTORY: usize = 64;

/// One login on one device: a family of refresh tokens of which exactly one is live.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Session {
    pub username: Username,
    pub session_id: String,
    pub user_id: String,
    pub device_id: String,
    /// Epoch milliseconds: sessions are evicted strictly oldest first, even within a second.
    pub created_at_ms: u64,
    pub last_used_at: u64,
    /// Inactivity expiry: slides on each rotation, never past `absolute_expires_at`.
    pub expires_at: u64,
    /// Absolute expiry (`SESSION_MAX_AGE` after login); rotation never extends it.
    pub absolute_expires_at: u64,
    /// SHA-256 of the live refresh token.
    pub token_hash: TokenHash,
    /// SHA-256 of the token the live one replaced, if any, and when that happened (epoch
    /// milliseconds: the grace window is measured to the millisecond).
    pub prev_hash: Option<TokenHash>,
    pub rotated_at_ms: u64,
    /// Key id used to derive the live token from its predecessor (for grace-window repeats).
    pub successor_kid: Option<String>,
    /// Hashes of older spent tokens (most recent last), at most [`SPENT_HISTORY`].
    pub spent: Vec<TokenHash>,
    /// Optimistic-concurrency version, bumped by every rotation.
    pub version: u64,
    /// How the user signed in (RFC 8176 `amr` values): every access token of the session
    /// carries them, across refreshes.
    pub amr: Vec<String>,
}

impl Session {
    /// The moment the session stops working, whichever lifetime ends first.
    pub fn ends_at(&self) -> u64 {
        self.expires_at.min(self.absolute_expires_at)
    }

    pub fn is_expired(&self, now: u64) -> bool {
        now >= self.ends_at()
    }

    /// Creation time in whole seconds (what lists and tools show).
    pub fn created_at(&self) -> u64 {
        self.created_at_ms / 1000
    }

    /// Whether `hash` is a token this session would still honour as its own: the live one,
    /// or the one it just replaced while `now_ms` is less than `grace_ms` after the rotation
    /// (`0` = no grace at all).
    pub fn honours(&self, hash: &TokenHash, now_ms: u64, grace_ms: u64) -> bool {
        self.token_hash.matches(hash)
            || (self.prev_hash.is_some_and(|p| p.matches(hash)) && self.in_grace(now_ms, grace_ms))
    }

    /// Whether `now_ms` is inside the grace window that followed the last rotation.
    pub fn in_grace(&self, now_ms: u64, grace_ms: u64) -> bool {
        now_ms.saturating_sub(self.rotated_at_ms) < grace_ms
    }
}

/// What `sessions list` shows; also what eviction and logout-all need.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionSummary {
    pub session_id: String,
    pub device_id: String,
    /// Epoch milliseconds (the eviction order).
    pub created_at_ms: u64,
    pub last_used_at: u64,
    pub expires_at: u64,
}

/// Whose failed logins a counter counts: a username from anywhere, or a username from one
/// device that has logged in as that user before (it presented a valid device token).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ThrottleKey {
    pub username: Username,
    /// The device token's random id, when one was presented and verified for this user.
    pub device: Option<String>,
}

/// Recent failed logins of one [`ThrottleKey`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FailureRecord {
    /// Attempts counted in the window, including those whose password is still being checked.
    pub failures: u32,
    /// When the last attempt was counted (epoch seconds).
    pub last_failure: u64,
    /// Set when a failure reached the threshold: no password is checked before this.
    pub locked_until: Option<u64>,
}

/// `LOGIN_MAX_FAILURES`, `LOGIN_FAILURE_WINDOW`, `LOGIN_LOCKOUT_BASE`, `LOGIN_LOCKOUT_MAX`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LockoutPolicy {
    pub max_failures: u32,
    pub window: u64,
    pub base: u64,
    pub cap: u64,
}

/// What a counter allows the next attempt to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NextAttempt {
    /// No record, or only an old one: count from 1 again.
    Restart,
    /// Count it on top of the record.
    Count,
    /// Refused until then (epoch seconds).
    Refuse { until: u64 },
}

impl LockoutPolicy {
    /// The lockout after `failures` failures: `base` at the threshold, doubling with each
    /// failure beyond, at most `cap`; none below the threshold.
    pub fn lockout(&self, failures: u32) -> Option<u64> {
        let beyond = failures.checked_sub(self.max_failures)?;
        Some(
            self.base
                .saturating_mul(1u64 << beyond.min(30))
                .min(self.cap),
        )
    }

    /// Whether the record no longer counts: its last attempt left the window and no lockout
    /// is still running.
    pub fn is_stale(&self, record: &FailureRecord, now: u64) -> bool {
        now.saturating_sub(record.last_failure) > self.window
            && record.locked_until.is_none_or(|until| until <= now)
    }

    /// The one decision every adapter makes, atomically, about the next attempt.
    pub fn next_attempt(&self, record: Option<&FailureRecord>, now: u64) -> NextAttempt {
        let Some(r) = record.filter(|r| !self.is_stale(r, now)) else {
            return NextAttempt::Restart;
        };
        if r.failures < self.max_failures {
            return NextAttempt::Count;
        }
        match r.locked_until {
            // The lockout ran out: one more attempt may be checked (and locks everyone else
            // out again while it is).
            Some(until) if until <= now => NextAttempt::Count,
            Some(until) => NextAttempt::Refuse { until },
            // The threshold is reached by attempts still being checked: refused as if they
            // all fail. If that time has passed they never finished (their instance died):
            // the record holds until it leaves the window.
            None => {
                let if_all_fail = r
                    .last_failure
                    .saturating_add(self.lockout(r.failures).unwrap_or(self.base));
                let until = if if_all_fail > now {
                    if_all_fail
                } else {
                    r.last_failure.saturating_add(self.window).saturating_add(1)
                };
                NextAttempt::Refuse { until }
            }
        }
    }
}

#[cfg(test)]
mod tests;
