//! Crypt4GH ticket nonces: the 128 random bits a re-encrypting ticket's URLs carry, from which
//! any replica derives that ticket's data key with the [`TicketKeys`] they share.

use std::{fmt, str::FromStr};

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

/// A ticket nonce, written as 32 lowercase hex digits.
#[derive(Clone, Copy, Debug, Eq, Hash, PartialEq)]
pub struct Nonce([u8; 16]);

/// A nonce that is not 32 hex digits.
#[derive(Clone, Copy, Debug, Eq, PartialEq, thiserror::Error)]
#[error("a ticket nonce is 32 hex digits")]
pub struct MalformedNonce;

impl Nonce {
    /// A fresh nonce from the system's randomness.
    ///
    /// # Errors
    ///
    /// When the system has no randomness to give.
    pub fn random() -> Result<Self, getrandom::Error> {
        let mut bytes = [0; 16];
        getrandom::fill(&mut bytes)?;
        Ok(Self(bytes))
    }

    /// The nonce as it is written in URLs, the input of key derivations.
    pub fn to_hex(self) -> String {
        self.to_string()
    }
}

impl fmt::Display for Nonce {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.iter().try_for_each(|b| write!(f, "{b:02x}"))
    }
}

impl FromStr for Nonce {
    type Err = MalformedNonce;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        if text.len() != 32 || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(MalformedNonce);
        }
        let mut bytes = [0; 16];
        for (byte, pair) in bytes.iter_mut().zip(text.as_bytes().chunks(2)) {
            let pair = std::str::from_utf8(pair).map_err(|_| MalformedNonce)?;
            *byte = u8::from_str_radix(pair, 16).map_err(|_| MalformedNonce)?;
        }
        Ok(Self(bytes))
    }
}

/// What ticket keys are derived for.
const PURPOSE: &[u8] = b"htsget crypt4gh ticket key\0";

/// The secret replicas share to derive a Crypt4GH ticket's data key from its nonce, so any
/// replica serves any URL of the ticket, the same bytes every time.
#[derive(Clone)]
pub struct TicketKeys {
    mac: Hmac<Sha256>,
    generated: bool,
}

impl fmt::Debug for TicketKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TicketKeys")
            .field("generated", &self.generated)
            .finish_non_exhaustive()
    }
}

impl TicketKeys {
    /// Ticket keys derived from `secret` (32 bytes or more of a shared secret).
    pub fn new(secret: &[u8]) -> Self {
        Self {
            mac: Hmac::new_from_slice(secret).expect("HMAC takes a key of any length"),
            generated: false,
        }
    }

    /// Ticket keys from a secret made now: this process only (replicas need a shared one).
    ///
    /// # Errors
    ///
    /// When the system has no randomness to give.
    pub fn generated() -> Result<Self, getrandom::Error> {
        let mut secret = [0; 32];
        getrandom::fill(&mut secret)?;
        Ok(Self {
            generated: true,
            ..Self::new(&secret)
        })
    }

    /// Whether the secret was made by this process.
    pub fn is_generated(&self) -> bool {
        self.generated
    }

    /// The data key of the ticket of `nonce`.
    pub fn key(&self, nonce: &Nonce) -> [u8; 32] {
        let mut mac = self.mac.clone();
        mac.update(PURPOSE);
        mac.update(&nonce.0);
        mac.finalize().into_bytes().into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_key_with_nonces_and_secrets() {
        let (a, b) = (Nonce::random().unwrap(), Nonce::random().unwrap());
        let keys = TicketKeys::new(&[7; 32]);
        assert_eq!(
            keys.key(&a),
            TicketKeys::new(&[7; 32]).key(&a),
            "replicas agree"
        );
        assert_ne!(keys.key(&a), keys.key(&b));
        assert_ne!(keys.key(&a), TicketKeys::new(&[8; 32]).key(&a));
        let generated = TicketKeys::generated().unwrap();
        assert!(generated.is_generated() && !keys.is_generated());
        assert_ne!(generated.key(&a), TicketKeys::generated().unwrap().key(&a));
    }

    #[test]
    fn test_from_str_round_trip_and_bad_forms() {
        let nonce = Nonce::random().unwrap();
        assert_eq!(nonce.to_hex().parse::<Nonce>(), Ok(nonce));
        let upper: Nonce = "00112233445566778899AABBCCDDEEFF".parse().unwrap();
        assert_eq!(upper.to_string(), "00112233445566778899aabbccddeeff");
        for bad in [
            "",
            "00",
            "+0112233445566778899aabbccddeeff",
            "0g112233445566778899aabbccddeeff",
        ] {
            assert_eq!(bad.parse::<Nonce>(), Err(MalformedNonce), "{bad}");
        }
        assert!("é0112233445566778899aabbccddeef".parse::<Nonce>().is_err());
    }
}
