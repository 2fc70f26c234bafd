//! The htsget ticket: the JSON answer that lists the blocks of a plan as URLs.

use std::{borrow::Cow, collections::BTreeMap};

use base64::{Engine as _, engine::general_purpose::STANDARD};
use serde::Serialize;

use crate::{Content, Format, Plan, Section, Span};

/// The largest file range one ticket URL covers; longer ranges are split so that a client's
/// retry of one URL stays cheap (the spec asks for blocks of at most about 1 GB).
pub const MAX_URL_RANGE: u64 = 1 << 30;

/// Where one part of a ticket is fetched from.
#[derive(Clone, Debug, Eq, PartialEq)]
pub enum Location<'a> {
    /// A URL, with the headers the client must send.
    Url {
        /// The URL.
        url: String,
        /// The headers (`Range`, and any the URL's signature covers).
        headers: BTreeMap<String, String>,
    },
    /// Bytes carried in the ticket as a `data:` URI: the plan's own, or made for the ticket.
    Inline(Cow<'a, [u8]>),
}

/// One URL of a ticket.
#[derive(Clone, Debug, Eq, PartialEq, Serialize)]
pub struct TicketUrl {
    url: String,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    headers: BTreeMap<String, String>,
    class: &'static str,
}

impl TicketUrl {
    /// The URL: an absolute `http(s)` URL or an inline `data:;base64,` URI.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The headers the client must send with the URL (`Range`, and any given to the ticket).
    pub fn headers(&self) -> &BTreeMap<String, String> {
        &self.headers
    }

    /// `header` or `body`.
    pub fn class(&self) -> &str {
        self.class
    }
}

#[derive(Clone, Debug, Eq, PartialEq, Serialize)]
struct Body {
    format: &'static str,
    urls: Vec<TicketUrl>,
    #[serde(skip_serializing_if = "Option::is_none")]
    md5: Option<String>,
}

/// A ticket: `{"htsget":{"format":..,"urls":[{"url","headers","class"}]}}`, nothing else.
#[derive(Clone, Debug, Eq, PartialEq, Serialize)]
pub struct Ticket {
    htsget: Body,
}

impl Ticket {
    /// The ticket for `plan`: each byte range becomes `data_url` with a `Range` header (plus
    /// `headers`, e.g. a short-lived `Authorization`), each inline part a `data:;base64,` URI,
    /// and each BGZF span `data_url?span=START-END` (with `headers`; [`crate::BgzfSpan`]'s `FromStr` reads it back),
    /// which the data endpoint answers with [`crate::load::span_contents`].
    ///
    /// # Examples
    ///
    /// ```
    /// use std::collections::BTreeMap;
    /// use htsget_core::{ByteRange, Content, Format, Plan, Section, Span, Ticket};
    ///
    /// let mut plan = Plan::new();
    /// plan.push(Section::Header, Content::Span(Span::Bytes(ByteRange::new(0, 100))));
    /// plan.push(Section::Body, Content::Inline(b"EOF".to_vec()));
    ///
    /// let ticket = Ticket::new(&plan, Format::Bam, "https://example.org/data/x.bam", &BTreeMap::new());
    /// assert_eq!(
    ///     ticket.to_json(),
    ///     r#"{"htsget":{"format":"BAM","urls":[{"url":"https://example.org/data/x.bam","headers":{"Range":"bytes=0-99"},"class":"header"},{"url":"data:;base64,RU9G","class":"body"}]}}"#
    /// );
    /// ```
    pub fn new(
        plan: &Plan,
        format: Format,
        data_url: &str,
        headers: &BTreeMap<String, String>,
    ) -> Self {
        let mut urls = Vec::with_capacity(plan.parts().len());

        for part in plan.parts() {
            match part.content() {
                Content::Inline(data) => {
                    urls.push((part.section(), Location::Inline(Cow::Borrowed(data))));
                }
                Content::Span(Span::Bgzf(span)) => {
                    let separator = if data_url.contains('?') { '&' } else { '?' };
                    let url = format!("{data_url}{separator}span={span}");
                    let headers = headers.clone();
                    urls.push((part.section(), Location::Url { url, headers }));
                }
                Content::Span(Span::Bytes(range)) => {
                    for piece in range.chunks(MAX_URL_RANGE) {
                        let mut headers = headers.clone();
                        headers.insert("Range".to_owned(), piece.to_string());
                        let url = data_url.to_owned();
                        urls.push((part.section(), Location::Url { url, headers }));
                    }
                }
            }
        }

        Self::from_locations(format, urls)
    }

