//! Reference names as users type them: `chr1` or `1`, `chrM` or `MT`. Two names are
//! equivalent when the built-in rules say so (a `chr` prefix added or removed; `M`, `MT`,
//! `chrM` and `chrMT` one another) or an operator's alias makes them so; a name a file does not
//! have is answered as its one equivalent the file has.

use std::collections::{BTreeMap, BTreeSet, HashMap};

/// An alias table that would make one name stand for two references.
#[derive(Clone, Debug, Eq, PartialEq, thiserror::Error)]
#[error("the alias {name:?} is given in two alias entries ({first:?} and {second:?})")]
pub struct AmbiguousAlias {
    /// The name given twice.
    pub name: String,
    /// The keys of the two entries.
    pub first: String,
    /// See `first`.
    pub second: String,
}

/// Which reference names are equivalent.
#[derive(Clone, Debug, Default, Eq, PartialEq)]
pub struct Aliases {
    builtin: bool,
    /// Each operator-given name, and the class (an index into `classes`) it belongs to.
    class_of: HashMap<String, usize>,
    classes: Vec<BTreeSet<String>>,
}

/// The mitochondrial names the built-in rules make equivalent.
const MITOCHONDRIA: [&str; 4] = ["M", "MT", "chrM", "chrMT"];

impl Aliases {
    /// No equivalences: a name is only itself.
    pub fn none() -> Self {
        Self::default()
    }

    /// The built-in equivalences: a `chr` prefix added or removed; `M`, `MT`, `chrM`, `chrMT`.
    pub fn builtin() -> Self {
        Self {
            builtin: true,
            ..Self::default()
        }
    }

    /// These equivalences and the operator's `table`: each entry makes its key and its names
    /// equivalent, both ways (`"NC_000011.9" = ["11", "chr11"]`).
    ///
    /// # Errors
    ///
    /// [`AmbiguousAlias`] if a name is in two entries: the entries would merge, and a name
    /// could stand for references the operator meant apart.
    pub fn with_table(
        mut self,
        table: &BTreeMap<String, Vec<String>>,
    ) -> Result<Self, AmbiguousAlias> {
        let mut owner: HashMap<String, &String> = HashMap::new();
        for (key, names) in table {
            let class: BTreeSet<String> = std::iter::once(key).chain(names).cloned().collect();
            for name in &class {
                if let Some(first) = owner.insert(name.clone(), key) {
                    return Err(AmbiguousAlias {
                        name: name.clone(),
                        first: first.clone(),
                        second: key.clone(),
                    });
                }
                self.class_of.insert(name.clone(), self.classes.len());
            }
            self.classes.push(class);
        }
        Ok(self)
    }

    /// The names equivalent to `name`, itself excluded, each once.
    pub fn equivalents(&self, name: &str) -> BTreeSet<String> {
        let mut found = BTreeSet::new();
        let mut add = |other: &str| {
            if other != name {
                found.insert(other.to_owned());
            }
        };
        if self.builtin {
            if MITOCHONDRIA.contains(&name) {
                MITOCHONDRIA.iter().for_each(|m| add(m));
            } else if let Some(bare) = name.strip_prefix("chr").filter(|b| !b.is_empty()) {
                add(bare);
            } else {
                add(&format!("chr{name}"));
            }
        }
        if let Some(&class) = self.class_of.get(name) {
            self.classes[class].iter().for_each(|other| add(other));
        }
        found
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(names: &[&str]) -> BTreeSet<String> {
        names.iter().map(|n| (*n).to_owned()).collect()
    }

    #[test]
    fn test_equivalents_builtin() {
        let aliases = Aliases::builtin();
        assert_eq!(aliases.equivalents("chr11"), set(&["11"]));
        assert_eq!(aliases.equivalents("11"), set(&["chr11"]));
        assert_eq!(aliases.equivalents("X"), set(&["chrX"]));
        assert_eq!(aliases.equivalents("MT"), set(&["M", "chrM", "chrMT"]));
        assert_eq!(aliases.equivalents("chrM"), set(&["M", "MT", "chrMT"]));
        assert_eq!(aliases.equivalents("chr"), set(&["chrchr"]));
        assert!(Aliases::none().equivalents("chr11").is_empty());
    }

    #[test]
    fn test_with_table_both_ways_and_ambiguity() {
        let table = BTreeMap::from([(
            "NC_000011.9".to_owned(),
            vec!["11".to_owned(), "chr11".to_owned()],
        )]);
        let aliases = Aliases::none().with_table(&table).unwrap();
        assert_eq!(aliases.equivalents("NC_000011.9"), set(&["11", "chr11"]));
        assert_eq!(aliases.equivalents("chr11"), set(&["11", "NC_000011.9"]));
        let with_builtin = Aliases::builtin().with_table(&table).unwrap();
        assert_eq!(
            with_builtin.equivalents("11"),
            set(&["chr11", "NC_000011.9"])
        );

        let twice = BTreeMap::from([
            ("a".to_owned(), vec!["x".to_owned()]),
            ("b".to_owned(), vec!["x".to_owned()]),
        ]);
        let error = Aliases::none().with_table(&twice).unwrap_err();
        assert_eq!(error.name, "x");
        let key_listed = BTreeMap::from([
            ("a".to_owned(), vec!["b".to_owned()]),
            ("b".to_owned(), vec!["c".to_owned()]),
        ]);
        assert!(Aliases::none().with_table(&key_listed).is_err());
    }
}
