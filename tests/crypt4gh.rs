//! Crypt4GH against python `crypt4gh` 1.8.6 (PyPI), the oracle: its key files open here, files
//! it encrypts read back here as exactly the original plaintext (facts and all), and streams
//! written here (header, segments, edit list) decrypt there to exactly what was meant.

use std::{
    path::Path,
    process::{Command, Stdio},
    sync::Arc,
};

use htsget_core::{
    Format,
    crypt4gh::{
        edits, header,
        keys::{PublicKey, SecretKey},
        segments,
    },
    load,
    storage::{Crypt4ghStorage, LocalStorage, Storage},
};

use crate::common::{Tool, block_on, data_dir, require};

mod granted;
mod rekey;
mod scheme;
mod served;

/// Runs a python `crypt4gh` command with `stdin` from a file and `stdout` to one; its
/// success.
pub(crate) fn crypt4gh(args: &[&str], stdin: &Path, stdout: &Path) -> bool {
    Command::new("crypt4gh")
        .args(args)
        .stdin(std::fs::File::open(stdin).unwrap())
        .stdout(std::fs::File::create(stdout).unwrap())
        .stderr(Stdio::null())
        .status()
        .expect("crypt4gh runs (pip install crypt4gh==1.8.6)")
        .success()
}

/// A key pair made by `crypt4gh-keygen --nocrypt` in `dir`, as (secret file, public file).
pub(crate) fn keygen(dir: &Path, name: &str) -> (std::path::PathBuf, std::path::PathBuf) {
    let (sk, pk) = (
        dir.join(format!("{name}.sec")),
        dir.join(format!("{name}.pub")),
    );
    let status = Command::new("crypt4gh-keygen")
        .args([
            "--sk",
            sk.to_str().unwrap(),
            "--pk",
            pk.to_str().unwrap(),
            "--nocrypt",
            "-f",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("crypt4gh-keygen runs (pip install crypt4gh==1.8.6)");
    assert!(status.success());
    (sk, pk)
}

#[test]
fn python_key_files_open_here() {
    if !require(&[Tool::Crypt4gh]) {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let (sk, pk) = keygen(tmp.path(), "a");
    let secret = SecretKey::from_file_text(&std::fs::read_to_string(&sk).unwrap(), None).unwrap();
    let public = PublicKey::from_file_text(&std::fs::read_to_string(&pk).unwrap()).unwrap();
    assert_eq!(secret.public(), public);

    // Locked keys: scrypt (python's default) and bcrypt, with a passphrase.
    for (name, scrypt) in [("scrypt", "True"), ("bcrypt", "False")] {
        let (sk, pk) = (
            tmp.path().join(format!("{name}.sec")),
            tmp.path().join(format!("{name}.pub")),
        );
        let script = format!(
            "from crypt4gh.keys import c4gh\nc4gh.scrypt_supported = {scrypt}\n\
             c4gh.generate({:?}, {:?}, b'pass phrase', None)\n",
            sk.to_str().unwrap(),
            pk.to_str().unwrap()
        );
        assert!(
            Command::new("python3")
                .args(["-c", &script])
                .status()
                .unwrap()
                .success()
        );
        let text = std::fs::read_to_string(&sk).unwrap();
        let secret = SecretKey::from_file_text(&text, Some(b"pass phrase")).unwrap();
        let public = PublicKey::from_file_text(&std::fs::read_to_string(&pk).unwrap()).unwrap();
        assert_eq!(secret.public(), public, "{name}");
        assert!(
            SecretKey::from_file_text(&text, Some(b"wrong")).is_err(),
            "{name}"
        );
        assert!(SecretKey::from_file_text(&text, None).is_err(), "{name}");
    }
}

#[test]
fn python_encrypted_files_read_back_as_their_plaintext() {
    let Some(dir) = data_dir() else { return };
    if !require(&[Tool::Crypt4gh]) {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let (sk, pk) = keygen(tmp.path(), "server");
    let secret = SecretKey::from_file_text(&std::fs::read_to_string(&sk).unwrap(), None).unwrap();

    // The BAM encrypted, its index plain; the VCF and its index both encrypted.
    let root = tmp.path().join("root");
    std::fs::create_dir(&root).unwrap();
    let recipient = ["encrypt", "--recipient_pk", pk.to_str().unwrap()];
    let bam = dir.join("bam/htsnexus_test_NA12878.bam");
    assert!(crypt4gh(&recipient, &bam, &root.join("na.bam.c4gh")));
    std::fs::copy(
        dir.join("bam/htsnexus_test_NA12878.bam.bai"),
        root.join("na.bam.bai"),
    )
    .unwrap();
    let vcf = dir.join("vcf/spec-v4.3.vcf.gz");
    assert!(crypt4gh(&recipient, &vcf, &root.join("spec.vcf.gz.c4gh")));
    assert!(crypt4gh(
        &recipient,
        &dir.join("vcf/spec-v4.3.vcf.gz.tbi"),
        &root.join("spec.vcf.gz.tbi.c4gh")
    ));

    let storage = Crypt4ghStorage::new(Arc::new(LocalStorage::new(&root)), secret);
    for (key, plain, index, format) in [
        ("na.bam", bam, "na.bam.bai", Format::Bam),
        ("spec.vcf.gz", vcf, "spec.vcf.gz.tbi", Format::Vcf),
    ] {
        let original = std::fs::read(&plain).unwrap();
        let object = block_on(storage.open(key)).unwrap();
        assert_eq!(object.size(), original.len() as u64, "{key}");
        let whole = block_on(object.read(0, original.len())).unwrap();
        assert!(whole == original, "{key}: the plaintext differs");
        // Reads across segment boundaries.
        let size = original.len() as u64;
        for (offset, len) in [(65_530, 20), (1, 200_000), (size - 5, 5)] {
            if offset >= size {
                continue;
            }
            let len = len.min(original.len() - offset as usize);
            let piece = block_on(object.read(offset, len)).unwrap();
            assert!(
                piece[..] == original[offset as usize..offset as usize + len],
                "{key} at {offset}"
            );
        }
        let facts = block_on(load::facts(&storage, format, key, index)).unwrap();
        let direct = block_on(load::facts(
            &LocalStorage::new(plain.parent().unwrap()),
            format,
            plain.file_name().unwrap().to_str().unwrap(),
            &format!(
                "{}.{}",
                plain.file_name().unwrap().to_str().unwrap(),
                index.rsplit('.').next().unwrap()
            ),
        ))
        .unwrap();
        // The same facts (the name map's order aside: it is a hash map).
        let (facts, direct) = (format!("{facts:?}"), format!("{direct:?}"));
        let parts = |text: &str| {
            let names = text.split(" ids: ").next().unwrap().to_owned();
            let layout = text.split(" layout: ").nth(1).unwrap().to_owned();
            (names, layout)
        };
        assert_eq!(parts(&facts), parts(&direct), "{key}: facts differ");
    }

    // A tampered segment fails the read; a file for another key does not open.
    let mut tampered = std::fs::read(root.join("na.bam.c4gh")).unwrap();
    let at = tampered.len() / 2;
    tampered[at] ^= 1;
    std::fs::write(root.join("bad.bam.c4gh"), tampered).unwrap();
    let object = block_on(storage.open("bad.bam")).unwrap();
    assert!(block_on(object.read(0, object.size() as usize)).is_err());
    let other = Crypt4ghStorage::new(Arc::new(LocalStorage::new(&root)), SecretKey::generate());
    assert_eq!(
        block_on(other.open("na.bam")).unwrap_err().kind(),
        std::io::ErrorKind::InvalidData
    );
}

#[test]
fn streams_written_here_decrypt_with_python() {
    if !require(&[Tool::Crypt4gh]) {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let (sk, pk) = keygen(tmp.path(), "client");
    let client = PublicKey::from_file_text(&std::fs::read_to_string(&pk).unwrap()).unwrap();
    let plain: Vec<u8> = (0..200_000_u32).map(|i| (i * 31 % 251) as u8).collect();
    let key = [9; 32];

    for edit_list in [
        None,
        Some(edits::build([(10, 70_000, 0), (5_000, 1, 20), (0, 30, 0)])),
    ] {
        let mut stream = header::write(&client, &[key], edit_list.as_deref());
        for (i, chunk) in plain.chunks(segments::PLAIN as usize).enumerate() {
            let mut nonce = [0; 12];
            nonce[..8].copy_from_slice(&(i as u64).to_le_bytes());
            stream.extend(segments::encrypt(&key, &nonce, chunk));
        }
        let (input, output) = (tmp.path().join("in.c4gh"), tmp.path().join("out"));
        std::fs::write(&input, &stream).unwrap();
        assert!(crypt4gh(
            &["decrypt", "--sk", sk.to_str().unwrap()],
            &input,
            &output
        ));
        let expected = match &edit_list {
            Some(list) => edits::apply(list, &plain),
            None => plain.clone(),
        };
        assert!(std::fs::read(&output).unwrap() == expected, "{edit_list:?}");
    }
}
