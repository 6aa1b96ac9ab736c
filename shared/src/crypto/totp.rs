//! Time-based one-time passwords (RFC 6238) over the `totp-rs` crate: SHA-1, 6 digits, 30 s
//! steps, one step of clock skew either way — what every authenticator app speaks.
//!
//! A code is accepted at most once: [`verify`] answers the time step a code matched, and the
//! caller stores it; that step and every earlier one are spent ([`verify`] refuses them), so
//! a code seen over a shoulder, or replayed from a log, is worth nothing once used.

use base64::Engine;
use rand::RngCore;
use subtle::ConstantTimeEq;
use totp_rs::{Algorithm, TOTP};

/// Seconds per step (RFC 6238's default, and every app's).
pub const STEP: u64 = 30;
/// Digits per code.
pub const DIGITS: usize = 6;
/// Bytes of a new secret: 160 bits, RFC 4226's recommendation.
pub const SECRET_BYTES: usize = 20;

/// A shared TOTP secret. `Debug` hides it.
#[derive(Clone, PartialEq, Eq)]
pub struct TotpSecret(Vec<u8>);

impl std::fmt::Debug for TotpSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TotpSecret(..)")
    }
}

impl TotpSecret {
    /// A fresh secret from the OS's CSPRNG.
    pub fn generate() -> Self {
        let mut bytes = vec![0u8; SECRET_BYTES];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        TotpSecret(bytes)
    }

    pub fn from_bytes(bytes: Vec<u8>) -> Self {
        TotpSecret(bytes)
    }

    /// The secret an authenticator app was given as base32 (case and padding ignored).
    pub fn from_base32(text: &str) -> Option<Self> {
        let upper = text.trim_end_matches('=').to_ascii_uppercase();
        base32::decode(RFC4648, &upper).map(TotpSecret)
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// RFC 4648 base32 without padding: what an authenticator app is given.
    pub fn base32(&self) -> String {
        base32::encode(RFC4648, &self.0)
    }

    /// The `otpauth://` URI an app scans: `otpauth://totp/ISSUER:ACCOUNT?secret=…&issuer=…
    /// &algorithm=SHA1&digits=6&period=30` (issuer and account percent-encoded).
    pub fn otpauth_uri(&self, issuer: &str, account: &str) -> String {
        let (issuer, account) = (percent_encode(issuer), percent_encode(account));
        format!(
            "otpauth://totp/{issuer}:{account}?secret={}&issuer={issuer}&algorithm=SHA1&digits={DIGITS}&period={STEP}",
            self.base32()
        )
    }

    fn totp(&self) -> TOTP {
        // `new_unchecked`: the secret's length is ours to choose (the RFC test vectors use
        // 20-, 32- and 64-byte secrets); skew is applied by `verify`, step by step.
        TOTP::new_unchecked(Algorithm::SHA1, DIGITS, 0, STEP, self.0.clone())
    }

    /// The code of time step `step`.
    pub fn code_at_step(&self, step: u64) -> String {
        self.totp().generate(step.saturating_mul(STEP))
    }
}

/// The time step `now` falls in.
pub fn step_of(now: u64) -> u64 {
    now / STEP
}

/// The step `code` matches among the previous, current and next step of `now`, if any and if
/// it is later than `last_used` (a code is good once). Every candidate is computed and
/// compared in constant time, whichever matches.
pub fn verify(secret: &TotpSecret, code: &str, now: u64, last_used: Option<u64>) -> Option<u64> {
    if code.len() != DIGITS || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let current = step_of(now);
    let mut matched = None;
    for step in [
        current.saturating_sub(1),
        current,
        current.saturating_add(1),
    ] {
        let expected = secret.code_at_step(step);
        let equal: bool = expected.as_bytes().ct_eq(code.as_bytes()).into();
        if equal && last_used.is_none_or(|used| step > used) {
            matched = Some(step);
        }
    }
    matched
}

/// RFC 4648 base32 without padding (`totp-rs`'s own `base32` crate).
const RFC4648: base32::Alphabet = base32::Alphabet::Rfc4648 { padding: false };

/// Everything but RFC 3986's unreserved characters, percent-encoded.
fn percent_encode(text: &str) -> String {
    const RESERVED: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'.')
        .remove(b'_')
        .remove(b'~');
    percent_encoding::utf8_percent_encode(text, RESERVED).to_string()
}

/// Ten single-use recovery codes: 80 random bits each, shown as `xxxx-xxxx-xxxx-xxxx` (base32,
/// lower case); only their SHA-256 is stored ([`recovery_code_hash`]), which 80 bits make as
/// good as a slow hash.
pub fn new_recovery_codes() -> Vec<String> {
    (0..10)
        .map(|_| {
            let mut bytes = [0u8; 10];
            rand::rngs::OsRng.fill_bytes(&mut bytes);
            let text = base32::encode(RFC4648, &bytes).to_ascii_lowercase();
            text.as_bytes()
                .chunks(4)
                .map(|c| std::str::from_utf8(c).unwrap_or_default())
                .collect::<Vec<_>>()
                .join("-")
        })
        .collect()
}

