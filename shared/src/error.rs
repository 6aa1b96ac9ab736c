//! Errors, one enum per layer: stores and the key source fail with [`StoreError`] /
//! [`KeyError`], the domain with [`AuthError`], which alone decides what a caller sees.

use std::fmt;

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

/// Every outcome a caller can see other than success. Each maps to one contract error code.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
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
    /// Not one of the caller's live sessions (another user's included: no oracle).
    #[error("not found")]
    NotFound,
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
    #[error("temporarily unavailable")]
    Unavailable { retry_after: u64 },
    #[error("internal error")]
    Internal,
}

impl AuthError {
    pub fn status(&self) -> u16 {
        match self {
            AuthError::InvalidRequest(_) | AuthError::WeakPassword(_) => 400,
            AuthError::SignupDisabled => 403,
            AuthError::NotFound => 404,
            AuthError::UsernameTaken => 409,
            AuthError::UnsupportedMediaType => 415,
            AuthError::InvalidCredentials | AuthError::InvalidGrant | AuthError::InvalidToken => {
                401
            }
            AuthError::AccountDisabled | AuthError::InvalidOrigin => 403,
            AuthError::TooManyAttempts { .. } => 429,
            AuthError::Unavailable { .. } => 503,
            AuthError::Internal => 500,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            AuthError::InvalidRequest(_) | AuthError::UnsupportedMediaType => "invalid_request",
            AuthError::InvalidOrigin => "invalid_origin",
            AuthError::WeakPassword(_) => "weak_password",
            AuthError::SignupDisabled => "signup_disabled",
            AuthError::UsernameTaken => "username_taken",
            AuthError::NotFound => "not_found",
            AuthError::InvalidCredentials => "invalid_credentials",
            AuthError::AccountDisabled => "account_disabled",
            AuthError::TooManyAttempts { .. } => "too_many_attempts",
            AuthError::InvalidGrant => "invalid_grant",
            AuthError::InvalidToken => "invalid_token",
            AuthError::Unavailable { .. } => "temporarily_unavailable",
            AuthError::Internal => "server_error",
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
            AuthError::NotFound => "No such session.",
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
            AuthError::Internal => "An internal error occurred.",
        }
    }

    pub fn retry_after(&self) -> Option<u64> {
        match self {
            AuthError::TooManyAttempts { retry_after } | AuthError::Unavailable { retry_after } => {
                Some(*retry_after)
            }
            _ => None,
        }
    }
}

impl From<StoreError> for AuthError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Unavailable(source) => {
                crate::telemetry::count(crate::telemetry::Metric::BackingStoreUnavailable);
                tracing::error!(event = "backing_store_unavailable", error = %Chain(source.as_ref()), "backing store failed");
                AuthError::Unavailable {
                    retry_after: UNAVAILABLE_RETRY_AFTER,
                }
            }
            other => {
                tracing::error!(error = %Chain(&other), "unexpected store outcome");
                AuthError::Internal
            }
        }
    }
}

impl From<KeyError> for AuthError {
    fn from(e: KeyError) -> Self {
        tracing::error!(error = %Chain(&e), "signing key unavailable");
        AuthError::Unavailable {
            retry_after: UNAVAILABLE_RETRY_AFTER,
        }
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
}
