//! Errors, one enum per layer: stores and the key source fail with [`StoreError`] /
//! [`KeyError`], the domain with [`AuthError`], which alone decides what a caller sees.

use std::fmt;
use std::sync::Arc;

use thiserror::Error;

/// An error and its causes on one line, `what failed: why: root cause`, for the edges that
/// print an error once (log lines, `authctl`). A cause whose text its parent already printed
/// (some errors embed their source in their own message) is not repeated.
pub struct Chain<'a>(pub &'a (dyn std::error::Error + 'a));

impl fmt::Display for Chain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut last = self.0.to_string();
        f.write_str(&last)?;
        let mut source = self.0.source();
        while let Some(cause) = source {
            let text = cause.to_string();
            if !text.is_empty() && !last.contains(&text) {
                write!(f, ": {text}")?;
            }
            last = text;
            source = cause.source();
        }
        Ok(())
    }
}

/// What a store adapter reports. The source is kept for logs, never shown to a caller.
#[derive(Debug, Error)]
pub enum StoreError {
    #[error("item already exists")]
    Conflict,
    #[error("the email address belongs to another user")]
    EmailTaken,
    #[error("item not found")]
    NotFound,
    #[error("stored item is malformed: {0}")]
    Corrupt(String),
    #[error("backing store unavailable")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl StoreError {
    pub fn unavailable(e: impl std::error::Error + Send + Sync + 'static) -> Self {
        StoreError::Unavailable(Box::new(e))
    }
}

/// What loading or using the signing key ring can fail with.
#[derive(Debug, Error)]
pub enum KeyError {
    #[error("secret source unavailable")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
    #[error("signing secret is malformed: {0}")]
    Malformed(String),
    #[error("signing key is {0} bytes; at least 32 random bytes are required")]
    TooShort(usize),
    /// A key that is not of the configured algorithm's type or size.
    #[error("the key is not a usable {alg} key: {reason}")]
    Unusable {
        alg: crate::domain::SigningAlg,
        reason: String,
    },
    /// A verify-only key ring (public keys) was asked for a key to sign with.
    #[error("this function holds no signing key (public keys only)")]
    NoSigningKey,
}

impl KeyError {
    pub fn unavailable(e: impl std::error::Error + Send + Sync + 'static) -> Self {
        KeyError::Unavailable(Box::new(e))
    }
}

/// Seconds a client is told to wait after a backing service failed.
pub const UNAVAILABLE_RETRY_AFTER: u64 = 2;

/// Why a request could not be served (a backing service, a key, a bug): kept with the error
/// so that the edge writes it, whole, in the one log line of the response
/// ([`crate::http::response::error_response`]); never shown to a caller.
#[derive(Clone)]
pub struct Cause(Arc<dyn std::error::Error + Send + Sync>);

impl Cause {
    pub fn new(e: impl std::error::Error + Send + Sync + 'static) -> Self {
        Cause(Arc::new(e))
    }

    /// A cause that is only a fixed text (an outcome the code considers impossible).
    pub fn msg(text: &'static str) -> Self {
        #[derive(Debug, Error)]
        #[error("{0}")]
        struct Text(&'static str);
        Cause::new(Text(text))
    }

    /// The cause as the error type it is, if it is one.
    pub fn downcast_ref<T: std::error::Error + 'static>(&self) -> Option<&T> {
        self.0.downcast_ref::<T>()
    }
}

impl fmt::Display for Cause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl fmt::Debug for Cause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Cause({})", Chain(self.0.as_ref()))
    }
}

impl std::error::Error for Cause {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.0.source()
    }
}

