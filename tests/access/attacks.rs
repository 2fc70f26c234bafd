//! The attack list against the ticket endpoint: each hostile token is refused with the status
//! the spec gives, the refusals do not tell existing ids from missing ones, and the log holds
//! no token.

use super::fixtures::{AuthServer, BAM, REGION, fixtures};
use crate::{
    common::{Tool, data_dir, require},
    server::request,
};

/// Tokens that must get 401 InvalidAuthentication with an `invalid_token` challenge.
const INVALID: &[&str] = &[
    "alg_none",
    "hs256_public_key",
    "wrong_key",
    "unknown_kid",
    "key_of_other_type",
    "expired",
    "not_yet_valid",
    "wrong_iss",
    "wrong_aud",
    "no_aud",
    "no_exp",
    "malformed_base64",
    "malformed_json",
    "rotated",
    "iss_array",
    "visa_as_bearer",
    "visa_claims_as_bearer",
    "es256_high_s",
];

/// Valid passports whose visas must all be ignored: 403, as for a token without grants.
const IGNORED_VISAS: &[&str] = &[
    "visa_untrusted_issuer",
    "visa_untrusted_key",
    "visa_expired",
    "visa_other_dataset",
    "visa_with_conditions",
    "visa_malformed",
    "visa_without_by",
    "no_grants",
];

#[test]
fn hostile_tokens_are_refused_and_valid_ones_admitted() {
    let Some(dir) = data_dir() else { return };
    if !require(&[Tool::PyJwt, Tool::Openssl]) {
        return;
    }
    let server = AuthServer::start(&dir, &["--max-header-bytes", "2097152"]);
    let fixtures = fixtures();
    let target = format!("/reads/{BAM}?{REGION}");
    let mut tickets = Vec::new();

    for name in ["passport", "es256", "eddsa"] {
        let reply = server.get(&target, Some(fixtures.token(name)));
        reply.expect(200, name);
        let ticket = reply.json();
        let text = ticket.to_string();
        assert!(
            !text.contains(fixtures.token(name)),
            "{name}: the token is in the ticket"
        );
        assert!(
            !text.contains("Authorization"),
            "{name}: a ticket asks for the token"
        );
        tickets.push(ticket);
    }

    for name in INVALID {
        let reply = server.get(&target, Some(fixtures.token(name)));
        assert_eq!(reply.status, 401, "{name}");
        assert_eq!(reply.error_name(), "InvalidAuthentication", "{name}");
        let challenge = reply.header("www-authenticate").unwrap_or_default();
        assert!(
            challenge.starts_with("Bearer ") && challenge.contains("error=\"invalid_token\""),
            "{name}: {challenge}"
        );
    }

    for name in IGNORED_VISAS {
        let reply = server.get(&target, Some(fixtures.token(name)));
        assert_eq!(reply.status, 403, "{name}");
        assert_eq!(reply.error_name(), "PermissionDenied", "{name}");
    }

    // No token, or a token where none is read (the query string, another scheme): a bare
    // challenge without an error code.
    let passport = fixtures.token("passport");
    for (target, headers) in [
        (target.clone(), vec![]),
        (format!("{target}&access_token={passport}"), vec![]),
        (
            target.clone(),
            vec![("Authorization", format!("Basic {passport}"))],
        ),
        (target.clone(), vec![("Authorization", "Bearer".to_owned())]),
    ] {
        let headers: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let reply = request(server.process.addr, "GET", &target, &headers, b"");
        assert_eq!(reply.status, 401, "{target} {headers:?}");
        assert_eq!(
            reply.header("www-authenticate"),
            Some("Bearer realm=\"htsget\"")
        );
    }

    // A 1 MB token (validly signed): refused by length before any parsing.
    let reply = server.get(&target, Some(fixtures.token("huge")));
    assert_eq!(reply.status, 401);
    assert!(
        reply.json()["htsget"]["message"]
            .as_str()
            .unwrap()
            .contains("too long")
    );

    // POST is guarded the same way.
    let body = br#"{"format": "BAM"}"#;
    let reply = request(
        server.process.addr,
        "POST",
        &format!("/reads/{BAM}"),
        &[],
        body,
    );
    assert_eq!(reply.status, 401);

    server.assert_log_clean(&tickets);
}

#[test]
fn a_huge_token_beyond_the_header_limit_is_refused_by_the_http_layer() {
    let Some(dir) = data_dir() else { return };
    if !require(&[Tool::PyJwt, Tool::Openssl]) {
        return;
    }
    let server = AuthServer::start(&dir, &[]);
    let reply = server.get(
        &format!("/reads/{BAM}?{REGION}"),
        Some(fixtures().token("huge")),
    );
    assert_eq!(reply.status, 431);
    // And the server goes on.
    let reply = server.get(
        &format!("/reads/{BAM}?{REGION}"),
        Some(fixtures().token("passport")),
    );
    assert_eq!(reply.status, 200);
}

