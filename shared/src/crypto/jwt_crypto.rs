//! jsonwebtoken's crypto provider: the four algorithms of [`SigningAlg`], nothing else.
//!
//! jsonwebtoken picks a provider at run time; its `rust_crypto` provider would link RSA,
//! ECDSA (P-256, P-384) and EdDSA from RustCrypto next to the ring that rustls already links,
//! and its RSA signing is not constant-time (RUSTSEC-2023-0071, the Marvin attack, no fixed
//! release). This provider signs and verifies RS256, ES256 and EdDSA with ring (constant-time
//! RSA, the code already in every bootstrap) and HS256 with RustCrypto's `hmac` + `sha2`;
//! every other algorithm is `InvalidAlgorithm`. Asymmetric [`EncodingKey`]s carry the PKCS#8
//! DER that [`crate::crypto::keys::check_private_key`] checked. It is installed once per
//! process by [`install`], which every signing path calls first. Access tokens are verified
//! by [`crate::crypto::tokens::AccessTokenVerifier`] with keys built once per key version
//! ([`crate::crypto::keys::VerifyKey`], the same ring and `hmac` calls).

use hmac::{Hmac, Mac};
use jsonwebtoken::crypto::{CryptoProvider, JwkUtils, JwtSigner, JwtVerifier};
use jsonwebtoken::errors::{Error, ErrorKind};
use jsonwebtoken::{Algorithm, DecodingKey, DecodingKeyKind, EncodingKey};
use ring::signature as sig;
use sha2::Sha256;

use crate::domain::SigningAlg;

/// The provider.
pub static PROVIDER: CryptoProvider = CryptoProvider {
    signer_factory: new_signer,
    verifier_factory: new_verifier,
    jwk_utils: JwkUtils::new_unimplemented(),
};

/// Makes [`PROVIDER`] jsonwebtoken's provider for this process. Idempotent and cheap (one
/// atomic load after the first call); a provider installed earlier by someone else is kept.
pub fn install() {
    let _ = PROVIDER.install_default();
}

/// jsonwebtoken's name for `alg`.
pub fn algorithm(alg: SigningAlg) -> Algorithm {
    match alg {
        SigningAlg::Hs256 => Algorithm::HS256,
        SigningAlg::Rs256 => Algorithm::RS256,
        SigningAlg::Es256 => Algorithm::ES256,
        SigningAlg::EdDsa => Algorithm::EdDSA,
    }
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
    let invalid = |_| Error::from(ErrorKind::InvalidKeyFormat);
    let der = key.inner();
    Ok(match algorithm {
        Algorithm::HS256 => Box::new(Hs256::new(algorithm, key.try_get_hmac_secret())?),
        Algorithm::RS256 => Box::new(RingSigner::Rsa(
            sig::RsaKeyPair::from_pkcs8(der).map_err(invalid)?,
        )),
        Algorithm::ES256 => Box::new(RingSigner::P256(
            sig::EcdsaKeyPair::from_pkcs8(
                &sig::ECDSA_P256_SHA256_FIXED_SIGNING,
                der,
                &ring::rand::SystemRandom::new(),
            )
            .map_err(invalid)?,
        )),
        Algorithm::EdDSA => Box::new(RingSigner::Ed25519(
            sig::Ed25519KeyPair::from_pkcs8_maybe_unchecked(der).map_err(invalid)?,
        )),
        _ => return Err(ErrorKind::InvalidAlgorithm.into()),
    })
}

fn new_verifier(algorithm: &Algorithm, key: &DecodingKey) -> Result<Box<dyn JwtVerifier>, Error> {
    let ring_alg: &'static dyn sig::VerificationAlgorithm = match algorithm {
        Algorithm::HS256 => return Ok(Box::new(Hs256::new(algorithm, key.try_get_hmac_secret())?)),
        Algorithm::RS256 => &sig::RSA_PKCS1_2048_8192_SHA256,
        Algorithm::ES256 => &sig::ECDSA_P256_SHA256_FIXED,
        Algorithm::EdDSA => &sig::ED25519,
        _ => return Err(ErrorKind::InvalidAlgorithm.into()),
    };
    Ok(Box::new(RingVerifier {
        algorithm: *algorithm,
        ring_alg,
        key: key.clone(),
    }))
}

/// A ring key pair, parsed from the key's PKCS#8 once per [`jsonwebtoken::encode`].
enum RingSigner {
    Rsa(sig::RsaKeyPair),
    P256(sig::EcdsaKeyPair),
    Ed25519(sig::Ed25519KeyPair),
}

impl signature::Signer<Vec<u8>> for RingSigner {
    fn try_sign(&self, msg: &[u8]) -> Result<Vec<u8>, signature::Error> {
        let rng = ring::rand::SystemRandom::new();
        match self {
            RingSigner::Rsa(pair) => {
                let mut out = vec![0; pair.public().modulus_len()];
                pair.sign(&sig::RSA_PKCS1_SHA256, &rng, msg, &mut out)
                    .map_err(|_| signature::Error::new())?;
                Ok(out)
            }
            RingSigner::P256(pair) => Ok(pair
                .sign(&rng, msg)
                .map_err(|_| signature::Error::new())?
                .as_ref()
                .to_vec()),
            RingSigner::Ed25519(pair) => Ok(pair.sign(msg).as_ref().to_vec()),
        }
    }
}

impl JwtSigner for RingSigner {
    fn algorithm(&self) -> Algorithm {
        match self {
            RingSigner::Rsa(_) => Algorithm::RS256,
            RingSigner::P256(_) => Algorithm::ES256,
            RingSigner::Ed25519(_) => Algorithm::EdDSA,
        }
    }
}

/// For [`jsonwebtoken::decode`] (tests, other tools); the service verifies with
/// [`crate::crypto::keys::VerifyKey`].
struct RingVerifier {
    algorithm: Algorithm,
    ring_alg: &'static dyn sig::VerificationAlgorithm,
    key: DecodingKey,
}

impl signature::Verifier<Vec<u8>> for RingVerifier {
    fn verify(&self, msg: &[u8], signature: &Vec<u8>) -> Result<(), signature::Error> {
        let result = match self.key.kind() {
            DecodingKeyKind::RsaModulusExponent { n, e } if self.algorithm == Algorithm::RS256 => {
                sig::RsaPublicKeyComponents { n, e }.verify(
                    &sig::RSA_PKCS1_2048_8192_SHA256,
                    msg,
                    signature,
                )
            }
            DecodingKeyKind::RsaModulusExponent { .. } => return Err(signature::Error::new()),
            DecodingKeyKind::SecretOrDer(bytes) => {
                sig::UnparsedPublicKey::new(self.ring_alg, bytes).verify(msg, signature)
            }
        };
        result.map_err(|_| signature::Error::new())
    }
}

impl JwtVerifier for RingVerifier {
    fn algorithm(&self) -> Algorithm {
        self.algorithm
    }
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
    fn signs_and_verifies_hs256_and_refuses_algorithms_not_offered() {
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
            Algorithm::RS384,
            Algorithm::ES384,
            Algorithm::PS256,
        ] {
            let e = jsonwebtoken::crypto::sign(b"a.b", &enc, alg).unwrap_err();
            assert_eq!(*e.kind(), ErrorKind::InvalidAlgorithm, "{alg:?}");
            let e = jsonwebtoken::crypto::verify(&sig, b"a.b", &dec, alg).unwrap_err();
            assert_eq!(*e.kind(), ErrorKind::InvalidAlgorithm, "{alg:?}");
        }
    }
}
