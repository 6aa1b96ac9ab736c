//! The ports the domain needs, as small traits: stores, the signing-key source, the clock.
//! Adapters live in [`crate::adapters`]; no AWS type crosses these signatures.

use async_trait::async_trait;
use secrecy::SecretSlice;

use crate::domain::revocation::{LiveSession, LiveUser};
use crate::domain::{
    Ceremony, Email, EmailToken, Identity, LinkedIdentity, LockoutPolicy, MfaChallenge,
    NewCredential, OauthFlow, Passkey, PasskeyUse, PasswordReplacement, Session, SessionCutoff,
    SessionSummary, ThrottleKey, TokenHash, User, Username,
};
use crate::error::{KeyError, StoreError};

#[async_trait]
pub trait UserStore: Send + Sync {
    async fn get_user(&self, username: &Username) -> Result<Option<User>, StoreError>;
    /// Fails with [`StoreError::Conflict`] if the username is taken.
    async fn create_user(&self, user: &User) -> Result<(), StoreError>;
    /// Fails with [`StoreError::NotFound`] for an unknown user.
    async fn set_disabled(&self, username: &Username, disabled: bool) -> Result<(), StoreError>;
    /// A new user and its first session, both or neither (sign-up): [`StoreError::Conflict`]
    /// if the username is taken, [`StoreError::EmailTaken`] if the user's address is another
    /// user's, and then nothing is written.
    async fn create_user_with_session(
        &self,
        user: &User,
        session: &Session,
    ) -> Result<(), StoreError>;
    /// Replaces the password hash if it is still `expected` ([`StoreError::Conflict`]
    /// otherwise: a concurrent change won), and with `cutoff` revokes the sessions begun
    /// before it in the same write.
    async fn replace_password(&self, change: PasswordReplacement<'_>) -> Result<(), StoreError>;
}

#[async_trait]
pub trait SessionStore: Send + Sync {
    /// Stores a new session (its id is fresh: a clash is a [`StoreError::Conflict`]).
    async fn create_session(&self, session: &Session) -> Result<(), StoreError>;

    /// The session and its user, read together with strong consistency (one round trip).
    async fn load_for_refresh(
        &self,
        username: &Username,
        session_id: &str,
    ) -> Result<(Option<Session>, Option<User>), StoreError>;

    /// Replaces the session with `next` if its stored version is still `expected_version`.
    /// `Ok(false)` means another rotation won the race (or the session is gone).
    async fn rotate(&self, next: &Session, expected_version: u64) -> Result<bool, StoreError>;

    /// Deletes a session if `token_hash` is its live token or its immediate predecessor and
    /// it has not expired at `now`, and returns the session as it was (so the caller can tell
    /// which of the two it was, and how long ago the predecessor was spent). `Ok(None)`
    /// otherwise (including no such session).
    async fn delete_session_if_token(
        &self,
        username: &Username,
        session_id: &str,
        token_hash: &TokenHash,
        now: u64,
    ) -> Result<Option<Session>, StoreError>;

    /// Deletes a session unconditionally (revocation). Unknown ids are not an error.
    async fn delete_session(&self, username: &Username, session_id: &str)
        -> Result<(), StoreError>;

    /// All of a user's sessions (expired ones included), oldest first, without a scan.
    async fn list_sessions(&self, username: &Username) -> Result<Vec<SessionSummary>, StoreError>;

    /// Deletes many sessions of one user, batched.
    async fn delete_sessions(
        &self,
        username: &Username,
        session_ids: &[String],
    ) -> Result<(), StoreError>;
}

/// What [`ThrottleStore::reserve_attempt`] decided.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reservation {
    /// This attempt may check a password; it is already counted as a failure (the
    /// `failures`-th of the window) until [`ThrottleStore::clear`] says otherwise.
    Granted { failures: u32 },
    /// Locked: no password may be checked for this key until `until` (epoch seconds).
    Refused { until: u64 },
}

