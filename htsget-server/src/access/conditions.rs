//! Visa conditions (GA4GH Passport v1.2): an OR of AND clauses, each clause naming a visa
//! `type` and, optionally, what its `value`, `source` and `by` must match: `const:TEXT` (equal),
//! `pattern:GLOB` (`?` one character, `*` any run, matched against the whole string) or
//! `split_pattern:GLOB` (any `;`-separated piece matching). Every field of a clause is matched
//! against one and the same visa. Conditions that are malformed, or use a field or prefix not
//! known here, are never met.

use serde_json::Value;

/// The most clauses (all ANDs of all ORs) evaluated; more make the conditions unmet.
pub const MAX_CLAUSES: usize = 64;

/// The longest string a clause may match with, in characters.
const MAX_MATCH: usize = 255;

/// The most matching steps one visa's conditions may take; beyond, they are not met (a rogue
/// issuer's patterns cannot hold a thread).
pub const MAX_STEPS: u64 = 250_000;

/// The facts of one visa that clauses match.
#[derive(Clone, Copy, Debug)]
pub struct Facts<'a> {
    /// Its `type`.
    pub kind: &'a str,
    /// Its `value`.
    pub value: &'a str,
    /// Its `source`.
    pub source: &'a str,
    /// Its `by`, if any.
    pub by: Option<&'a str>,
}

