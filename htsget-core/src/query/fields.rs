//! STUB
#![allow(missing_docs)]
#[derive(Clone, Debug, Eq, PartialEq)]
pub enum Field { Qname }
#[derive(Clone, Debug, Default, Eq, PartialEq)]
pub struct Fields(Option<Vec<Field>>);
#[derive(Clone, Debug, Default, Eq, PartialEq)]
pub struct Tags { tags: Option<Vec<String>>, notags: Vec<String> }
