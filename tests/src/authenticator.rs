//! A software WebAuthn authenticator (ES256, EdDSA or RS256): it answers the service's options
//! with the browser's `PublicKeyCredential.toJSON()` forms, signed for real, so tests can drive
//! the ceremonies through the real handlers and then break one thing at a time (the origin,
//! the challenge, the counter, the user-verified flag, the signature).
//!
//! Attestation `none`, CTAP2 canonical CBOR, written by hand below (a handful of shapes).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use ring::rand::SystemRandom;
use ring::signature::{EcdsaKeyPair, Ed25519KeyPair, KeyPair, ECDSA_P256_SHA256_ASN1_SIGNING};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Alg {
    Es256,
    EdDsa,
    Rs256,
}

enum Key {
    Es256(EcdsaKeyPair),
    EdDsa(Ed25519KeyPair),
    Rs256(Box<rsa::RsaPrivateKey>),
}

/// Flags of authenticator data.
pub const UP: u8 = 0x01;
pub const UV: u8 = 0x04;
const AT: u8 = 0x40;

pub struct SoftAuthenticator {
    key: Key,
    pub credential_id: Vec<u8>,
    /// The user handle of the registration (returned in each assertion).
    pub user_handle: Vec<u8>,
    pub sign_count: u32,
    /// The flags every response sets (default user present and verified).
    pub flags: u8,
}

/// What a test can change in one response.
#[derive(Clone, Debug)]
pub struct Tamper {
    pub origin: String,
    /// The challenge signed (default: the options').
    pub challenge: Option<String>,
    pub rp_id: String,
}

