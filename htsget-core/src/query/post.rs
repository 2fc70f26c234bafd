//! Building a [`Query`] from the JSON body of a POST request.

use serde::{Deserialize, Deserializer, de::IgnoredAny};
use serde_json::{Map, Value};

use super::raw::{RawQuery, RawRegion, given};
use crate::{Endpoint, Error, Reason, query::Query};

/// A POST body as given, with the JSON types checked but nothing else.
///
/// Keys htsget does not define are ignored.
#[derive(Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Body {
    format: Option<String>,
    class: Option<String>,
    fields: Option<Vec<String>>,
    tags: Option<Vec<String>>,
    notags: Option<Vec<String>>,
    /// Objects, checked one by one by [`parse_region`].
    regions: Option<Vec<Map<String, Value>>>,
    /// Whether `referenceName` is at the top level, where POST does not allow it.
    #[serde(default, deserialize_with = "present")]
    reference_name: bool,
    /// Whether `start` is at the top level.
    #[serde(default, deserialize_with = "present")]
    start: bool,
    /// Whether `end` is at the top level.
    #[serde(default, deserialize_with = "present")]
    end: bool,
}

/// Deserializes any value, `null` included, as `true`: the key is present.
fn present<'de, D: Deserializer<'de>>(deserializer: D) -> Result<bool, D::Error> {
    IgnoredAny::deserialize(deserializer).map(|_| true)
}

impl Query {
    /// Builds a query from the JSON body of a POST request to `endpoint`.
    ///
    /// The body is a JSON object with the optional keys `format`, `class`, `fields`, `tags`,
    /// `notags` and `regions`; keys htsget does not define are ignored, and a `null` value
    /// counts as absent. An empty body (or only whitespace) asks for the whole file, as `{}`
    /// does. The rules are htsget 1.3's:
    ///
    /// * `format` and `class` as for GET ([`Query::from_get`]);
    /// * `fields` (reads only), `tags` and `notags` arrays of strings, where `tags: []` means
    ///   no tags and `tags` and `notags` do not intersect;
    /// * `regions` absent for the whole file, or a non-empty array of objects with a
    ///   `referenceName` string and optional `start` and `end` integers from 0 to 2³²−1
    ///   (0-based, half-open) with `start < end`. `*` names the unplaced unmapped reads, on the
    ///   reads endpoint only and without `start` or `end`;
    /// * `referenceName`, `start` and `end` are not allowed at the top level;
    /// * with `class: "header"`, no key but `format`.
    ///
    /// Checking that the request URL has no query parameters is up to the server.
    ///
    /// # Errors
    ///
    /// * [`Error::UnsupportedFormat`] if the format is not one of the endpoint's.
    /// * [`Error::InvalidRange`] if a region has `start >= end` (unlike GET, which allows
    ///   `start == end`).
    /// * [`Error::InvalidInput`] if the body is not a JSON object, has a value of the wrong
    ///   type, or breaks any other rule.
    ///
    /// # Examples
    ///
    /// ```
    /// use htsget_core::{Endpoint, ErrorKind, Format, query::Query};
    ///
    /// let body = br#"{"format": "bam", "regions": [
    ///     {"referenceName": "chr1"},
    ///     {"referenceName": "chr2", "start": 999, "end": 1000}
    /// ]}"#;
    /// let query = Query::from_post(Endpoint::Reads, body)?;
    /// assert_eq!(query.format(), Format::Bam);
    /// assert_eq!(query.regions().map(|regions| regions.len()), Some(2));
    ///
    /// assert!(Query::from_post(Endpoint::Reads, b"")?.regions().is_none());
    ///
    /// let e = Query::from_post(Endpoint::Reads, br#"{"regions": []}"#).unwrap_err();
    /// assert_eq!(e.kind(), ErrorKind::InvalidInput);
    /// # Ok::<_, htsget_core::Error>(())
    /// ```
    pub fn from_post(endpoint: Endpoint, body: &[u8]) -> Result<Self, Error> {
        raw(parse_body(body)?)?.validate(endpoint)
    }
}

