//! HTTP: [`request`] parsing with the contract's limits, [`response`] building (errors,
//! cookies), the [`handlers`] of the token endpoints, the demo routes ([`hello`]), discovery
//! ([`well_known`]), API Gateway's authorizer events ([`authorizer_event`]), and the Lambda
//! glue ([`runtime`]).

pub mod authorizer_event;
pub mod handlers;
pub mod hello;
pub mod request;
pub mod response;
pub mod runtime;
pub mod well_known;
