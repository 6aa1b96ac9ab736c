//! The keys of each [`SigningAlg`]: private keys read from the signing secret (PKCS#8 PEM) and
//! checked once per key version, their public halves as JWKs named by their RFC 7638
//! thumbprint, signature verification with ring, and key generation for set-up and rotation.
//!
//! Every check a key must pass happens here, when a key version is loaded, so a request never
//! meets a key of the wrong type or size: RSA 2048 to 4096 bits with an exponent ≥ 65537,
//! P-256 only for ES256, Ed25519 only for EdDSA, HMAC keys of at least 32 bytes.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use ring::signature::{self as sig, KeyPair};
use secrecy::{ExposeSecret, SecretSlice, SecretString};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::config::SigningAlg;
use crate::error::KeyError;

/// Shortest HMAC key accepted, bytes.
pub const MIN_HMAC_KEY_BYTES: usize = 32;
/// RSA modulus bounds, bits (ring signs with 2048 to 4096).
pub const MIN_RSA_BITS: usize = 2048;
pub const MAX_RSA_BITS: usize = 4096;
/// Bits of the RSA keys this service generates.
pub const GENERATED_RSA_BITS: usize = 2048;

/// HMAC-SHA256: HS256 verification here, the sub-keys of [`crate::crypto::signing_key`].
pub(crate) type HmacSha256 = Hmac<Sha256>;

/// A key that verifies access tokens: the public key of an asymmetric pair, or in HS256 the
/// HMAC keyed once with the secret (its pads hashed; each verification clones it).
pub struct VerifyKey {
    pub kid: String,
    pub alg: SigningAlg,
    public: Public,
}

enum Public {
    Hmac(HmacSha256),
    Rsa {
        n: Vec<u8>,
        e: Vec<u8>,
    },
    /// The SEC1 uncompressed point `04 || x || y`.
    P256(Vec<u8>),
    Ed25519(Vec<u8>),
}

impl std::fmt::Debug for VerifyKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerifyKey")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .finish_non_exhaustive()
    }
}

impl VerifyKey {
    /// The HS256 key `secret` (at least [`MIN_HMAC_KEY_BYTES`]).
    pub fn hmac(kid: String, secret: &[u8]) -> Result<Self, KeyError> {
        if secret.len() < MIN_HMAC_KEY_BYTES {
            return Err(KeyError::TooShort(secret.len()));
        }
        let mac = <HmacSha256 as Mac>::new_from_slice(secret)
            .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
        Ok(VerifyKey {
            kid,
            alg: SigningAlg::Hs256,
            public: Public::Hmac(mac),
        })
    }

    /// Whether `signature` is this key's signature of `message` under its algorithm (the
    /// caller has already checked the token names that algorithm).
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        match &self.public {
            Public::Hmac(mac) => {
                let mut mac = mac.clone();
                mac.update(message);
                // Constant-time comparison.
                mac.verify_slice(signature).is_ok()
            }
            Public::Rsa { n, e } => sig::RsaPublicKeyComponents { n, e }
                .verify(&sig::RSA_PKCS1_2048_8192_SHA256, message, signature)
                .is_ok(),
            Public::P256(point) => {
                sig::UnparsedPublicKey::new(&sig::ECDSA_P256_SHA256_FIXED, point)
                    .verify(message, signature)
                    .is_ok()
            }
            Public::Ed25519(x) => sig::UnparsedPublicKey::new(&sig::ED25519, x)
                .verify(message, signature)
                .is_ok(),
        }
    }

    /// The public JWK (RFC 7517) with `kid`, `alg` and `use`; `None` for an HMAC key, which
    /// has no public half.
    pub fn jwk(&self) -> Option<Value> {
        let mut jwk = self.thumbprint_members()?;
        let obj = jwk.as_object_mut()?;
        obj.insert("kid".into(), Value::String(self.kid.clone()));
        obj.insert("alg".into(), Value::String(self.alg.as_str().into()));
        obj.insert("use".into(), Value::String("sig".into()));
        Some(jwk)
    }

    /// The members RFC 7638 hashes, in its canonical (lexicographic) order.
    fn thumbprint_members(&self) -> Option<Value> {
        let b64 = |b: &[u8]| Value::String(URL_SAFE_NO_PAD.encode(b));
        Some(match &self.public {
            Public::Hmac(_) => return None,
            Public::Rsa { n, e } => json!({"e": b64(e), "kty": "RSA", "n": b64(n)}),
            Public::P256(point) => {
                let (x, y) = point.get(1..)?.split_at(32);
                json!({"crv": "P-256", "kty": "EC", "x": b64(x), "y": b64(y)})
            }
            Public::Ed25519(x) => json!({"crv": "Ed25519", "kty": "OKP", "x": b64(x)}),
        })
    }

    /// Builds the key from `public`, named by its RFC 7638 thumbprint.
    fn named(alg: SigningAlg, public: Public) -> Self {
        let mut key = VerifyKey {
            kid: String::new(),
            alg,
            public,
        };
        // serde_json writes object members sorted and without spaces: RFC 7638's form.
        if let Some(members) = key.thumbprint_members() {
            key.kid = URL_SAFE_NO_PAD.encode(Sha256::digest(members.to_string().as_bytes()));
        }
        key
    }

    /// A public JWK as [`VerifyKey::jwk`] writes it, for `alg` only: the key type, curve and
    /// size must match, `alg` (if present) must equal it, `kid` (if present) must be the
    /// thumbprint, and private members are refused (a private key does not belong in a JWKS).
    pub fn from_jwk(alg: SigningAlg, jwk: &Value) -> Result<Self, KeyError> {
        let key = VerifyKey::named(alg, public_from_jwk(alg, jwk)?);
        if jwk
            .get("kid")
            .and_then(Value::as_str)
            .is_some_and(|kid| kid != key.kid)
        {
            return Err(KeyError::Unusable {
                alg,
                reason: "public JWK: kid is not the key's RFC 7638 thumbprint".into(),
            });
        }
        Ok(key)
    }

    /// Another issuer's public JWK (an OpenID provider's JWKS) for `alg`: checked as
    /// [`VerifyKey::from_jwk`] checks ours, but named by its own `kid` (any string; empty when
    /// it has none), since providers do not use RFC 7638 thumbprints.
    pub fn from_provider_jwk(alg: SigningAlg, jwk: &Value) -> Result<Self, KeyError> {
        Ok(VerifyKey {
            kid: jwk
                .get("kid")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string(),
            alg,
            public: public_from_jwk(alg, jwk)?,
        })
    }
}

