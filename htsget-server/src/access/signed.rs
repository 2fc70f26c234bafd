//! Signed data URLs: with access control on, every data URL of a ticket carries an expiry and
//! an HMAC-SHA256 over the file, its version, the span or byte range it may serve, and that
//! expiry. The data endpoint serves nothing else: a widened range, another file, a later
//! expiry, another key's signature, or a URL past its expiry is refused.
//!
//! The URL's own parameters: `v` (the version, [`span::url::VERSION`]), then `span=S-E` (a
//! BGZF span, [`span::url::PARAMETER`]) or `r=S-E` (a byte range, inclusive as in `Range`),
//! then `exp` (Unix seconds) and `sig` (base64url, unpadded). Each may appear once.

use std::{collections::BTreeMap, fmt::Write as _, path::Path, time::Duration};

use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use hmac::{Hmac, KeyInit, Mac};
use htsget_core::{
    BgzfSpan, ByteRange, Content, Format, Plan, Span, Ticket,
    span::{self, url},
    storage::Identity,
    ticket::{Location, split},
};
use sha2::Sha256;

/// The range parameter.
pub const RANGE: &str = "r";

/// The expiry parameter.
pub const EXPIRY: &str = "exp";

/// The signature parameter.
pub const SIGNATURE: &str = "sig";

/// The Crypt4GH re-keyed range parameter: `c4=START-END` (plaintext, end exclusive).
pub const SEGMENTS: &str = "c4";

/// The Crypt4GH ticket nonce parameter, from which replicas derive the ticket's key.
pub const TICKET_NONCE: &str = "k";

/// The shortest signing key accepted, in bytes.
pub const MIN_KEY_BYTES: usize = 32;

/// What a valid signature lets a URL serve.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub enum Signed {
    /// This BGZF span, whole.
    Span(BgzfSpan),
    /// Bytes within this range.
    Bytes(ByteRange),
    /// Plaintext bytes `[first, last)` of a Crypt4GH file, re-encrypted with a ticket's key.
    Segments {
        /// The first byte.
        first: u64,
        /// The end (exclusive).
        last: u64,
    },
}

/// Why a data URL is refused.
#[derive(Clone, Copy, Debug, Eq, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum Refused {
    /// No `exp` or `sig`, or no span or range to serve.
    #[error("this data URL is not signed; ask for a ticket")]
    Unsigned,
    /// A parameter given twice, or malformed.
    #[error("this data URL's parameters are malformed")]
    Malformed,
    /// Past its expiry.
    #[error("this data URL has expired; ask for a new ticket")]
    Expired,
    /// The signature does not cover what is asked.
    #[error("this data URL's signature does not match it")]
    Signature,
}

/// Signs and checks data URLs with one key.
#[derive(Clone)]
pub struct Signer {
    mac: Hmac<Sha256>,
    ttl: Duration,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signer")
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

impl Signer {
    /// A signer with `key` (at least [`MIN_KEY_BYTES`]) whose URLs live for `ttl`.
    pub fn new(key: &[u8], ttl: Duration) -> Result<Self, String> {
        if key.len() < MIN_KEY_BYTES {
            return Err(format!(
                "the URL signing key has {} bytes; at least {MIN_KEY_BYTES} are needed",
                key.len()
            ));
        }
        let mac = Hmac::<Sha256>::new_from_slice(key).map_err(|e| e.to_string())?;
        Ok(Self { mac, ttl })
    }

    /// This signer's key with URLs that live for `ttl`.
    pub fn with_ttl(&self, ttl: Duration) -> Self {
        Self {
            mac: self.mac.clone(),
            ttl,
        }
    }

    /// The signer of the key in `file` (its bytes, surrounding whitespace trimmed), or of a
    /// fresh random key when `file` is `None`.
    pub fn load(file: Option<&Path>, ttl: Duration) -> Result<Self, String> {
        match file {
            Some(path) => {
                let bytes = std::fs::read(path)
                    .map_err(|e| format!("cannot read the URL key file: {e}"))?;
                Self::new(bytes.trim_ascii(), ttl)
            }
            None => {
                let mut key = [0; 32];
                getrandom::fill(&mut key).map_err(|e| format!("no randomness for a key: {e}"))?;
                Self::new(&key, ttl)
            }
        }
    }

