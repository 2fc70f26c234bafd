//! Crypt4GH ticket nonces: the 128 random bits a re-encrypting ticket's URLs carry, from which
//! any replica derives that ticket's data key.

use std::{fmt, str::FromStr};

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

#[cfg(test)]
mod tests {
    use super::*;

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
