//! Sign-in through an OpenID provider: the identities a user links ((provider, `sub`) → user,
//! never matched by email) and the flow between `start` and `callback` (server-side, single
//! use, ten minutes, bound to the browser that began it).

use super::{TokenHash, Username};

/// `amr` (RFC 8176) of a sign-in through an OpenID provider.
pub const AMR_FEDERATED: &str = "fed";

/// How long a flow may take, `start` to `callback` (the contract's 10 min).
pub const FLOW_TTL: u64 = 600;

/// Longest `sub` accepted (OpenID Connect Core §2: at most 255 ASCII characters).
pub const MAX_SUBJECT_LEN: usize = 255;

/// One of a user's identities at a provider, as the user item lists it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct LinkedIdentity {
    /// The provider's id in `OIDC_PROVIDERS`.
    pub provider: String,
    /// The provider's `sub` for this user: stable, never reassigned (unlike an email).
    pub subject: String,
    /// When it was linked (epoch seconds).
    pub linked_at: u64,
}

impl LinkedIdentity {
    /// How the user item stores it: `provider:linked_at:subject` (provider ids and times have
    /// no `:`; a subject may).
    pub fn encode(&self) -> String {
        format!("{}:{}:{}", self.provider, self.linked_at, self.subject)
    }

    pub fn decode(raw: &str) -> Option<Self> {
        let (provider, rest) = raw.split_once(':')?;
        let (linked_at, subject) = rest.split_once(':')?;
        (!provider.is_empty() && !subject.is_empty()).then_some(())?;
        Some(LinkedIdentity {
            provider: provider.to_string(),
            subject: subject.to_string(),
            linked_at: linked_at.parse().ok()?,
        })
    }
}

/// An identity's own record: who it signs in as.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Identity {
    pub provider: String,
    pub subject: String,
    pub username: Username,
    pub user_id: String,
    pub linked_at: u64,
}

impl Identity {
    pub fn linked(&self) -> LinkedIdentity {
        LinkedIdentity {
            provider: self.provider.clone(),
            subject: self.subject.clone(),
            linked_at: self.linked_at,
        }
    }
}

/// What a flow's callback does once the provider vouches for someone.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FlowPurpose {
    /// Sign in (or sign up) as the identity's user.
    SignIn,
    /// Link the identity to the user who asked, from the session they asked in.
    Link {
        username: Username,
        user_id: String,
        session_id: String,
    },
}

/// A flow between `start` (or `link`) and its callback. Stored under the hash of its `state`;
/// the browser that began it holds the cookie whose hash is `binding`.
#[derive(Clone, PartialEq, Eq)]
pub struct OauthFlow {
    /// SHA-256 of the `state` sent to the provider.
    pub state_hash: TokenHash,
    pub provider: String,
    pub purpose: FlowPurpose,
    /// The nonce the ID token must carry.
    pub nonce: String,
    /// The PKCE code verifier (RFC 7636), sent with the code exchange only.
    pub code_verifier: String,
    /// Where the browser goes back to (on the redirect allowlist).
    pub redirect_to: String,
    /// SHA-256 of the flow cookie's value.
    pub binding: TokenHash,
    pub expires_at: u64,
}

impl std::fmt::Debug for OauthFlow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OauthFlow")
            .field("provider", &self.provider)
            .field("purpose", &self.purpose)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_linked_identity_round_trips_through_its_stored_form() {
        let id = LinkedIdentity {
            provider: "google".into(),
            subject: "1234:with:colons".into(),
            linked_at: 1_700_000_000,
        };
        assert_eq!(id.encode(), "google:1700000000:1234:with:colons");
        assert_eq!(LinkedIdentity::decode(&id.encode()), Some(id));
        for bad in [
            "",
            "google",
            ":1:sub",
            "google:1:",
            "google:x:sub",
            "google:sub",
        ] {
            assert_eq!(LinkedIdentity::decode(bad), None, "{bad}");
        }
    }
}
