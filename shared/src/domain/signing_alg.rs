//! The JOSE algorithms access tokens may be signed with (`SIGNING_ALG`).

/// `SIGNING_ALG`: how access tokens are signed. Verifiers accept this algorithm only.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum SigningAlg {
    /// HMAC-SHA256 with a shared secret (default): only holders of the secret can verify.
    #[default]
    Hs256,
    /// RSASSA-PKCS1-v1_5 with SHA-256, RSA keys of 2048 to 4096 bits.
    Rs256,
    /// ECDSA on P-256 with SHA-256.
    Es256,
    /// Ed25519.
    EdDsa,
}

impl SigningAlg {
    pub const ALL: [SigningAlg; 4] = [
        SigningAlg::Hs256,
        SigningAlg::Rs256,
        SigningAlg::Es256,
        SigningAlg::EdDsa,
    ];

    /// The JOSE `alg` name (RFC 7518, RFC 8037).
    pub fn as_str(self) -> &'static str {
        match self {
            SigningAlg::Hs256 => "HS256",
            SigningAlg::Rs256 => "RS256",
            SigningAlg::Es256 => "ES256",
            SigningAlg::EdDsa => "EdDSA",
        }
    }

    /// Whether verifying needs only public keys (then a JWKS is published).
    pub fn is_asymmetric(self) -> bool {
        self != SigningAlg::Hs256
    }

    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.as_str() == value)
    }
}

impl std::fmt::Display for SigningAlg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
