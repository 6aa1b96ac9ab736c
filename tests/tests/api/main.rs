//! The API's integration tests, one binary (one link, one process): every module drives the
//! real handlers, binaries or dev server against DynamoDB Local and moto, started by
//! `scripts/with-engines.sh`. The log-capture tests live apart (`tests/logs.rs`): they install
//! a global subscriber.

mod accounts;
mod devserver;
mod email;
mod failures;
mod hardening;
mod hardening3;
mod interop;
mod login;
mod logout;
mod metrics;
mod mfa;
mod mfa_keys;
mod mfa_store;
mod oauth;
mod passkey_store;
mod passkeys;
mod refresh;
mod revocation;
mod rotation;
mod security_events;
mod smoke;
mod throttling;
