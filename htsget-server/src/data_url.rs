//! Data URLs as values: what a ticket's URL names, parsed once and formatted once.
//!
//! A data URL is `{public}/data/{key}?v=VERSION` followed, in this order, by at most one of
//! `r=START-LAST` (bytes, last inclusive as in `Range`), `span=START-END` (a BGZF span, raw
//! virtual positions) or `c4=START-END` (plaintext bytes re-encrypted, end exclusive), then
//! `k=NONCE` (a Crypt4GH ticket nonce, 32 hex digits), `exp=SECONDS` and `sig=BASE64URL`.
//! Every parameter may appear once; others are ignored. Nothing else in the server reads or
//! writes these parameters: tickets format [`DataUrl`]s, the data endpoint parses them, and the
//! signer signs and checks them.

use std::fmt::{self, Write as _};

use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use htsget_core::{BgzfSpan, ByteRange};
use percent_encoding::{AsciiSet, CONTROLS, utf8_percent_encode};

mod nonce;
mod signer;

pub(crate) use self::signer::unix_now;
pub use self::{
    nonce::{Nonce, TicketKeys},
    signer::{FileSigner, KeyError, MIN_KEY_BYTES, Refused, Signer},
};

/// The parameters, by name.
const VERSION: &str = "v";
const RANGE: &str = "r";
const SPAN: &str = "span";
const SEALED: &str = "c4";
const CUT: &str = "cut";
const NONCE: &str = "k";
const EXPIRY: &str = "exp";
const SIGNATURE: &str = "sig";

/// Characters escaped in a data URL's path: all but unreserved characters and `/`.
const PATH: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'`')
    .add(b'{')
    .add(b'}')
    .add(b'[')
    .add(b']')
    .add(b'\\')
    .add(b'^')
    .add(b'|')
    .add(b'&')
    .add(b'+')
    .add(b';')
    .add(b'=')
    .add(b':')
    .add(b'@')
    .add(b'$')
    .add(b',')
    .add(b'\'')
    .add(b'!')
    .add(b'(')
    .add(b')')
    .add(b'*');

/// What a data URL serves of its file.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub enum Serves {
    /// Bytes within this range of the stored object (`r`).
    Bytes(ByteRange),
    /// This BGZF span's contents, whole (`span`): its cut blocks re-encoded around the whole
    /// blocks between them.
    Span(BgzfSpan),
    /// The plaintext bytes of this range of an encrypted file, re-encrypted with the ticket's
    /// key (`c4`).
    Sealed(ByteRange),
    /// One re-encoded cut block of this BGZF span's contents (the `index`-th part, below
    /// [`MAX_CUT`]), re-encrypted with the ticket's key (`span` and `cut`): what a
    /// pass-through ticket cannot take from the stored segments.
    Cut(BgzfSpan, u8),
}

/// The bound of a cut's index: a span's contents are at most a cut block, whole blocks and a
/// cut block.
pub const MAX_CUT: u8 = 8;

/// A data URL: the file key and what its query names.
#[derive(Clone, Debug, Eq, PartialEq)]
pub struct DataUrl {
    key: String,
    version: Option<String>,
    serves: Option<Serves>,
    nonce: Option<Nonce>,
    expiry: Option<u64>,
    signature: Option<Vec<u8>>,
}

