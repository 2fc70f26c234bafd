//! Building a [`Query`] from the parameters of a GET request.

use super::raw::{RawQuery, RawRegion, given};
use crate::{Endpoint, Error, Reason, query::Query};

impl Query {
    /// Builds a query from the parameters of a GET request to `endpoint`.
    ///
    /// `params` are the query string's key/value pairs, already percent-decoded. Parameter
    /// names are case-sensitive (`referenceName`); parameters htsget does not define are
    /// ignored, so that clients may send extensions. The rules are htsget 1.3's:
    ///
    /// * `format` in any case, defaulting to the endpoint's ([`Endpoint::default_format`]);
    /// * `class` only `header`, and then with no parameter but `format`;
    /// * `referenceName`, with `*` (unplaced unmapped reads) on the reads endpoint only;
    /// * `start` and `end` decimal integers from 0 to 2³²−1, 0-based and half-open, only with
    ///   a `referenceName` other than `*`, and `start <= end` (`start == end` is an empty
    ///   range). Without `referenceName` the query is for the whole file;
    /// * `fields` a comma-separated list of field names, on the reads endpoint only;
    /// * `tags` and `notags` comma-separated tag lists that do not intersect; `tags=` (empty)
    ///   means no tags.
    ///
    /// # Errors
    ///
    /// * [`Error::UnsupportedFormat`] if the format is not one of the endpoint's.
    /// * [`Error::InvalidRange`] if `start > end`.
    /// * [`Error::InvalidInput`] for any other broken rule, or a parameter given twice.
    ///
    /// # Examples
    ///
    /// ```
    /// use htsget_core::{Endpoint, ErrorKind, Format, query::Query};
    ///
    /// let params = [("format", "cram"), ("referenceName", "chr1"), ("start", "999"), ("end", "2000")];
    /// let query = Query::from_get(Endpoint::Reads, params)?;
    /// assert_eq!(query.format(), Format::Cram);
    /// let region = &query.regions().unwrap()[0];
    /// assert_eq!(region.reference_name().as_str(), "chr1");
    /// assert_eq!((region.interval().start(), region.interval().end()), (Some(999), Some(2000)));
    ///
    /// let e = Query::from_get(Endpoint::Variants, [("start", "-1")]).unwrap_err();
    /// assert_eq!(e.kind(), ErrorKind::InvalidInput);
    /// # Ok::<_, htsget_core::Error>(())
    /// ```
    pub fn from_get<I, K, V>(endpoint: Endpoint, params: I) -> Result<Self, Error>
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<str>,
        V: AsRef<str>,
    {
        raw(params)?.validate(endpoint)
    }
}

/// The htsget parameters of a GET request, as given.
#[derive(Default)]
struct Params {
    format: Option<String>,
    class: Option<String>,
    reference_name: Option<String>,
    start: Option<String>,
    end: Option<String>,
    fields: Option<String>,
    tags: Option<String>,
    notags: Option<String>,
}

