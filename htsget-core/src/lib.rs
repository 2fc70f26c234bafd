//! htsget-core
#![doc(html_no_source)]

mod error;
pub mod facts;
mod format;
pub mod load;
mod plan;
pub mod query;
pub mod resolve;
mod storage;

pub use self::{
    error::{Error, ErrorKind},
    format::{Endpoint, Format},
    plan::{Block, BlockClass, ByteRange, Plan, Source},
    query::{Class, Query},
    resolve::resolve,
    storage::{LocalStorage, Storage},
};