/// The raw query of a parsed body.
fn raw(body: Body) -> Result<RawQuery, Error> {
    if let Some(name) = given([
        ("referenceName", body.reference_name),
        ("start", body.start),
        ("end", body.end),
    ])
    .first()
    {
        return Err(Error::invalid_input(
            Reason::RegionKeyAtTopLevel,
            format!("`{name}` is not allowed at the top level of a POST body: use `regions`"),
        ));
    }

    let selectors = given([
        ("regions", body.regions.is_some()),
        ("fields", body.fields.is_some()),
        ("tags", body.tags.is_some()),
        ("notags", body.notags.is_some()),
    ]);

    let regions = body.regions.map(|regions| {
        regions
            .iter()
            .enumerate()
            .map(|(i, region)| raw_region(i, region))
            .collect()
    });

    Ok(RawQuery {
        format: body.format,
        class: body.class,
        selectors,
        regions,
        fields: body.fields,
        tags: body.tags,
        notags: body.notags,
        empty_ranges: false,
        header_class: "class \"header\"",
    })
}

/// Parses the body as a JSON object; an empty body is an empty object.
fn parse_body(body: &[u8]) -> Result<Body, Error> {
    let body = body.trim_ascii();

    if body.is_empty() {
        return Ok(Body::default());
    }

    // Serde would also read a struct from a JSON array, one element per field in order.
    if !body.starts_with(b"{") {
        return Err(Error::invalid_input(
            Reason::MalformedBody,
            "the POST body must be a JSON object",
        ));
    }

    serde_json::from_slice(body)
        .map_err(|e| Error::invalid_input(Reason::MalformedBody, format!("invalid POST body: {e}")))
}

/// `regions[index]`, its values' JSON types checked.
fn raw_region(index: usize, region: &Map<String, Value>) -> RawRegion {
    let reference_name = match region.get("referenceName") {
        Some(Value::String(name)) => Ok(name.clone()),
        None | Some(Value::Null) => Err("referenceName is missing"),
        Some(_) => Err("referenceName must be a string"),
    }
    .map_err(|message| Error::invalid_input(Reason::MissingReferenceName, message));

    let position = |key: &str| match region.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(value) => value
            .as_u64()
            .and_then(|n| u32::try_from(n).ok())
            .map(Some)
            .ok_or_else(|| {
                Error::invalid_input(
                    Reason::InvalidPosition,
                    format!(
                        "{key} must be an integer from 0 to {}, not {}",
                        u32::MAX,
                        describe(value)
                    ),
                )
            }),
    };

    RawRegion {
        label: Some(format!("regions[{index}]")),
        reference_name,
        start: position("start"),
        end: position("end"),
    }
}