/// The public half a JWK holds, for `alg` only: the key type, curve and size must match,
/// `alg` (if present) must equal it, and private members are refused.
fn public_from_jwk(alg: SigningAlg, jwk: &Value) -> Result<Public, KeyError> {
    let bad = |why: &str| KeyError::Unusable {
        alg,
        reason: format!("public JWK: {why}"),
    };
    let field = |name: &str| -> Result<Vec<u8>, KeyError> {
        let text = jwk
            .get(name)
            .and_then(Value::as_str)
            .ok_or_else(|| bad(&format!("no {name}")))?;
        URL_SAFE_NO_PAD
            .decode(text)
            .map_err(|_| bad(&format!("{name} is not base64url")))
    };
    let text = |name: &str| jwk.get(name).and_then(Value::as_str);
    if jwk.get("d").is_some() || jwk.get("p").is_some() {
        return Err(bad("holds private members"));
    }
    if text("alg").is_some_and(|a| a != alg.as_str()) {
        return Err(bad("alg is not the configured algorithm"));
    }
    let public = match (alg, text("kty"), text("crv")) {
        (SigningAlg::Rs256, Some("RSA"), _) => {
            let (n, e) = (field("n")?, field("e")?);
            check_rsa_public(alg, &n, &e)?;
            Public::Rsa { n, e }
        }
        (SigningAlg::Es256, Some("EC"), Some("P-256")) => {
            let (x, y) = (field("x")?, field("y")?);
            if x.len() != 32 || y.len() != 32 {
                return Err(bad("P-256 coordinates must be 32 bytes"));
            }
            // A point off the curve verifies nothing: ring checks it on every verify.
            Public::P256([&[4u8][..], &x, &y].concat())
        }
        (SigningAlg::EdDsa, Some("OKP"), Some("Ed25519")) => {
            let x = field("x")?;
            if x.len() != 32 {
                return Err(bad("an Ed25519 key is 32 bytes"));
            }
            Public::Ed25519(x)
        }
        _ => return Err(bad("key type or curve does not match the algorithm")),
    };
    Ok(public)
}

fn check_rsa_public(alg: SigningAlg, n: &[u8], e: &[u8]) -> Result<(), KeyError> {
    let n = strip_zeros(n);
    let bits = n.len() * 8 - n.first().map_or(8, |b| b.leading_zeros() as usize);
    if !(MIN_RSA_BITS..=MAX_RSA_BITS).contains(&bits) {
        return Err(KeyError::Unusable {
            alg,
            reason: format!(
                "RSA key of {bits} bits; {MIN_RSA_BITS} to {MAX_RSA_BITS} bits are required"
            ),
        });
    }
    let e = strip_zeros(e);
    if e.len() > 4 || e.is_empty() || u32_be(e) < 65537 || u32_be(e) % 2 == 0 {
        return Err(KeyError::Unusable {
            alg,
            reason: "RSA public exponent must be odd and at least 65537".into(),
        });
    }
    Ok(())
}

fn strip_zeros(b: &[u8]) -> &[u8] {
    let start = b.iter().position(|&x| x != 0).unwrap_or(b.len());
    &b[start..]
}

fn u32_be(b: &[u8]) -> u32 {
    b.iter().fold(0u32, |acc, &x| (acc << 8) | u32::from(x))
}

