//! jsonwebtoken's crypto provider, reduced to what this service uses: HMAC-SHA256.
//!
//! jsonwebtoken's `rust_crypto` feature links RSA, ECDSA (P-256, P-384) and EdDSA into every
//! bootstrap, because it picks the algorithm at run time; only HS256 is ever signed or
//! accepted here. This provider signs and verifies HS256 with the same RustCrypto `hmac` +
//! `sha2` (constant-time comparison) and refuses every other algorithm with
//! `InvalidAlgorithm`. It is installed once per process by [`install`], which every signing
//! path of this crate calls first (and any code that decodes with jsonwebtoken, the tests and
//! benchmarks). Access tokens are verified by [`crate::crypto::tokens::AccessTokenVerifier`] with an
//! HMAC keyed once per key version: the same `hmac` code, without a verifier built per call.

use hmac::{Hmac, Mac};
use jsonwebtoken::crypto::{CryptoProvider, JwkUtils, JwtSigner, JwtVerifier};
use jsonwebtoken::errors::{Error, ErrorKind};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey};
use sha2::Sha256;

/// The HS256-only provider.
pub static HS256_ONLY: CryptoProvider = CryptoProvider {
    signer_factory: new_signer,
    verifier_factory: new_verifier,
    jwk_utils: JwkUtils::new_unimplemented(),
};

/// Makes [`HS256_ONLY`] jsonwebtoken's provider for this process. Idempotent and cheap (one
/// atomic load after the first call); a provider installed earlier by someone else is kept.
pub fn install() {
    let _ = HS256_ONLY.install_default();
}

struct Hs256(Hmac<Sha256>);

impl Hs256 {
    fn new(
        algorithm: &Algorithm,
        secret: jsonwebtoken::errors::Result<&[u8]>,
    ) -> Result<Self, Error> {
        if *algorithm != Algorithm::HS256 {
            return Err(ErrorKind::InvalidAlgorithm.into());
        }
        Hmac::<Sha256>::new_from_slice(secret?)
            .map(Hs256)
            .map_err(|_| ErrorKind::InvalidKeyFormat.into())
    }
}

fn new_signer(algorithm: &Algorithm, key: &EncodingKey) -> Result<Box<dyn JwtSigner>, Error> {
    Ok(Box::new(Hs256::new(algorithm, key.try_get_hmac_secret())?))
}

fn new_verifier(algorithm: &Algorithm, key: &DecodingKey) -> Result<Box<dyn JwtVerifier>, Error> {
    Ok(Box::new(Hs256::new(algorithm, key.try_get_hmac_secret())?))
}

impl signature::Signer<Vec<u8>> for Hs256 {
    fn try_sign(&self, msg: &[u8]) -> Result<Vec<u8>, signature::Error> {
        let mut mac = self.0.clone();
        mac.update(msg);
        Ok(mac.finalize().into_bytes().to_vec())
    }
}

impl signature::Verifier<Vec<u8>> for Hs256 {
    fn verify(&self, msg: &[u8], signature: &Vec<u8>) -> Result<(), signature::Error> {
        let mut mac = self.0.clone();
        mac.update(msg);
        mac.verify_slice(signature)
            .map_err(|_| signature::Error::new())
    }
}

impl JwtSigner for Hs256 {
    fn algorithm(&self) -> Algorithm {
        Algorithm::HS256
    }
}

impl JwtVerifier for Hs256 {
    fn algorithm(&self) -> Algorithm {
        Algorithm::HS256
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signs_and_verifies_hs256_and_refuses_every_other_algorithm() {
        install();
        let enc = EncodingKey::from_secret(b"k");
        let dec = DecodingKey::from_secret(b"k");
        let sig = jsonwebtoken::crypto::sign(b"a.b", &enc, Algorithm::HS256).unwrap();
        // Known answer, from Python: hmac.new(b"k", b"a.b", sha256), base64url unpadded.
        assert_eq!(sig, "j-64Xf4O5ZEXP-qQsHKDtNnvAIHe3v1wxoNRgirN2JQ");
        assert!(jsonwebtoken::crypto::verify(&sig, b"a.b", &dec, Algorithm::HS256).unwrap());
        assert!(!jsonwebtoken::crypto::verify(&sig, b"a.c", &dec, Algorithm::HS256).unwrap());
        let other = DecodingKey::from_secret(b"other");
        assert!(!jsonwebtoken::crypto::verify(&sig, b"a.b", &other, Algorithm::HS256).unwrap());
        for alg in [
            Algorithm::HS384,
            Algorithm::HS512,
            Algorithm::RS256,
            Algorithm::ES256,
            Algorithm::PS256,
            Algorithm::EdDSA,
        ] {
            let e = jsonwebtoken::crypto::sign(b"a.b", &enc, alg).unwrap_err();
            assert_eq!(*e.kind(), ErrorKind::InvalidAlgorithm, "{alg:?}");
            let e = jsonwebtoken::crypto::verify(&sig, b"a.b", &dec, alg).unwrap_err();
            assert_eq!(*e.kind(), ErrorKind::InvalidAlgorithm, "{alg:?}");
        }
    }
}
