//! The `[[access]]` rules: which ids each covers, the grants that admit them (or public), and
//! the references or regions a rule restricts them to.

use std::collections::BTreeSet;

use htsget_core::query::{Class, Query};

use super::{
    error::{AccessError, RuleError},
    glob::Glob,
    passport::{Held, Via},
};
use crate::config::RuleConfig;

/// The compiled rules, in file order.
#[derive(Clone, Debug, Default)]
pub struct Rules {
    rules: Vec<Rule>,
}

#[derive(Clone, Debug)]
struct Rule {
    ids: Vec<Glob>,
    grants: BTreeSet<String>,
    /// Registered access: one of these `ResearcherStatus` values and one of `terms`.
    researcher: BTreeSet<String>,
    terms: BTreeSet<String>,
    public: bool,
    regions: Option<Vec<Allowed>>,
}

/// One reference, or one interval of a reference, a rule admits.
#[derive(Clone, Debug, Eq, PartialEq)]
pub struct Allowed {
    reference: String,
    start: u32,
    end: Option<u32>,
}

impl Allowed {
    /// Parses `chr1` or `chr1:START-END` (htsget coordinates: 0-based, end exclusive); a name
    /// that holds a colon may be braced, as samtools allows: `{chr1:100-200}`,
    /// `{HLA-A*01:01}:0-500`.
    fn parse(text: &str) -> Result<Self, RuleError> {
        let bad = || RuleError::Region(text.to_owned());
        let (reference, interval) = match text.strip_prefix('{') {
            Some(braced) => {
                let (name, rest) = braced.split_once('}').ok_or_else(bad)?;
                match rest {
                    "" => (name, None),
                    _ => (name, Some(rest.strip_prefix(':').ok_or_else(bad)?)),
                }
            }
            None => match text.rsplit_once(':') {
                Some((name, interval)) if interval.contains('-') => (name, Some(interval)),
                _ => (text, None),
            },
        };
        if reference.is_empty() {
            return Err(bad());
        }
        let (start, end) = match interval {
            None => (0, None),
            Some(interval) => {
                let (start, end) = interval.split_once('-').ok_or_else(bad)?;
                let start: u32 = start.parse().map_err(|_| bad())?;
                let end: u32 = end.parse().map_err(|_| bad())?;
                if end <= start {
                    return Err(bad());
                }
                (start, Some(end))
            }
        };
        Ok(Self {
            reference: reference.to_owned(),
            start,
            end,
        })
    }

    /// Whether the query region `reference:[start, end)` (`end` `None`: to the end) lies
    /// within, `same` telling whether two reference names name the same reference.
    fn covers(
        &self,
        reference: &str,
        start: u32,
        end: Option<u32>,
        same: &dyn Fn(&str, &str) -> bool,
    ) -> bool {
        same(reference, &self.reference)
            && start >= self.start
            && match (self.end, end) {
                (None, _) => true,
                (Some(_), None) => false,
                (Some(limit), Some(end)) => end <= limit,
            }
    }
}

/// What the rules say of one id for one caller.
#[derive(Clone, Debug, Eq, PartialEq)]
pub enum Verdict {
    /// Readable: `restriction` `None` everywhere, else only within those regions; `grant` the
    /// grant that admitted (`None`: public).
    Admitted {
        /// The regions, if restricted.
        restriction: Option<Vec<Allowed>>,
        /// The admitting grant (`registered:` and the researcher status for registered
        /// access); `None` for a public rule.
        grant: Option<String>,
        /// The visa (or grants claim) that gave it.
        via: Option<Via>,
    },
    /// Not readable by this caller (or by an anonymous one).
    Denied,
}

impl Rule {
    /// Compiles one rule's settings.
    fn compile(config: &RuleConfig) -> Result<Self, RuleError> {
        let ids = config
            .ids
            .as_slice()
            .iter()
            .map(|p| Glob::new(p))
            .collect::<Result<Vec<_>, _>>()?;
        if ids.is_empty() {
            return Err(RuleError::NoIds);
        }
        if config.researcher.is_empty() != config.terms.is_empty() {
            return Err(RuleError::Registered);
        }
        if !config.public && config.grants.is_empty() && config.researcher.is_empty() {
            return Err(RuleError::NoGrants);
        }
        if config
            .researcher
            .iter()
            .chain(&config.terms)
            .any(String::is_empty)
        {
            return Err(RuleError::EmptyGrant);
        }
        if config.grants.iter().any(String::is_empty) {
            return Err(RuleError::EmptyGrant);
        }
        let regions = config
            .regions
            .as_ref()
            .map(|regions| regions.iter().map(|r| Allowed::parse(r)).collect())
            .transpose()?;
        if regions.as_ref().is_some_and(Vec::is_empty) {
            return Err(RuleError::NoRegions);
        }
        Ok(Self {
            ids,
            grants: config.grants.iter().cloned().collect(),
            researcher: config.researcher.iter().cloned().collect(),
            terms: config.terms.iter().cloned().collect(),
            public: config.public,
            regions,
        })
    }
}

