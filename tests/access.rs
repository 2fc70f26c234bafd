//! Controlled access end to end: tokens minted by PyJWT with real keys, the attack list, the
//! signed data plane, key rotation, and real clients (samtools, bcftools, python htsget,
//! igv.js) with tokens, over TLS where htslib needs it.

mod attacks;
mod clients;
mod data_urls;
pub(crate) mod fixtures;
mod keys;
