//! Adapters for the ports: DynamoDB and Secrets Manager for real; in-memory fakes for tests
//! and benchmarks (only with the `test-util` feature, never in a function).

pub mod dynamodb;
#[cfg(any(test, feature = "test-util"))]
pub mod memory;
pub mod pwned;
pub mod secrets_manager;
