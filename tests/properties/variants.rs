//! VCF.gz with a tabix index built by noodles reading the file back, and BCF with a CSI built
//! from the virtual positions the writer reports.

mod fixture;
mod flavour;
mod spec;

use proptest::prelude::*;

use super::{RegionSpec, query_spec};
use fixture::VariantsFixture;
use flavour::Flavour;
use spec::{VariantsSpec, variants_spec};

fn variants_case() -> impl Strategy<Value = (VariantsSpec, Vec<Vec<RegionSpec>>)> {
    (variants_spec(), prop::collection::vec(query_spec(false), 8))
}

proptest! {
    #![proptest_config(super::config())]

    #[test]
    fn vcf_gz_payloads_hold_every_overlapping_record((spec, queries) in variants_case()) {
        let fixture = VariantsFixture::new(Flavour::Vcf, &spec);

        for query in &queries {
            fixture.check(query).map_err(TestCaseError::fail)?;
        }
    }

    #[test]
    fn bcf_payloads_hold_every_overlapping_record((spec, queries) in variants_case()) {
        let fixture = VariantsFixture::new(Flavour::Bcf, &spec);

        for query in &queries {
            fixture.check(query).map_err(TestCaseError::fail)?;
        }
    }
}
