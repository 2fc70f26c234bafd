//! The `fields`, `tags` and `notags` selections of a reads query.
//!
//! They are hints: a server may return more than was asked, never less. Both are
//! independent of how they were spelled (GET comma lists or POST arrays).

use std::{fmt, str::FromStr};

use crate::{Error, Reason};

/// A BAM record field that `fields` can name (htsget "Field filtering").
#[derive(Clone, Copy, Debug, Eq, Hash, Ord, PartialEq, PartialOrd)]
pub enum Field {
    /// `QNAME`: the read name.
    Qname,
    /// `FLAG`: the bit flags.
    Flag,
    /// `RNAME`: the reference sequence name.
    Rname,
    /// `POS`: the alignment position.
    Pos,
    /// `MAPQ`: the mapping quality.
    Mapq,
    /// `CIGAR`: the CIGAR string.
    Cigar,
    /// `RNEXT`: the reference sequence name of the next segment.
    Rnext,
    /// `PNEXT`: the position of the next segment.
    Pnext,
    /// `TLEN`: the observed template length.
    Tlen,
    /// `SEQ`: the read bases.
    Seq,
    /// `QUAL`: the base qualities.
    Qual,
}

impl Field {
    /// Every field, in SAM column order.
    pub const ALL: [Self; 11] = [
        Self::Qname,
        Self::Flag,
        Self::Rname,
        Self::Pos,
        Self::Mapq,
        Self::Cigar,
        Self::Rnext,
        Self::Pnext,
        Self::Tlen,
        Self::Seq,
        Self::Qual,
    ];

    /// The name as htsget and SAM spell it, e.g. `QNAME`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Qname => "QNAME",
            Self::Flag => "FLAG",
            Self::Rname => "RNAME",
            Self::Pos => "POS",
            Self::Mapq => "MAPQ",
            Self::Cigar => "CIGAR",
            Self::Rnext => "RNEXT",
            Self::Pnext => "PNEXT",
            Self::Tlen => "TLEN",
            Self::Seq => "SEQ",
            Self::Qual => "QUAL",
        }
    }
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Field {
    type Err = Error;

    /// Parses a field name, case-sensitively (`QNAME`, not `qname`).
    ///
    /// # Examples
    ///
    /// ```
    /// use htsget_core::{ErrorKind, query::Field};
    /// assert_eq!("QNAME".parse::<Field>()?, Field::Qname);
    /// let e = "qname".parse::<Field>().unwrap_err();
    /// assert_eq!(e.kind(), ErrorKind::InvalidInput);
    /// # Ok::<_, htsget_core::Error>(())
    /// ```
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|field| field.as_str() == s)
            .ok_or_else(|| {
                Error::invalid_input(
                    Reason::UnknownField,
                    format!("unknown field `{s}` in fields"),
                )
            })
    }
}

/// The `fields` selection: all fields (the default) or the listed ones.
#[derive(Clone, Debug, Default, Eq, Hash, PartialEq)]
pub struct Fields(Option<Vec<Field>>);

impl Fields {
    /// All fields: no `fields` parameter.
    pub fn all() -> Self {
        Self(None)
    }

    /// The listed fields, in the order given, without repeats.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidInput`] if `fields` is empty.
    ///
    /// # Examples
    ///
    /// ```
    /// use htsget_core::query::{Field, Fields};
    /// let fields = Fields::new(vec![Field::Qname, Field::Pos, Field::Qname])?;
    /// assert_eq!(fields.selection(), Some(&[Field::Qname, Field::Pos][..]));
    /// assert!(fields.contains(Field::Pos) && !fields.contains(Field::Seq));
    /// # Ok::<_, htsget_core::Error>(())
    /// ```
    pub fn new(fields: Vec<Field>) -> Result<Self, Error> {
        if fields.is_empty() {
            return Err(Error::invalid_input(
                Reason::NoFields,
                "fields must name at least one field",
            ));
        }

        let mut unique = Vec::with_capacity(fields.len());

        for field in fields {
            if !unique.contains(&field) {
                unique.push(field);
            }
        }

        Ok(Self(Some(unique)))
    }

    /// The listed fields; `None` means all.
    pub fn selection(&self) -> Option<&[Field]> {
        self.0.as_deref()
    }

    /// Whether all fields are asked.
    pub fn is_all(&self) -> bool {
        self.0.is_none()
    }

    /// Whether `field` is asked.
    pub fn contains(&self, field: Field) -> bool {
        self.0.as_ref().is_none_or(|fields| fields.contains(&field))
    }
}

/// The `tags` and `notags` selection of auxiliary fields.
///
/// `tags` lists the tags to include (`None`: all of them, the default; an empty list: none),
/// and `notags` the tags to exclude. The two never share a tag.
#[derive(Clone, Debug, Default, Eq, Hash, PartialEq)]
pub struct Tags {
    tags: Option<Vec<String>>,
    notags: Vec<String>,
}

impl Tags {
    /// All tags: neither `tags` nor `notags`.
    pub fn all() -> Self {
        Self::default()
    }

