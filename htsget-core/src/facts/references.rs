//! Reference names and the index ids they map to.

use std::collections::HashMap;

use super::Aliases;
use crate::{Error, Reason};

/// What a reference name means in a file.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub enum ReferenceLookup {
    /// The file does not know the name: htsget NotFound.
    Unknown,
    /// The header declares the name but the index holds no data for it: an empty result.
    NoData,
    /// The index id of the reference.
    Id(usize),
}

/// The reference names of a file, in header order, with their index ids.
#[derive(Clone, Debug, Default, Eq, PartialEq)]
pub struct References {
    names: Vec<String>,
    ids: HashMap<String, Option<usize>>,
}

impl References {
    /// An empty name table.
    pub fn new() -> Self {
        Self::default()
    }

    /// Names whose index id is their position in `names` (BAM, CRAM, a tabix name table).
    ///
    /// # Examples
    ///
    /// ```
    /// use htsget_core::facts::{ReferenceLookup, References};
    /// let refs = References::from_ordered(["chr1", "chr2"]);
    /// assert_eq!(refs.lookup("chr2"), ReferenceLookup::Id(1));
    /// assert_eq!(refs.lookup("chr3"), ReferenceLookup::Unknown);
    /// ```
    pub fn from_ordered<I, S>(names: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let mut references = Self::new();

        for (id, name) in names.into_iter().enumerate() {
            references.insert(name.into(), Some(id));
        }

        references
    }

    /// Adds `name` with index id `id` (`None`: declared, no data). A name already present keeps
    /// its first id.
    pub fn insert(&mut self, name: String, id: Option<usize>) {
        if !self.ids.contains_key(&name) {
            self.names.push(name.clone());
            self.ids.insert(name, id);
        }
    }

    /// What `name` means in this file.
    pub fn lookup(&self, name: &str) -> ReferenceLookup {
        match self.ids.get(name) {
            None => ReferenceLookup::Unknown,
            Some(None) => ReferenceLookup::NoData,
            Some(Some(id)) => ReferenceLookup::Id(*id),
        }
    }

    /// The file's name for `name`: `name` itself if the file has it, else the one name of the
    /// file equivalent to it under `aliases`.
    ///
    /// # Errors
    ///
    /// [`Error::ReferenceNotFound`] if the file has neither; [`Error::InvalidInput`]
    /// ([`Reason::AmbiguousReference`], naming both) if it has two equivalents.
    ///
    /// # Examples
    ///
    /// ```
    /// use htsget_core::facts::{Aliases, References};
    /// let refs = References::from_ordered(["1", "11", "MT"]);
    /// let aliases = Aliases::builtin();
    /// assert_eq!(refs.find("chr11", &aliases).unwrap(), "11");
    /// assert_eq!(refs.find("chrM", &aliases).unwrap(), "MT");
    /// assert_eq!(refs.find("11", &aliases).unwrap(), "11");
    /// assert!(refs.find("chr11", &Aliases::none()).is_err());
    /// ```
    pub fn find<'a>(&'a self, name: &'a str, aliases: &Aliases) -> Result<&'a str, Error> {
        if self.ids.contains_key(name) {
            return Ok(name);
        }
        let equivalents = aliases.equivalents(name);
        let mut found = equivalents
            .iter()
            .filter_map(|other| self.ids.get_key_value(other.as_str()))
            .map(|(known, _)| known.as_str());
        match (found.next(), found.next()) {
            (Some(one), None) => Ok(one),
            (None, _) => Err(Error::ReferenceNotFound {
                name: name.to_owned(),
            }),
            (Some(one), Some(other)) => Err(Error::invalid_input(
                Reason::AmbiguousReference,
                format!(
                    "referenceName {name:?} stands for both {one:?} and {other:?} of this file"
                ),
            )),
        }
    }

    /// The names, in the order they were added.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.names.iter().map(String::as_str)
    }

    /// The number of names.
    pub fn len(&self) -> usize {
        self.names.len()
    }

    /// Whether there is no name.
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_find_with_aliases() {
        let refs = References::from_ordered(["chr1", "M", "MT", "X"]);
        let builtin = Aliases::builtin();
        assert_eq!(refs.find("1", &builtin).unwrap(), "chr1");
        assert_eq!(refs.find("chrX", &builtin).unwrap(), "X");
        // The file's own names are never aliased.
        assert_eq!(refs.find("M", &builtin).unwrap(), "M");
        let error = refs.find("chrM", &builtin).unwrap_err();
        assert_eq!(error.reason(), Some(Reason::AmbiguousReference));
        assert!(error.to_string().contains("\"M\"") && error.to_string().contains("\"MT\""));
        assert!(matches!(
            refs.find("2", &builtin),
            Err(Error::ReferenceNotFound { .. })
        ));
        assert!(matches!(
            refs.find("1", &Aliases::none()),
            Err(Error::ReferenceNotFound { .. })
        ));
    }

    #[test]
    fn test_insert_with_declared_name_without_data() {
        let mut refs = References::from_ordered(["1"]);
        refs.insert("3".into(), None);
        refs.insert("1".into(), None);
        assert_eq!(refs.lookup("1"), ReferenceLookup::Id(0));
        assert_eq!(refs.lookup("3"), ReferenceLookup::NoData);
        assert_eq!(refs.names().collect::<Vec<_>>(), ["1", "3"]);
    }
}
