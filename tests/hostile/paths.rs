//! Path attacks on ids and data URLs: dot-dots, encodings, absolute paths, symbolic links out of
//! the root, devices, loops, FIFOs and folders.

use std::{
    fs,
    net::SocketAddr,
    path::{Path, PathBuf},
};

use tempfile::TempDir;

use super::{
    BAM_ID, VCF_ID,
    checks::{check_each, lossy},
    files::{copy, symlink, write},
};
use crate::{
    common::{data_dir, run},
    server::{Reply, TestServer, get, request},
};

/// The first bytes of every BGZF (BAM, VCF.gz, BCF, CSI, TBI) and gzip (CRAI) file.
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// What every file outside the data root holds; no response may ever carry it.
const MARKER: &[u8] = b"HTSGET-TEST-SECRET: this file lies outside the data root\n";

/// The files beside the root that hold [`MARKER`], reached by the `evil.*` links.
const SECRET_EXTENSIONS: [&str; 4] = ["bam", "bam.bai", "vcf.gz", "vcf.gz.tbi"];

/// A data root, and beside it the files it must keep out of reach:
///
/// ```text
/// base/secret.{bam,bam.bai,vcf.gz,vcf.gz.tbi}   MARKER
/// base/outside/secret.*                         real data files and indexes
/// base/root/bam/…, base/root/vcf/…              the files served
/// base/root/notes.txt                           not a data file
/// base/root/evil.*        -> ../secret.*        file links out of the root
/// base/root/linked        -> ../outside         a directory link out of the root
/// base/root/alias.bam*    -> bam/…              links that stay inside
/// base/root/zero.bam*     -> /dev/zero          a device
/// base/root/loop.bam*     -> itself             a loop
/// base/root/fifo.bam                            a FIFO (opening it would block)
/// base/root/dir.bam/                            a directory
/// ```
struct Jail {
    base: TempDir,
    root: PathBuf,
}

impl Jail {
    /// The absolute path of the secret BAM.
    fn secret(&self) -> PathBuf {
        fs::canonicalize(self.base.path())
            .unwrap()
            .join("secret.bam")
    }
}

fn build_jail(data: &Path) -> Jail {
    let base = tempfile::tempdir().unwrap();
    let root = base.path().join("root");
    let outside = base.path().join("outside");

    for (id, extensions) in [
        (BAM_ID, ["bam", "bam.bai"]),
        (VCF_ID, ["vcf.gz", "vcf.gz.tbi"]),
    ] {
        for extension in extensions {
            let key = format!("{id}.{extension}");
            copy(&data.join(&key), &root.join(&key));
            copy(
                &data.join(&key),
                &outside.join(format!("secret.{extension}")),
            );
        }
    }

    for extension in SECRET_EXTENSIONS {
        write(&base.path().join(format!("secret.{extension}")), MARKER);
        symlink(
            &format!("../secret.{extension}"),
            &root.join(format!("evil.{extension}")),
        );
    }
    symlink("../outside", &root.join("linked"));

    for extension in ["bam", "bam.bai"] {
        symlink(
            &format!("{BAM_ID}.{extension}"),
            &root.join(format!("alias.{extension}")),
        );
        symlink("/dev/zero", &root.join(format!("zero.{extension}")));
        let looped = format!("loop.{extension}");
        symlink(&looped, &root.join(&looped));
    }

    let bai = data.join(format!("{BAM_ID}.bam.bai"));
    fs::create_dir(root.join("dir.bam")).unwrap();
    copy(&bai, &root.join("dir.bam.bai"));
    let fifo = root.join("fifo.bam");
    let made = run("mkfifo", &[fifo.to_str().unwrap()]);
    assert!(made.status.success(), "mkfifo: {made:?}");
    copy(&bai, &root.join("fifo.bam.bai"));
    write(
        &root.join("notes.txt"),
        b"operator notes: not a data file\n",
    );

    Jail { base, root }
}

