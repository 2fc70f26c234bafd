//! The I/O layer: reading a file's facts, and the bytes of the BGZF spans a plan cuts, through
//! [`Storage`](crate::storage::Storage) and its [`Object`](crate::storage::Object) handles.
//!
//! Every function is async and runtime-agnostic: with the `tokio` feature, local file reads run
//! on tokio's blocking pool inside a tokio runtime; elsewhere any executor drives them.

mod check;
mod exact;
mod facts;
mod header;
mod index;
mod payload;
mod spans;

use std::io;

pub use self::{
    exact::{ReferenceSequences, exact, exact_with},
    facts::{facts, facts_known, facts_of},
    payload::{PAYLOAD_CHUNK, write_payload},
    spans::{inline, span_contents},
};

use crate::Error;

/// A storage error as the error of reading `what`: missing objects are [`Error::NotFound`].
fn io_error(source: io::Error, what: &'static str) -> Error {
    if source.kind() == io::ErrorKind::NotFound {
        Error::NotFound {
            what: what.to_owned(),
        }
    } else {
        Error::Io { what, source }
    }
}

fn invalid(source: io::Error, what: &'static str) -> Error {
    Error::InvalidData { what, source }
}
