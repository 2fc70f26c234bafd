//! Service-info for reads and variants.

use serde_json::Value;

use crate::{
    common::data_dir,
    server::{TestServer, get},
};

#[test]
fn test_conformance_service_info() {
    let Some(dir) = data_dir() else { return };
    let server = TestServer::shared(&dir);

    for (target, datatype, formats) in [
        ("/reads/service-info", "reads", ["BAM", "CRAM"]),
        ("/variants/service-info", "variants", ["VCF", "BCF"]),
    ] {
        let reply = get(server.addr, target);
        assert_eq!(reply.status, 200, "{target}");
        assert!(
            reply.is_json(),
            "{target}: {:?}",
            reply.header("content-type")
        );
        assert_service_info(&reply.json(), datatype, &formats, target);
    }
}

/// The service-info fields htsget 1.3 asks for, with the spec's own spellings.
fn assert_service_info(info: &Value, datatype: &str, formats: &[&str], what: &str) {
    for key in ["id", "name", "version"] {
        assert!(
            info[key].as_str().is_some_and(|s| !s.is_empty()),
            "{what}: {key}: {info}"
        );
    }
    for key in ["group", "artifact", "version"] {
        assert!(info["type"][key].is_string(), "{what}: type.{key}: {info}");
    }
    assert_eq!(info["type"]["artifact"], "htsget", "{what}");
    assert_eq!(info["type"]["version"], "1.3.0", "{what}");
    assert!(info["organization"]["name"].is_string(), "{what}: {info}");
    let org_url = info["organization"]["url"].as_str().unwrap_or("");
    assert!(
        org_url.starts_with("http://") || org_url.starts_with("https://"),
        "{what}: {info}"
    );

    let htsget = info["htsget"].as_object().expect("an htsget object");
    assert_eq!(htsget["datatype"], datatype, "{what}");
    let served: Vec<&str> = htsget["formats"]
        .as_array()
        .expect("formats is an array")
        .iter()
        .map(|f| f.as_str().unwrap())
        .collect();
    assert!(
        !served.is_empty() && served.iter().all(|f| formats.contains(f)),
        "{what}: {served:?}"
    );
    assert!(
        htsget["fieldsParameterEffective"].is_boolean(),
        "{what}: {info}"
    );
    assert!(
        htsget["tagsParametersEffective"].is_boolean(),
        "{what}: {info}"
    );
    assert!(
        !htsget.contains_key("fieldsParametersEffective"),
        "{what}: {info}"
    );
}
