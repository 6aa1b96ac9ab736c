//! A Pwned Passwords range API on loopback: `GET /range/{5 hex}` answers the SHA-1 suffixes of
//! the passwords it was given that share the prefix (with padding lines of count 0, as the
//! real API does with `Add-Padding`), and records every path it was asked for, so a test can
//! check that nothing but the 5-character prefix ever left the function.

use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::{Request, Response};
use sha1::{Digest, Sha1};

pub struct PwnedStub {
    pub url: String,
    asked: Arc<Mutex<Vec<String>>>,
}

fn sha1_hex(password: &str) -> String {
    Sha1::digest(password.as_bytes())
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect()
}

impl PwnedStub {
    /// A corpus of `breached` passwords (each seen 42 times).
    pub async fn start(breached: &[&str]) -> PwnedStub {
        let hashes: Arc<Vec<String>> = Arc::new(breached.iter().map(|p| sha1_hex(p)).collect());
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
            .await
            .expect("bind loopback");
        let url = format!("http://{}", listener.local_addr().expect("local addr"));
        let asked = Arc::new(Mutex::new(Vec::new()));
        let log = asked.clone();
        crate::runtime_api::serve_loopback(listener, move |req: Request<Incoming>| {
            let hashes = hashes.clone();
            let log = log.clone();
            async move {
                let path = req.uri().to_string();
                log.lock().expect("lock").push(path.clone());
                let Some(prefix) = path.strip_prefix("/range/") else {
                    return Response::builder()
                        .status(404)
                        .body(Full::new(Bytes::new()))
                        .unwrap_or_default();
                };
                let mut body = String::from("0018A45C4D1DEF81644B54AB7F969B88D65:0\r\n");
                for h in hashes.iter().filter(|h| h.starts_with(prefix)) {
                    body.push_str(&format!("{}:42\r\n", &h[5..]));
                }
                Response::new(Full::new(Bytes::from(body)))
            }
        });
        PwnedStub { url, asked }
    }

    /// The paths asked for so far.
    pub fn asked(&self) -> Vec<String> {
        self.asked.lock().expect("lock").clone()
    }
}