/// Why a data URL's query does not parse.
#[derive(Clone, Copy, Debug, Eq, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ParseError {
    /// A parameter is given twice.
    #[error("the data URL parameter {0:?} is given twice")]
    Duplicate(&'static str),
    /// A parameter's value is malformed.
    #[error("the data URL parameter {0:?} is malformed")]
    Malformed(&'static str),
    /// More than one of `r`, `span` and `c4`.
    #[error("a data URL names at most one of r, span and c4")]
    Conflicting,
    /// `c4` without the ticket nonce `k`, or `r` with it.
    #[error("a data URL's k goes with c4 or span, and c4 needs k")]
    Nonce,
}

impl DataUrl {
    /// The URL of the whole object `key` at `version` (its identity's tag).
    pub fn new(key: impl Into<String>, version: impl Into<String>) -> Self {
        Self {
            key: key.into(),
            version: Some(version.into()),
            serves: None,
            nonce: None,
            expiry: None,
            signature: None,
        }
    }

    /// The URL of the whole object `key`, whatever its version.
    pub fn whole(key: impl Into<String>) -> Self {
        Self {
            key: key.into(),
            version: None,
            serves: None,
            nonce: None,
            expiry: None,
            signature: None,
        }
    }

    /// This URL serving `serves` (a non-empty range: an empty one has no URL form).
    pub fn serving(mut self, serves: Serves) -> Self {
        debug_assert!(
            !matches!(serves, Serves::Bytes(r) | Serves::Sealed(r) if r.is_empty()),
            "a data URL serves a non-empty range"
        );
        self.serves = Some(serves);
        self
    }

    /// This URL re-encrypted under the ticket key of `nonce`.
    pub fn sealed_with(mut self, nonce: Nonce) -> Self {
        self.nonce = Some(nonce);
        self
    }

    /// This URL with an expiry and a signature (the signer's business).
    pub(crate) fn signed(mut self, expiry: u64, signature: Vec<u8>) -> Self {
        self.expiry = Some(expiry);
        self.signature = Some(signature);
        self
    }

    /// The file's key.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The version of the file it was made for, if it names one.
    pub fn version(&self) -> Option<&str> {
        self.version.as_deref()
    }

    /// What it serves; `None`: the whole object (or what a `Range` header asks).
    pub fn serves(&self) -> Option<Serves> {
        self.serves
    }

    /// The ticket nonce of a re-encrypted URL.
    pub fn nonce(&self) -> Option<&Nonce> {
        self.nonce.as_ref()
    }

    /// Its expiry, in Unix seconds.
    pub fn expiry(&self) -> Option<u64> {
        self.expiry
    }

    /// Its signature's bytes.
    pub fn signature(&self) -> Option<&[u8]> {
        self.signature.as_deref()
    }

    /// The data URL of file `key` (already checked as a data key) with the query string
    /// `query`.
    ///
    /// # Errors
    ///
    /// A [`ParseError`] for a parameter given twice or malformed, or an impossible combination.
    pub fn parse(key: &str, query: Option<&str>) -> Result<Self, ParseError> {
        let mut url = Self::whole(key);
        let mut seen = [false; 8];
        let mut cut = None;
        for pair in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            let (slot, name) = match name {
                VERSION => (0, VERSION),
                RANGE => (1, RANGE),
                SPAN => (2, SPAN),
                SEALED => (3, SEALED),
                NONCE => (4, NONCE),
                EXPIRY => (5, EXPIRY),
                SIGNATURE => (6, SIGNATURE),
                CUT => (7, CUT),
                _ => continue,
            };
            if std::mem::replace(&mut seen[slot], true) {
                return Err(ParseError::Duplicate(name));
            }
            let malformed = ParseError::Malformed(name);
            let serves = match name {
                VERSION => {
                    url.version = Some(value.to_owned());
                    None
                }
                RANGE => {
                    let (start, last) = pair_of(value).ok_or(malformed)?;
                    let end = last.checked_add(1).filter(|end| start < *end);
                    Some(Serves::Bytes(ByteRange::new(start, end.ok_or(malformed)?)))
                }
                SPAN => Some(Serves::Span(value.parse().map_err(|_| malformed)?)),
                SEALED => {
                    let (start, end) = pair_of(value).filter(|(a, b)| a < b).ok_or(malformed)?;
                    Some(Serves::Sealed(ByteRange::new(start, end)))
                }
                NONCE => {
                    url.nonce = Some(value.parse().map_err(|_| malformed)?);
                    None
                }
                EXPIRY => {
                    url.expiry = Some(digits(value).ok_or(malformed)?);
                    None
                }
                CUT => {
                    let index = digits(value)
                        .and_then(|n| u8::try_from(n).ok())
                        .filter(|n| *n < MAX_CUT);
                    cut = Some(index.ok_or(malformed)?);
                    None
                }
                _ => {
                    url.signature = Some(URL_SAFE_NO_PAD.decode(value).map_err(|_| malformed)?);
                    None
                }
            };
            if let Some(serves) = serves
                && url.serves.replace(serves).is_some()
            {
                return Err(ParseError::Conflicting);
            }
        }
        if let Some(index) = cut {
            let Some(Serves::Span(span)) = url.serves else {
                return Err(ParseError::Malformed(CUT));
            };
            url.serves = Some(Serves::Cut(span, index));
        }
        match (url.serves, &url.nonce) {
            (Some(Serves::Sealed(_) | Serves::Cut(..)), None)
            | (Some(Serves::Bytes(_)) | None, Some(_)) => Err(ParseError::Nonce),
            _ => Ok(url),
        }
    }

    /// The URL under `public_url` (no trailing slash): `{public_url}/data/{key}?...`.
    pub fn to_url(&self, public_url: &str) -> String {
        let mut url = String::with_capacity(public_url.len() + self.key.len() * 3 + 160);
        url.push_str(public_url);
        url.push_str("/data/");
        url.extend(utf8_percent_encode(&self.key, PATH));
        let _ = write!(url, "{}", Query(self));
        url
    }
}