    /// The ticket listing `locations` in order, for callers that place each part themselves
    /// (presigned store URLs, say).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::collections::BTreeMap;
    /// use std::borrow::Cow;
    /// use htsget_core::{Format, Location, Section, Ticket};
    ///
    /// let ticket = Ticket::from_locations(Format::Vcf, [
    ///     (Section::Header, Location::Url { url: "https://s3/x?sig".into(), headers: BTreeMap::new() }),
    ///     (Section::Body, Location::Inline(Cow::Borrowed(b"EOF"))),
    /// ]);
    /// assert_eq!(ticket.urls()[1].url(), "data:;base64,RU9G");
    /// ```
    pub fn from_locations<'a>(
        format: Format,
        locations: impl IntoIterator<Item = (Section, Location<'a>)>,
    ) -> Self {
        let urls = locations
            .into_iter()
            .map(|(section, location)| {
                let class = section.as_str();
                match location {
                    Location::Inline(data) => TicketUrl {
                        url: data_uri(&data),
                        headers: BTreeMap::new(),
                        class,
                    },
                    Location::Url { url, headers } => TicketUrl {
                        url,
                        headers,
                        class,
                    },
                }
            })
            .collect();

        Self {
            htsget: Body {
                format: format.as_str(),
                urls,
                md5: None,
            },
        }
    }

    /// The URLs, in payload order.
    pub fn urls(&self) -> &[TicketUrl] {
        &self.htsget.urls
    }

    /// The ticket as compact JSON; it starts with `{"htsget":`, as htslib requires.
    pub fn to_json(&self) -> String {
        // Sized up front: growing the buffer was a tenth of a warm ticket's cost.
        let estimate: usize = self
            .urls()
            .iter()
            .map(|u| {
                48 + u.url.len()
                    + u.headers
                        .iter()
                        .map(|(k, v)| k.len() + v.len() + 6)
                        .sum::<usize>()
            })
            .sum();
        let mut out = Vec::with_capacity(64 + estimate);
        serde_json::to_writer(&mut out, self).expect("a ticket always serializes");
        String::from_utf8(out).expect("JSON is UTF-8")
    }

    /// The number of URLs of `section`.
    pub fn count(&self, section: Section) -> usize {
        self.urls()
            .iter()
            .filter(|u| u.class == section.as_str())
            .count()
    }
}

/// `data` as a `data:;base64,` URI, built in one allocation.
fn data_uri(data: &[u8]) -> String {
    const PREFIX: &str = "data:;base64,";
    let mut uri = String::with_capacity(PREFIX.len() + data.len().div_ceil(3) * 4);
    uri.push_str(PREFIX);
    STANDARD.encode_string(data, &mut uri);
    uri
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ByteRange;

    #[test]
    fn test_new_with_range_over_the_url_limit() {
        let mut plan = Plan::new();
        plan.push(
            Section::Body,
            Content::Span(Span::Bytes(ByteRange::new(5, 5 + 2 * MAX_URL_RANGE + 1))),
        );
        let auth = BTreeMap::from([("Authorization".to_owned(), "Bearer t".to_owned())]);
        let ticket = Ticket::new(&plan, Format::Cram, "http://h/d", &auth);

        let ranges: Vec<&str> = ticket
            .urls()
            .iter()
            .map(|u| u.headers()["Range"].as_str())
            .collect();
        assert_eq!(
            ranges,
            [
                "bytes=5-1073741828",
                "bytes=1073741829-2147483652",
                "bytes=2147483653-2147483653"
            ]
        );
        assert!(
            ticket
                .urls()
                .iter()
                .all(|u| u.headers()["Authorization"] == "Bearer t")
        );
        assert_eq!(ticket.count(Section::Body), 3);
    }
}
