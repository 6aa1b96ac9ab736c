//! The local API Gateway: turns each HTTP request into the HTTP API (payload 2.0) event the
//! cloud would send, runs the same handler code the Lambdas run, and turns the Lambda response
//! back into HTTP. Protected routes run the authorizer first, as API Gateway does: no
//! `Authorization` header → 401, authorizer says no → 403, both with API Gateway's bodies.

mod assets;
mod authorizer_cache;
pub mod cors;
mod gateway_event;
mod router;
mod server;

pub use assets::*;
pub use authorizer_cache::*;
pub use gateway_event::*;
pub use router::*;
pub use server::*;

/// API Gateway's own payload limit is 10 MB; locally 1 MiB is plenty.
pub(crate) const MAX_REQUEST_BYTES: usize = 1024 * 1024;