/// The query string of a data URL, `?` included (nothing when it has no parameter).
struct Query<'a>(&'a DataUrl);

impl fmt::Display for Query<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let url = self.0;
        let mut separator = '?';
        let mut put = |f: &mut fmt::Formatter<'_>, name: &str, value: &dyn fmt::Display| {
            let result = write!(f, "{separator}{name}={value}");
            separator = '&';
            result
        };
        if let Some(version) = &url.version {
            put(f, VERSION, version)?;
        }
        match url.serves {
            Some(Serves::Bytes(range)) => {
                put(
                    f,
                    RANGE,
                    &format_args!("{}-{}", range.start(), range.end() - 1),
                )?;
            }
            Some(Serves::Span(span)) => put(f, SPAN, &span)?,
            Some(Serves::Cut(span, index)) => {
                put(f, SPAN, &span)?;
                put(f, CUT, &index)?;
            }
            Some(Serves::Sealed(range)) => {
                put(
                    f,
                    SEALED,
                    &format_args!("{}-{}", range.start(), range.end()),
                )?;
            }
            None => {}
        }
        if let Some(nonce) = &url.nonce {
            put(f, NONCE, nonce)?;
        }
        if let Some(expiry) = url.expiry {
            put(f, EXPIRY, &expiry)?;
        }
        if let Some(signature) = &url.signature {
            put(f, SIGNATURE, &URL_SAFE_NO_PAD.encode(signature))?;
        }
        Ok(())
    }
}

/// `A-B`, two decimal numbers.
fn pair_of(value: &str) -> Option<(u64, u64)> {
    let (a, b) = value.split_once('-')?;
    Some((digits(a)?, digits(b)?))
}

