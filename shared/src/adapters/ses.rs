//! [`Mailer`] over Amazon SES v2 `SendEmail` (simple content: subject and a text body). The
//! client is built on the first mail, so a function that mails rarely pays for it then, not at
//! every cold start.

use std::sync::{Arc, OnceLock};

use async_trait::async_trait;
use aws_config::SdkConfig;
use aws_sdk_sesv2::error::ProvideErrorMetadata;
use aws_sdk_sesv2::types::{Body, Content, Destination, EmailContent, Message};
use aws_sdk_sesv2::Client;
use secrecy::ExposeSecret;

use crate::ports::{Mail, MailError, Mailer};

#[derive(Clone, Debug)]
pub struct SesMailer(Arc<Lazy>);

#[derive(Debug)]
struct Lazy {
    config: SdkConfig,
    client: OnceLock<Client>,
}

/// What a failed send says in a log line: SES's error code only (its message may quote an
/// address).
#[derive(Debug, thiserror::Error)]
#[error("SES SendEmail failed: {0}")]
pub struct SendFailed(String);

impl SesMailer {
    pub fn new(config: &SdkConfig) -> Self {
        SesMailer(Arc::new(Lazy {
            config: config.clone(),
            client: OnceLock::new(),
        }))
    }

    /// Over an already built client (tests point it at moto).
    pub fn built(client: Client) -> Self {
        SesMailer(Arc::new(Lazy {
            config: SdkConfig::builder().build(),
            client: OnceLock::from(client),
        }))
    }

    fn client(&self) -> &Client {
        self.0.client.get_or_init(|| Client::new(&self.0.config))
    }
}

fn content(text: &str) -> Result<Content, MailError> {
    Content::builder()
        .data(text)
        .charset("UTF-8")
        .build()
        .map_err(|e| MailError(Box::new(e)))
}

#[async_trait]
impl Mailer for SesMailer {
    async fn send(&self, from: &str, mail: &Mail) -> Result<(), MailError> {
        let message = Message::builder()
            .subject(content(&mail.subject)?)
            .body(
                Body::builder()
                    .text(content(mail.text.expose_secret())?)
                    .build(),
            )
            .build();
        self.client()
            .send_email()
            .from_email_address(from)
            .destination(
                Destination::builder()
                    .to_addresses(mail.to.as_str())
                    .build(),
            )
            .content(EmailContent::builder().simple(message).build())
            .send()
            .await
            .map(drop)
            .map_err(|e| {
                let code = e.code().unwrap_or("no response").to_string();
                MailError(Box::new(SendFailed(code)))
            })
    }
}
