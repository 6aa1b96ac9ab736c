//! HTTP: [`request`] parsing with the contract's limits, [`response`] building (errors,
//! cookies), the [`handlers`] of the token endpoints and the demo routes ([`hello`]), and the
//! Lambda glue ([`runtime`]).

pub mod handlers;
pub mod hello;
pub mod request;
pub mod response;
pub mod runtime;
