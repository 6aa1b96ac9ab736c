//! [`Mailer`] that keeps every mail on this machine: `make dev`'s (listed at `GET /_dev/mail`)
//! and the unit tests'.

use std::sync::Mutex;

use async_trait::async_trait;
use secrecy::ExposeSecret;

use crate::ports::{Clock, Mail, MailError, Mailer};

/// One kept mail, as `GET /_dev/mail` shows it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct SentMail {
    pub to: String,
    pub subject: String,
    pub text: String,
    /// Epoch seconds.
    pub sent_at: u64,
}

pub struct Outbox {
    sent: Mutex<Vec<SentMail>>,
    clock: std::sync::Arc<dyn Clock>,
    failing: std::sync::atomic::AtomicBool,
}

#[derive(Debug, thiserror::Error)]
#[error("the outbox is set to fail")]
struct Failing;

impl Outbox {
    pub fn new(clock: std::sync::Arc<dyn Clock>) -> Self {
        Outbox {
            sent: Mutex::new(Vec::new()),
            clock,
            failing: Default::default(),
        }
    }

    /// Every mail sent so far, oldest first.
    pub fn messages(&self) -> Vec<SentMail> {
        self.sent.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Makes every send fail (tests of a mail service that is down).
    pub fn fail(&self, failing: bool) {
        self.failing
            .store(failing, std::sync::atomic::Ordering::SeqCst);
    }
}

#[async_trait]
impl Mailer for Outbox {
    async fn send(&self, _from: &str, mail: &Mail) -> Result<(), MailError> {
        if self.failing.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(MailError(Box::new(Failing)));
        }
        self.sent
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(SentMail {
                to: mail.to.as_str().to_string(),
                subject: mail.subject.clone(),
                text: mail.text.expose_secret().to_string(),
                sent_at: self.clock.now(),
            });
        Ok(())
    }
}
