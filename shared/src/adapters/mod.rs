//! Adapters for the ports: DynamoDB and Secrets Manager for real, in-memory fakes for unit tests.

pub mod dynamodb;
pub mod memory;
pub mod secrets_manager;