/// Whether `conditions` (a visa's `conditions` claim) are met by one of `visas` per clause;
/// `false` when they are malformed or use anything unknown. `null` and `[]` are met.
pub fn met(conditions: &Value, visas: &[Facts<'_>]) -> bool {
    let alternatives = match conditions {
        Value::Null => return true,
        Value::Array(alternatives) if alternatives.is_empty() => return true,
        Value::Array(alternatives) => alternatives,
        _ => return false,
    };
    let Some(parsed) = parse(alternatives) else {
        return false;
    };
    let mut budget = MAX_STEPS;
    for all in &parsed {
        let mut every = true;
        for clause in all {
            let mut any = false;
            for visa in visas {
                match clause.matches(visa, &mut budget) {
                    Some(true) => {
                        any = true;
                        break;
                    }
                    Some(false) => {}
                    None => return false,
                }
            }
            if !any {
                every = false;
                break;
            }
        }
        if every {
            return true;
        }
    }
    false
}

/// One clause: a type and the fields it constrains.
#[derive(Debug)]
struct Clause<'a> {
    kind: &'a str,
    fields: Vec<(Field, Matcher<'a>)>,
}

#[derive(Clone, Copy, Debug)]
enum Field {
    Value,
    Source,
    By,
}

#[derive(Clone, Copy, Debug)]
enum Matcher<'a> {
    Const(&'a str),
    Pattern(&'a str),
    SplitPattern(&'a str),
}

/// The clauses of `alternatives`, or `None` when anything is malformed or unknown.
fn parse(alternatives: &[Value]) -> Option<Vec<Vec<Clause<'_>>>> {
    let mut count = 0;
    let mut out = Vec::with_capacity(alternatives.len());
    for all in alternatives {
        let all = all.as_array().filter(|all| !all.is_empty())?;
        count += all.len();
        if count > MAX_CLAUSES {
            return None;
        }
        out.push(all.iter().map(Clause::parse).collect::<Option<Vec<_>>>()?);
    }
    Some(out)
}

impl<'a> Clause<'a> {
    fn parse(value: &'a Value) -> Option<Self> {
        let object = value.as_object()?;
        let mut kind = None;
        let mut fields = Vec::new();
        for (name, value) in object {
            let text = value.as_str()?;
            if text.chars().count() > MAX_MATCH {
                return None;
            }
            let field = match name.as_str() {
                "type" => {
                    kind = Some(text).filter(|t| !t.is_empty());
                    continue;
                }
                "value" => Field::Value,
                "source" => Field::Source,
                "by" => Field::By,
                _ => return None,
            };
            fields.push((field, Matcher::parse(text)?));
        }
        Some(Self {
            kind: kind?,
            fields,
        })
    }

    /// Whether `visa` matches; `None` when `budget` runs out.
    fn matches(&self, visa: &Facts<'_>, budget: &mut u64) -> Option<bool> {
        if visa.kind != self.kind {
            return Some(false);
        }
        for (field, matcher) in &self.fields {
            let text = match field {
                Field::Value => Some(visa.value),
                Field::Source => Some(visa.source),
                Field::By => visa.by,
            };
            match text {
                Some(text) if matcher.matches(text, budget)? => {}
                _ => return Some(false),
            }
        }
        Some(true)
    }
}

impl<'a> Matcher<'a> {
    fn parse(text: &'a str) -> Option<Self> {
        let (prefix, rest) = text.split_once(':')?;
        match prefix {
            "const" => Some(Self::Const(rest)),
            "pattern" => Some(Self::Pattern(rest)),
            "split_pattern" => Some(Self::SplitPattern(rest)),
            _ => None,
        }
    }

    fn matches(&self, text: &str, budget: &mut u64) -> Option<bool> {
        match self {
            Self::Const(expected) => Some(text == *expected),
            Self::Pattern(pattern) => glob_within(pattern, text, budget),
            Self::SplitPattern(pattern) => {
                for piece in text.split(';') {
                    if glob_within(pattern, piece, budget)? {
                        return Some(true);
                    }
                }
                Some(false)
            }
        }
    }
}

/// Whether `text` is matched whole by `pattern` (`?` one character, `*` any run of them,
/// anything else itself), in time linear in their product.
pub fn glob(pattern: &str, text: &str) -> bool {
    let mut unlimited = u64::MAX;
    glob_within(pattern, text, &mut unlimited).unwrap_or(false)
}

/// [`glob`], taking a step from `budget` per character compared; `None` when it runs out.
fn glob_within(pattern: &str, text: &str, budget: &mut u64) -> Option<bool> {
    let pattern: Vec<char> = pattern.chars().collect();
    let text: Vec<char> = text.chars().collect();
    let (mut p, mut t) = (0, 0);
    // Where the last `*` was, and the text position it is tried from.
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        *budget = budget.checked_sub(1)?;
        match pattern.get(p) {
            Some('*') => {
                star = Some((p, t));
                p += 1;
            }
            Some(&c) if c == '?' || c == text[t] => {
                p += 1;
                t += 1;
            }
            _ => match star {
                Some((at, from)) => {
                    p = at + 1;
                    t = from + 1;
                    star = Some((at, from + 1));
                }
                None => return Some(false),
            },
        }
    }
    Some(pattern[p..].iter().all(|c| *c == '*'))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const ROLE: Facts<'static> = Facts {
        kind: "AffiliationAndRole",
        value: "faculty@uni.example",
        source: "https://uni.example",
        by: Some("so"),
    };
    const TERMS: Facts<'static> = Facts {
        kind: "AcceptedTermsAndPolicies",
        value: "https://terms.example/v1;https://terms.example/v2",
        source: "https://dac.example",
        by: Some("self"),
    };

    #[test]
    fn test_glob() {
        assert!(glob("a*c", "abbbc"));
        assert!(glob("a*c", "ac"));
        assert!(glob("*", ""));
        assert!(glob("a?c", "abc"));
        assert!(!glob("a?c", "ac"));
        assert!(!glob("abc", "abcd"), "whole string");
        assert!(!glob("bc", "abc"), "whole string");
        assert!(glob("*@uni.example", "faculty@uni.example"));
        assert!(glob("é?", "éü"), "characters, not bytes");
        assert!(glob("*a*a*a*b", "aaaaaaaaaaaaaaaaab"));
        assert!(!glob("*a*a*a*b", &"a".repeat(1000)));
        let mut budget = 10;
        assert_eq!(
            glob_within("*b", &"a".repeat(100), &mut budget),
            None,
            "out of steps"
        );
    }

    #[test]
    fn test_met_within_its_budget() {
        // A pathological pattern against many long values runs out of steps: not met.
        let long = "a".repeat(255);
        let visas: Vec<Facts<'_>> = (0..64)
            .map(|_| Facts {
                kind: "T",
                value: &long,
                source: &long,
                by: None,
            })
            .collect();
        let pattern = format!("pattern:{}b", "*a".repeat(100));
        let clause = json!({"type": "T", "value": pattern, "source": pattern});
        let conditions = Value::Array(vec![Value::Array(vec![clause; 64])]);
        let started = std::time::Instant::now();
        assert!(!met(&conditions, &visas));
        assert!(started.elapsed() < std::time::Duration::from_secs(1));
    }

    #[test]
    fn test_met() {
        let visas = [ROLE, TERMS];
        let met_by = |conditions: Value| met(&conditions, &visas);
        assert!(met_by(Value::Null));
        assert!(met_by(json!([])));
        assert!(met_by(json!([[{"type": "AffiliationAndRole"}]])));
        assert!(met_by(
            json!([[{"type": "AffiliationAndRole", "value": "const:faculty@uni.example", "by": "const:so"}]])
        ));
        assert!(met_by(
            json!([[{"type": "AffiliationAndRole", "value": "pattern:*@uni.example"}]])
        ));
        assert!(met_by(
            json!([[{"type": "AcceptedTermsAndPolicies", "value": "split_pattern:https://terms.example/v2"}]])
        ));
        // AND within an alternative, OR across them.
        assert!(met_by(
            json!([[{"type": "AffiliationAndRole"}, {"type": "AcceptedTermsAndPolicies"}]])
        ));
        assert!(!met_by(
            json!([[{"type": "AffiliationAndRole"}, {"type": "ResearcherStatus"}]])
        ));
        assert!(met_by(
            json!([[{"type": "ResearcherStatus"}], [{"type": "AffiliationAndRole"}]])
        ));
        // Unmet.
        assert!(!met_by(
            json!([[{"type": "AffiliationAndRole", "value": "const:student@uni.example"}]])
        ));
        assert!(
            !met_by(
                json!([[{"type": "AcceptedTermsAndPolicies", "value": "pattern:https://terms.example/v2"}]])
            ),
            "pattern is whole, not split"
        );
        // The fields of one clause are matched against one visa: no visa has this type and by.
        assert!(!met_by(
            json!([[{"type": "AffiliationAndRole", "by": "const:self"}]])
        ));
        // Malformed or unknown: never met.
        for bad in [
            json!("x"),
            json!([{"type": "AffiliationAndRole"}]),
            json!([[]]),
            json!([["x"]]),
            json!([[{"value": "const:x"}]]),
            json!([[{"type": "AffiliationAndRole", "value": "regex:.*"}]]),
            json!([[{"type": "AffiliationAndRole", "value": "faculty@uni.example"}]]),
            json!([[{"type": "AffiliationAndRole", "asserted": "const:1"}]]),
            json!([[{"type": "AffiliationAndRole", "value": 1}]]),
            json!([[{"type": ""}]]),
            json!([[{"type": "AffiliationAndRole", "value": format!("const:{}", "x".repeat(300))}]]),
            Value::Array(vec![
                json!([{"type": "AffiliationAndRole"}]);
                MAX_CLAUSES + 1
            ]),
        ] {
            assert!(!met_by(bad.clone()), "{bad}");
        }
    }
}
