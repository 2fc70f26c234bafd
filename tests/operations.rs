//! Operational behaviour: graceful shutdown lets streams finish; dropped streams free their
//! file handles; health, metrics, logs, live reload and the viewer.

mod endpoints;
mod reload;
mod viewer;

use std::{
    io::{Read, Write},
    net::TcpStream,
    path::Path,
    time::{Duration, Instant},
};

use crate::server::TestServer;

const SIZE: usize = 32 << 20;

/// A data root holding one 32 MiB "BAM" (the data endpoint only serves ranges; content is
/// irrelevant here).
fn big_file_root() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let bytes: Vec<u8> = (0..SIZE).map(|i| (i * 7 % 251) as u8).collect();
    std::fs::write(dir.path().join("big.bam"), bytes).unwrap();
    dir
}

fn open_stream(server: &TestServer) -> TcpStream {
    let mut stream = TcpStream::connect(server.addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    write!(
        stream,
        "GET /data/big.bam HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    stream
}

#[test]
fn shutdown_lets_in_flight_streams_finish() {
    let root = big_file_root();
    let server = TestServer::start(Some(root.path()), |_| {});
    let mut stream = open_stream(&server);

    let mut first = vec![0; 1 << 20];
    stream.read_exact(&mut first).unwrap();

    // Stop the server while the client is mid-stream; the stop waits for the stream.
    let stopper = std::thread::spawn(move || drop(server));
    std::thread::sleep(Duration::from_millis(200));

    let mut rest = Vec::new();
    stream.read_to_end(&mut rest).unwrap();
    stopper.join().unwrap();

    let received = first.len() + rest.len();
    let header_end = first.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
    assert_eq!(
        received - header_end,
        SIZE,
        "the stream was cut by the shutdown"
    );
}

#[cfg(target_os = "linux")]
#[test]
fn dropped_streams_release_file_handles() {
    let open_fds = || std::fs::read_dir("/proc/self/fd").unwrap().count();
    let root = big_file_root();
    let server = TestServer::start(Some(root.path()), |_| {});
    let baseline = open_fds();

    for _ in 0..3 {
        let streams: Vec<TcpStream> = (0..16)
            .map(|_| {
                let mut stream = open_stream(&server);
                let mut some = [0; 4096];
                stream.read_exact(&mut some).unwrap();
                stream
            })
            .collect();
        assert!(
            open_fds() > baseline,
            "streams should hold files and sockets"
        );
        drop(streams);
    }

    let deadline = Instant::now() + Duration::from_secs(10);
    while open_fds() > baseline + 2 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(
        open_fds() <= baseline + 2,
        "file descriptors did not return to baseline: {} > {baseline}",
        open_fds()
    );
}

#[test]
fn replaced_files_are_never_answered_from_a_stale_index() {
    let Some(data) = crate::common::data_dir() else {
        return;
    };
    let root = tempfile::tempdir().unwrap();
    let place = |name: &str| {
        // Write beside and rename over, as an operator replacing a file would.
        for extension in ["bam", "bam.bai"] {
            let staged = root.path().join(format!("staged.{extension}"));
            std::fs::copy(data.join(format!("bam/{name}.{extension}")), &staged).unwrap();
            std::fs::rename(&staged, root.path().join(format!("x.{extension}"))).unwrap();
        }
    };

    place("htsnexus_test_NA12878");
    let server = TestServer::start(Some(root.path()), |_| {});
    let ask = |reference: &str| {
        crate::server::get(server.addr, &format!("/reads/x?referenceName={reference}")).status
    };
    assert_eq!(ask("11"), 200);
    assert_eq!(ask("CHROMOSOME_I"), 404);

    place("index_level0");
    assert_eq!(
        ask("CHROMOSOME_I"),
        200,
        "the new file's references are served"
    );
    assert_eq!(ask("11"), 404, "the old file's index is not used");
}

#[test]
fn files_behind_links_and_in_sub_folders_are_never_answered_stale() {
    let Some(data) = crate::common::data_dir() else {
        return;
    };
    // Outside the root (the server follows links): a file linked from the root, a folder linked
    // from the root, and a second folder the folder link is later turned to.
    let root = tempfile::tempdir().unwrap();
    let [file_home, folder, other_folder] = [(); 3].map(|()| tempfile::tempdir().unwrap());
    let place = |folder: &Path, name: &str| {
        for extension in ["bam", "bam.bai"] {
            let staged = folder.join(format!("staged.{extension}"));
            std::fs::copy(data.join(format!("bam/{name}.{extension}")), &staged).unwrap();
            std::fs::rename(&staged, folder.join(format!("x.{extension}"))).unwrap();
        }
    };
    std::fs::create_dir(root.path().join("sub")).unwrap();
    for home in [file_home.path(), &root.path().join("sub"), folder.path()] {
        place(home, "htsnexus_test_NA12878");
    }
    place(other_folder.path(), "index_level0");
    for extension in ["bam", "bam.bai"] {
        std::os::unix::fs::symlink(
            file_home.path().join(format!("x.{extension}")),
            root.path().join(format!("linked.{extension}")),
        )
        .unwrap();
    }
    std::os::unix::fs::symlink(folder.path(), root.path().join("through")).unwrap();

    let start = |root: &Path| TestServer::start(Some(root), |config| config.follow_symlinks = true);
    let ask = |server: &TestServer, id: &str, reference: &str| {
        let target = format!("/reads/{id}?referenceName={reference}");
        crate::server::get(server.addr, &target).status
    };
    let server = start(root.path());
    for id in ["linked", "sub/x", "through/x"] {
        // Twice: the second answer may come from what the first found.
        assert_eq!(ask(&server, id, "11"), 200, "{id}");
        assert_eq!(ask(&server, id, "11"), 200, "{id}");
    }

    // One change at a time: a change in any watched folder would have every id looked at again.
    let new_file = |server: &TestServer, id: &str| {
        assert_eq!(
            ask(server, id, "CHROMOSOME_I"),
            200,
            "{id}: the new file is served"
        );
        assert_eq!(
            ask(server, id, "11"),
            404,
            "{id}: the old file's index is not used"
        );
    };
    place(file_home.path(), "index_level0");
    new_file(&server, "linked");
    place(&root.path().join("sub"), "index_level0");
    new_file(&server, "sub/x");
    place(folder.path(), "index_level0");
    new_file(&server, "through/x");

    drop(server);

    // The folder link turned to another folder (write beside and rename over), in a root of
    // its own so that no other id's folder is watched.
    let root = tempfile::tempdir().unwrap();
    place(folder.path(), "htsnexus_test_NA12878");
    std::os::unix::fs::symlink(folder.path(), root.path().join("through")).unwrap();
    let server = start(root.path());
    assert_eq!(ask(&server, "through/x", "11"), 200);
    assert_eq!(ask(&server, "through/x", "11"), 200);
    let staged = root.path().join("staged-link");
    std::os::unix::fs::symlink(other_folder.path(), &staged).unwrap();
    std::fs::rename(&staged, root.path().join("through")).unwrap();
    // The folder the link now leads to is served.
    new_file(&server, "through/x");
}

#[test]
fn clients_that_stop_reading_lose_their_connection() {
    let root = big_file_root();
    let server = TestServer::start(Some(root.path()), |config| {
        config.write_timeout = Duration::from_secs(1);
        config.max_connections = 1;
    });

    // Takes the only connection slot and never reads the 32 MiB answer.
    let stalled = open_stream(&server);

    let started = Instant::now();
    let reply = crate::server::get(server.addr, "/reads/service-info");
    assert_eq!(reply.status, 200);
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "the stalled client held the slot for {:?}",
        started.elapsed()
    );
    drop(stalled);
}