impl Rule {
    /// The grant of `held` this rule admits, and what gave it: a dataset it lists, else a
    /// researcher status and accepted terms it lists (registered access).
    fn admits(&self, held: &Held) -> Option<(String, Via)> {
        let listed = |list: &BTreeSet<String>, held: &std::collections::BTreeMap<String, Via>| {
            list.iter()
                .find_map(|value| held.get(value).map(|via| (value.clone(), via.clone())))
        };
        if let Some(granted) = listed(&self.grants, &held.grants) {
            return Some(granted);
        }
        let (status, via) = listed(&self.researcher, &held.researcher)?;
        listed(&self.terms, &held.terms)?;
        Some((format!("registered:{status}"), via))
    }
}

impl Rules {
    /// Compiles the file's rules; `Err` names the first malformed one.
    pub fn compile(configs: &[RuleConfig]) -> Result<Self, AccessError> {
        let rules = configs
            .iter()
            .enumerate()
            .map(|(i, config)| {
                Rule::compile(config).map_err(|error| AccessError::Rule { rule: i + 1, error })
            })
            .collect::<Result<_, _>>()?;
        Ok(Self { rules })
    }

    /// Whether a public rule with no region restriction covers `id`: then no token is needed.
    pub fn is_open(&self, id: &str) -> bool {
        self.matching(id)
            .any(|rule| rule.public && rule.regions.is_none())
    }

    /// What the rules say of `id` for a caller holding `held` (`None`: no valid token). An
    /// id no rule covers is denied. Several admitting rules widen each other.
    pub fn verdict(&self, id: &str, held: Option<&Held>) -> Verdict {
        let mut admitted = false;
        let mut restriction: Option<Vec<Allowed>> = Some(Vec::new());
        let mut admitting: Option<(String, Via)> = None;

        for rule in self.matching(id) {
            let grant = held.and_then(|held| rule.admits(held));
            if !rule.public && grant.is_none() {
                continue;
            }
            admitted = true;
            if admitting.is_none() {
                admitting = grant;
            }
            match (&mut restriction, &rule.regions) {
                (_, None) => restriction = None,
                (Some(all), Some(regions)) => all.extend(regions.iter().cloned()),
                (None, Some(_)) => {}
            }
        }

        if admitted {
            let (grant, via) = admitting.unzip();
            Verdict::Admitted {
                restriction,
                grant,
                via,
            }
        } else {
            Verdict::Denied
        }
    }

    fn matching<'a>(&'a self, id: &'a str) -> impl Iterator<Item = &'a Rule> + 'a {
        self.rules
            .iter()
            .filter(move |rule| rule.ids.iter().any(|glob| glob.matches(id)))
    }
}

/// Whether `query` stays within `restriction`: every region it asks for lies within the allowed
/// regions of its reference taken together (adjacent or overlapping grants join), `same`
/// telling whether a name asked and a name allowed are the same reference. A header-only query
/// always does (it reads no records); a query for the whole file does not.
pub fn within(restriction: &[Allowed], query: &Query, same: &dyn Fn(&str, &str) -> bool) -> bool {
    if query.class() == Class::Header {
        return true;
    }
    let Some(regions) = query.regions() else {
        return false;
    };
    regions.iter().all(|region| {
        let (name, interval) = (region.reference_name().as_str(), region.interval());
        let start = interval.start().unwrap_or(0);
        if restriction
            .iter()
            .any(|allowed| allowed.covers(name, start, interval.end(), same))
        {
            return true;
        }
        // Covered piecewise: walk the allowed intervals of this reference from `start`.
        let mut pieces: Vec<(u32, Option<u32>)> = restriction
            .iter()
            .filter(|allowed| same(name, &allowed.reference))
            .map(|allowed| (allowed.start, allowed.end))
            .collect();
        pieces.sort_unstable();
        let mut reached = start;
        for (from, to) in pieces {
            if from > reached {
                break;
            }
            match to {
                None => return true,
                Some(to) => reached = reached.max(to),
            }
        }
        interval.end().is_some_and(|end| end <= reached)
    })
}

