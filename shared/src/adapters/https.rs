//! The HTTPS client of the calls made outside AWS (the Pwned Passwords API, OpenID providers):
//! hyper over rustls (already linked by the AWS SDK's client), trusting the system's roots
//! (those services are not under the Amazon roots the SDK trusts), plain http only where the
//! configuration allowed a loopback URL. Built on first use, not at cold start: loading the
//! roots takes milliseconds, and most invocations never call out.

use std::sync::OnceLock;

use hyper_util::client::legacy::{connect::HttpConnector, Client};
use hyper_util::rt::TokioExecutor;

pub type Https = hyper_rustls::HttpsConnector<HttpConnector>;

/// A client made on its first [`LazyClient::get`], then shared.
pub struct LazyClient<B>(OnceLock<Client<Https, B>>);

impl<B> Default for LazyClient<B> {
    fn default() -> Self {
        LazyClient(OnceLock::new())
    }
}

impl<B> LazyClient<B>
where
    B: hyper::body::Body + Send + 'static,
    B::Data: Send,
{
    /// The client; an error only when the system's TLS roots cannot be loaded.
    pub fn get(&self) -> Result<&Client<Https, B>, std::io::Error> {
        if let Some(client) = self.0.get() {
            return Ok(client);
        }
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_native_roots()?
            .https_or_http()
            .enable_http1()
            .build();
        Ok(self
            .0
            .get_or_init(|| Client::builder(TokioExecutor::new()).build(https)))
    }
}
