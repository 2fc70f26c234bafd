//! Who is asking, settled before the query is read (a caller without a grant learns nothing of
//! the id, not even whether its query would have been valid), and whether the query stays
//! within what was granted. Every decision goes to the audit trail.

use hyper::{
    HeaderMap,
    header::{self, HeaderValue},
};

use std::{borrow::Cow, sync::Arc};

use htsget_core::{
    Plan,
    facts::{FileFacts, References},
    query::Query,
};

use super::audit;
use crate::{
    access::{Admission, Denial},
    http::error::{ApiError, Forbidden},
    ids::Located,
    state::State,
};

/// The caller's admission to `id` under access control (`None` when it is off).
pub(super) async fn admission(
    state: &State,
    id: &str,
    headers: &HeaderMap,
) -> Result<Option<Admission>, ApiError> {
    let Some(access) = &state.access else {
        return Ok(None);
    };
    let authorization = headers.get(header::AUTHORIZATION);
    match access
        .admit(id, authorization.map(HeaderValue::as_bytes))
        .await
    {
        Ok(admission) => Ok(Some(admission)),
        Err(denial) => {
            audit::denied(&state.metrics, id, &denial);
            Err(match denial {
                Denial::Unauthenticated(refusal) => ApiError::Unauthenticated(refusal),
                Denial::Forbidden { .. } => ApiError::Forbidden(Forbidden::Denied),
                Denial::Unavailable => ApiError::IssuerUnavailable,
            })
        }
    }
}

/// Whether `query` stays within what `admission` grants (anything, without one). Reference
/// names asked and granted are the same when they name the same reference of the file, whose
/// `references` decide through the server's aliases: a grant written `chr11` covers `11` in a
/// file that names it so, and never another reference.
pub(super) fn permitted(
    state: &State,
    id: &str,
    admission: Option<&Admission>,
    query: &Query,
    references: &References,
) -> Result<(), ApiError> {
    let Some(admission) = admission else {
        return Ok(());
    };
    let aliases = &state.aliases;
    let permitted = admission.permits_in(query, |asked, allowed| {
        asked == allowed
            || matches!(
                (references.find(asked, aliases), references.find(allowed, aliases)),
                (Ok(asked), Ok(allowed)) if asked == allowed
            )
    });
    audit::decided(&state.metrics, id, admission, query, permitted);
    if permitted {
        Ok(())
    } else {
        Err(ApiError::Forbidden(Forbidden::Outside))
    }
}

/// The payload of `query` on `located` for a grant restricted to regions: exactly the records
/// that overlap the query's regions (which the grant covers, or the query was refused), cached
/// per file version and query. A file that cannot be cut exactly (a CRAM container to re-encode
/// against a reference sequence that cannot be found) is refused rather than over-served.
pub(super) async fn exact(
    state: &State,
    located: &Located,
    facts: &std::sync::Arc<FileFacts>,
    query: &Query,
) -> Result<Cow<'static, Plan>, ApiError> {
    match state.exact_plan(located, facts, query).await? {
        Some(plan) => Ok(Cow::Owned(Arc::unwrap_or_clone(plan))),
        None => Err(ApiError::Forbidden(Forbidden::Inexact)),
    }
}
