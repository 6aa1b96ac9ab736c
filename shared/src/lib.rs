//! lambda-jwt-auth's library: the domain (tokens, sessions, passwords), the ports it needs
//! (stores, key source, clock), their AWS and in-memory adapters, and the HTTP glue every
//! function shares. Handlers stay thin: they parse a request, call [`service::AuthService`]
//! and map the result through [`http`].

pub mod adapters;
pub mod admin;
pub mod app;
pub mod authorizer;
pub mod aws;
pub mod config;
pub mod device_token;
pub mod domain;
pub mod error;
pub mod hello;
pub mod http;
pub mod jwt_crypto;
pub mod keyring;
pub mod password;
pub mod ports;
pub mod rotation;
pub mod service;
pub mod setup;
pub mod telemetry;
pub mod tokens;

pub use config::Config;
pub use error::AuthError;
pub use service::AuthService;
