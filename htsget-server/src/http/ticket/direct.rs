//! Tickets whose URLs go straight to the object store: presigned URLs for whole blocks, the cut
//! pieces of BGZF spans inline. The server never touches body bytes.

use std::collections::BTreeMap;

use htsget_core::{
    Content, Error, Plan, Span, Storage, Ticket, load,
    storage::Fault,
    ticket::{Location, split},
};

use super::super::error::ApiError;
use crate::{ids::Located, state::State};

/// The direct ticket for `plan` of `located`.
pub(super) async fn ticket(
    state: &State,
    located: &Located,
    plan: &Plan,
) -> Result<Ticket, ApiError> {
    let storage = &*state.storage;
    let io = |source| Error::Io {
        what: "data file",
        source,
    };

    // The cut blocks of BGZF spans are read now (two at most per span) and go inline.
    let cuts = plan
        .parts()
        .iter()
        .any(|part| matches!(part.content(), Content::Span(Span::Bgzf(_))));
    let inlined;
    let plan = if cuts {
        let object = storage.open(&located.data).await.map_err(io)?;
        if object.metadata() != &located.data_metadata {
            state.forget(located);
            return Err(io(Fault::Changed.into()).into());
        }
        inlined = load::inline(&*object, plan).await?;
        &inlined
    } else {
        plan
    };

    let ttl = state.config.store.presign_ttl;
    let mut locations = Vec::with_capacity(plan.parts().len());
    for part in plan.parts() {
        match part.content() {
            Content::Inline(bytes) => locations.push((part.section(), Location::Inline(bytes))),
            Content::Span(Span::Bytes(range)) => {
                for piece in split(*range) {
                    let presigned = storage
                        .presign(&located.data, &located.data_metadata, piece, ttl)
                        .ok_or_else(|| io(Fault::Failed.into()))?
                        .await
                        .map_err(io)?;
                    let headers: BTreeMap<String, String> = presigned.headers.into_iter().collect();
                    let url = presigned.url;
                    locations.push((part.section(), Location::Url { url, headers }));
                }
            }
            // `load::inline` leaves no BGZF span.
            Content::Span(Span::Bgzf(_)) => {}
        }
    }

    Ok(Ticket::from_locations(located.format, locations))
}
