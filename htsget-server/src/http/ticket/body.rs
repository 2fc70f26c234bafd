//! Reading a POST body within its limits, so that even a client far over them reads its 413.

use bytes::Bytes;
use htsget_core::{Error, Reason};
use http_body_util::BodyExt;
use hyper::{Request, body::Incoming, header};

use super::super::error::ApiError;

/// How much of a body over the limit is read and thrown away before the 413 goes out: a client
/// still sending when the connection closed would see a broken pipe instead of the answer.
/// Bodies that declare more are refused at once.
const DRAIN_LIMIT: u64 = 64 << 20;

/// The request body, if it is at most `limit` bytes and arrives by `deadline`.
pub(super) async fn read_body(
    request: Request<Incoming>,
    limit: u64,
    deadline: tokio::time::Instant,
) -> Result<Bytes, ApiError> {
    let too_large = || ApiError::from(Error::PayloadTooLarge { limit });

    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|length| length.to_str().ok()?.parse::<u64>().ok());
    if declared.is_some_and(|n| n > DRAIN_LIMIT) {
        return Err(too_large());
    }

    let mut body = request.into_body();
    let mut kept = Vec::with_capacity(declared.unwrap_or(0).min(limit) as usize);
    let mut seen = 0_u64;

    loop {
        let frame = match tokio::time::timeout_at(deadline, body.frame()).await {
            Ok(Some(Ok(frame))) => frame,
            Ok(None) => break,
            Ok(Some(Err(_))) => {
                return Err(Error::invalid_input(
                    Reason::UnreadableBody,
                    "the request body could not be read",
                )
                .into());
            }
            Err(_) if seen > limit || declared.is_some_and(|n| n > limit) => {
                return Err(too_large());
            }
            Err(_) => {
                return Err(Error::invalid_input(
                    Reason::UnreadableBody,
                    "the request body arrived too slowly",
                )
                .into());
            }
        };

        if let Ok(data) = frame.into_data() {
            seen += data.len() as u64;
            if seen > DRAIN_LIMIT {
                return Err(too_large());
            }
            if seen <= limit {
                kept.extend_from_slice(&data);
            }
        }
    }

    if seen > limit {
        Err(too_large())
    } else {
        Ok(Bytes::from(kept))
    }
}
