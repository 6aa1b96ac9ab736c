//! Passkeys (WebAuthn credentials) and the ceremonies that register and use them: what is
//! stored, whatever relying-party library checks the signatures.

use super::Username;

/// How long a ceremony's challenge stays good (the contract's 300 s).
pub const CEREMONY_TTL: u64 = 300;

/// `amr` of a passkey sign-in (RFC 8176): a hardware-bound key, with user verification two
/// factors in one gesture.
pub const AMR_PASSKEY: [&str; 2] = ["hwk", "mfa"];

/// A fresh ceremony id: 128 random bits, base64url.
pub fn new_ceremony_id() -> String {
    use base64::Engine;
    use rand::RngCore;
    let mut id = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut id);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(id)
}

/// A registered passkey. Its id is the credential id (base64url), public by nature.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Passkey {
    pub credential_id: String,
    pub username: Username,
    pub user_id: String,
    /// The user's own label ("laptop"), at most [`MAX_PASSKEY_NAME`] characters.
    pub name: String,
    /// The credential's public key (and its fixed extensions) as the relying-party library
    /// encodes them.
    pub public_key: Vec<u8>,
    /// The authenticator's signature counter at its last use (0: it keeps none).
    pub sign_count: u32,
    /// What else the relying-party library keeps between uses (the counter again, the
    /// backup and user-verified flags, the attachment), as it encodes it.
    pub state: Vec<u8>,
    pub created_at: u64,
    pub last_used_at: Option<u64>,
}

/// Longest passkey name, in characters.
pub const MAX_PASSKEY_NAME: usize = 64;

/// What a verified assertion changes in its passkey.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PasskeyUse {
    pub sign_count: u32,
    pub state: Vec<u8>,
}

/// A credential a registration ceremony verified, not yet stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewCredential {
    /// The credential id, base64url.
    pub credential_id: String,
    pub public_key: Vec<u8>,
    pub sign_count: u32,
    pub state: Vec<u8>,
}

/// Which ceremony a challenge belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CeremonyKind {
    /// Adding a passkey to a signed-in user.
    Register,
    /// Signing in with a discoverable passkey (no username).
    Login,
}

impl CeremonyKind {
    pub fn as_str(self) -> &'static str {
        match self {
            CeremonyKind::Register => "register",
            CeremonyKind::Login => "login",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "register" => Some(CeremonyKind::Register),
            "login" => Some(CeremonyKind::Login),
            _ => None,
        }
    }
}

/// A ceremony begun by an options call and finished, once, by its response: the challenge and
/// whatever the relying-party library needs to check the answer (`state`, opaque here).
#[derive(Clone, PartialEq, Eq)]
pub struct Ceremony {
    /// What the client sends back as `challenge_id` (128 random bits, base64url).
    pub id: String,
    pub kind: CeremonyKind,
    /// The registering user (a login ceremony has none: the passkey names its user).
    pub user: Option<(Username, String)>,
    pub state: Vec<u8>,
    pub expires_at: u64,
}

impl std::fmt::Debug for Ceremony {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ceremony")
            .field("kind", &self.kind)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}