/// The stored form of a recovery code as typed: case, spaces and dashes do not matter.
pub fn recovery_code_hash(typed: &str) -> Option<String> {
    let normal: String = typed
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .map(|c| c.to_ascii_lowercase())
        .collect();
    if normal.len() != 16 || base32::decode(RFC4648, &normal.to_ascii_uppercase()).is_none() {
        return None;
    }
    use sha2::Digest;
    Some(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(normal)))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 Appendix B: the reference implementation's 8-digit codes for SHA-1, SHA-256 and
    /// SHA-512, each with its own seed, at six times.
    #[test]
    fn the_rfc_6238_test_vectors() {
        let seed = |n: usize| b"1234567890".repeat(7)[..n].to_vec();
        let cases: [(u64, [&str; 3]); 6] = [
            (59, ["94287082", "46119246", "90693936"]),
            (1111111109, ["07081804", "68084774", "25091201"]),
            (1111111111, ["14050471", "67062674", "99943326"]),
            (1234567890, ["89005924", "91819424", "93441116"]),
            (2000000000, ["69279037", "90698825", "38618901"]),
            (20000000000, ["65353130", "77737706", "47863826"]),
        ];
        let algorithms = [
            (Algorithm::SHA1, 20),
            (Algorithm::SHA256, 32),
            (Algorithm::SHA512, 64),
        ];
        for (time, expected) in cases {
            for ((alg, len), want) in algorithms.iter().zip(expected) {
                let totp = TOTP::new_unchecked(*alg, 8, 0, STEP, seed(*len));
                assert_eq!(totp.generate(time), want, "{alg:?} at {time}");
            }
        }
        // Ours is the SHA-1, 6-digit one: the RFC's SHA-1 codes' last six digits.
        let ours = TotpSecret::from_bytes(seed(20));
        assert_eq!(ours.code_at_step(step_of(59)), "287082");
        assert_eq!(ours.code_at_step(step_of(1111111109)), "081804");
    }

    #[test]
    fn a_code_is_good_for_one_step_of_skew_and_once() {
        let secret = TotpSecret::generate();
        let now = 1_800_000_015;
        let step = step_of(now);
        let code = secret.code_at_step(step);
        assert_eq!(verify(&secret, &code, now, None), Some(step));
        // Replayed: the same step, or any earlier one, is spent.
        assert_eq!(verify(&secret, &code, now, Some(step)), None);
        let previous = secret.code_at_step(step - 1);
        assert_eq!(verify(&secret, &previous, now, Some(step)), None);
        // One step of skew either way, not two.
        assert_eq!(verify(&secret, &previous, now, None), Some(step - 1));
        let next = secret.code_at_step(step + 1);
        assert_eq!(verify(&secret, &next, now, Some(step)), Some(step + 1));
        assert_eq!(
            verify(&secret, &secret.code_at_step(step + 2), now, None),
            None
        );
        assert_eq!(
            verify(&secret, &secret.code_at_step(step - 2), now, None),
            None
        );
        for bad in ["", "12345", "1234567", "12345a", " 23456", "１２３４５６"] {
            assert_eq!(verify(&secret, bad, now, None), None, "{bad:?}");
        }
    }

    #[test]
    fn the_otpauth_uri_carries_the_base32_secret_and_the_parameters() {
        let secret = TotpSecret::from_bytes(b"12345678901234567890".to_vec());
        assert_eq!(secret.base32(), "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
        assert_eq!(
            TotpSecret::from_base32("gezdgnbvgy3tqojqgezdgnbvgy3tqojq"),
            Some(secret.clone())
        );
        let odd = TotpSecret::generate();
        assert_eq!(TotpSecret::from_base32(&odd.base32()), Some(odd));
        assert_eq!(TotpSecret::from_base32("GEZ1"), None);
        assert_eq!(
            secret.otpauth_uri("Acme Auth", "ana@example.com"),
            "otpauth://totp/Acme%20Auth:ana%40example.com?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ\
             &issuer=Acme%20Auth&algorithm=SHA1&digits=6&period=30"
        );
        assert!(!format!("{secret:?}").contains("GEZ"));
    }

    #[test]
    fn recovery_codes_are_ten_distinct_80_bit_codes_hashed_however_typed() {
        let codes = new_recovery_codes();
        assert_eq!(codes.len(), 10);
        let distinct: std::collections::HashSet<_> = codes.iter().collect();
        assert_eq!(distinct.len(), 10);
        for code in &codes {
            assert_eq!(code.len(), 19, "{code}");
            let hash = recovery_code_hash(code).unwrap();
            assert_eq!(
                recovery_code_hash(&code.to_uppercase().replace('-', " ")),
                Some(hash)
            );
        }
        assert_eq!(recovery_code_hash("not-a-code"), None);
        assert_ne!(recovery_code_hash(&codes[0]), recovery_code_hash(&codes[1]));
    }
}
