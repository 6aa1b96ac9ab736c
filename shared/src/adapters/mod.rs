//! Adapters for the ports: DynamoDB, Secrets Manager, SES and Pwned Passwords for real, the
//! outbox for `make dev`; in-memory fakes for tests
//! and benchmarks (only with the `test-util` feature, never in a function).

pub mod dynamodb;
pub mod https;
#[cfg(any(test, feature = "test-util"))]
pub mod memory;
pub mod outbox;
pub mod provider_http;
pub mod pwned;
pub mod secrets_manager;
pub mod ses;
