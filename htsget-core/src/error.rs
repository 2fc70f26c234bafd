//! The error type, and the htsget error kinds it maps to.

mod reason;

use std::{fmt, io};

pub use self::reason::Reason;

/// The kinds of error the htsget protocol names (htsget 1.3 §"Errors").
///
/// Each kind has a fixed wire name ([`ErrorKind::name`]) and HTTP status ([`ErrorKind::status`]).
#[derive(Clone, Copy, Debug, Eq, Hash, PartialEq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// 401: the authorization provided is invalid.
    InvalidAuthentication,
    /// 403: authorization is required to access the resource.
    PermissionDenied,
    /// 404: the id or the reference name is unknown.
    NotFound,
    /// 413: the POST body is too large.
    PayloadTooLarge,
    /// 400: the requested format is not supported.
    UnsupportedFormat,
    /// 400: the parameters do not follow the specification.
    InvalidInput,
    /// 400: `start` is greater than `end` (GET) or not less than `end` (POST).
    InvalidRange,
    /// 500: the server could not read or make sense of its own data.
    InternalServerError,
}

impl ErrorKind {
    /// The error name as the specification spells it, e.g. `"NotFound"`.
    ///
    /// # Examples
    ///
    /// ```
    /// use htsget_core::ErrorKind;
    /// assert_eq!(ErrorKind::InvalidRange.name(), "InvalidRange");
    /// ```
    pub fn name(self) -> &'static str {
        match self {
            Self::InvalidAuthentication => "InvalidAuthentication",
            Self::PermissionDenied => "PermissionDenied",
            Self::NotFound => "NotFound",
            Self::PayloadTooLarge => "PayloadTooLarge",
            Self::UnsupportedFormat => "UnsupportedFormat",
            Self::InvalidInput => "InvalidInput",
            Self::InvalidRange => "InvalidRange",
            Self::InternalServerError => "InternalServerError",
        }
    }

    /// The HTTP status code for this kind.
    ///
    /// # Examples
    ///
    /// ```
    /// use htsget_core::ErrorKind;
    /// assert_eq!(ErrorKind::NotFound.status(), 404);
    /// ```
    pub fn status(self) -> u16 {
        match self {
            Self::InvalidAuthentication => 401,
            Self::PermissionDenied => 403,
            Self::NotFound => 404,
            Self::PayloadTooLarge => 413,
            Self::UnsupportedFormat | Self::InvalidInput | Self::InvalidRange => 400,
            Self::InternalServerError => 500,
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// An error from validating a query, reading a file's facts or resolving a query.
///
/// Messages never contain filesystem paths: they are safe to show to clients.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A query parameter, POST body field or data URL is invalid.
    #[error("{message}")]
    InvalidInput {
        /// The rule the input broke.
        reason: Reason,
        /// What is wrong, for the client.
        message: String,
    },
    /// `start`/`end` do not form a valid range.
    #[error("invalid range: start {start}, end {end}")]
    InvalidRange {
        /// The requested start (0-based, inclusive).
        start: u32,
        /// The requested end (0-based, exclusive).
        end: u32,
    },
    /// The requested format is not supported on this endpoint.
    #[error("unsupported format: {format}")]
    UnsupportedFormat {
        /// The format as the client sent it.
        format: String,
    },
    /// The reference name is not known to the file.
    #[error("reference not found: {name}")]
    ReferenceNotFound {
        /// The reference name as the client sent it.
        name: String,
    },
    /// The id does not name a file (or the file's index is missing).
    #[error("not found: {what}")]
    NotFound {
        /// What was not found, for the client (an id, never a path).
        what: String,
    },
    /// The request body is larger than allowed.
    #[error("payload too large: the limit is {limit} bytes")]
    PayloadTooLarge {
        /// The limit in bytes.
        limit: u64,
    },
    /// A data or index file could not be parsed.
    #[error("invalid {what}: {source}")]
    InvalidData {
        /// Which file part was unreadable, e.g. "BAM header" or "BAI index".
        what: &'static str,
        /// The parser's error.
        #[source]
        source: io::Error,
    },
    /// Reading from storage failed.
    #[error("storage error while reading {what}: {source}")]
    Io {
        /// What was being read, e.g. "index".
        what: &'static str,
        /// The I/O error.
        #[source]
        source: io::Error,
    },
}

impl Error {
    /// The htsget error kind this error maps to.
    ///
    /// # Examples
    ///
    /// ```
    /// use htsget_core::{Error, ErrorKind};
    /// let e = Error::ReferenceNotFound { name: "chr99".into() };
    /// assert_eq!(e.kind(), ErrorKind::NotFound);
    /// ```
    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::InvalidInput { .. } => ErrorKind::InvalidInput,
            Self::InvalidRange { .. } => ErrorKind::InvalidRange,
            Self::UnsupportedFormat { .. } => ErrorKind::UnsupportedFormat,
            Self::ReferenceNotFound { .. } | Self::NotFound { .. } => ErrorKind::NotFound,
            Self::PayloadTooLarge { .. } => ErrorKind::PayloadTooLarge,
            Self::InvalidData { .. } | Self::Io { .. } => ErrorKind::InternalServerError,
        }
    }

    /// Shorthand for an [`Error::InvalidInput`] for `reason`, with `message`.
    pub fn invalid_input(reason: Reason, message: impl Into<String>) -> Self {
        Self::InvalidInput {
            reason,
            message: message.into(),
        }
    }

    /// The rule broken, for [`Error::InvalidInput`].
    ///
    /// # Examples
    ///
    /// ```
    /// use htsget_core::{Endpoint, Reason, query::Query};
    /// let e = Query::from_get(Endpoint::Reads, [("class", "body")]).unwrap_err();
    /// assert_eq!(e.reason(), Some(Reason::UnknownClass));
    /// ```
    pub fn reason(&self) -> Option<Reason> {
        match self {
            Self::InvalidInput { reason, .. } => Some(*reason),
            _ => None,
        }
    }
}
