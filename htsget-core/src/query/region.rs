//! STUB (replaced by the query helper)
#![allow(missing_docs)]
use crate::Error;
#[derive(Clone, Debug, Eq, PartialEq, Hash)]
pub enum ReferenceName { Name(String), Unplaced }
#[derive(Clone, Copy, Debug, Default, Eq, PartialEq, Hash)]
pub struct Interval { start: Option<u32>, end: Option<u32> }
impl Interval {
    pub fn start(&self) -> Option<u32> { self.start }
    pub fn end(&self) -> Option<u32> { self.end }
}
#[derive(Clone, Debug, Eq, PartialEq, Hash)]
pub struct Region { reference_name: ReferenceName, interval: Interval }
impl Region {
    pub fn new(name: impl Into<String>, start: Option<u32>, end: Option<u32>) -> Result<Self, Error> {
        let name = name.into();
        let reference_name = if name == "*" { ReferenceName::Unplaced } else { ReferenceName::Name(name) };
        Ok(Self { reference_name, interval: Interval { start, end } })
    }
    pub fn reference_name(&self) -> &ReferenceName { &self.reference_name }
    pub fn interval(&self) -> &Interval { &self.interval }
}
