//! Controlled access end to end: tokens minted by PyJWT with real keys, the attack list, the
//! signed data plane, key rotation, and real clients (samtools, bcftools, python htsget,
//! igv.js) with tokens, over TLS where htslib needs it; and a federation of issuers (userinfo,
//! Passport JWTs, jku, conditions, registered access).

mod attacks;
mod clients;
mod data_urls;
mod exact;
mod federation;
pub(crate) mod fixtures;
mod keys;
