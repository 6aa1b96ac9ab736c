//! An instant Secrets Manager on loopback that answers `GetSecretValue` only: AWSCURRENT is one
//! fixed signing key, any other stage does not exist. The cold-start benchmark points the
//! functions at it to report their init without the emulator's own latency (moto answers in
//! Python, slower than the fetch being measured), while the SDK's side of the fetch (connect, SigV4, JSON) still
//! counts. It counts the calls, so the benchmark can check the key really was fetched.
//! [`SecretsStub::with_secrets`] answers given secrets by id instead (the published key set of
//! an asymmetric mode).

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::{Request, Response};
use serde_json::{json, Value};

pub struct SecretsStub {
    pub url: String,
    calls: Arc<AtomicUsize>,
}

fn answer(body: &[u8], secrets: &HashMap<String, String>) -> Response<Full<Bytes>> {
    let request: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let (status, body) = if request["VersionStage"] == "AWSCURRENT" {
        let secret = match request["SecretId"].as_str().and_then(|id| secrets.get(id)) {
            Some(value) => value.clone(),
            None => json!({ "signing_key": STANDARD.encode([7u8; 64]) }).to_string(),
        };
        (
            200,
            json!({
                "ARN": "arn:aws:secretsmanager:us-east-1:123456789012:secret:stub-AbCdEf",
                "Name": request["SecretId"],
                "VersionId": "00000000-0000-4000-8000-000000000001",
                "SecretString": secret,
                "VersionStages": ["AWSCURRENT"],
                "CreatedDate": 1.7e9,
            }),
        )
    } else {
        (
            400,
            json!({
                "__type": "ResourceNotFoundException",
                "message": "Secrets Manager can't find the specified secret version.",
            }),
        )
    };
    Response::builder()
        .status(status)
        .header("content-type", "application/x-amz-json-1.1")
        .body(Full::new(Bytes::from(body.to_string())))
        .unwrap_or_default()
}

impl SecretsStub {
    pub async fn start() -> SecretsStub {
        Self::with_secrets(HashMap::new()).await
    }

    /// Answers AWSCURRENT of each secret id in `secrets` with its value (others: the fixed key).
    pub async fn with_secrets(secrets: HashMap<String, String>) -> SecretsStub {
        let secrets = Arc::new(secrets);
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
            .await
            .expect("bind loopback");
        let url = format!("http://{}", listener.local_addr().expect("local addr"));
        let calls = Arc::new(AtomicUsize::new(0));
        let counter = calls.clone();
        crate::runtime_api::serve_loopback(listener, move |req: Request<Incoming>| {
            let counter = counter.clone();
            let secrets = secrets.clone();
            async move {
                let body = crate::runtime_api::body_bytes(req).await;
                counter.fetch_add(1, Ordering::SeqCst);
                answer(&body, &secrets)
            }
        });
        SecretsStub { url, calls }
    }

    /// `GetSecretValue` calls answered so far.
    pub fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }
}