    /// A selection including `tags` (`None`: all, empty: none) and excluding `notags`.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidInput`] if a name is not a SAM tag (a letter, then a letter or a
    /// digit), or if `tags` and `notags` share a tag.
    ///
    /// # Examples
    ///
    /// ```
    /// use htsget_core::{ErrorKind, query::Tags};
    /// let tags = Tags::new(Some(vec!["RG".into()]), vec!["OQ".into()])?;
    /// assert!(tags.includes("RG") && !tags.includes("OQ") && !tags.includes("NM"));
    ///
    /// let none = Tags::new(Some(Vec::new()), Vec::new())?;
    /// assert!(!none.includes("RG"));
    ///
    /// let e = Tags::new(Some(vec!["RG".into()]), vec!["RG".into()]).unwrap_err();
    /// assert_eq!(e.kind(), ErrorKind::InvalidInput);
    /// # Ok::<_, htsget_core::Error>(())
    /// ```
    pub fn new(tags: Option<Vec<String>>, notags: Vec<String>) -> Result<Self, Error> {
        for tag in tags.iter().flatten().chain(&notags) {
            validate_tag(tag)?;
        }

        if let Some(tag) = tags.iter().flatten().find(|tag| notags.contains(tag)) {
            return Err(Error::invalid_input(
                Reason::TagInBothLists,
                format!("tag `{tag}` is in both tags and notags"),
            ));
        }

        Ok(Self { tags, notags })
    }

    /// The tags to include; `None` means all, an empty list none.
    pub fn tags(&self) -> Option<&[String]> {
        self.tags.as_deref()
    }

    /// The tags to exclude.
    pub fn notags(&self) -> &[String] {
        &self.notags
    }

    /// Whether all tags are asked: no `tags` list and nothing excluded.
    pub fn is_all(&self) -> bool {
        self.tags.is_none() && self.notags.is_empty()
    }

    /// Whether the tag `tag` is asked.
    pub fn includes(&self, tag: &str) -> bool {
        let included = self
            .tags
            .as_ref()
            .is_none_or(|tags| tags.iter().any(|t| t == tag));
        included && !self.notags.iter().any(|t| t == tag)
    }
}

/// Checks that `tag` is a SAM tag name: `[A-Za-z][A-Za-z0-9]`.
fn validate_tag(tag: &str) -> Result<(), Error> {
    match tag.as_bytes() {
        [first, second] if first.is_ascii_alphabetic() && second.is_ascii_alphanumeric() => Ok(()),
        _ => Err(Error::invalid_input(
            Reason::InvalidTag,
            format!("invalid tag `{tag}`: a tag is a letter followed by a letter or a digit"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;

    fn strings(tags: &[&str]) -> Vec<String> {
        tags.iter().map(|&tag| tag.to_owned()).collect()
    }

    #[test]
    fn test_from_str_with_every_field() {
        for field in Field::ALL {
            assert_eq!(field.as_str().parse::<Field>().unwrap(), field);
            assert_eq!(field.to_string(), field.as_str());
        }
    }

    #[test]
    fn test_from_str_with_unknown_names() {
        for name in ["qname", "Qname", "", " QNAME", "QNAME ", "SEQS", "RG"] {
            let e = name.parse::<Field>().unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidInput, "{name:?}");
        }
    }

    #[test]
    fn test_all_with_default() {
        assert_eq!(Fields::default(), Fields::all());
        assert!(Fields::all().is_all());
        assert_eq!(Fields::all().selection(), None);
        assert!(
            Field::ALL
                .into_iter()
                .all(|field| Fields::all().contains(field))
        );
    }

    #[test]
    fn test_new_with_fields() {
        let fields = Fields::new(vec![Field::Seq, Field::Qual, Field::Seq]).unwrap();
        assert!(!fields.is_all());
        assert_eq!(fields.selection(), Some(&[Field::Seq, Field::Qual][..]));
        assert!(!fields.contains(Field::Qname));
    }

    #[test]
    fn test_new_with_no_fields() {
        let e = Fields::new(Vec::new()).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput);
    }

    #[test]
    fn test_new_with_default_tags() {
        let tags = Tags::new(None, Vec::new()).unwrap();
        assert_eq!(tags, Tags::all());
        assert_eq!(tags, Tags::default());
        assert!(tags.is_all());
        assert!(tags.includes("RG"));
    }

    #[test]
    fn test_new_with_empty_tags() {
        let tags = Tags::new(Some(Vec::new()), Vec::new()).unwrap();
        assert_eq!(tags.tags(), Some(&[][..]));
        assert!(!tags.is_all());
        assert!(!tags.includes("RG"));
    }

    #[test]
    fn test_new_with_notags_only() {
        let tags = Tags::new(None, strings(&["OQ"])).unwrap();
        assert_eq!(tags.tags(), None);
        assert_eq!(tags.notags(), &strings(&["OQ"])[..]);
        assert!(!tags.is_all());
        assert!(tags.includes("RG"));
        assert!(!tags.includes("OQ"));
    }

    #[test]
    fn test_new_with_intersection() {
        let e = Tags::new(Some(strings(&["RG", "NM"])), strings(&["OQ", "NM"])).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput);
        assert!(e.to_string().contains("NM"), "{e}");
    }

    #[test]
    fn test_new_with_no_tags_and_notags() {
        let tags = Tags::new(Some(Vec::new()), strings(&["OQ"])).unwrap();
        assert!(!tags.includes("OQ") && !tags.includes("RG"));
    }

    #[test]
    fn test_new_with_valid_tag_names() {
        for tag in ["RG", "NM", "X0", "xy", "a1"] {
            assert!(
                Tags::new(Some(strings(&[tag])), Vec::new()).is_ok(),
                "{tag}"
            );
        }
    }

    #[test]
    fn test_new_with_invalid_tag_names() {
        for tag in ["", "R", "RGX", "0R", "R-", " RG", "É1", "_R"] {
            let e = Tags::new(Some(strings(&[tag])), Vec::new()).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidInput, "{tag:?}");
            let e = Tags::new(None, strings(&[tag])).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidInput, "{tag:?}");
        }
    }
}
