//! Reference names and the index ids they map to.

use std::collections::HashMap;

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
    fn test_insert_with_declared_name_without_data() {
        let mut refs = References::from_ordered(["1"]);
        refs.insert("3".into(), None);
        refs.insert("1".into(), None);
        assert_eq!(refs.lookup("1"), ReferenceLookup::Id(0));
        assert_eq!(refs.lookup("3"), ReferenceLookup::NoData);
        assert_eq!(refs.names().collect::<Vec<_>>(), ["1", "3"]);
    }
}