impl Tamper {
    pub fn at(origin: &str) -> Tamper {
        Tamper {
            origin: origin.into(),
            challenge: None,
            rp_id: "localhost".into(),
        }
    }
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

impl SoftAuthenticator {
    pub fn new(alg: Alg) -> SoftAuthenticator {
        let rng = SystemRandom::new();
        let key = match alg {
            Alg::Es256 => {
                let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &rng)
                    .expect("P-256 key");
                Key::Es256(
                    EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, pkcs8.as_ref(), &rng)
                        .expect("P-256 key"),
                )
            }
            Alg::EdDsa => {
                let pkcs8 = Ed25519KeyPair::generate_pkcs8(&rng).expect("Ed25519 key");
                Key::EdDsa(Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).expect("Ed25519 key"))
            }
            Alg::Rs256 => Key::Rs256(Box::new(
                rsa::RsaPrivateKey::new(&mut rand::rngs::OsRng, 2048).expect("RSA key"),
            )),
        };
        let mut credential_id = vec![0u8; 16];
        ring::rand::SecureRandom::fill(&rng, &mut credential_id).expect("random");
        SoftAuthenticator {
            key,
            credential_id,
            user_handle: Vec::new(),
            sign_count: 0,
            flags: UP | UV,
        }
    }

    /// The credential id as the service names it (`passkey_id`).
    pub fn passkey_id(&self) -> String {
        b64(&self.credential_id)
    }

    fn cose_key(&self) -> Vec<u8> {
        let mut out = Vec::new();
        match &self.key {
            Key::Es256(k) => {
                let point = k.public_key().as_ref();
                map(&mut out, 5);
                int(&mut out, 1);
                int(&mut out, 2);
                int(&mut out, 3);
                int(&mut out, -7);
                int(&mut out, -1);
                int(&mut out, 1);
                int(&mut out, -2);
                bytes(&mut out, &point[1..33]);
                int(&mut out, -3);
                bytes(&mut out, &point[33..65]);
            }
            Key::EdDsa(k) => {
                map(&mut out, 4);
                int(&mut out, 1);
                int(&mut out, 1);
                int(&mut out, 3);
                int(&mut out, -8);
                int(&mut out, -1);
                int(&mut out, 6);
                int(&mut out, -2);
                bytes(&mut out, k.public_key().as_ref());
            }
            Key::Rs256(k) => {
                use rsa::traits::PublicKeyParts;
                map(&mut out, 4);
                int(&mut out, 1);
                int(&mut out, 3);
                int(&mut out, 3);
                int(&mut out, -257);
                int(&mut out, -1);
                bytes(&mut out, &k.n().to_bytes_be());
                int(&mut out, -2);
                bytes(&mut out, &k.e().to_bytes_be());
            }
        }
        out
    }

    fn sign(&self, message: &[u8]) -> Vec<u8> {
        match &self.key {
            Key::Es256(k) => k
                .sign(&SystemRandom::new(), message)
                .expect("sign")
                .as_ref()
                .to_vec(),
            Key::EdDsa(k) => k.sign(message).as_ref().to_vec(),
            Key::Rs256(k) => {
                use rsa::signature::{SignatureEncoding, Signer};
                let signer = rsa::pkcs1v15::SigningKey::<Sha256>::new((**k).clone());
                signer.sign(message).to_vec()
            }
        }
    }

    fn client_data(kind: &str, challenge: &str, origin: &str) -> Vec<u8> {
        serde_json::to_vec(&json!({
            "type": kind,
            "challenge": challenge,
            "origin": origin,
            "crossOrigin": false,
        }))
        .expect("JSON")
    }

    /// Answers registration options (`publicKey` of the options call) as a browser would.
    pub fn register(&mut self, options: &Value, at: &Tamper) -> Value {
        self.user_handle = URL_SAFE_NO_PAD
            .decode(options["user"]["id"].as_str().expect("user.id"))
            .expect("user.id is base64url");
        let challenge = at
            .challenge
            .clone()
            .unwrap_or_else(|| options["challenge"].as_str().expect("challenge").into());
        let client_data = Self::client_data("webauthn.create", &challenge, &at.origin);
        let mut auth_data = Sha256::digest(at.rp_id.as_bytes()).to_vec();
        auth_data.push(self.flags | AT);
        auth_data.extend_from_slice(&self.sign_count.to_be_bytes());
        auth_data.extend_from_slice(&[0u8; 16]); // AAGUID: none
        auth_data.extend_from_slice(&(self.credential_id.len() as u16).to_be_bytes());
        auth_data.extend_from_slice(&self.credential_id);
        auth_data.extend_from_slice(&self.cose_key());
        let mut attestation = Vec::new();
        map(&mut attestation, 3);
        text(&mut attestation, "fmt");
        text(&mut attestation, "none");
        text(&mut attestation, "attStmt");
        map(&mut attestation, 0);
        text(&mut attestation, "authData");
        bytes(&mut attestation, &auth_data);
        json!({
            "id": self.passkey_id(),
            "rawId": self.passkey_id(),
            "type": "public-key",
            "authenticatorAttachment": "platform",
            "clientExtensionResults": {},
            "response": {
                "clientDataJSON": b64(&client_data),
                "attestationObject": b64(&attestation),
                "transports": ["internal"],
            },
        })
    }

    /// Answers sign-in options: the counter moves on by one, then the assertion is signed.
    pub fn assert(&mut self, options: &Value, at: &Tamper) -> Value {
        self.sign_count += 1;
        self.assert_as_is(options, at)
    }

    /// An assertion with the counter as it stands (a clone that kept an old copy).
    pub fn assert_as_is(&self, options: &Value, at: &Tamper) -> Value {
        let challenge = at
            .challenge
            .clone()
            .unwrap_or_else(|| options["challenge"].as_str().expect("challenge").into());
        let client_data = Self::client_data("webauthn.get", &challenge, &at.origin);
        let mut auth_data = Sha256::digest(at.rp_id.as_bytes()).to_vec();
        auth_data.push(self.flags);
        auth_data.extend_from_slice(&self.sign_count.to_be_bytes());
        let mut signed = auth_data.clone();
        signed.extend_from_slice(&Sha256::digest(&client_data));
        json!({
            "id": self.passkey_id(),
            "rawId": self.passkey_id(),
            "type": "public-key",
            "authenticatorAttachment": "platform",
            "clientExtensionResults": {},
            "response": {
                "clientDataJSON": b64(&client_data),
                "authenticatorData": b64(&auth_data),
                "signature": b64(&self.sign(&signed)),
                "userHandle": b64(&self.user_handle),
            },
        })
    }
}

fn head(out: &mut Vec<u8>, major: u8, n: u64) {
    let m = major << 5;
    match n {
        0..=23 => out.push(m | n as u8),
        24..=0xff => out.extend_from_slice(&[m | 24, n as u8]),
        0x100..=0xffff => {
            out.push(m | 25);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
        _ => {
            out.push(m | 26);
            out.extend_from_slice(&(n as u32).to_be_bytes());
        }
    }
}

fn int(out: &mut Vec<u8>, v: i64) {
    if v >= 0 {
        head(out, 0, v as u64);
    } else {
        head(out, 1, (-1 - v) as u64);
    }
}

fn bytes(out: &mut Vec<u8>, b: &[u8]) {
    head(out, 2, b.len() as u64);
    out.extend_from_slice(b);
}

fn text(out: &mut Vec<u8>, t: &str) {
    head(out, 3, t.len() as u64);
    out.extend_from_slice(t.as_bytes());
}

fn map(out: &mut Vec<u8>, entries: u64) {
    head(out, 5, entries);
}