/// Every outcome a caller can see other than success. Each maps to one contract error code.
/// Equality compares what a caller sees (the code, the text, `Retry-After`), not causes.
#[derive(Debug, Error, Clone)]
pub enum AuthError {
    #[error("invalid request: {0}")]
    InvalidRequest(&'static str),
    /// A non-empty body not sent as `application/json` (a form post needs no CORS preflight).
    #[error("unsupported media type")]
    UnsupportedMediaType,
    /// A browser request from an origin that is neither the API's own nor an allowed one.
    #[error("invalid origin")]
    InvalidOrigin,
    #[error("invalid credentials")]
    InvalidCredentials,
    /// A new password the policy refuses; the text says which rule.
    #[error("weak password")]
    WeakPassword(&'static str),
    #[error("sign-up is disabled")]
    SignupDisabled,
    #[error("username taken")]
    UsernameTaken,
    #[error("email taken")]
    EmailTaken,
    /// A mailed token (verification, reset) that is unknown, expired, used or superseded.
    #[error("invalid mailed token")]
    InvalidEmailToken,
    /// Not one of the caller's live sessions (another user's included: no oracle).
    /// The right password of a user with TOTP on: the login waits for its second factor
    /// (`POST /auth/login/mfa` with this pending login's token).
    #[error("a second factor is required")]
    MfaRequired(crate::domain::MfaPending),
    /// A wrong, malformed or already used TOTP or recovery code (a failed login).
    #[error("invalid code")]
    InvalidCode,
    /// The code confirming an enrolment does not match the pending secret (or none is pending).
    #[error("invalid enrolment code")]
    InvalidEnrolmentCode,
    #[error("TOTP is already on")]
    MfaAlreadyEnabled,
    #[error("TOTP is not on")]
    MfaNotEnabled,
    /// An `mfa_token` unknown, expired or already used.
    #[error("invalid mfa token")]
    InvalidMfaToken,
    #[error("not found")]
    NotFound,
    /// A passkey sign-in refused: unknown credential, a failed check (signature, origin, RP
    /// ID, user verification), a challenge unknown, expired or used, a counter gone backwards.
    #[error("invalid passkey assertion")]
    InvalidPasskey,
    /// A passkey registration that does not verify (or names a credential already registered).
    #[error("invalid passkey registration")]
    InvalidPasskeyRegistration,
    /// Not one of the caller's passkeys (another user's id included).
    #[error("passkey not found")]
    PasskeyNotFound,
    /// No such provider in `OIDC_PROVIDERS`.
    #[error("provider not found")]
    ProviderNotFound,
    /// The caller has no identity at that provider.
    #[error("identity not found")]
    IdentityNotFound,
    /// Unlinking would leave the account no way to sign in.
    #[error("last sign-in method")]
    LastSignInMethod,
    #[error("account disabled")]
    AccountDisabled,
    #[error("too many attempts")]
    TooManyAttempts { retry_after: u64 },
    #[error("invalid grant")]
    InvalidGrant,
    /// An access token that verified, but whose session has ended or whose user is disabled
    /// (the account routes check this on every call, whatever `AUTHORIZER_REVOCATION` says).
    #[error("invalid token")]
    InvalidToken,
    /// A backing service failed (the cause says which, and why).
    #[error("temporarily unavailable")]
    Unavailable {
        retry_after: u64,
        #[source]
        cause: Cause,
    },
    #[error("internal error")]
    Internal(#[source] Cause),
}

impl PartialEq for AuthError {
    fn eq(&self, other: &Self) -> bool {
        self.code() == other.code()
            && self.status() == other.status()
            && self.description() == other.description()
            && self.retry_after() == other.retry_after()
    }
}

impl Eq for AuthError {}

impl AuthError {
    pub fn status(&self) -> u16 {
        match self {
            AuthError::InvalidRequest(_)
            | AuthError::WeakPassword(_)
            | AuthError::InvalidEmailToken
            | AuthError::InvalidEnrolmentCode
            | AuthError::InvalidPasskeyRegistration => 400,
            AuthError::SignupDisabled | AuthError::MfaRequired(_) => 403,
            AuthError::NotFound
            | AuthError::PasskeyNotFound
            | AuthError::ProviderNotFound
            | AuthError::IdentityNotFound => 404,
            AuthError::UsernameTaken
            | AuthError::EmailTaken
            | AuthError::MfaAlreadyEnabled
            | AuthError::MfaNotEnabled
            | AuthError::LastSignInMethod => 409,
            AuthError::UnsupportedMediaType => 415,
            AuthError::InvalidCredentials
            | AuthError::InvalidGrant
            | AuthError::InvalidToken
            | AuthError::InvalidCode
            | AuthError::InvalidMfaToken
            | AuthError::InvalidPasskey => 401,
            AuthError::AccountDisabled | AuthError::InvalidOrigin => 403,
            AuthError::TooManyAttempts { .. } => 429,
            AuthError::Unavailable { .. } => 503,
            AuthError::Internal(_) => 500,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            AuthError::InvalidRequest(_) | AuthError::UnsupportedMediaType => "invalid_request",
            AuthError::InvalidOrigin => "invalid_origin",
            AuthError::WeakPassword(_) => "weak_password",
            AuthError::SignupDisabled => "signup_disabled",
            AuthError::UsernameTaken => "username_taken",
            AuthError::EmailTaken => "email_taken",
            AuthError::InvalidEmailToken => "invalid_token",
            AuthError::NotFound
            | AuthError::PasskeyNotFound
            | AuthError::ProviderNotFound
            | AuthError::IdentityNotFound => "not_found",
            AuthError::LastSignInMethod => "last_sign_in_method",
            AuthError::MfaRequired(_) => "mfa_required",
            AuthError::InvalidPasskey | AuthError::InvalidPasskeyRegistration => {
                "invalid_credential"
            }
            AuthError::InvalidCode | AuthError::InvalidEnrolmentCode => "invalid_code",
            AuthError::MfaAlreadyEnabled => "mfa_already_enabled",
            AuthError::MfaNotEnabled => "mfa_not_enabled",
            AuthError::InvalidMfaToken => "invalid_grant",
            AuthError::InvalidCredentials => "invalid_credentials",
            AuthError::AccountDisabled => "account_disabled",
            AuthError::TooManyAttempts { .. } => "too_many_attempts",
            AuthError::InvalidGrant => "invalid_grant",
            AuthError::InvalidToken => "invalid_token",
            AuthError::Unavailable { .. } => "temporarily_unavailable",
            AuthError::Internal(_) => "server_error",
        }
    }

    /// Human text for `error_description`; fixed strings only, nothing internal.
    pub fn description(&self) -> &'static str {
        match self {
            AuthError::InvalidRequest(why) => why,
            AuthError::UnsupportedMediaType => {
                "The request body must be sent with Content-Type: application/json."
            }
            AuthError::InvalidOrigin => {
                "Requests from this origin are not allowed; nothing was changed."
            }
            AuthError::InvalidCredentials => "The username or password is incorrect.",
            AuthError::WeakPassword(why) => why,
            AuthError::SignupDisabled => "Sign-up is disabled on this service.",
            AuthError::UsernameTaken => "This username is already taken.",
            AuthError::EmailTaken => "This email address belongs to another account.",
            AuthError::InvalidEmailToken => {
                "The link is invalid, expired or already used; ask for a new one."
            }
            AuthError::NotFound => "No such session.",
            AuthError::PasskeyNotFound => "No such passkey.",
            AuthError::ProviderNotFound => "No such sign-in provider.",
            AuthError::IdentityNotFound => "No identity of this provider is linked to the account.",
            AuthError::LastSignInMethod => {
                "This is the account's last way to sign in: add a password, a passkey or another identity first."
            }
            AuthError::InvalidPasskey => {
                "The passkey could not be verified, or its challenge is unknown, expired or used."
            }
            AuthError::InvalidPasskeyRegistration => {
                "The passkey registration could not be verified, or its challenge is unknown, expired or used."
            }
            AuthError::MfaRequired(_) => {
                "A second factor is required: send a code with the mfa_token to /auth/login/mfa."
            }
            AuthError::InvalidCode => "The code is incorrect or was already used.",
            AuthError::InvalidEnrolmentCode => {
                "The code does not match the secret being set up; start again if it keeps failing."
            }
            AuthError::MfaAlreadyEnabled => {
                "Two-factor authentication is already on; turn it off before setting it up again."
            }
            AuthError::MfaNotEnabled => "Two-factor authentication is not on for this account.",
            AuthError::InvalidMfaToken => {
                "The mfa_token is invalid, expired or already used; log in again."
            }
            AuthError::AccountDisabled => "This account is disabled.",
            AuthError::TooManyAttempts { .. } => {
                "Too many failed attempts for this account; try again later."
            }
            AuthError::InvalidGrant => "The refresh token is invalid, expired or revoked.",
            AuthError::InvalidToken => {
                "The access token's session has ended or its account is disabled; log in again."
            }
            AuthError::Unavailable { .. } => {
                "The service is temporarily unavailable; try again shortly."
            }
            AuthError::Internal(_) => "An internal error occurred.",
        }
    }

    pub fn retry_after(&self) -> Option<u64> {
        match self {
            AuthError::TooManyAttempts { retry_after }
            | AuthError::Unavailable { retry_after, .. } => Some(*retry_after),
            _ => None,
        }
    }
}

impl AuthError {
    /// A backing service failed: 503 with [`UNAVAILABLE_RETRY_AFTER`], the cause kept.
    pub fn unavailable(e: impl std::error::Error + Send + Sync + 'static) -> Self {
        AuthError::Unavailable {
            retry_after: UNAVAILABLE_RETRY_AFTER,
            cause: Cause::new(e),
        }
    }

    /// 503 for a reason of our own (a feature switched off, a race lost too often), said in
    /// the log line of the response.
    pub fn unavailable_because(why: &'static str) -> Self {
        AuthError::Unavailable {
            retry_after: UNAVAILABLE_RETRY_AFTER,
            cause: Cause::msg(why),
        }
    }

    /// Something that should not happen: 500, the cause kept.
    pub fn internal(e: impl std::error::Error + Send + Sync + 'static) -> Self {
        AuthError::Internal(Cause::new(e))
    }

    /// The cause of a 503 or 500, for the log line the edge writes.
    pub fn cause(&self) -> Option<&Cause> {
        match self {
            AuthError::Unavailable { cause, .. } | AuthError::Internal(cause) => Some(cause),
            _ => None,
        }
    }
}

/// A store's failure as the caller sees it. Nothing is logged here: the cause travels with
/// the error to the edge, which logs it once.
impl From<StoreError> for AuthError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Unavailable(_) => AuthError::unavailable(e),
            other => AuthError::internal(other),
        }
    }
}

