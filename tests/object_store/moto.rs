//! A real S3 server for the tests: moto (`pip install 'moto[server]' boto3`), started on a free
//! loopback port and stopped by its PID.

use std::{
    net::{SocketAddr, TcpListener, TcpStream},
    path::Path,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use std::io::{Read, Write};

use crate::common::{Tool, require};

/// A running moto server.
pub(crate) struct Moto {
    child: Child,
    /// Where it listens.
    pub(crate) addr: SocketAddr,
}

impl Moto {
    /// Starts moto, or `None` (with the `SKIPPED:` line printed) where moto or boto3 is not
    /// installed.
    pub(crate) fn start() -> Option<Self> {
        if !require(&[Tool::Moto]) {
            return None;
        }
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .unwrap()
            .port();
        let child = Command::new("moto_server")
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("moto_server starts");
        let moto = Self {
            child,
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
        };

        let started = Instant::now();
        while !moto.answers() {
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "moto did not start"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        Some(moto)
    }

    /// Pauses (`true`, SIGSTOP) or resumes (`false`, SIGCONT) the server: connections are
    /// still accepted by the kernel, but nothing answers.
    pub(crate) fn pause(&self, paused: bool) {
        let signal = if paused { "-STOP" } else { "-CONT" };
        let status = Command::new("kill")
            .args([signal, &self.child.id().to_string()])
            .status()
            .expect("kill");
        assert!(status.success());
    }

    /// Stops the server for good.
    pub(crate) fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Puts `bytes` at `key` of `bucket` (replacing what was there), or deletes the key.
    pub(crate) fn put(&self, bucket: &str, key: &str, bytes: Option<&[u8]>) {
        let script = r#"
import boto3, sys
endpoint, bucket, key, action = sys.argv[1:5]
s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                  aws_access_key_id="testing", aws_secret_access_key="testing")
try:
    s3.create_bucket(Bucket=bucket)
except Exception:
    pass
if action == "delete":
    s3.delete_object(Bucket=bucket, Key=key)
else:
    s3.put_object(Bucket=bucket, Key=key, Body=sys.stdin.buffer.read())
"#;
        let action = if bytes.is_some() { "put" } else { "delete" };
        let mut child = Command::new("python3")
            .args(["-c", script, &self.endpoint(), bucket, key, action])
            .stdin(Stdio::piped())
            .spawn()
            .expect("python3");
        child
            .stdin
            .take()
            .unwrap()
            .write_all(bytes.unwrap_or_default())
            .unwrap();
        assert!(child.wait().unwrap().success(), "{action} {key} failed");
    }

    /// Puts the NA12878 BAM of the test data and its BAI in bucket `genomes` under `archive/`.
    pub(crate) fn put_bam(&self, dir: &Path) {
        for file in [
            "bam/htsnexus_test_NA12878.bam",
            "bam/htsnexus_test_NA12878.bam.bai",
        ] {
            let bytes = std::fs::read(dir.join(file)).unwrap();
            self.put("genomes", &format!("archive/{file}"), Some(&bytes));
        }
    }

    /// The endpoint URL.
    pub(crate) fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn answers(&self) -> bool {
        let Ok(mut stream) = TcpStream::connect(self.addr) else {
            return false;
        };
        let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
        let request = format!(
            "GET / HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
            self.addr
        );
        let mut reply = [0; 12];
        stream.write_all(request.as_bytes()).is_ok()
            && stream.read_exact(&mut reply).is_ok()
            && reply.starts_with(b"HTTP/1.1 200")
    }

    /// Creates `bucket` and uploads every file under `dir` to it under `prefix`, with boto3.
    pub(crate) fn upload(&self, bucket: &str, prefix: &str, dir: &Path) {
        let script = r#"
import boto3, os, sys
endpoint, bucket, prefix, root = sys.argv[1:5]
s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                  aws_access_key_id="testing", aws_secret_access_key="testing")
s3.create_bucket(Bucket=bucket)
for folder, _, files in os.walk(root):
    for name in files:
        path = os.path.join(folder, name)
        s3.upload_file(path, bucket, prefix + "/" + os.path.relpath(path, root))
"#;
        let status = Command::new("python3")
            .args(["-c", script, &self.endpoint(), bucket, prefix])
            .arg(dir)
            .status()
            .expect("python3");
        assert!(status.success(), "upload to moto failed");
    }

    /// The `object_store` settings that reach this server.
    pub(crate) fn settings(&self) -> Vec<(String, String)> {
        settings(&self.endpoint())
    }
}

/// The `object_store` settings that reach a moto server at `endpoint`.
pub(crate) fn settings(endpoint: &str) -> Vec<(String, String)> {
    {
        [
            ("aws_endpoint", endpoint.to_owned()),
            ("aws_allow_http", "true".to_owned()),
            ("aws_access_key_id", "testing".to_owned()),
            ("aws_secret_access_key", "testing".to_owned()),
            ("aws_region", "us-east-1".to_owned()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect()
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
