//! lambda-jwt-auth's library, in layers. Each folder imports only from the layers listed
//! before it (`scripts/check-layers.py` enforces it in `make test`; test modules may wire
//! anything):
//!
//! 1. [`domain`]: types and rules (usernames, sessions, the lockout policy, refresh tokens);
//!    beside it the [`ports`] the rest implements (stores, key source, clock), the [`error`]s,
//!    and [`telemetry`] (log set-up).
//! 2. [`config`]: settings from the environment.
//! 3. [`crypto`]: argon2id passwords, the signing key ring, access and device tokens.
//! 4. [`service`] (login, refresh, logout, the authorizer, administration) and [`adapters`]
//!    (DynamoDB, Secrets Manager, in-memory fakes): side by side, neither imports the other.
//! 5. [`aws`] (SDK configuration, provisioning, key rotation) and [`http`] (requests,
//!    responses, handlers, the Lambda glue): side by side.
//! 6. [`app`]: the wiring. Builds clients, adapters and the service once per container and
//!    runs a function; the mains, the dev server and `authctl` start here.

pub mod domain;
pub mod error;
pub mod ports;
pub mod telemetry;

pub mod config;

pub mod crypto;

pub mod adapters;
pub mod service;

pub mod aws;
pub mod http;

pub mod app;

pub use config::Config;
pub use error::AuthError;
pub use service::AuthService;