    /// The ticket for `plan` of the file `key` at version `identity`, its URLs under
    /// `data_url` each signed for exactly its span or range, valid until `now + ttl`.
    pub fn ticket(
        &self,
        plan: &Plan,
        format: Format,
        data_url: &str,
        key: &str,
        identity: &Identity,
        now: u64,
    ) -> Ticket {
        let versioned = url::with_version(data_url, identity);
        let file = self.file(key, &identity.tag());
        let expiry = now.saturating_add(self.ttl.as_secs());
        let mut locations = Vec::with_capacity(plan.parts().len());

        for part in plan.parts() {
            match part.content() {
                Content::Inline(bytes) => locations.push((part.section(), Location::Inline(bytes))),
                Content::Span(Span::Bgzf(bgzf)) => {
                    let url = url::with_span(&versioned, bgzf);
                    let url = signed(&file, url, Signed::Span(*bgzf), expiry);
                    let headers = BTreeMap::new();
                    locations.push((part.section(), Location::Url { url, headers }));
                }
                Content::Span(Span::Bytes(range)) => {
                    for piece in split(*range) {
                        let mut url = String::with_capacity(versioned.len() + 120);
                        url.push_str(&versioned);
                        let _ = write!(url, "&{RANGE}={}-{}", piece.start(), piece.end() - 1);
                        let url = signed(&file, url, Signed::Bytes(piece), expiry);
                        let headers = BTreeMap::from([("Range".to_owned(), piece.to_string())]);
                        locations.push((part.section(), Location::Url { url, headers }));
                    }
                }
            }
        }

        Ticket::from_locations(format, locations)
    }

    /// `url` (already holding `v`, what it serves and `k`) signed for `what` of file `key` at
    /// `version` under ticket nonce `nonce`, valid until `now + ttl`.
    pub fn rekeyed_url(
        &self,
        url: String,
        key: &str,
        version: &str,
        nonce: &str,
        what: Signed,
        now: u64,
    ) -> String {
        let file = self.file(key, &format!("{version}:{nonce}"));
        let expiry = now.saturating_add(self.ttl.as_secs());
        signed(&file, url, what, expiry)
    }

    /// The MAC state over the parts a ticket's URLs share: the file and its version, each
    /// behind its length, so no two different pairs give the same message.
    fn file(&self, key: &str, version: &str) -> Hmac<Sha256> {
        let mut mac = self.mac.clone();
        for field in [key, version] {
            mac.update(&(field.len() as u64).to_be_bytes());
            mac.update(field.as_bytes());
        }
        mac
    }

    /// What the data URL of file `key` with `query` may serve, if its signature is this
    /// signer's and it has not expired at `now`.
    pub fn verify(&self, key: &str, query: Option<&str>, now: u64) -> Result<Signed, Refused> {
        let params = Params::parse(query.unwrap_or(""))?;
        let (Some(expiry), Some(signature)) = (params.expiry, params.signature) else {
            return Err(Refused::Unsigned);
        };
        let expiry: u64 = digits(expiry).ok_or(Refused::Malformed)?;
        let what = match (params.span, params.range, params.segments) {
            (None, None, Some(segments)) => {
                let (first, last) = segments.split_once('-').ok_or(Refused::Malformed)?;
                let first = digits(first).ok_or(Refused::Malformed)?;
                let last = digits(last).ok_or(Refused::Malformed)?;
                if last <= first {
                    return Err(Refused::Malformed);
                }
                Signed::Segments { first, last }
            }
            (Some(span), None, None) => Signed::Span(
                url::span_of(Some(&format!("{}={span}", span::url::PARAMETER)))
                    .ok()
                    .flatten()
                    .ok_or(Refused::Malformed)?,
            ),
            (None, Some(range), None) => {
                let (start, last) = range.split_once('-').ok_or(Refused::Malformed)?;
                let (start, last): (u64, u64) = (
                    digits(start).ok_or(Refused::Malformed)?,
                    digits(last).ok_or(Refused::Malformed)?,
                );
                if last < start || last == u64::MAX {
                    return Err(Refused::Malformed);
                }
                Signed::Bytes(ByteRange::new(start, last + 1))
            }
            (None, None, None) => return Err(Refused::Unsigned),
            _ => return Err(Refused::Malformed),
        };
        let tag = URL_SAFE_NO_PAD
            .decode(signature)
            .map_err(|_| Refused::Signature)?;
        let version = params.version.unwrap_or("");
        let version = match params.nonce {
            Some(nonce) => format!("{version}:{nonce}"),
            None => version.to_owned(),
        };
        tail(self.file(key, &version), what, expiry)
            .verify_slice(&tag)
            .map_err(|_| Refused::Signature)?;
        // Checked after the signature: an expiry is only worth reading once it is known to be
        // ours.
        if now > expiry {
            return Err(Refused::Expired);
        }
        Ok(what)
    }
}

/// `mac` (the file's state) over the rest of a URL's message: what it serves (a kind byte, then
/// start and end) and its expiry, in fixed-size big-endian fields.
fn tail(mut mac: Hmac<Sha256>, what: Signed, expiry: u64) -> Hmac<Sha256> {
    let (kind, start, end) = match what {
        Signed::Span(s) => (0_u8, u64::from(s.start()), u64::from(s.end())),
        Signed::Bytes(r) => (1, r.start(), r.end()),
        Signed::Segments { first, last } => (2, first, last),
    };
    let mut message = [0; 25];
    message[0] = kind;
    message[1..9].copy_from_slice(&start.to_be_bytes());
    message[9..17].copy_from_slice(&end.to_be_bytes());
    message[17..].copy_from_slice(&expiry.to_be_bytes());
    mac.update(&message);
    mac
}

/// `url` with `exp` and `sig` appended, signed from the file's MAC state.
fn signed(file: &Hmac<Sha256>, mut url: String, what: Signed, expiry: u64) -> String {
    let tag = tail(file.clone(), what, expiry).finalize().into_bytes();
    let _ = write!(url, "&{EXPIRY}={expiry}&{SIGNATURE}=");
    URL_SAFE_NO_PAD.encode_string(tag, &mut url);
    url
}

/// The signed parameters of a data URL's query, each at most once.
#[derive(Default)]
struct Params<'a> {
    version: Option<&'a str>,
    span: Option<&'a str>,
    range: Option<&'a str>,
    expiry: Option<&'a str>,
    signature: Option<&'a str>,
    segments: Option<&'a str>,
    nonce: Option<&'a str>,
}