impl From<KeyError> for AuthError {
    fn from(e: KeyError) -> Self {
        AuthError::unavailable(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Error)]
    #[error("io: connection refused")]
    struct Root;

    #[derive(Debug, Error)]
    #[error("dispatch failure: {0}")]
    struct Embeds(#[source] Root);

    #[test]
    fn a_chain_prints_every_cause_once() {
        let e = StoreError::unavailable(Embeds(Root));
        assert_eq!(
            Chain(&e).to_string(),
            "backing store unavailable: dispatch failure: io: connection refused"
        );
        assert_eq!(
            Chain(&StoreError::Conflict).to_string(),
            "item already exists"
        );
    }

    #[test]
    fn a_store_failure_keeps_its_whole_cause_to_the_edge() {
        let e = AuthError::from(StoreError::unavailable(Embeds(Root)));
        assert_eq!(e.status(), 503);
        assert_eq!(
            Chain(&e).to_string(),
            "temporarily unavailable: backing store unavailable: dispatch failure: io: connection refused"
        );
        assert!(e.cause().unwrap().downcast_ref::<StoreError>().is_some());
        // What a caller sees is all that equality compares.
        assert_eq!(e, AuthError::unavailable(Root));
        assert_ne!(e, AuthError::internal(Root));
    }
}