/// How an attack would reach outside: by its path alone, through a link out of the root (which
/// `follow_symlinks` opts into), or to something that is not a regular file.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
enum Via {
    Path,
    Link,
    Special,
}

/// One hostile request: a raw target, sent as is.
#[derive(Debug)]
struct Attack {
    what: String,
    method: &'static str,
    target: String,
    range: Option<&'static str>,
    via: Via,
}

impl Attack {
    fn get(what: &str, target: String, via: Via) -> Self {
        Self {
            what: what.to_owned(),
            method: "GET",
            target,
            range: None,
            via,
        }
    }

    fn label(&self) -> String {
        let shown: String = self.target.chars().take(90).collect();
        format!("{} ({} {shown})", self.what, self.method)
    }

    fn send(&self, addr: SocketAddr) -> Reply {
        let headers: Vec<(&str, &str)> = self.range.map(|r| ("Range", r)).into_iter().collect();
        request(addr, self.method, &self.target, &headers, b"")
    }
}

/// Every attack on the ticket and data endpoints; `secret` is the absolute path of the secret.
fn attacks(secret: &Path) -> Vec<Attack> {
    let secret = secret.to_str().unwrap();
    let secret_id = secret.strip_suffix(".bam").unwrap();
    let long = "a".repeat(5000);

    let mut attacks = Vec::new();
    for endpoint in ["/reads", "/variants"] {
        #[rustfmt::skip]
        let ids = [
            ("raw dot-dot", "../secret".to_owned(), Via::Path),
            ("dot-dot below a folder", "bam/../../secret".to_owned(), Via::Path),
            ("dot-dot, encoded slash", "..%2fsecret".to_owned(), Via::Path),
            ("dot-dot, encoded upper-case slash", "..%2Fsecret".to_owned(), Via::Path),
            ("encoded dots", "%2e%2e/secret".to_owned(), Via::Path),
            ("all encoded", "%2e%2e%2fsecret".to_owned(), Via::Path),
            ("double-encoded", "%252e%252e%252fsecret".to_owned(), Via::Path),
            ("double-encoded slash", "..%252fsecret".to_owned(), Via::Path),
            ("overlong UTF-8 dots", "%c0%ae%c0%ae%2fsecret".to_owned(), Via::Path),
            ("empty segment (absolute)", "/etc/passwd".to_owned(), Via::Path),
            ("encoded absolute", "%2fetc%2fpasswd".to_owned(), Via::Path),
            ("absolute path of the secret", secret_id.to_owned(), Via::Path),
            ("raw backslash", "..\\secret".to_owned(), Via::Path),
            ("encoded backslash", "..%5csecret".to_owned(), Via::Path),
            ("NUL inside", "x%00y".to_owned(), Via::Path),
            ("NUL-terminated", "../secret%00".to_owned(), Via::Path),
            ("CR LF (log injection)", "x%0d%0aSet-Cookie:%20a".to_owned(), Via::Path),
            ("5000-byte id", long.clone(), Via::Path),
            ("file link out of the root", "evil".to_owned(), Via::Link),
            ("directory link out of the root", "linked/secret".to_owned(), Via::Link),
        ];
        for (what, id, via) in ids {
            let what = format!("{endpoint}: {what}");
            attacks.push(Attack::get(&what, format!("{endpoint}/{id}"), via));
        }
    }

    #[rustfmt::skip]
    let special = [
        ("/reads: link to a device", "/reads/zero"),
        ("/reads: link loop", "/reads/loop"),
        ("/reads: a directory", "/reads/dir"),
        ("/reads: a FIFO", "/reads/fifo"),
        ("/data: link to a device", "/data/zero.bam"),
        ("/data: link loop", "/data/loop.bam"),
        ("/data: a directory named .bam", "/data/dir.bam"),
        ("/data: a FIFO", "/data/fifo.bam"),
    ];
    for (what, target) in special {
        attacks.push(Attack::get(what, target.to_owned(), Via::Special));
    }

    let encoded_secret = secret.replace('/', "%2f");
    #[rustfmt::skip]
    let data = [
        ("raw dot-dot", "/data/../secret.bam".to_owned(), Via::Path),
        ("dot-dot below a folder", "/data/bam/../../secret.bam".to_owned(), Via::Path),
        ("encoded dots", "/data/%2e%2e/secret.bam".to_owned(), Via::Path),
        ("dot-dot, encoded slash", "/data/..%2fsecret.bam".to_owned(), Via::Path),
        ("all encoded", "/data/%2e%2e%2fsecret.bam".to_owned(), Via::Path),
        ("double-encoded", "/data/%252e%252e%252fsecret.bam".to_owned(), Via::Path),
        ("overlong UTF-8 dots", "/data/%c0%ae%c0%ae/secret.bam".to_owned(), Via::Path),
        ("absolute path of the secret", format!("/data/{secret}"), Via::Path),
        ("encoded absolute path of the secret", format!("/data/{encoded_secret}"), Via::Path),
        ("raw backslash", "/data/..\\secret.bam".to_owned(), Via::Path),
        ("encoded backslash", "/data/..%5csecret.bam".to_owned(), Via::Path),
        ("NUL before a data extension", "/data/evil.bam%00.bam".to_owned(), Via::Path),
        ("an index", format!("/data/{BAM_ID}.bam.bai"), Via::Path),
        ("a tabix index", format!("/data/{VCF_ID}.vcf.gz.tbi"), Via::Path),
        ("a non-data file", "/data/notes.txt".to_owned(), Via::Path),
        ("a folder", "/data/bam".to_owned(), Via::Path),
        ("the root itself", "/data/".to_owned(), Via::Path),
        ("5000-byte key", format!("/data/{long}.bam"), Via::Path),
        ("file link out of the root", "/data/evil.bam".to_owned(), Via::Link),
        ("directory link out of the root", "/data/linked/secret.bam".to_owned(), Via::Link),
        ("a linked index out of the root", "/data/evil.bam.bai".to_owned(), Via::Link),
        ("span of a link out of the root", "/data/evil.bam?span=0-65536".to_owned(), Via::Link),
        ("span with dot-dot", "/data/../secret.bam?span=0-65536".to_owned(), Via::Path),
        ("span of a non-data file", "/data/notes.txt?span=0-65536".to_owned(), Via::Path),
    ];
    for (what, target, via) in data {
        attacks.push(Attack::get(&format!("/data: {what}"), target, via));
    }

    let mut head = Attack::get(
        "/data: HEAD of a link out",
        "/data/evil.bam".into(),
        Via::Link,
    );
    head.method = "HEAD";
    attacks.push(head);
    let mut ranged = Attack::get(
        "/data: Range of a link out",
        "/data/evil.bam".into(),
        Via::Link,
    );
    ranged.range = Some("bytes=0-15");
    attacks.push(ranged);

    attacks
}