#[cfg(test)]
mod tests {
    use htsget_core::Endpoint;

    use super::*;
    use crate::config::access::OneOrMany;

    fn rule(ids: &str, grants: &[&str], public: bool, regions: Option<&[&str]>) -> RuleConfig {
        RuleConfig {
            ids: OneOrMany::One(ids.to_owned()),
            grants: grants.iter().map(|g| (*g).to_owned()).collect(),
            public,
            regions: regions.map(|r| r.iter().map(|s| (*s).to_owned()).collect()),
            ..RuleConfig::default()
        }
    }

    fn via(kind: &str) -> Via {
        Via {
            issuer: "https://v".to_owned(),
            kind: kind.to_owned(),
        }
    }

    fn values(values: &[&str], kind: &str) -> std::collections::BTreeMap<String, Via> {
        values
            .iter()
            .map(|v| ((*v).to_owned(), via(kind)))
            .collect()
    }

    fn held(grants: &[&str]) -> Held {
        Held {
            grants: values(grants, "ControlledAccessGrants"),
            ..Held::default()
        }
    }

    fn query(params: &[(&str, &str)]) -> Query {
        Query::from_get(Endpoint::Reads, params.iter().copied()).unwrap()
    }

    #[test]
    fn test_verdict_with_grants_public_and_unmatched_ids() {
        let rules = Rules::compile(&[
            rule("bam/*", &["g:bam"], false, None),
            rule("vcf/*", &[], true, None),
        ])
        .unwrap();
        let admitted = |grant: Option<&str>| Verdict::Admitted {
            restriction: None,
            grant: grant.map(str::to_owned),
            via: grant.map(|_| via("ControlledAccessGrants")),
        };
        assert_eq!(
            rules.verdict("bam/x", Some(&held(&["g:bam"]))),
            admitted(Some("g:bam"))
        );
        assert_eq!(
            rules.verdict("bam/x", Some(&held(&["g:other"]))),
            Verdict::Denied
        );
        assert_eq!(rules.verdict("bam/x", None), Verdict::Denied);
        assert_eq!(rules.verdict("vcf/x", None), admitted(None));
        assert_eq!(
            rules.verdict("other/x", Some(&held(&["g:bam"]))),
            Verdict::Denied
        );
        assert!(rules.is_open("vcf/x"));
        assert!(!rules.is_open("bam/x"));
        // Grants compare as whole, case-sensitive strings.
        assert_eq!(
            rules.verdict("bam/x", Some(&held(&["G:BAM", "g:ba"]))),
            Verdict::Denied
        );
    }

    #[test]
    fn test_verdict_with_registered_access() {
        let registered = RuleConfig {
            researcher: vec!["https://doi.org/r".to_owned()],
            terms: vec!["https://terms/1".to_owned(), "https://terms/2".to_owned()],
            ..rule("registered/**", &[], false, None)
        };
        let rules = Rules::compile(&[registered]).unwrap();
        let holding = |researcher: &[&str], terms: &[&str]| Held {
            researcher: values(researcher, "ResearcherStatus"),
            terms: values(terms, "AcceptedTermsAndPolicies"),
            ..Held::default()
        };
        assert_eq!(
            rules.verdict(
                "registered/a/b",
                Some(&holding(&["https://doi.org/r"], &["https://terms/2"]))
            ),
            Verdict::Admitted {
                restriction: None,
                grant: Some("registered:https://doi.org/r".to_owned()),
                via: Some(via("ResearcherStatus")),
            }
        );
        for (researcher, terms) in [
            (&["https://doi.org/r"][..], &[][..]),
            (&[], &["https://terms/1"]),
            (&["https://doi.org/other"], &["https://terms/1"]),
            (&["https://doi.org/r"], &["https://terms/3"]),
        ] {
            assert_eq!(
                rules.verdict("registered/a", Some(&holding(researcher, terms))),
                Verdict::Denied,
                "{researcher:?} {terms:?}"
            );
        }
        // A grant is not a researcher status.
        assert_eq!(
            rules.verdict(
                "registered/a",
                Some(&held(&["https://doi.org/r", "https://terms/1"]))
            ),
            Verdict::Denied
        );
    }

    #[test]
    fn test_verdict_widens_across_admitting_rules() {
        let rules = Rules::compile(&[
            rule("bam/**", &["a"], false, Some(&["chr1:0-1000"])),
            rule("bam/x", &["b"], false, Some(&["chr2"])),
            rule("bam/y", &["c"], false, None),
        ])
        .unwrap();
        let Verdict::Admitted { restriction, .. } =
            rules.verdict("bam/x", Some(&held(&["a", "b"])))
        else {
            panic!("denied")
        };
        assert_eq!(restriction.unwrap().len(), 2);
        let Verdict::Admitted { restriction, .. } =
            rules.verdict("bam/y", Some(&held(&["a", "c"])))
        else {
            panic!("denied")
        };
        assert_eq!(restriction, None);
    }