/// Failed-login counters, shared by every Lambda instance. An attempt is *reserved* (counted
/// as a failure) before its password is checked, atomically, so that however many attempts
/// arrive at once no more than the policy's `max_failures` are let through; a success clears it.
#[async_trait]
pub trait ThrottleStore: Send + Sync {
    async fn reserve_attempt(
        &self,
        key: &ThrottleKey,
        now: u64,
        policy: &LockoutPolicy,
    ) -> Result<Reservation, StoreError>;
    /// A failure reached the threshold: no password is checked for `key` before `until`
    /// (epoch seconds). Never shortens a lockout, never recreates a cleared record.
    async fn lock_until(&self, key: &ThrottleKey, until: u64) -> Result<(), StoreError>;
    /// A success: the count starts again.
    async fn clear(&self, key: &ThrottleKey) -> Result<(), StoreError>;
}

/// The one read the session-checking authorizer makes (`AUTHORIZER_REVOCATION=session`): the
/// session and its user in one round trip, strongly consistent, only the attributes
/// [`crate::domain::revocation::check`] needs (never a hash).
#[async_trait]
pub trait RevocationStore: Send + Sync {
    async fn live_status(
        &self,
        username: &Username,
        session_id: &str,
    ) -> Result<(Option<LiveSession>, Option<LiveUser>), StoreError>;
}

/// One private key of the signing secret.
#[derive(Clone)]
pub struct KeyMaterial {
    /// The Secrets Manager version id: the JWT `kid` in HS256. (An asymmetric key's `kid` is
    /// its RFC 7638 thumbprint, so it keeps its name from one version to the next.)
    pub kid: String,
    /// HS256: the HMAC key. Asymmetric: the private key's PKCS#8 DER.
    pub secret: SecretSlice<u8>,
}

impl std::fmt::Debug for KeyMaterial {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyMaterial")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

/// The versions a verifier accepts: AWSCURRENT (which also signs), AWSPREVIOUS, and AWSPENDING
/// while a rotation is under way (verify-only: a function that already sees the new version
/// as current may sign with it before this one's cache catches up).
/// In an asymmetric mode each version also carries the key that will sign after the next
/// rotation (`next`), published in the JWKS a whole rotation period before it signs.
#[derive(Clone, Debug)]
pub struct KeySet {
    pub current: KeyMaterial,
    pub previous: Option<KeyMaterial>,
    pub pending: Option<KeyMaterial>,
    pub next: Option<KeyMaterial>,
}

#[async_trait]
pub trait KeySource: Send + Sync {
    async fn load(&self) -> Result<KeySet, KeyError>;
}

/// The published public keys (a JWKS document, `{"keys": [...]}`): all that a verifier in an
/// asymmetric mode reads.
#[async_trait]
pub trait PublicKeySource: Send + Sync {
    async fn load_jwks(&self) -> Result<String, KeyError>;
}

/// Wall-clock time since the Unix epoch.
pub trait Clock: Send + Sync {
    /// Milliseconds: what the grace window and the session order are measured in.
    fn now_ms(&self) -> u64;

    /// Whole seconds (token claims, lifetimes, lockouts).
    fn now(&self) -> u64 {
        self.now_ms() / 1000
    }
}

pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> u64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
            .unwrap_or(0)
    }
}

