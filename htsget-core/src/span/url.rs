//! The query parameters of data URLs: `span`, how a ticket names a [`BgzfSpan`], and `v`, the
//! version of the file it was made from, and how the data endpoint reads them back. Both
//! directions live here, so the format has one owner.

use super::BgzfSpan;
use crate::{Error, storage::Identity};

/// The span parameter's name.
pub const PARAMETER: &str = "span";

/// The version parameter's name.
pub const VERSION: &str = "v";

/// `data_url` with the version `identity` names: `DATA_URL?v=TAG` ([`Identity::tag`]).
///
/// # Examples
///
/// ```
/// use htsget_core::{span::url, storage::Identity};
/// let identity = Identity::new("etag:\"1\"");
/// let link = url::with_version("http://h/data/x.bam", &identity);
/// assert_eq!(url::version_of(link.split_once('?').map(|(_, q)| q)), Some(&identity.tag()[..]));
/// ```
pub fn with_version(data_url: &str, identity: &Identity) -> String {
    let separator = if data_url.contains('?') { '&' } else { '?' };
    format!("{data_url}{separator}{VERSION}={}", identity.tag())
}

/// The version tag a data URL's query string carries, if any.
pub fn version_of(query: Option<&str>) -> Option<&str> {
    query?
        .split('&')
        .find_map(|pair| pair.strip_prefix(VERSION)?.strip_prefix('='))
}

/// `data_url` with `span` as its query: `DATA_URL?span=START-END`, the two raw virtual
/// positions.
///
/// # Examples
///
/// ```
/// use htsget_core::{BgzfSpan, span::url};
/// use noodles::bgzf::VirtualPosition;
///
/// let span = BgzfSpan::new(VirtualPosition::from(5), VirtualPosition::from(70_000));
/// let link = url::with_span("http://h/data/x.bam", &span);
/// assert_eq!(link, "http://h/data/x.bam?span=5-70000");
/// assert_eq!(url::span_of(Some("span=5-70000"))?, Some(span));
/// assert!(url::span_of(Some("span=9-5")).is_err());
/// assert_eq!(url::span_of(None)?, None);
/// # Ok::<_, htsget_core::Error>(())
/// ```
pub fn with_span(data_url: &str, span: &BgzfSpan) -> String {
    use std::fmt::Write as _;

    // Sized for two 20-digit positions: one allocation per URL.
    let mut url = String::with_capacity(data_url.len() + PARAMETER.len() + 44);
    let (start, end) = (u64::from(span.start()), u64::from(span.end()));
    let separator = if data_url.contains('?') { '&' } else { '?' };
    let _ = write!(url, "{data_url}{separator}{PARAMETER}={start}-{end}");
    url
}

/// The span a data URL's query string names, if it names one.
///
/// # Errors
///
/// [`Error::InvalidInput`] if the parameter is there but malformed or reversed.
pub fn span_of(query: Option<&str>) -> Result<Option<BgzfSpan>, Error> {
    let Some(value) = query
        .into_iter()
        .flat_map(|q| q.split('&'))
        .find_map(|pair| pair.strip_prefix(PARAMETER)?.strip_prefix('='))
    else {
        return Ok(None);
    };

    parse(value)
        .map(Some)
        .ok_or_else(|| Error::invalid_input(crate::error::Reason::MalformedSpan, "malformed span"))
}

fn parse(value: &str) -> Option<BgzfSpan> {
    let (start, end) = value.split_once('-')?;
    let digits = |s: &str| !s.is_empty() && s.len() <= 20 && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(start) || !digits(end) {
        return None;
    }
    let (start, end): (u64, u64) = (start.parse().ok()?, end.parse().ok()?);
    (start <= end).then(|| BgzfSpan::new(start.into(), end.into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_span_of_with_other_parameters_and_bad_values() {
        let span = span_of(Some("x=1&span=10-20&y")).unwrap().unwrap();
        assert_eq!((u64::from(span.start()), u64::from(span.end())), (10, 20));
        assert_eq!(span_of(Some("spans=1-2")).unwrap(), None);
        for bad in [
            "span=",
            "span=1",
            "span=a-b",
            "span=-1-2",
            "span=1-2-3",
            "span=99999999999999999999-1",
        ] {
            assert!(span_of(Some(bad)).is_err(), "{bad}");
        }
    }
}