/// A decimal number of at most 20 digits.
fn digits(text: &str) -> Option<u64> {
    (!text.is_empty() && text.len() <= 20 && text.bytes().all(|b| b.is_ascii_digit()))
        .then(|| text.parse().ok())
        .flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn span(start: u64, end: u64) -> BgzfSpan {
        BgzfSpan::new(start.into(), end.into())
    }

    fn nonce() -> Nonce {
        "00112233445566778899aabbccddeeff".parse().unwrap()
    }

    #[test]
    fn test_to_url_and_parse_round_trip() {
        let urls = [
            DataUrl::new("bam/a b.bam", "0123456789abcdef"),
            DataUrl::new("x.bam", "1").serving(Serves::Bytes(ByteRange::new(0, 100))),
            DataUrl::new("x.bam", "1").serving(Serves::Span(span(5, 70_000 << 16 | 3))),
            DataUrl::new("x.bam", "1")
                .serving(Serves::Span(span(5, 9)))
                .sealed_with(nonce()),
            DataUrl::new("x.bam", "1")
                .serving(Serves::Cut(span(5, 9), 7))
                .sealed_with(nonce()),
            DataUrl::new("x.bam", "1")
                .serving(Serves::Sealed(ByteRange::new(7, 65_536)))
                .sealed_with(nonce())
                .signed(1_700_000_000, vec![1, 2, 255]),
        ];
        for url in urls {
            let text = url.to_url("http://h:1");
            let (path, query) = text.split_once('?').unwrap();
            assert!(path.starts_with("http://h:1/data/"), "{text}");
            assert_eq!(
                DataUrl::parse(url.key(), Some(query)),
                Ok(url.clone()),
                "{text}"
            );
        }
    }

    #[test]
    fn test_to_url_keeps_the_wire_form() {
        let url = DataUrl::new("bam/a b.bam", "v1")
            .serving(Serves::Bytes(ByteRange::new(10, 20)))
            .signed(99, vec![0xff; 3]);
        assert_eq!(
            url.to_url("http://h"),
            "http://h/data/bam/a%20b.bam?v=v1&r=10-19&exp=99&sig=____"
        );
        let sealed = DataUrl::new("x.bam", "v")
            .serving(Serves::Sealed(ByteRange::new(0, 5)))
            .sealed_with(nonce());
        assert_eq!(
            sealed.to_url("h"),
            "h/data/x.bam?v=v&c4=0-5&k=00112233445566778899aabbccddeeff"
        );
        let bare = DataUrl::parse("x.bam", None).unwrap();
        assert_eq!(bare.to_url("h"), "h/data/x.bam");
    }

    #[test]
    fn test_parse_ignores_other_parameters() {
        let url = DataUrl::parse("x.bam", Some("a=1&&span=10-20&b&v=7")).unwrap();
        assert_eq!(url.serves(), Some(Serves::Span(span(10, 20))));
        assert_eq!(url.version(), Some("7"));
        assert_eq!(url.nonce(), None);
        assert_eq!(url.expiry(), None);
    }

    #[test]
    fn test_parse_with_malformed_forms() {
        let nonce = "k=00112233445566778899aabbccddeeff";
        let cases: &[(&str, ParseError)] = &[
            ("v=1&v=2", ParseError::Duplicate("v")),
            ("r=0-1&r=0-1", ParseError::Duplicate("r")),
            ("sig=AA&sig=AA", ParseError::Duplicate("sig")),
            ("r=", ParseError::Malformed("r")),
            ("r=5", ParseError::Malformed("r")),
            ("r=9-5", ParseError::Malformed("r")),
            ("r=0-18446744073709551615", ParseError::Malformed("r")),
            ("r=-1-5", ParseError::Malformed("r")),
            ("span=", ParseError::Malformed("span")),
            ("span=1", ParseError::Malformed("span")),
            ("span=a-b", ParseError::Malformed("span")),
            ("span=9-5", ParseError::Malformed("span")),
            ("span=1-2-3", ParseError::Malformed("span")),
            ("span=99999999999999999999-1", ParseError::Malformed("span")),
            (
                "span=123456789012345678901-1",
                ParseError::Malformed("span"),
            ),
            (
                "c4=5-5&k=00112233445566778899aabbccddeeff",
                ParseError::Malformed("c4"),
            ),
            ("k=0011", ParseError::Malformed("k")),
            (
                "k=00112233445566778899aabbccddeefg",
                ParseError::Malformed("k"),
            ),
            ("exp=", ParseError::Malformed("exp")),
            ("exp=+5", ParseError::Malformed("exp")),
            ("sig=***", ParseError::Malformed("sig")),
            ("r=0-1&span=0-1", ParseError::Conflicting),
            (
                "span=0-1&c4=0-1&k=00112233445566778899aabbccddeeff",
                ParseError::Conflicting,
            ),
            ("c4=0-1", ParseError::Nonce),
            ("span=0-1&cut=0", ParseError::Nonce),
            (
                "cut=0&k=00112233445566778899aabbccddeeff",
                ParseError::Malformed("cut"),
            ),
            (
                "r=0-1&cut=0&k=00112233445566778899aabbccddeeff",
                ParseError::Malformed("cut"),
            ),
            (
                "span=0-1&cut=8&k=00112233445566778899aabbccddeeff",
                ParseError::Malformed("cut"),
            ),
            (
                "span=0-1&cut=-1&k=00112233445566778899aabbccddeeff",
                ParseError::Malformed("cut"),
            ),
            ("span=0-1&cut=1&cut=1", ParseError::Duplicate("cut")),
            (nonce, ParseError::Nonce),
        ];
        for (query, error) in cases {
            assert_eq!(DataUrl::parse("x.bam", Some(query)), Err(*error), "{query}");
        }
        let with_range = format!("r=0-1&{nonce}");
        assert_eq!(
            DataUrl::parse("x.bam", Some(&with_range)),
            Err(ParseError::Nonce)
        );
        // The largest positions parse.
        let max = format!("span=0-{}", u64::MAX);
        assert!(DataUrl::parse("x.bam", Some(&max)).is_ok());
    }
}
