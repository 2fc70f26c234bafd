//! Endpoints and file formats.

use std::{fmt, str::FromStr};

use crate::Error;

/// The two htsget ticket endpoints.
#[derive(Clone, Copy, Debug, Eq, Hash, PartialEq)]
pub enum Endpoint {
    /// `/reads/{id}`: BAM or CRAM.
    Reads,
    /// `/variants/{id}`: VCF (bgzipped) or BCF.
    Variants,
}

impl Endpoint {
    /// The format served when the query names none: BAM for reads, VCF for variants.
    pub fn default_format(self) -> Format {
        match self {
            Self::Reads => Format::Bam,
            Self::Variants => Format::Vcf,
        }
    }

    /// The formats this endpoint serves, in the order service-info lists them.
    pub fn formats(self) -> &'static [Format] {
        match self {
            Self::Reads => &[Format::Bam, Format::Cram],
            Self::Variants => &[Format::Vcf, Format::Bcf],
        }
    }

    /// The endpoint's path segment and service-info datatype: `reads` or `variants`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Reads => "reads",
            Self::Variants => "variants",
        }
    }

    /// Parses `format` (any case) as a format this endpoint serves.
    ///
    /// # Examples
    ///
    /// ```
    /// use htsget_core::{Endpoint, ErrorKind, Format};
    /// assert_eq!(Endpoint::Reads.parse_format("cram")?, Format::Cram);
    /// let e = Endpoint::Reads.parse_format("VCF").unwrap_err();
    /// assert_eq!(e.kind(), ErrorKind::UnsupportedFormat);
    /// # Ok::<_, htsget_core::Error>(())
    /// ```
    pub fn parse_format(self, format: &str) -> Result<Format, Error> {
        format
            .parse::<Format>()
            .ok()
            .filter(|f| f.endpoint() == self)
            .ok_or_else(|| Error::UnsupportedFormat {
                format: format.to_owned(),
            })
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A file format served over htsget.
#[derive(Clone, Copy, Debug, Eq, Hash, PartialEq)]
pub enum Format {
    /// BAM: BGZF-compressed binary alignments.
    Bam,
    /// CRAM 3.x: reference-compressed alignments in containers.
    Cram,
    /// VCF, BGZF-compressed (`.vcf.gz`).
    Vcf,
    /// BCF: BGZF-compressed binary variant calls.
    Bcf,
}

impl Format {
    /// The name as it appears in tickets: `BAM`, `CRAM`, `VCF` or `BCF`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Bam => "BAM",
            Self::Cram => "CRAM",
            Self::Vcf => "VCF",
            Self::Bcf => "BCF",
        }
    }

    /// The endpoint that serves this format.
    pub fn endpoint(self) -> Endpoint {
        match self {
            Self::Bam | Self::Cram => Endpoint::Reads,
            Self::Vcf | Self::Bcf => Endpoint::Variants,
        }
    }

    /// The data file's extension, without the dot: `bam`, `cram`, `vcf.gz`, `bcf`.
    pub fn extension(self) -> &'static str {
        match self {
            Self::Bam => "bam",
            Self::Cram => "cram",
            Self::Vcf => "vcf.gz",
            Self::Bcf => "bcf",
        }
    }

    /// Whether the format holds reads (BAM, CRAM) rather than variants.
    pub fn is_reads(self) -> bool {
        self.endpoint() == Endpoint::Reads
    }

    /// Whether the format is BGZF-compressed (all but CRAM).
    pub fn is_bgzf(self) -> bool {
        !matches!(self, Self::Cram)
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Format {
    type Err = Error;

    /// Parses a format name in any case.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_uppercase().as_str() {
            "BAM" => Ok(Self::Bam),
            "CRAM" => Ok(Self::Cram),
            "VCF" => Ok(Self::Vcf),
            "BCF" => Ok(Self::Bcf),
            _ => Err(Error::UnsupportedFormat {
                format: s.to_owned(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_from_str_with_any_case() {
        assert_eq!("bam".parse::<Format>().unwrap(), Format::Bam);
        assert_eq!("Cram".parse::<Format>().unwrap(), Format::Cram);
        assert!("SAM".parse::<Format>().is_err());
    }

    #[test]
    fn test_parse_format_with_wrong_endpoint() {
        assert!(Endpoint::Variants.parse_format("bam").is_err());
        assert_eq!(Endpoint::Variants.parse_format("bcf").unwrap(), Format::Bcf);
    }
}
