//! Why input was refused: one variant per rule, so callers and tests match rules, not text.

/// The rule a piece of input broke ([`crate::Error::InvalidInput`]'s `reason`).
#[derive(Clone, Copy, Debug, Eq, Hash, PartialEq)]
#[non_exhaustive]
pub enum Reason {
    /// A GET parameter is given more than once.
    DuplicateParameter,
    /// `class` is not `header`, the only class there is.
    UnknownClass,
    /// A parameter that selects records is given with `class=header`.
    NotWithHeaderClass,
    /// `start` or `end` is not an integer from 0 to 2³²−1.
    InvalidPosition,
    /// `start` or `end` is given without `referenceName` (GET).
    PositionWithoutReference,
    /// `start` or `end` is given with `referenceName=*`.
    PositionWithUnplaced,
    /// `referenceName` is empty.
    EmptyReferenceName,
    /// A region of a POST body has no `referenceName`, or one that is not a string.
    MissingReferenceName,
    /// `referenceName`, `start` or `end` at the top level of a POST body.
    RegionKeyAtTopLevel,
    /// A POST body's `regions` is an empty list.
    EmptyRegions,
    /// Something only the reads endpoint defines (`fields`, `referenceName=*`) is asked of
    /// variants.
    ReadsOnly,
    /// `fields` names a field that does not exist.
    UnknownField,
    /// `fields` names no field.
    NoFields,
    /// A tag is not a SAM tag name.
    InvalidTag,
    /// A tag is in both `tags` and `notags`.
    TagInBothLists,
    /// The POST body is not a JSON object, or a value has the wrong type.
    MalformedBody,
    /// The POST body did not arrive whole or in time.
    UnreadableBody,
    /// A POST request carries htsget parameters on its URL.
    ParameterOnPostUrl,
    /// A POST body asks for more regions than the server serves at once.
    TooManyRegions,
    /// The request path is not valid UTF-8 once percent-decoded.
    MalformedPath,
    /// A data URL's `span` is malformed, or does not fit the file's blocks.
    MalformedSpan,
    /// A data URL's parameters are malformed, repeated or do not go together.
    MalformedDataUrl,
    /// `encryptionScheme` names a scheme that is not served, or one the id cannot be served
    /// in (or an encrypted id is asked without one).
    EncryptionScheme,
    /// The client's Crypt4GH public key (`Htsget-Context-Public-Key`) is missing or malformed.
    ClientKey,
    /// A parameter of the viewer page is malformed.
    ViewerParameter,
    /// `referenceName` is not a name of the file and stands for two of its names (through the
    /// equivalences of `chr` prefixes, mitochondria, or the operator's aliases).
    AmbiguousReference,
}