/// Sorts `params` into the htsget parameters, ignoring the others, and reads their syntax.
fn raw<I, K, V>(params: I) -> Result<RawQuery, Error>
where
    I: IntoIterator<Item = (K, V)>,
    K: AsRef<str>,
    V: AsRef<str>,
{
    let mut found = Params::default();

    for (key, value) in params {
        let key = key.as_ref();

        let slot = match key {
            "format" => &mut found.format,
            "class" => &mut found.class,
            "referenceName" => &mut found.reference_name,
            "start" => &mut found.start,
            "end" => &mut found.end,
            "fields" => &mut found.fields,
            "tags" => &mut found.tags,
            "notags" => &mut found.notags,
            // Extensions such as htsget-rs' `encryptionScheme` pass through.
            _ => continue,
        };

        if slot.replace(value.as_ref().to_owned()).is_some() {
            return Err(Error::invalid_input(
                Reason::DuplicateParameter,
                format!("the parameter `{key}` is given more than once"),
            ));
        }
    }

    let selectors = given([
        ("referenceName", found.reference_name.is_some()),
        ("start", found.start.is_some()),
        ("end", found.end.is_some()),
        ("fields", found.fields.is_some()),
        ("tags", found.tags.is_some()),
        ("notags", found.notags.is_some()),
    ]);

    let (start, end) = (
        found
            .start
            .as_deref()
            .map(|s| position("start", s))
            .transpose(),
        found.end.as_deref().map(|s| position("end", s)).transpose(),
    );

    let positions = found.start.is_some() || found.end.is_some();
    let regions = match found.reference_name {
        Some(name) => Some(Ok(name)),
        None if positions => Some(Err(Error::invalid_input(
            Reason::PositionWithoutReference,
            "start and end cannot be given without referenceName",
        ))),
        None => None,
    }
    .map(|reference_name| {
        vec![RawRegion {
            label: None,
            reference_name,
            start,
            end,
        }]
    });

    Ok(RawQuery {
        format: found.format,
        class: found.class,
        selectors,
        regions,
        fields: found
            .fields
            .map(|f| f.split(',').map(str::to_owned).collect()),
        tags: found.tags.as_deref().map(tag_list),
        notags: found.notags.as_deref().map(tag_list),
        empty_ranges: true,
        header_class: "class=header",
    })
}

/// Parses a `start` or `end` value: a decimal integer from 0 to 2³²−1, digits only.
fn position(name: &str, value: &str) -> Result<u32, Error> {
    // `u32::from_str` also takes a leading `+`, which htsget does not.
    value
        .bytes()
        .all(|b| b.is_ascii_digit())
        .then(|| value.parse().ok())
        .flatten()
        .ok_or_else(|| {
            Error::invalid_input(
                Reason::InvalidPosition,
                format!(
                    "invalid {name} `{value}`: expected an integer from 0 to {}",
                    u32::MAX
                ),
            )
        })
}

