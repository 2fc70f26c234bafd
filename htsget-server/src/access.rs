//! Controlled access (the `access` feature): who is asking (a bearer token, plain or a GA4GH
//! Passport) and what the `[[access]]` rules let them read. Under it every data URL is signed
//! ([`crate::data_url::Signer`]), so clients send the token to the ticket endpoint only.
//!
//! Decisions depend on the id, the token and the rules, never on what files exist, so a
//! caller without a grant learns nothing of an id's existence.

pub mod conditions;
mod error;
mod fetch;
mod glob;
mod issuers;
mod keys;
pub mod passport;
mod refusal;
pub mod rules;
pub mod token;
pub mod userinfo;

use std::sync::Arc;

use htsget_core::query::Query;

pub use self::{
    error::{AccessError, KeysError, RuleError},
    fetch::FetchError,
    passport::{Held, Via},
    rules::{Allowed, Rules, Verdict},
    token::{Caller, Refusal, Verifier, bearer},
};
use crate::config::AccessSettings;

/// Access control: the token verifier and the rules.
#[derive(Debug)]
pub struct Access {
    verifier: Verifier,
    rules: Rules,
}

/// A caller admitted to an id.
#[derive(Clone, Debug, Eq, PartialEq)]
pub struct Admission {
    /// The token's subject; `None` when admitted without a token (a public rule).
    pub subject: Option<String>,
    /// `None`: anywhere in the file; else only within these regions.
    pub restriction: Option<Vec<Allowed>>,
    /// The grant that admitted; `None` for a public rule.
    pub grant: Option<String>,
    /// The visa (or grants claim) that gave the grant.
    pub via: Option<Via>,
}

impl Admission {
    /// Whether `query` stays within what this admission allows, reference names compared as
    /// they are written.
    pub fn permits(&self, query: &Query) -> bool {
        self.permits_in(query, |asked, allowed| asked == allowed)
    }

    /// Whether `query` stays within what this admission allows, `same(asked, allowed)` telling
    /// whether a reference name asked and one allowed name the same reference (of the file
    /// asked, through its aliases).
    pub fn permits_in(&self, query: &Query, same: impl Fn(&str, &str) -> bool) -> bool {
        self.restriction
            .as_deref()
            .is_none_or(|allowed| rules::within(allowed, query, &same))
    }
}

/// Why a caller is not admitted.
#[derive(Clone, Debug, Eq, PartialEq)]
pub enum Denial {
    /// No valid token, and no public rule admits: 401.
    Unauthenticated(Refusal),
    /// A valid token whose grants do not admit (whether or not the id exists): 403.
    Forbidden {
        /// The token's subject.
        subject: String,
    },
    /// The token's issuer (its keys, discovery or userinfo endpoint) cannot be reached now:
    /// 503, to retry.
    Unavailable,
}

impl Access {
    /// Access control as `settings` configure it; `None` when it is off. Reads the key sets
    /// now (a file must be readable; a URL that cannot be fetched yet is retried on demand).
    pub async fn open(settings: &AccessSettings) -> Result<Option<Self>, AccessError> {
        if !settings.is_on() {
            return Ok(None);
        }
        let rules = Rules::compile(&settings.rules)?;
        let trust = issuers::Trust::open(settings).await?;
        let verifier = Verifier::new(
            trust,
            settings.audience.clone(),
            settings.grants_claim.clone(),
        );
        Ok(Some(Self { verifier, rules }))
    }

    /// Whether `id` is readable without a token (a public rule without regions covers it).
    pub fn is_public(&self, id: &str) -> bool {
        self.rules.is_open(id)
    }

    /// The token verifier.
    pub fn verifier(&self) -> &Verifier {
        &self.verifier
    }

    /// Whether the caller with `authorization` (an `Authorization` header's value) may read
    /// `id`. An id no rule covers is denied; public ids need no token (one sent is ignored).
    pub async fn admit(&self, id: &str, authorization: Option<&[u8]>) -> Result<Admission, Denial> {
        if self.rules.is_open(id) {
            return Ok(Admission {
                subject: None,
                restriction: None,
                grant: None,
                via: None,
            });
        }

        let caller: Result<Arc<Caller>, Refusal> = match authorization.and_then(bearer) {
            Some(token) => self.verifier.verify(token).await,
            None => Err(Refusal::Missing),
        };

        match caller {
            Err(Refusal::Unavailable) => Err(Denial::Unavailable),
            Ok(caller) => match self.rules.verdict(id, Some(&caller.held)) {
                Verdict::Admitted {
                    restriction,
                    grant,
                    via,
                } => Ok(Admission {
                    subject: Some(caller.subject.clone()),
                    restriction,
                    grant,
                    via,
                }),
                Verdict::Denied => Err(Denial::Forbidden {
                    subject: caller.subject.clone(),
                }),
            },
            // Without a valid token, only public rules (restricted ones here) can admit.
            Err(refusal) => match self.rules.verdict(id, None) {
                Verdict::Admitted {
                    restriction,
                    grant,
                    via,
                } => Ok(Admission {
                    subject: None,
                    restriction,
                    grant,
                    via,
                }),
                Verdict::Denied => Err(Denial::Unauthenticated(refusal)),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{RuleConfig, access::OneOrMany};

    #[test]
    fn test_open_refuses_malformed_rules() {
        let settings = AccessSettings {
            jwks: Some("/nonexistent/k.json".to_owned()),
            issuers: vec!["i".to_owned()],
            rules: vec![RuleConfig {
                ids: OneOrMany::One("a//b".to_owned()),
                grants: Vec::new(),
                public: true,
                regions: None,
                ..RuleConfig::default()
            }],
            ..AccessSettings::default()
        };
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let opened = runtime.block_on(Access::open(&settings));
        assert!(matches!(
            opened,
            Err(AccessError::Rule {
                rule: 1,
                error: RuleError::EmptySegment(_)
            })
        ));
    }
}