/// A short description of `value` for messages: a number as written, otherwise its type.
fn describe(value: &Value) -> String {
    match value {
        Value::Null => "null".into(),
        Value::Bool(_) => "a boolean".into(),
        Value::Number(n) => n.to_string(),
        Value::String(_) => "a string".into(),
        Value::Array(_) => "an array".into(),
        Value::Object(_) => "an object".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        ErrorKind, Format,
        query::{Class, Field, Fields, ReferenceName, Region, Tags},
    };

    fn reads(body: &str) -> Result<Query, Error> {
        Query::from_post(Endpoint::Reads, body.as_bytes())
    }

    fn variants(body: &str) -> Result<Query, Error> {
        Query::from_post(Endpoint::Variants, body.as_bytes())
    }

    fn kind(result: Result<Query, Error>) -> ErrorKind {
        result.unwrap_err().kind()
    }

    fn region(name: &str, start: Option<u32>, end: Option<u32>) -> Region {
        Region::new(name, start, end).unwrap()
    }

    #[test]
    fn test_from_post_with_empty_body() {
        for body in ["", " ", "\r\n\t ", "{}", " { } "] {
            assert_eq!(
                reads(body).unwrap(),
                Query::new(Endpoint::Reads, Format::Bam),
                "{body:?}"
            );
            assert_eq!(
                variants(body).unwrap(),
                Query::new(Endpoint::Variants, Format::Vcf)
            );
        }
    }

    #[test]
    fn test_from_post_with_spec_example() {
        let body = r#"{
            "format" : "bam",
            "fields" : ["QNAME", "FLAG", "RNAME", "POS", "CIGAR", "SEQ"],
            "tags" : ["RG"],
            "notags" : ["OQ"],
            "regions" : [
                { "referenceName" : "chr1" },
                { "referenceName" : "chr2", "start" : 999, "end" : 1000 },
                { "referenceName" : "chr2", "start" : 2000, "end" : 2100 }
            ]
        }"#;
        let fields = [
            Field::Qname,
            Field::Flag,
            Field::Rname,
            Field::Pos,
            Field::Cigar,
            Field::Seq,
        ];
        let expected = Query::new(Endpoint::Reads, Format::Bam)
            .with_regions(vec![
                region("chr1", None, None),
                region("chr2", Some(999), Some(1000)),
                region("chr2", Some(2000), Some(2100)),
            ])
            .with_fields(Fields::new(fields.to_vec()).unwrap())
            .with_tags(Tags::new(Some(vec!["RG".into()]), vec!["OQ".into()]).unwrap());
        assert_eq!(reads(body).unwrap(), expected);
    }

    #[test]
    fn test_from_post_with_each_format_in_any_case() {
        assert_eq!(
            reads(r#"{"format":"CRAM"}"#).unwrap().format(),
            Format::Cram
        );
        assert_eq!(reads(r#"{"format":"Bam"}"#).unwrap().format(), Format::Bam);
        assert_eq!(
            variants(r#"{"format":"bcf"}"#).unwrap().format(),
            Format::Bcf
        );
        assert_eq!(
            variants(r#"{"format":"vcf"}"#).unwrap().format(),
            Format::Vcf
        );
    }

    #[test]
    fn test_from_post_with_unsupported_format() {
        assert_eq!(
            kind(reads(r#"{"format":"SAM"}"#)),
            ErrorKind::UnsupportedFormat
        );
        assert_eq!(
            kind(reads(r#"{"format":"vcf"}"#)),
            ErrorKind::UnsupportedFormat
        );
        assert_eq!(
            kind(variants(r#"{"format":"CRAM"}"#)),
            ErrorKind::UnsupportedFormat
        );
    }

    #[test]
    fn test_from_post_with_class_header() {
        let query = reads(r#"{"class":"header","format":"cram","x":1}"#).unwrap();
        assert_eq!(
            (query.class(), query.format()),
            (Class::Header, Format::Cram)
        );
    }

    #[test]
    fn test_from_post_with_invalid_class() {
        for class in [r#""body""#, r#""HEADER""#, r#""""#, "1", r#"["header"]"#] {
            let body = format!(r#"{{"class":{class}}}"#);
            assert_eq!(kind(reads(&body)), ErrorKind::InvalidInput, "{body}");
        }
    }

    #[test]
    fn test_from_post_with_class_header_and_other_keys() {
        let others = [
            r#""regions":[{"referenceName":"chr1"}]"#,
            r#""regions":[]"#,
            r#""fields":["QNAME"]"#,
            r#""tags":[]"#,
            r#""notags":["OQ"]"#,
            r#""referenceName":"chr1""#,
        ];
        for other in others {
            let body = format!(r#"{{"class":"header",{other}}}"#);
            assert_eq!(kind(reads(&body)), ErrorKind::InvalidInput, "{body}");
        }
    }

    #[test]
    fn test_from_post_with_top_level_region_keys() {
        for key in ["referenceName", "start", "end"] {
            for value in [r#""chr1""#, "1", "null"] {
                let body = format!(r#"{{"{key}":{value}}}"#);
                let e = reads(&body).unwrap_err();
                assert_eq!(e.kind(), ErrorKind::InvalidInput, "{body}");
                assert!(e.to_string().contains(key), "{e}");
            }
        }
    }

    #[test]
    fn test_from_post_with_unknown_keys() {
        let body =
            r#"{"encryptionScheme":"c4gh","regions":[{"referenceName":"chr1","x":[1]}],"y":{}}"#;
        let query = reads(body).unwrap();
        assert_eq!(query.regions(), Some(&[region("chr1", None, None)][..]));
    }

    #[test]
    fn test_from_post_with_null_values() {
        let body = r#"{"format":null,"class":null,"fields":null,"tags":null,"notags":null,"regions":null}"#;
        assert_eq!(
            reads(body).unwrap(),
            Query::new(Endpoint::Reads, Format::Bam)
        );
        let body = r#"{"regions":[{"referenceName":"chr1","start":null,"end":null}]}"#;
        assert_eq!(
            reads(body).unwrap().regions(),
            Some(&[region("chr1", None, None)][..])
        );
    }

    #[test]
    fn test_from_post_with_malformed_json() {
        let bodies = [
            "{",
            "{\"format\":}",
            "{\"format\":\"bam\",}",
            "{} {}",
            "{'format':'bam'}",
            "\u{feff}{}",
        ];
        for body in bodies {
            assert_eq!(kind(reads(body)), ErrorKind::InvalidInput, "{body:?}");
        }
        let e = Query::from_post(Endpoint::Reads, b"{\"format\":\"\xff\"}");
        assert_eq!(kind(e), ErrorKind::InvalidInput);
    }

    #[test]
    fn test_from_post_with_non_object_body() {
        for body in ["[]", "[null,null]", "null", "\"bam\"", "1", "true"] {
            assert_eq!(kind(reads(body)), ErrorKind::InvalidInput, "{body}");
        }
    }

    #[test]
    fn test_from_post_with_duplicate_keys() {
        let e = reads(r#"{"format":"bam","format":"cram"}"#);
        assert_eq!(kind(e), ErrorKind::InvalidInput);
    }

    #[test]
    fn test_from_post_with_wrong_types() {
        let bodies = [
            r#"{"format":1}"#,
            r#"{"format":["BAM"]}"#,
            r#"{"fields":"QNAME,FLAG"}"#,
            r#"{"fields":[1]}"#,
            r#"{"tags":"RG"}"#,
            r#"{"notags":"OQ"}"#,
            r#"{"tags":[null]}"#,
            r#"{"regions":{"referenceName":"chr1"}}"#,
            r#"{"regions":"chr1"}"#,
            r#"{"regions":["chr1"]}"#,
            r#"{"regions":[["chr1",0,10]]}"#,
            r#"{"regions":[null]}"#,
            r#"{"regions":[{"referenceName":1}]}"#,
            r#"{"regions":[{"referenceName":"chr1","start":"1"}]}"#,
        ];
        for body in bodies {
            assert_eq!(kind(reads(body)), ErrorKind::InvalidInput, "{body}");
        }
    }

    #[test]
    fn test_from_post_with_invalid_positions() {
        let values = [
            "-1",
            "4294967296",
            "1e3",
            "1.5",
            "1.0",
            "18446744073709551616",
            "true",
        ];
        for name in ["start", "end"] {
            for value in values {
                let body =
                    format!(r#"{{"regions":[{{"referenceName":"chr1","{name}":{value}}}]}}"#);
                let e = reads(&body).unwrap_err();
                assert_eq!(e.kind(), ErrorKind::InvalidInput, "{body}");
                assert!(e.to_string().contains("regions[0]"), "{e}");
            }
        }
    }

    #[test]
    fn test_from_post_with_bounds_of_u32() {
        let body = r#"{"regions":[{"referenceName":"chr1","start":0,"end":4294967295}]}"#;
        let expected = region("chr1", Some(0), Some(u32::MAX));
        assert_eq!(reads(body).unwrap().regions(), Some(&[expected][..]));
    }

    #[test]
    fn test_from_post_with_only_start_or_only_end() {
        let body =
            r#"{"regions":[{"referenceName":"chr1","start":10},{"referenceName":"chr1","end":5}]}"#;
        let expected = [
            region("chr1", Some(10), None),
            region("chr1", None, Some(5)),
        ];
        assert_eq!(reads(body).unwrap().regions(), Some(&expected[..]));
    }

    #[test]
    fn test_from_post_with_empty_regions() {
        assert_eq!(kind(reads(r#"{"regions":[]}"#)), ErrorKind::InvalidInput);
        assert_eq!(kind(variants(r#"{"regions":[]}"#)), ErrorKind::InvalidInput);
    }

    #[test]
    fn test_from_post_with_region_without_reference_name() {
        for body in [
            r#"{"regions":[{}]}"#,
            r#"{"regions":[{"start":1,"end":2}]}"#,
            r#"{"regions":[{"referenceName":"chr1"},{"referencename":"chr2"}]}"#,
            r#"{"regions":[{"referenceName":null}]}"#,
        ] {
            assert_eq!(kind(reads(body)), ErrorKind::InvalidInput, "{body}");
        }
    }

    #[test]
    fn test_from_post_with_empty_reference_name() {
        assert_eq!(
            kind(reads(r#"{"regions":[{"referenceName":""}]}"#)),
            ErrorKind::InvalidInput
        );
    }

    #[test]
    fn test_from_post_with_start_not_before_end() {
        for (start, end) in [(10, 10), (11, 10), (u32::MAX, 0)] {
            let body = format!(
                r#"{{"regions":[{{"referenceName":"chr1","start":{start},"end":{end}}}]}}"#
            );
            let e = reads(&body).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidRange, "{body}");
            assert!(
                matches!(e, Error::InvalidRange { start: s, end: e } if (s, e) == (start, end))
            );
        }
        let body = r#"{"regions":[{"referenceName":"1","start":0,"end":1},{"referenceName":"1","start":5,"end":5}]}"#;
        assert_eq!(kind(variants(body)), ErrorKind::InvalidRange);
    }

    #[test]
    fn test_from_post_with_unplaced() {
        let body = r#"{"regions":[{"referenceName":"*"},{"referenceName":"chr1"}]}"#;
        let query = reads(body).unwrap();
        let regions = query.regions().unwrap();
        assert_eq!(regions[0].reference_name(), &ReferenceName::Unplaced);
        assert_eq!(
            regions[1].reference_name(),
            &ReferenceName::Name("chr1".into())
        );
    }

    #[test]
    fn test_from_post_with_unplaced_and_range() {
        for range in [r#""start":0"#, r#""end":10"#, r#""start":0,"end":10"#] {
            let body = format!(r#"{{"regions":[{{"referenceName":"*",{range}}}]}}"#);
            assert_eq!(kind(reads(&body)), ErrorKind::InvalidInput, "{body}");
        }
    }

    #[test]
    fn test_from_post_with_unplaced_and_empty_range() {
        let body = r#"{"regions":[{"referenceName":"*","start":5,"end":5}]}"#;
        assert_eq!(kind(reads(body)), ErrorKind::InvalidInput);
    }

    #[test]
    fn test_from_post_with_messages_naming_the_problem() {
        let cases = [
            (
                r#"{"regions":[{"referenceName":"chr1","start":-1}]}"#,
                "regions[0]: start",
            ),
            (
                r#"{"regions":[{"referenceName":"1"},{"referenceName":"2","end":1.5}]}"#,
                "regions[1]: end",
            ),
            (
                r#"{"regions":[{"referenceName":"1"},{}]}"#,
                "regions[1]: referenceName",
            ),
            (r#"{"format":"bam","format":"cram"}"#, "format"),
            (r#"{"fields":"QNAME"}"#, "line 1 column"),
        ];
        for (body, expected) in cases {
            let message = reads(body).unwrap_err().to_string();
            assert!(message.contains(expected), "{body}: {message}");
        }
    }

    #[test]
    fn test_from_post_with_unplaced_on_variants() {
        assert_eq!(
            kind(variants(r#"{"regions":[{"referenceName":"*"}]}"#)),
            ErrorKind::InvalidInput
        );
    }

    #[test]
    fn test_from_post_with_fields() {
        let query = reads(r#"{"fields":["SEQ","QUAL"]}"#).unwrap();
        assert_eq!(
            query.fields().selection(),
            Some(&[Field::Seq, Field::Qual][..])
        );
    }

    #[test]
    fn test_from_post_with_invalid_fields() {
        for fields in [r#"["qname"]"#, r#"["QNAME,FLAG"]"#, r#"[""]"#, "[]"] {
            let body = format!(r#"{{"fields":{fields}}}"#);
            assert_eq!(kind(reads(&body)), ErrorKind::InvalidInput, "{body}");
        }
    }

    #[test]
    fn test_from_post_with_fields_on_variants() {
        assert_eq!(
            kind(variants(r#"{"fields":["QNAME"]}"#)),
            ErrorKind::InvalidInput
        );
    }

    #[test]
    fn test_from_post_with_empty_tags() {
        let query = reads(r#"{"tags":[]}"#).unwrap();
        assert_eq!(query.tags().tags(), Some(&[][..]));
        assert!(!query.tags().includes("RG"));
        assert!(reads(r#"{"notags":[]}"#).unwrap().tags().is_all());
    }

    #[test]
    fn test_from_post_with_intersecting_tags() {
        let e = reads(r#"{"tags":["RG","NM"],"notags":["NM"]}"#);
        assert_eq!(kind(e), ErrorKind::InvalidInput);
    }

    #[test]
    fn test_from_post_with_invalid_tags() {
        for tags in [r#"["RGX"]"#, r#"["RG,NM"]"#, r#"[""]"#] {
            assert_eq!(
                kind(reads(&format!(r#"{{"tags":{tags}}}"#))),
                ErrorKind::InvalidInput
            );
            assert_eq!(
                kind(reads(&format!(r#"{{"notags":{tags}}}"#))),
                ErrorKind::InvalidInput
            );
        }
    }

    #[test]
    fn test_from_post_with_reasons() {
        let cases = [
            ("[]", Reason::MalformedBody),
            (r#"{"fields":"QNAME"}"#, Reason::MalformedBody),
            (r#"{"referenceName":"1"}"#, Reason::RegionKeyAtTopLevel),
            (r#"{"regions":[]}"#, Reason::EmptyRegions),
            (r#"{"regions":[{}]}"#, Reason::MissingReferenceName),
            (
                r#"{"regions":[{"referenceName":1}]}"#,
                Reason::MissingReferenceName,
            ),
            (
                r#"{"regions":[{"referenceName":"1","end":-1}]}"#,
                Reason::InvalidPosition,
            ),
            (
                r#"{"regions":[{"referenceName":"*","end":1}]}"#,
                Reason::PositionWithUnplaced,
            ),
            (
                r#"{"class":"header","tags":[]}"#,
                Reason::NotWithHeaderClass,
            ),
            (r#"{"class":"all"}"#, Reason::UnknownClass),
            (r#"{"fields":[]}"#, Reason::NoFields),
        ];
        for (body, reason) in cases {
            let e = reads(body).unwrap_err();
            assert_eq!(e.reason(), Some(reason), "{body}: {e}");
        }
        let e = variants(r#"{"regions":[{"referenceName":"*"}]}"#).unwrap_err();
        assert_eq!(e.reason(), Some(Reason::ReadsOnly));
        // A reversed range is its own kind of error, with no input rule.
        let e = reads(r#"{"regions":[{"referenceName":"1","start":5,"end":5}]}"#).unwrap_err();
        assert_eq!((e.kind(), e.reason()), (ErrorKind::InvalidRange, None));
    }
}