/// A refusal: 400, 404 or 414, an htsget `NotFound` or `InvalidInput` (hyper's own 400 for an
/// unparsable request line may have no body), and no byte of anything outside.
fn assert_refused(reply: &Reply, attack: &Attack) {
    assert!(
        matches!(reply.status, 400 | 404 | 414),
        "status {} (want 400, 404 or 414): {}",
        reply.status,
        lossy(&reply.body)
    );
    assert!(
        !contains(&reply.body, MARKER),
        "the body carries the secret"
    );
    assert!(
        !reply.body.starts_with(&GZIP_MAGIC),
        "the body is a data or index file"
    );

    let bare_parse_error = reply.status == 400 && reply.body.is_empty();
    if attack.method != "HEAD" && !bare_parse_error {
        let name = reply.error_name();
        assert!(
            name == "NotFound" || name == "InvalidInput",
            "error {name:?}: {}",
            lossy(&reply.body)
        );
    }
}

/// Links that stay inside the root are ordinary files.
fn assert_links_inside_are_served(server: &TestServer, data: &Path) {
    let reply = get(server.addr, "/reads/alias");
    assert_eq!(reply.status, 200, "/reads/alias: {}", lossy(&reply.body));

    let reply = get(server.addr, "/data/alias.bam");
    assert_eq!(reply.status, 200, "/data/alias.bam");
    let bam = fs::read(data.join(format!("{BAM_ID}.bam"))).unwrap();
    assert!(reply.body == bam, "/data/alias.bam is not the linked file");
}

