//! HTTP, the edge: generic [`request`] extractors with the contract's limits, [`response`]
//! building (errors, cookies), one module per route group in [`routes`] (a request's parsing,
//! handler and answer together), what every handler gets and the dispatch ([`handlers`]), the
//! demo routes ([`hello`]), API Gateway's authorizer events ([`authorizer_event`]), and the
//! Lambda glue ([`runtime`]).

pub mod authorizer_event;
pub mod handlers;
pub mod hello;
pub mod request;
pub mod response;
pub mod routes;
pub mod runtime;

/// The discovery routes under their former name.
pub use routes::discovery as well_known;
