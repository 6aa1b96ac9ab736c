//! Cryptography over the domain: password hashing (argon2id), the signing key ring, access
//! tokens (mint and verify), device tokens, TOTP, sealing, OpenID providers' ID tokens and
//! (feature `passkeys`) the WebAuthn relying party. Imports only [`crate::domain`] and
//! [`crate::config`].

pub mod device_token;
pub mod id_token;
pub mod jwt_crypto;
pub mod keyring;
pub mod keys;
pub mod password;
pub mod sealed;
pub mod secret_value;
pub mod signing_key;
pub mod tokens;
pub mod totp;
#[cfg(feature = "passkeys")]
pub mod webauthn;