/// A private signing key checked for `alg`: its PKCS#8 DER (what jsonwebtoken's
/// [`jsonwebtoken::EncodingKey`] carries to our provider) and its public half.
pub fn check_private_key(
    alg: SigningAlg,
    pkcs8: &[u8],
) -> Result<(jsonwebtoken::EncodingKey, VerifyKey), KeyError> {
    let unusable = |reason: String| KeyError::Unusable { alg, reason };
    let rejected = |e: ring::error::KeyRejected| {
        unusable(format!(
            "not a PKCS#8 {} private key ({e})",
            key_type_name(alg)
        ))
    };
    let (encoding, public) = match alg {
        SigningAlg::Hs256 => {
            return Err(unusable("an HS256 secret is not a private key".to_string()))
        }
        SigningAlg::Rs256 => {
            let pair = sig::RsaKeyPair::from_pkcs8(pkcs8).map_err(rejected)?;
            let parts = sig::RsaPublicKeyComponents::<Vec<u8>>::from(pair.public());
            check_rsa_public(alg, &parts.n, &parts.e)?;
            (
                jsonwebtoken::EncodingKey::from_rsa_der(pkcs8),
                Public::Rsa {
                    n: parts.n,
                    e: parts.e,
                },
            )
        }
        SigningAlg::Es256 => {
            let pair = sig::EcdsaKeyPair::from_pkcs8(
                &sig::ECDSA_P256_SHA256_FIXED_SIGNING,
                pkcs8,
                &ring::rand::SystemRandom::new(),
            )
            .map_err(rejected)?;
            (
                jsonwebtoken::EncodingKey::from_ec_der(pkcs8),
                Public::P256(pair.public_key().as_ref().to_vec()),
            )
        }
        SigningAlg::EdDsa => {
            let pair = sig::Ed25519KeyPair::from_pkcs8_maybe_unchecked(pkcs8).map_err(rejected)?;
            (
                jsonwebtoken::EncodingKey::from_ed_der(pkcs8),
                Public::Ed25519(pair.public_key().as_ref().to_vec()),
            )
        }
    };
    Ok((encoding, VerifyKey::named(alg, public)))
}

fn key_type_name(alg: SigningAlg) -> &'static str {
    match alg {
        SigningAlg::Hs256 => "HMAC",
        SigningAlg::Rs256 => "RSA (2048 to 4096 bits)",
        SigningAlg::Es256 => "P-256 EC",
        SigningAlg::EdDsa => "Ed25519",
    }
}

/// A new private key for `alg`: PKCS#8 DER (v1, as `openssl genpkey` writes it), or for
/// HS256 32 random bytes.
pub fn generate(alg: SigningAlg) -> Result<SecretSlice<u8>, KeyError> {
    let rng = ring::rand::SystemRandom::new();
    let failed = |what: &str| KeyError::Unusable {
        alg,
        reason: format!("key generation failed: {what}"),
    };
    let der: Vec<u8> = match alg {
        SigningAlg::Hs256 => {
            let mut key = vec![0u8; MIN_HMAC_KEY_BYTES];
            ring::rand::SecureRandom::fill(&rng, &mut key).map_err(|_| failed("no randomness"))?;
            key
        }
        SigningAlg::Rs256 => {
            use rsa::pkcs8::EncodePrivateKey;
            let key = rsa::RsaPrivateKey::new(&mut rand::rngs::OsRng, GENERATED_RSA_BITS)
                .map_err(|e| failed(&e.to_string()))?;
            key.to_pkcs8_der()
                .map_err(|e| failed(&e.to_string()))?
                .as_bytes()
                .to_vec()
        }
        SigningAlg::Es256 => {
            sig::EcdsaKeyPair::generate_pkcs8(&sig::ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
                .map_err(|_| failed("ring"))?
                .as_ref()
                .to_vec()
        }
        SigningAlg::EdDsa => sig::Ed25519KeyPair::generate_pkcs8(&rng)
            .map_err(|_| failed("ring"))?
            .as_ref()
            .to_vec(),
    };
    Ok(der.into())
}

const PKCS8_LABEL: &str = "PRIVATE KEY";

/// PKCS#8 DER as PEM (`-----BEGIN PRIVATE KEY-----`).
pub fn to_pem(der: &SecretSlice<u8>) -> SecretString {
    pem::encode(&pem::Pem::new(PKCS8_LABEL, der.expose_secret().to_vec())).into()
}

/// The DER inside a PKCS#8 PEM; other PEM kinds are refused with what to do about them.
pub fn from_pem(alg: SigningAlg, text: &str) -> Result<SecretSlice<u8>, KeyError> {
    let unusable = |reason: String| KeyError::Unusable { alg, reason };
    let parsed = pem::parse(text.trim()).map_err(|_| unusable("not a PEM document".into()))?;
    if parsed.tag() != PKCS8_LABEL {
        return Err(unusable(format!(
            "PEM is {:?}; a PKCS#8 \"PRIVATE KEY\" is required (openssl pkcs8 -topk8 -nocrypt)",
            parsed.tag()
        )));
    }
    Ok(parsed.into_contents().into())
}

#[cfg(test)]
mod tests;