    #[test]
    fn test_within_regions() {
        let allowed = vec![
            Allowed::parse("chr1:1000-2000").unwrap(),
            Allowed::parse("chrM").unwrap(),
        ];
        let ok = |params: &[(&str, &str)]| within(&allowed, &query(params), &|a, b| a == b);
        assert!(ok(&[
            ("referenceName", "chr1"),
            ("start", "1000"),
            ("end", "2000")
        ]));
        assert!(ok(&[
            ("referenceName", "chr1"),
            ("start", "1500"),
            ("end", "1600")
        ]));
        assert!(!ok(&[
            ("referenceName", "chr1"),
            ("start", "999"),
            ("end", "1600")
        ]));
        assert!(!ok(&[
            ("referenceName", "chr1"),
            ("start", "1500"),
            ("end", "2001")
        ]));
        assert!(!ok(&[("referenceName", "chr1"), ("start", "1500")]));
        assert!(!ok(&[("referenceName", "chr1")]));
        assert!(ok(&[("referenceName", "chrM")]));
        assert!(ok(&[("referenceName", "chrM"), ("start", "5")]));
        assert!(!ok(&[("referenceName", "chr2")]));
        assert!(!ok(&[("referenceName", "*")]));
        assert!(!ok(&[]));
        assert!(ok(&[("class", "header")]));

        // Adjacent and overlapping grants join; a gap between them does not.
        let joined = vec![
            Allowed::parse("chr1:2000-3000").unwrap(),
            Allowed::parse("chr1:1000-2000").unwrap(),
            Allowed::parse("chr1:2500-2600").unwrap(),
            Allowed::parse("chr1:4000-5000").unwrap(),
            Allowed::parse("chr2:0-10").unwrap(),
        ];
        let ok = |params: &[(&str, &str)]| within(&joined, &query(params), &|a, b| a == b);
        let region = |start: &'static str, end: &'static str| {
            [("referenceName", "chr1"), ("start", start), ("end", end)]
        };
        assert!(ok(&region("1500", "2500")));
        assert!(ok(&region("1000", "3000")));
        assert!(!ok(&region("1000", "3001")));
        assert!(!ok(&region("2900", "4100")), "a gap");
        assert!(!ok(&region("999", "1500")));
        assert!(!ok(&[("referenceName", "chr1"), ("start", "1000")]));
    }

    #[test]
    fn test_compile_refuses_malformed_rules() {
        for bad in [
            rule("bam/*", &[], false, None),
            rule("", &["g"], false, None),
            rule("bam/*", &["g"], false, Some(&[])),
            rule("bam/*", &["g"], false, Some(&["chr1:5-1"])),
            rule("bam/*", &["g"], false, Some(&["chr1:a-9"])),
            rule("bam/*", &[""], false, None),
            rule("a//b", &["g"], false, None),
            RuleConfig {
                researcher: vec!["r".to_owned()],
                ..rule("bam/*", &[], false, None)
            },
            RuleConfig {
                terms: vec!["t".to_owned()],
                ..rule("bam/*", &["g"], false, None)
            },
            RuleConfig {
                researcher: vec![String::new()],
                terms: vec!["t".to_owned()],
                ..rule("bam/*", &[], false, None)
            },
        ] {
            assert!(
                Rules::compile(std::slice::from_ref(&bad)).is_err(),
                "{bad:?}"
            );
        }
        // A name with a colon but no interval is a reference name; braces hold any name.
        assert_eq!(
            Allowed::parse("HLA-A*01:01").unwrap().reference,
            "HLA-A*01:01"
        );
        let braced = Allowed::parse("{chr1:100-200}").unwrap();
        assert_eq!(
            (braced.reference.as_str(), braced.end),
            ("chr1:100-200", None)
        );
        let braced = Allowed::parse("{chr1:100-200}:5-10").unwrap();
        assert_eq!(
            (braced.reference.as_str(), braced.start, braced.end),
            ("chr1:100-200", 5, Some(10))
        );
        for bad in ["{chr1", "{}", "{chr1}5-10", "{chr1}:5", "{chr1}:9-5"] {
            assert!(Allowed::parse(bad).is_err(), "{bad}");
        }
    }
}