impl<'a> Params<'a> {
    fn parse(query: &'a str) -> Result<Self, Refused> {
        let mut params = Self::default();
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            let slot = match name {
                url::VERSION => &mut params.version,
                span::url::PARAMETER => &mut params.span,
                RANGE => &mut params.range,
                EXPIRY => &mut params.expiry,
                SIGNATURE => &mut params.signature,
                SEGMENTS => &mut params.segments,
                TICKET_NONCE => &mut params.nonce,
                _ => continue,
            };
            if slot.replace(value).is_some() {
                return Err(Refused::Malformed);
            }
        }
        Ok(params)
    }
}

/// A decimal number of at most 20 digits.
fn digits(text: &str) -> Option<u64> {
    (!text.is_empty() && text.len() <= 20 && text.bytes().all(|b| b.is_ascii_digit()))
        .then(|| text.parse().ok())
        .flatten()
}

#[cfg(test)]
mod tests {
    use htsget_core::Section;

    use super::*;

    const KEY: &[u8] = b"0123456789abcdef0123456789abcdef";

    fn signer() -> Signer {
        Signer::new(KEY, Duration::from_secs(100)).unwrap()
    }

    /// The query strings of a ticket's URLs for a plan of one byte range and one span.
    fn queries(signer: &Signer, now: u64) -> Vec<String> {
        let mut plan = Plan::new();
        plan.push(
            Section::Header,
            Content::Span(Span::Bytes(ByteRange::new(0, 100))),
        );
        let bgzf = BgzfSpan::new(5.into(), (70_000_u64 << 16 | 3).into());
        plan.push(Section::Body, Content::Span(Span::Bgzf(bgzf)));
        let ticket = signer.ticket(
            &plan,
            Format::Bam,
            "http://h/data/f.bam",
            "f.bam",
            &Identity::new("1"),
            now,
        );
        ticket
            .urls()
            .iter()
            .map(|u| u.url().split_once('?').unwrap().1.to_owned())
            .collect()
    }

    #[test]
    fn test_verify_round_trip() {
        let signer = signer();
        let q = queries(&signer, 1000);
        assert_eq!(
            signer.verify("f.bam", Some(&q[0]), 1000),
            Ok(Signed::Bytes(ByteRange::new(0, 100)))
        );
        assert!(matches!(
            signer.verify("f.bam", Some(&q[1]), 1100),
            Ok(Signed::Span(_))
        ));
    }

    #[test]
    fn test_verify_refuses_tampering() {
        let signer = signer();
        let q = queries(&signer, 1000);
        let refused =
            |key: &str, query: &str, now| signer.verify(key, Some(query), now).unwrap_err();

        assert_eq!(refused("f.bam", &q[0], 1101), Refused::Expired);
        assert_eq!(refused("g.bam", &q[0], 1000), Refused::Signature);
        assert_eq!(
            refused("f.bam", &q[0].replace("r=0-99", "r=0-100"), 1000),
            Refused::Signature
        );
        assert_eq!(
            refused("f.bam", &q[0].replace("exp=1100", "exp=9100"), 1000),
            Refused::Signature
        );
        let other_version = q[0].replacen("v=", "v=0", 1);
        assert_eq!(refused("f.bam", &other_version, 1000), Refused::Signature);
        assert_eq!(
            refused("f.bam", &format!("{}&r=0-5", q[0]), 1000),
            Refused::Malformed
        );
        assert_eq!(refused("f.bam", "r=0-99", 1000), Refused::Unsigned);
        assert_eq!(refused("f.bam", "", 1000), Refused::Unsigned);
        let cut = q[0].split("&sig=").next().unwrap().to_owned() + "&sig=AAAA";
        assert_eq!(refused("f.bam", &cut, 1000), Refused::Signature);

        let other = Signer::new(
            b"another key, also 32 bytes long!",
            Duration::from_secs(100),
        )
        .unwrap();
        assert_eq!(
            other.verify("f.bam", Some(&q[0]), 1000),
            Err(Refused::Signature)
        );
    }

    #[test]
    fn test_new_refuses_short_keys() {
        assert!(Signer::new(b"short", Duration::from_secs(1)).is_err());
        assert!(Signer::load(None, Duration::from_secs(1)).is_ok());
    }
}