/// A comma-separated tag list; the empty string is the empty list.
fn tag_list(list: &str) -> Vec<String> {
    if list.is_empty() {
        Vec::new()
    } else {
        list.split(',').map(str::to_owned).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        ErrorKind, Format,
        query::{Class, Field, Fields, ReferenceName, Region, Tags},
    };

    fn reads(params: &[(&str, &str)]) -> Result<Query, Error> {
        Query::from_get(Endpoint::Reads, params.iter().copied())
    }

    fn variants(params: &[(&str, &str)]) -> Result<Query, Error> {
        Query::from_get(Endpoint::Variants, params.iter().copied())
    }

    fn kind(result: Result<Query, Error>) -> ErrorKind {
        result.unwrap_err().kind()
    }

    fn only_region(query: &Query) -> &Region {
        match query.regions() {
            Some([region]) => region,
            regions => panic!("expected one region, got {regions:?}"),
        }
    }

    #[test]
    fn test_from_get_with_no_params() {
        let query = reads(&[]).unwrap();
        assert_eq!(query, Query::new(Endpoint::Reads, Format::Bam));
        assert_eq!(query.class(), Class::Full);
        assert!(query.regions().is_none());
        assert!(query.fields().is_all() && query.tags().is_all());
        assert_eq!(variants(&[]).unwrap().format(), Format::Vcf);
    }

    #[test]
    fn test_from_get_with_each_format_in_any_case() {
        for (value, format) in [
            ("BAM", Format::Bam),
            ("bam", Format::Bam),
            ("Cram", Format::Cram),
        ] {
            assert_eq!(reads(&[("format", value)]).unwrap().format(), format);
        }
        for (value, format) in [
            ("VCF", Format::Vcf),
            ("vcf", Format::Vcf),
            ("bCf", Format::Bcf),
        ] {
            assert_eq!(variants(&[("format", value)]).unwrap().format(), format);
        }
    }

    #[test]
    fn test_from_get_with_unsupported_format() {
        for value in ["SAM", "", "BAM "] {
            assert_eq!(
                kind(reads(&[("format", value)])),
                ErrorKind::UnsupportedFormat
            );
        }
        assert_eq!(
            kind(reads(&[("format", "VCF")])),
            ErrorKind::UnsupportedFormat
        );
        assert_eq!(
            kind(variants(&[("format", "bam")])),
            ErrorKind::UnsupportedFormat
        );
        assert_eq!(
            kind(variants(&[("format", "CRAM")])),
            ErrorKind::UnsupportedFormat
        );
    }

    #[test]
    fn test_from_get_with_class_header() {
        let query = reads(&[("class", "header")]).unwrap();
        assert_eq!(query.class(), Class::Header);
        let query = variants(&[("class", "header"), ("format", "bcf")]).unwrap();
        assert_eq!(
            (query.class(), query.format()),
            (Class::Header, Format::Bcf)
        );
        let query = reads(&[("class", "header"), ("encryptionScheme", "c4gh")]).unwrap();
        assert_eq!(query.class(), Class::Header);
    }

    #[test]
    fn test_from_get_with_invalid_class() {
        for value in ["body", "HEADER", "Header", "", "header "] {
            assert_eq!(
                kind(reads(&[("class", value)])),
                ErrorKind::InvalidInput,
                "{value:?}"
            );
        }
    }

    #[test]
    fn test_from_get_with_class_header_and_other_params() {
        let others = [
            ("referenceName", "chr1"),
            ("referenceName", "*"),
            ("start", "1"),
            ("end", "2"),
            ("fields", "QNAME"),
            ("tags", "RG"),
            ("tags", ""),
            ("notags", "OQ"),
        ];
        for other in others {
            let e = reads(&[("class", "header"), other]).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidInput, "{other:?}");
            assert!(e.to_string().contains(other.0), "{e}");
        }
        let e = variants(&[("referenceName", "chr1"), ("class", "header")]);
        assert_eq!(kind(e), ErrorKind::InvalidInput);
    }

    #[test]
    fn test_from_get_with_reference_name_only() {
        let query = reads(&[("referenceName", "chr1")]).unwrap();
        let region = only_region(&query);
        assert_eq!(region.reference_name(), &ReferenceName::Name("chr1".into()));
        assert!(region.interval().is_full());
    }

    #[test]
    fn test_from_get_with_reference_name_and_range() {
        let query = variants(&[("referenceName", "1"), ("start", "999"), ("end", "2000")]).unwrap();
        let interval = only_region(&query).interval();
        assert_eq!((interval.start(), interval.end()), (Some(999), Some(2000)));
    }

    #[test]
    fn test_from_get_with_only_start_or_only_end() {
        let query = reads(&[("referenceName", "chr1"), ("start", "10")]).unwrap();
        let interval = only_region(&query).interval();
        assert_eq!((interval.start(), interval.end()), (Some(10), None));
        let query = reads(&[("end", "10"), ("referenceName", "chr1")]).unwrap();
        let interval = only_region(&query).interval();
        assert_eq!((interval.start(), interval.end()), (None, Some(10)));
    }

    #[test]
    fn test_from_get_with_bounds_of_u32() {
        let params = [
            ("referenceName", "chr1"),
            ("start", "0"),
            ("end", "4294967295"),
        ];
        let interval = *only_region(&reads(&params).unwrap()).interval();
        assert_eq!(
            (interval.start(), interval.end()),
            (Some(0), Some(u32::MAX))
        );
        let query = reads(&[("referenceName", "chr1"), ("start", "007")]).unwrap();
        assert_eq!(only_region(&query).interval().start(), Some(7));
    }

    #[test]
    fn test_from_get_with_invalid_positions() {
        let values = [
            "4294967296",
            "99999999999999999999",
            "-1",
            "-0",
            "+1",
            "1.5",
            "1e3",
            "0x10",
            "",
            " 1",
            "1 ",
            "one",
            "١",
        ];
        for name in ["start", "end"] {
            for value in values {
                let e = reads(&[("referenceName", "chr1"), (name, value)]).unwrap_err();
                assert_eq!(e.kind(), ErrorKind::InvalidInput, "{name}={value:?}");
            }
        }
    }

    #[test]
    fn test_from_get_with_start_after_end() {
        let e = reads(&[("referenceName", "chr1"), ("start", "20"), ("end", "10")]).unwrap_err();
        assert!(matches!(e, Error::InvalidRange { start: 20, end: 10 }));
        let e = variants(&[("referenceName", "chr1"), ("start", "1"), ("end", "0")]);
        assert_eq!(kind(e), ErrorKind::InvalidRange);
    }

    #[test]
    fn test_from_get_with_start_equal_to_end() {
        let query = reads(&[("referenceName", "chr1"), ("start", "10"), ("end", "10")]).unwrap();
        assert!(only_region(&query).interval().is_empty());
    }

    #[test]
    fn test_from_get_with_range_but_no_reference_name() {
        for params in [
            &[("start", "1")][..],
            &[("end", "1")],
            &[("start", "1"), ("end", "2")],
        ] {
            assert_eq!(kind(reads(params)), ErrorKind::InvalidInput, "{params:?}");
            assert_eq!(
                kind(variants(params)),
                ErrorKind::InvalidInput,
                "{params:?}"
            );
        }
    }

    #[test]
    fn test_from_get_with_unplaced() {
        let query = reads(&[("referenceName", "*")]).unwrap();
        assert_eq!(only_region(&query), &Region::unplaced());
    }

    #[test]
    fn test_from_get_with_unplaced_and_range() {
        for range in [
            &[("start", "0")][..],
            &[("end", "10")],
            &[("start", "0"), ("end", "10")],
        ] {
            let mut params = vec![("referenceName", "*")];
            params.extend_from_slice(range);
            assert_eq!(kind(reads(&params)), ErrorKind::InvalidInput, "{params:?}");
        }
    }

    #[test]
    fn test_from_get_with_unplaced_on_variants() {
        assert_eq!(
            kind(variants(&[("referenceName", "*")])),
            ErrorKind::InvalidInput
        );
    }

    #[test]
    fn test_from_get_with_empty_reference_name() {
        assert_eq!(
            kind(reads(&[("referenceName", "")])),
            ErrorKind::InvalidInput
        );
    }

    #[test]
    fn test_from_get_with_fields() {
        let query = reads(&[("fields", "QNAME,FLAG,POS")]).unwrap();
        let expected = [Field::Qname, Field::Flag, Field::Pos];
        assert_eq!(query.fields().selection(), Some(&expected[..]));
    }

    #[test]
    fn test_from_get_with_invalid_fields() {
        for value in [
            "",
            "qname",
            "QNAME,",
            ",QNAME",
            "QNAME,,FLAG",
            "QNAME, FLAG",
            "NAME",
        ] {
            assert_eq!(
                kind(reads(&[("fields", value)])),
                ErrorKind::InvalidInput,
                "{value:?}"
            );
        }
    }

    #[test]
    fn test_from_get_with_fields_on_variants() {
        assert_eq!(
            kind(variants(&[("fields", "QNAME")])),
            ErrorKind::InvalidInput
        );
    }

    #[test]
    fn test_from_get_with_tags_and_notags() {
        let query = reads(&[("tags", "RG,NM"), ("notags", "OQ")]).unwrap();
        let tags = query.tags();
        assert_eq!(tags.tags(), Some(&["RG".to_owned(), "NM".to_owned()][..]));
        assert_eq!(tags.notags(), &["OQ".to_owned()][..]);
        let query = reads(&[("notags", "OQ,XA")]).unwrap();
        assert_eq!(query.tags().tags(), None);
        assert!(!query.tags().includes("XA") && query.tags().includes("RG"));
    }

    #[test]
    fn test_from_get_with_empty_tags() {
        let query = reads(&[("tags", "")]).unwrap();
        assert_eq!(query.tags().tags(), Some(&[][..]));
        assert!(!query.tags().includes("RG"));
        let query = reads(&[("notags", "")]).unwrap();
        assert!(query.tags().is_all());
    }

    #[test]
    fn test_from_get_with_tags_on_variants() {
        let query = variants(&[("tags", "RG")]).unwrap();
        assert_eq!(query.tags().tags(), Some(&["RG".to_owned()][..]));
    }

    #[test]
    fn test_from_get_with_intersecting_tags() {
        let e = reads(&[("tags", "RG,NM"), ("notags", "NM")]);
        assert_eq!(kind(e), ErrorKind::InvalidInput);
    }

    #[test]
    fn test_from_get_with_invalid_tags() {
        for value in ["RG,", ",RG", "RG,,NM", "RGX", "R", "RG, NM"] {
            assert_eq!(
                kind(reads(&[("tags", value)])),
                ErrorKind::InvalidInput,
                "{value:?}"
            );
            assert_eq!(
                kind(reads(&[("notags", value)])),
                ErrorKind::InvalidInput,
                "{value:?}"
            );
        }
    }

    #[test]
    fn test_from_get_with_duplicate_params() {
        for name in crate::query::GET_PARAMETERS {
            let e = reads(&[(name, "x"), (name, "x")]).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidInput, "{name}");
            assert!(e.to_string().contains(name), "{e}");
        }
        let e = reads(&[
            ("format", "BAM"),
            ("referenceName", "chr1"),
            ("format", "BAM"),
        ]);
        assert_eq!(kind(e), ErrorKind::InvalidInput);
    }

    #[test]
    fn test_from_get_with_unknown_params() {
        let params = [
            ("encryptionScheme", "c4gh"),
            ("encryptionScheme", "c4gh"),
            ("referenceMD5", "x"),
            ("Format", "SAM"),
            ("", ""),
        ];
        assert_eq!(
            reads(&params).unwrap(),
            Query::new(Endpoint::Reads, Format::Bam)
        );
    }

    #[test]
    fn test_from_get_with_owned_params() {
        let params = vec![("referenceName".to_owned(), "chr1".to_owned())];
        let query = Query::from_get(Endpoint::Reads, params).unwrap();
        assert_eq!(only_region(&query).reference_name().as_str(), "chr1");
    }

    #[test]
    fn test_from_get_with_everything() {
        let params = [
            ("format", "bam"),
            ("referenceName", "chr2"),
            ("start", "999"),
            ("end", "1000"),
            ("fields", "QNAME,SEQ"),
            ("tags", "RG"),
            ("notags", "OQ"),
        ];
        let expected = Query::new(Endpoint::Reads, Format::Bam)
            .with_region(Region::new("chr2", Some(999), Some(1000)).unwrap())
            .with_fields(Fields::new(vec![Field::Qname, Field::Seq]).unwrap())
            .with_tags(Tags::new(Some(vec!["RG".into()]), vec!["OQ".into()]).unwrap());
        assert_eq!(reads(&params).unwrap(), expected);
    }

    #[test]
    fn test_from_get_with_reasons() {
        let cases: &[(&[(&str, &str)], Reason)] = &[
            (
                &[("format", "BAM"), ("format", "BAM")],
                Reason::DuplicateParameter,
            ),
            (&[("class", "body")], Reason::UnknownClass),
            (
                &[("class", "header"), ("referenceName", "1")],
                Reason::NotWithHeaderClass,
            ),
            (
                &[("referenceName", "1"), ("start", "+1")],
                Reason::InvalidPosition,
            ),
            (&[("end", "5")], Reason::PositionWithoutReference),
            (
                &[("referenceName", "*"), ("start", "1")],
                Reason::PositionWithUnplaced,
            ),
            (&[("referenceName", "")], Reason::EmptyReferenceName),
            (&[("fields", "QNAME,nope")], Reason::UnknownField),
            (&[("tags", "R")], Reason::InvalidTag),
            (&[("tags", "RG"), ("notags", "RG")], Reason::TagInBothLists),
        ];
        for (params, reason) in cases {
            let e = reads(params).unwrap_err();
            assert_eq!(e.reason(), Some(*reason), "{params:?}: {e}");
        }
        let e = variants(&[("fields", "QNAME")]).unwrap_err();
        assert_eq!(e.reason(), Some(Reason::ReadsOnly));
        let e = variants(&[("referenceName", "*")]).unwrap_err();
        assert_eq!(e.reason(), Some(Reason::ReadsOnly));
    }
}