/// A file served once, then swapped for a link out of the root (or its folder for a link to a
/// folder outside), is refused: what was checked before does not vouch for what is there now.
fn assert_swapped_files_are_checked_again(server: &TestServer, jail: &Jail) {
    let bam = jail.root.join(format!("{BAM_ID}.bam"));
    let swapped_file = jail.root.join("swap.bam");
    let swapped_folder = jail.root.join("swapped");
    copy(&bam, &swapped_file);
    copy(&bam, &swapped_folder.join("secret.bam"));

    for target in ["/data/swap.bam", "/data/swapped/secret.bam"] {
        assert_eq!(
            get(server.addr, target).status,
            200,
            "{target} before the swap"
        );
    }

    fs::remove_file(&swapped_file).unwrap();
    symlink("../secret.bam", &swapped_file);
    fs::remove_dir_all(&swapped_folder).unwrap();
    symlink("../outside", &swapped_folder);

    for target in ["/data/swap.bam", "/data/swapped/secret.bam"] {
        let attack = Attack::get("swapped for a link out", target.to_owned(), Via::Link);
        assert_refused(&attack.send(server.addr), &attack);
    }
}

/// With `follow_symlinks`, links out of the root lead where they point.
fn assert_links_out_are_followed(server: &TestServer, data: &Path) {
    let reply = get(server.addr, "/data/evil.bam");
    assert_eq!(reply.status, 200, "/data/evil.bam: {}", lossy(&reply.body));
    assert_eq!(reply.body, MARKER, "/data/evil.bam is not the linked file");

    let reply = get(server.addr, "/data/linked/secret.bam");
    assert_eq!(reply.status, 200, "/data/linked/secret.bam");
    let bam = fs::read(data.join(format!("{BAM_ID}.bam"))).unwrap();
    assert!(
        reply.body == bam,
        "/data/linked/secret.bam is not the linked file"
    );

    for (target, key) in [
        ("/reads/linked/secret", "linked/secret.bam"),
        ("/variants/linked/secret", "linked/secret.vcf.gz"),
    ] {
        let reply = get(server.addr, target);
        assert_eq!(reply.status, 200, "{target}: {}", lossy(&reply.body));
        let data_url = format!("{}/data/{key}", server.url);
        assert!(
            lossy(&reply.body).contains(&data_url),
            "{target}: no URL {data_url}: {}",
            lossy(&reply.body)
        );
    }
}

#[test]
fn path_attacks_never_escape_the_data_root() {
    let Some(data) = data_dir() else { return };
    let jail = build_jail(&data);
    let attacks = attacks(&jail.secret());

    let server = TestServer::start(Some(&jail.root), |_| {});
    check_each(&attacks, Attack::label, |attack| {
        assert_refused(&attack.send(server.addr), attack);
    });
    assert_links_inside_are_served(&server, &data);
    assert_swapped_files_are_checked_again(&server, &jail);
    drop(server);

    // The opt-in follows links out of the root, and nothing else: paths are still checked, and
    // devices, loops, folders and FIFOs are still not files.
    let server = TestServer::start(Some(&jail.root), |config| config.follow_symlinks = true);
    let still_refused: Vec<&Attack> = attacks.iter().filter(|a| a.via != Via::Link).collect();
    check_each(
        &still_refused,
        |attack| attack.label(),
        |attack| assert_refused(&attack.send(server.addr), attack),
    );
    assert_links_out_are_followed(&server, &data);
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}
