//! One module per route group, each holding its requests' parsing, its handlers and their
//! answers: [`token`] (login, sign-up, refresh, logout), [`account`] (sessions, password),
//! [`discovery`] (the OpenID configuration and the key set), [`email`] (profile, email
//! verification, password reset), [`mfa`] (the second factor), [`passkeys`] (WebAuthn), [`oauth`] (OpenID sign-in).
//! A new feature adds a module here.

pub mod account;
pub mod discovery;
pub mod email;
pub mod mfa;
pub mod oauth;
pub mod passkeys;
pub mod token;