#[test]
fn existence_is_not_leaked_and_open_routes_stay_open() {
    let Some(dir) = data_dir() else { return };
    if !require(&[Tool::PyJwt, Tool::Openssl]) {
        return;
    }
    let server = AuthServer::start(&dir, &[]);
    let fixtures = fixtures();
    let region = "referenceName=11";

    // Without a grant: one answer, whether the id exists or not, matched by a rule or not.
    let mut bodies = Vec::new();
    for id in [
        BAM,
        "bam/no_such_file",
        "elsewhere/no_such_file",
        "cram/htsnexus_test_NA12878",
    ] {
        let target = format!("/reads/{id}?format=BAM&{region}");
        let reply = server.get(&target, Some(fixtures.token("no_grants")));
        assert_eq!(
            (reply.status, reply.error_name().as_str()),
            (403, "PermissionDenied"),
            "{id}"
        );
        bodies.push(reply.body.clone());
        let anonymous = server.get(&target, None);
        assert_eq!(anonymous.status, 401, "{id}");
        bodies.push(anonymous.body);
    }
    assert_eq!(
        bodies[0], bodies[2],
        "403 tells an existing id from a missing one"
    );
    assert_eq!(bodies[0], bodies[4]);
    assert_eq!(
        bodies[1], bodies[3],
        "401 tells an existing id from a missing one"
    );
    // Even a malformed query gets the same 403: the query is read after the decision.
    let reply = server.get(
        &format!("/reads/{BAM}?start=oops"),
        Some(fixtures.token("no_grants")),
    );
    assert_eq!(reply.body, bodies[0]);

    // With the grant, a missing id is simply not found.
    let reply = server.get(
        &format!("/reads/bam/no_such_file?{region}"),
        Some(fixtures.token("passport")),
    );
    assert_eq!(reply.status, 404);

    // Public ids need no token, and an expired one sent anyway is ignored.
    let public = "/variants/vcf/spec-v4.3?referenceName=20";
    assert_eq!(server.get(public, None).status, 200);
    assert_eq!(
        server.get(public, Some(fixtures.token("expired"))).status,
        200
    );

    // service-info and CORS preflights are open.
    assert_eq!(server.get("/reads/service-info", None).status, 200);
    let preflight = request(
        server.process.addr,
        "OPTIONS",
        &format!("/reads/{BAM}"),
        &[
            ("Origin", "https://igv.example"),
            ("Access-Control-Request-Method", "GET"),
            ("Access-Control-Request-Headers", "authorization"),
        ],
        b"",
    );
    assert_eq!(preflight.status, 204);
    assert_eq!(
        preflight.header("access-control-allow-headers"),
        Some("authorization")
    );
}

#[test]
fn region_restricted_grants_admit_only_their_regions() {
    let Some(dir) = data_dir() else { return };
    if !require(&[Tool::PyJwt, Tool::Openssl]) {
        return;
    }
    let server = AuthServer::start(&dir, &[]);
    let restricted = fixtures().token("restricted");
    let token = Some(restricted);
    for (query, status) in [
        ("referenceName=11&start=4900000&end=5100000", 200),
        ("referenceName=11&start=4999999&end=5050000", 200),
        ("class=header", 200),
        ("referenceName=11&start=4800000&end=5050000", 403),
        ("referenceName=11&start=5000000", 403),
        ("referenceName=11", 403),
        ("referenceName=20", 403),
        ("referenceName=*", 403),
        ("", 403),
    ] {
        let reply = server.get(&format!("/reads/{BAM}?{query}"), token);
        assert_eq!(reply.status, status, "{query}");
    }
    let body = br#"{"regions": [{"referenceName": "11", "start": 4950000, "end": 4960000},
                                {"referenceName": "20", "start": 1, "end": 2}]}"#;
    let auth = format!("Bearer {restricted}");
    let reply = request(
        server.process.addr,
        "POST",
        &format!("/reads/{BAM}"),
        &[
            ("Authorization", &auth),
            ("Content-Type", "application/json"),
        ],
        body,
    );
    assert_eq!(reply.status, 403, "one region outside is enough to refuse");

    let log = server.process.log();
    let denied = log
        .lines()
        .find(|l| l.contains("ticket decision") && l.contains("outside-regions"))
        .expect("an audit line for the refusal");
    assert!(
        denied.contains("carol") && denied.contains(BAM) && denied.contains("deny"),
        "{denied}"
    );
}