/// Why the breach corpus could not be asked (the password is then let through: fail open).
#[derive(Debug, thiserror::Error)]
#[error("the breached-password service did not answer")]
pub struct BreachCheckError(#[source] pub Box<dyn std::error::Error + Send + Sync>);

/// A corpus of passwords seen in breaches (Pwned Passwords). Only a 5-hex-character prefix of
/// the password's SHA-1 ever leaves the function (k-anonymity).
#[async_trait]
pub trait BreachedPasswords: Send + Sync {
    /// How many times the password was seen in breaches (0: never).
    async fn times_seen(&self, password: &secrecy::SecretString) -> Result<u64, BreachCheckError>;
}

/// Addresses, the tokens mailed to them, and the per-address mail limit.
#[async_trait]
pub trait EmailStore: Send + Sync {
    /// Who holds `email` (verified or not), if anyone.
    async fn owner_of(&self, email: &Email) -> Result<Option<Username>, StoreError>;
    /// Counts one more mail to `email` if fewer than `max` went to it in its current hour;
    /// `false`, nothing counted, otherwise. Of any number of concurrent calls at most `max` a
    /// window get `true`.
    async fn reserve_mail(&self, email: &Email, now: u64, max: u32) -> Result<bool, StoreError>;
    /// Stores `token` and makes it its user's one outstanding token of its kind, superseding any
    /// earlier one; [`StoreError::NotFound`] if the user is gone (or is another user now).
    async fn put_token(&self, token: &EmailToken) -> Result<(), StoreError>;
    /// The token stored under `hash`, expired or not (the caller checks).
    async fn get_token(&self, hash: &TokenHash) -> Result<Option<EmailToken>, StoreError>;
    /// Spends a verify token in one transaction: the token's address becomes the user's,
    /// verified, claimed for them, and `previous` released. [`StoreError::Conflict`] if it is
    /// not the user's outstanding verify token (used, superseded); [`StoreError::EmailTaken`]
    /// if another user holds the address.
    async fn confirm_email(
        &self,
        token: &EmailToken,
        previous: Option<&Email>,
    ) -> Result<(), StoreError>;
    /// Spends a reset token in one write: the new hash, the sessions cutoff, the address
    /// verified, and no reset token outstanding any more. [`StoreError::Conflict`] if it is not
    /// the user's outstanding reset token.
    async fn reset_password(
        &self,
        token: &EmailToken,
        new_hash: &str,
        cutoff: &SessionCutoff,
    ) -> Result<(), StoreError>;
    /// Sets a user's address directly (`authctl user set-email`), claiming it and releasing
    /// the old one; [`StoreError::EmailTaken`] if another user holds it.
    async fn set_email(&self, user: &User, email: &Email, verified: bool)
        -> Result<(), StoreError>;
    /// Undoes a sign-up (its verification mail could not go out): the user, if still this
    /// one, its session and its address claim.
    async fn delete_registration(&self, user: &User, session_id: &str) -> Result<(), StoreError>;
}

/// A user's second factor (#30), each change one conditional write on the user item.
#[async_trait]
pub trait MfaStore: Send + Sync {
    /// Stores a sealed secret awaiting confirmation, replacing a pending one;
    /// [`StoreError::Conflict`] while TOTP is on (or the user is another one now).
    async fn set_pending_totp(&self, user: &User, sealed: &str) -> Result<(), StoreError>;
    /// Turns TOTP on with `sealed` if it is still the pending secret, its confirming code's
    /// `step` spent, and the recovery code hashes; [`StoreError::Conflict`] otherwise.
    async fn enable_totp(
        &self,
        user: &User,
        sealed: &str,
        step: u64,
        recovery: &[String],
    ) -> Result<(), StoreError>;
    /// Spends time step `step` if it is later than the last spent one: `Ok(false)` for a
    /// replay (that step or an earlier one), or TOTP off.
    async fn spend_totp_step(&self, user: &User, step: u64) -> Result<bool, StoreError>;
    /// Spends the recovery code with hash `hash` if the user still holds it.
    async fn spend_recovery_code(&self, user: &User, hash: &str) -> Result<bool, StoreError>;
    /// Replaces every recovery code (TOTP on only; [`StoreError::Conflict`] otherwise).
    async fn replace_recovery_codes(
        &self,
        user: &User,
        recovery: &[String],
    ) -> Result<(), StoreError>;
    /// Turns TOTP off: secret, pending secret, last step and recovery codes gone.
    async fn disable_totp(&self, user: &User) -> Result<(), StoreError>;
    /// Stores a pending second step (a fresh hash: a clash is a [`StoreError::Conflict`]).
    async fn put_challenge(&self, challenge: &MfaChallenge) -> Result<(), StoreError>;
    /// The pending second step stored under `hash`, expired or not (the caller checks).
    async fn get_challenge(&self, hash: &TokenHash) -> Result<Option<MfaChallenge>, StoreError>;
    /// Deletes the pending second step if it is still there: `true` for the one caller that
    /// used it, however many try at once.
    async fn spend_challenge(&self, hash: &TokenHash) -> Result<bool, StoreError>;
}

/// Passkeys and their ceremonies. A passkey is found by its credential id (a discoverable
/// login names no user); each change is one conditional write or transaction.
#[async_trait]
pub trait PasskeyStore: Send + Sync {
    /// Stores a ceremony begun by an options call (a fresh id: a clash is a conflict).
    async fn put_ceremony(&self, ceremony: &Ceremony) -> Result<(), StoreError>;
    /// Removes and returns the ceremony `id`, expired or not (the caller checks): of any
    /// number of concurrent calls for one id, one gets it.
    async fn take_ceremony(&self, id: &str) -> Result<Option<Ceremony>, StoreError>;
    /// Adds a passkey to its user: [`StoreError::Conflict`] if the credential id is registered
    /// already (to anyone), [`StoreError::NotFound`] if the user is gone or another one now.
    async fn add_passkey(&self, passkey: &Passkey) -> Result<(), StoreError>;
    /// The passkey with `credential_id`, whoever owns it.
    async fn passkey(&self, credential_id: &str) -> Result<Option<Passkey>, StoreError>;
    /// Every passkey of `user` (as `user.passkeys` lists them), oldest first.
    async fn passkeys_of(&self, user: &User) -> Result<Vec<Passkey>, StoreError>;
    /// Removes one of `user`'s passkeys: [`StoreError::NotFound`] for an unknown id or another
    /// user's, [`StoreError::Conflict`] if it is the user's last way to sign in (no password,
    /// identity or other passkey).
    async fn remove_passkey(&self, user: &User, credential_id: &str) -> Result<(), StoreError>;
    /// Records a use: the new signature counter and the time, if the stored counter is still
    /// `passkey.sign_count` (`Ok(false)`: a concurrent use won, or the passkey is gone).
    async fn record_use(
        &self,
        passkey: &Passkey,
        used: &PasskeyUse,
        now: u64,
    ) -> Result<bool, StoreError>;
}

/// Identities at OpenID providers and the flows that sign in or link with them. Each change
/// is one conditional write or transaction.
#[async_trait]
pub trait IdentityStore: Send + Sync {
    /// Stores a flow begun by `start` or `link` (a fresh state: a clash is a conflict).
    async fn put_flow(&self, flow: &OauthFlow) -> Result<(), StoreError>;
    /// Removes and returns the flow of `state_hash`, expired or not (the caller checks): of
    /// any number of concurrent callbacks with one state, one gets it.
    async fn take_flow(&self, state_hash: &TokenHash) -> Result<Option<OauthFlow>, StoreError>;
    /// Who (provider, subject) signs in as, if anyone.
    async fn identity(&self, provider: &str, subject: &str)
        -> Result<Option<Identity>, StoreError>;
    /// A federated sign-up: the user (no password), its identity and its first session, all
    /// or nothing. [`StoreError::Conflict`] if the username is taken, [`StoreError::EmailTaken`]
    /// if the user's address is another user's, [`StoreError::NotFound`] if the identity
    /// belongs to someone already (a concurrent sign-up won).
    async fn create_federated_user(
        &self,
        user: &User,
        identity: &Identity,
        session: &Session,
    ) -> Result<(), StoreError>;
    /// Links `identity` to its user: [`StoreError::Conflict`] if the identity is anyone's
    /// already or the user has one at that provider, [`StoreError::NotFound`] if the user is
    /// gone (or is another one now).
    async fn link_identity(&self, identity: &Identity) -> Result<(), StoreError>;
    /// Unlinks one of `user`'s identities, only if the user keeps a way to sign in (a
    /// password, a passkey, another identity): [`StoreError::Conflict`] otherwise,
    /// [`StoreError::NotFound`] if it is not (or no longer) the user's.
    async fn unlink_identity(
        &self,
        user: &User,
        identity: &LinkedIdentity,
    ) -> Result<(), StoreError>;
}

/// Why a call to an OpenID provider failed: it could not be reached or did not answer in
/// time, or it answered with something unusable.
#[derive(Debug, thiserror::Error)]
pub enum ProviderCallError {
    #[error("the provider could not be reached")]
    Unreachable(#[source] Box<dyn std::error::Error + Send + Sync>),
    #[error("the provider answered HTTP {status}")]
    Status {
        status: u16,
        body: serde_json::Value,
    },
    #[error("the provider's answer is not JSON")]
    NotJson,
}

/// HTTPS to OpenID providers (discovery, JWKS, the token endpoint), each call within a few
/// seconds. JSON only: what a relying party reads.
#[async_trait]
pub trait ProviderHttp: Send + Sync {
    async fn get_json(&self, url: &str) -> Result<serde_json::Value, ProviderCallError>;
    /// POSTs a form (`application/x-www-form-urlencoded`); `basic`: the client's id and
    /// secret as HTTP Basic credentials (`client_secret_basic`).
    async fn post_form(
        &self,
        url: &str,
        form: &[(&str, &str)],
        basic: Option<(&str, &secrecy::SecretString)>,
    ) -> Result<serde_json::Value, ProviderCallError>;
}

/// OAuth client secrets (Secrets Manager), read on first use and cached.
#[async_trait]
pub trait ClientSecrets: Send + Sync {
    async fn client_secret(&self, secret_id: &str) -> Result<secrecy::SecretString, KeyError>;
}

/// A ceremony's first half: the options the browser gets (WebAuthn Level 3 JSON) and the state
/// its answer is checked against (kept server-side).
pub struct CeremonyStart {
    pub options: serde_json::Value,
    pub state: Vec<u8>,
}

/// Why a WebAuthn answer was refused.
#[derive(Debug, thiserror::Error)]
pub enum WebAuthnError {
    /// Malformed, or it fails a check (origin, RP ID, challenge, signature, user verification,
    /// algorithm, user handle); the text says which, for the log only.
    #[error("refused WebAuthn response: {0}")]
    Refused(String),
    /// The signature counter did not move past the stored one: a cloned authenticator.
    #[error("the signature counter went backwards")]
    CounterRegressed,
    /// The library could not start a ceremony or read stored state (a bug or corrupt data).
    #[error("WebAuthn state error: {0}")]
    State(String),
}

/// The WebAuthn relying party: builds ceremony options and checks the browser's answers.
/// Pure computation (no I/O); the passkeys function implements it with its WebAuthn crate
/// ([`crate::crypto`]'s `webauthn` module), so no other function links one.
pub trait RelyingParty: Send + Sync {
    /// Options to register a discoverable passkey for `user` (user verification required), the
    /// user's existing ones excluded.
    fn registration_options(
        &self,
        user: &User,
        exclude: &[Passkey],
    ) -> Result<CeremonyStart, WebAuthnError>;
    /// Checks a registration (`PublicKeyCredential.toJSON()`) against its ceremony's state.
    fn verify_registration(
        &self,
        state: &[u8],
        credential: &[u8],
    ) -> Result<NewCredential, WebAuthnError>;
    /// Options to sign in with a discoverable passkey (no credential list, UV required).
    fn login_options(&self) -> Result<CeremonyStart, WebAuthnError>;
    /// The credential id (base64url) an assertion names, to look its passkey up.
    fn assertion_credential_id(&self, credential: &[u8]) -> Result<String, WebAuthnError>;
    /// Checks an assertion against its ceremony's state and the stored `passkey`.
    fn verify_assertion(
        &self,
        state: &[u8],
        credential: &[u8],
        passkey: &Passkey,
    ) -> Result<PasskeyUse, WebAuthnError>;
}

/// One mail: plain text holding one link. `Debug` leaves out the text (it holds a token) and
/// the address.
pub struct Mail {
    pub to: Email,
    pub subject: String,
    pub text: secrecy::SecretString,
}

impl std::fmt::Debug for Mail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mail")
            .field("to", &self.to)
            .field("subject", &self.subject)
            .finish_non_exhaustive()
    }
}

/// Why a mail did not go out.
#[derive(Debug, thiserror::Error)]
#[error("the mail could not be sent")]
pub struct MailError(#[source] pub Box<dyn std::error::Error + Send + Sync>);

/// Where mail goes: Amazon SES in AWS, the dev server's outbox under `make dev`.
#[async_trait]
pub trait Mailer: Send + Sync {
    /// Sends `mail` from `from`.
    async fn send(&self, from: &str, mail: &Mail) -> Result<(), MailError>;
}
