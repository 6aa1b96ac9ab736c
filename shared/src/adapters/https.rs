//! The HTTPS client of the calls made outside AWS (the Pwned Passwords API, OpenID providers):
//! hyper over rustls (already linked by the AWS SDK's client), trusting the system's roots
//! (those services are not under the Amazon roots the SDK trusts), plain http only where the
//! configuration allowed a loopback URL. Built on first use, not at cold start: loading the
//! roots takes milliseconds, and most invocations never call out.

use std::sync::OnceLock;
use std::time::Duration;

use http_body_util::{BodyExt, Limited};
use hyper::body::Bytes;
use hyper_util::client::legacy::{connect::HttpConnector, Client};
use hyper_util::rt::TokioExecutor;

pub type Https = hyper_rustls::HttpsConnector<HttpConnector>;

/// Why a call outside AWS failed (for the log; callers decide what it means to theirs).
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    #[error("no answer within {0:?}")]
    Timeout(Duration),
    #[error("answered HTTP {0}")]
    Status(u16),
    #[error("the URL is not usable")]
    Url(#[source] http::Error),
    #[error("the request failed")]
    Request(#[source] hyper_util::client::legacy::Error),
    #[error("the answer could not be read")]
    Body(#[source] Box<dyn std::error::Error + Send + Sync>),
    #[error("the system's TLS roots could not be loaded")]
    Roots(#[source] std::io::Error),
}

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

impl<B> LazyClient<B>
where
    B: hyper::body::Body + Send + Unpin + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    /// Sends `request` and reads at most `max_body` bytes of the answer, the whole call within
    /// `timeout`: the status and the body.
    pub async fn send(
        &self,
        request: http::Request<B>,
        max_body: usize,
        timeout: Duration,
    ) -> Result<(u16, Bytes), CallError> {
        let client = self.get().map_err(CallError::Roots)?;
        let answer = async {
            let response = client.request(request).await.map_err(CallError::Request)?;
            let status = response.status().as_u16();
            let body = Limited::new(response.into_body(), max_body)
                .collect()
                .await
                .map_err(CallError::Body)?
                .to_bytes();
            Ok((status, body))
        };
        tokio::time::timeout(timeout, answer)
            .await
            .map_err(|_| CallError::Timeout(timeout))?
    }
}
