//! Presigned URLs, checked against botocore's own SigV4 presigner (moto accepts any signature,
//! so it cannot): botocore re-signs the same request at the URL's own date and must come to
//! the same signature, the `Range` and `If-Match` headers included.

use std::process::Command;

use htsget_server::config::UrlMode;

use super::moto::Moto;
use crate::{
    common::data_dir,
    server::{TestServer, get},
};

const SIGN: &str = r#"
import sys, datetime
from urllib.parse import urlsplit, parse_qsl, urlencode
import botocore.auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

url, range_, if_match = sys.argv[1:4]
parts = urlsplit(url)
query = dict(parse_qsl(parts.query))
date = datetime.datetime.strptime(query["X-Amz-Date"], "%Y%m%dT%H%M%SZ")
botocore.auth.get_current_datetime = lambda *a, **k: date
headers = {"Range": range_}
if if_match:
    headers["If-Match"] = if_match
request = AWSRequest("GET", f"{parts.scheme}://{parts.netloc}{parts.path}", headers=headers)
botocore.auth.S3SigV4QueryAuth(
    Credentials("testing", "testing"), "s3", "us-east-1", expires=int(query["X-Amz-Expires"])
).add_auth(request)
theirs = dict(parse_qsl(urlsplit(request.url).query))
print(query["X-Amz-SignedHeaders"], theirs["X-Amz-SignedHeaders"])
print(query["X-Amz-Signature"], theirs["X-Amz-Signature"])
"#;

#[test]
fn presigned_urls_match_botocores_signature() {
    let Some(dir) = data_dir() else { return };
    let Some(moto) = Moto::start() else { return };
    moto.put_bam(&dir);
    let settings = moto.settings();
    let server = TestServer::start(None, move |config| {
        config.data = Some("s3://genomes/archive".into());
        config.store.urls = UrlMode::Direct;
        config.store.options = settings.into_iter().collect();
    });

    let ticket = get(
        server.addr,
        "/reads/bam/htsnexus_test_NA12878?referenceName=11",
    )
    .json();
    let presigned: Vec<_> = ticket["htsget"]["urls"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|u| u["url"].as_str().unwrap().contains("X-Amz-Signature"))
        .collect();
    assert!(!presigned.is_empty(), "no presigned URL in {ticket}");

    for url in presigned {
        let text = url["url"].as_str().unwrap();
        assert!(
            !text.contains("testing&") && !text.contains("Secret"),
            "a secret in {text}"
        );
        let range = url["headers"]["Range"].as_str().expect("a signed Range");
        let if_match = url["headers"]["If-Match"].as_str().unwrap_or("");
        assert!(!if_match.is_empty(), "no If-Match: {url}");

        let output = Command::new("python3")
            .args(["-c", SIGN, text, range, if_match])
            .output()
            .expect("python3 with botocore");
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let stdout = String::from_utf8(output.stdout).unwrap();
        let mut lines = stdout.lines();
        let signed: Vec<&str> = lines.next().unwrap().split(' ').collect();
        assert_eq!(signed[0], "host;if-match;range", "signed headers of {text}");
        assert_eq!(signed[0], signed[1], "botocore signs other headers");
        let signatures: Vec<&str> = lines.next().unwrap().split(' ').collect();
        assert_eq!(
            signatures[0], signatures[1],
            "our signature is not botocore's for {text}"
        );
    }
}
