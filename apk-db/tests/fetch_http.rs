//! `apk_db::fetch` against a tiny local HTTP/1.1 server, `file:` URLs and absolute paths.

use std::fs;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::thread;
use std::time::{Duration, SystemTime};

use apk_db::fetch::{Cache, FetchError, Fetcher};
use apk_index::Checksum;
use sha1::{Digest, Sha1};

/// A server thread serving files from `root`, plus a few special routes:
///
/// * `/redirect/<path>`: 302 to `/<path>`,
/// * `/status/<code>`: an empty response with that status,
/// * `/truncated`: announces 1000 bytes, sends 100 and closes,
/// * `/echo-ua`: the request's `User-Agent` as the body.
struct Server {
    base: String,
}

impl Server {
    fn start(root: PathBuf) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("local addr");
        thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let root = root.clone();
                thread::spawn(move || {
                    let _ = handle(stream, &root);
                });
            }
        });
        Server {
            base: format!("http://{addr}"),
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }
}

fn respond(stream: &mut TcpStream, status: &str, headers: &[(&str, String)], body: &[u8]) {
    let mut head = format!("HTTP/1.1 {status}\r\nConnection: close\r\n");
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    if !headers
        .iter()
        .any(|(k, _)| k.eq_ignore_ascii_case("content-length"))
    {
        head.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    head.push_str("\r\n");
    let _ = stream.write_all(head.as_bytes());
    let _ = stream.write_all(body);
    let _ = stream.flush();
}

fn handle(stream: TcpStream, root: &Path) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut request_line = String::new();
    reader.read_line(&mut request_line)?;
    let mut user_agent = String::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            break;
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((k, v)) = line.split_once(':')
            && k.eq_ignore_ascii_case("user-agent")
        {
            user_agent = v.trim().to_owned();
        }
    }
    let mut stream = stream;
    let mut parts = request_line.split_whitespace();
    let method = parts.next().unwrap_or("");
    let path = parts.next().unwrap_or("/");
    if method != "GET" {
        respond(&mut stream, "405 Method Not Allowed", &[], b"");
        return Ok(());
    }
    if let Some(target) = path.strip_prefix("/redirect/") {
        respond(
            &mut stream,
            "302 Found",
            &[("Location", format!("/{target}"))],
            b"",
        );
    } else if let Some(code) = path.strip_prefix("/status/") {
        respond(&mut stream, &format!("{code} Whatever"), &[], b"");
    } else if path == "/truncated" {
        respond(
            &mut stream,
            "200 OK",
            &[("Content-Length", "1000".to_owned())],
            &[b'x'; 100],
        );
        // Dropping the stream closes the connection mid-body.
    } else if path == "/echo-ua" {
        respond(&mut stream, "200 OK", &[], user_agent.as_bytes());
    } else {
        let rel = path.trim_start_matches('/');
        if rel.contains("..") {
            respond(&mut stream, "403 Forbidden", &[], b"");
            return Ok(());
        }
        match fs::read(root.join(rel)) {
            Ok(body) => respond(&mut stream, "200 OK", &[], &body),
            Err(_) => respond(&mut stream, "404 Not Found", &[], b"no such file"),
        }
    }
    Ok(())
}

/// Bytes that are not trivially compressible or all the same, big enough for several reads.
fn payload(len: usize) -> Vec<u8> {
    let mut x: u32 = 0x1234_5678;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            (x >> 24) as u8
        })
        .collect()
}

fn fetcher() -> Fetcher {
    Fetcher::new()
        .with_env_proxy(false)
        .with_timeout(Some(Duration::from_secs(20)))
}

struct Setup {
    _served: tempfile::TempDir,
    served: PathBuf,
    server: Server,
    data: Vec<u8>,
}

fn setup() -> Setup {
    let served = tempfile::tempdir().expect("tempdir");
    let data = payload(300_000);
    fs::write(served.path().join("pkg.apk"), &data).expect("write");
    fs::create_dir(served.path().join("x86_64")).expect("mkdir");
    fs::write(served.path().join("x86_64/APKINDEX.tar.gz"), b"index").expect("write");
    let path = served.path().to_path_buf();
    Setup {
        server: Server::start(path.clone()),
        served: path,
        _served: served,
        data,
    }
}

/// The names in `dir`, sorted.
fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .expect("read_dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn fetch_bytes_over_http() {
    let s = setup();
    let f = fetcher();
    assert_eq!(
        f.fetch_bytes(&s.server.url("/pkg.apk")).expect("fetch"),
        s.data
    );
    assert_eq!(
        f.fetch_bytes(&s.server.url("/x86_64/APKINDEX.tar.gz"))
            .expect("fetch"),
        b"index"
    );
}

#[test]
fn fetch_follows_redirects() {
    let s = setup();
    let f = fetcher();
    assert_eq!(
        f.fetch_bytes(&s.server.url("/redirect/pkg.apk"))
            .expect("fetch"),
        s.data
    );
    let out = tempfile::tempdir().expect("tempdir");
    let dest = out.path().join("pkg.apk");
    let n = f
        .fetch_to_file(&s.server.url("/redirect/pkg.apk"), &dest, &mut |_, _| {})
        .expect("fetch");
    assert_eq!(n, s.data.len() as u64);
    assert_eq!(fs::read(&dest).expect("read"), s.data);
}

#[test]
fn fetch_to_file_over_http_with_progress() {
    let s = setup();
    let out = tempfile::tempdir().expect("tempdir");
    let dest = out.path().join("pkg.apk");
    let mut calls: Vec<(u64, Option<u64>)> = Vec::new();
    let n = fetcher()
        .fetch_to_file(&s.server.url("/pkg.apk"), &dest, &mut |done, total| {
            calls.push((done, total))
        })
        .expect("fetch");
    let len = s.data.len() as u64;
    assert_eq!(n, len);
    assert_eq!(fs::read(&dest).expect("read"), s.data);
    assert_eq!(entries(out.path()), vec!["pkg.apk".to_owned()]);
    assert_eq!(calls.first(), Some(&(0, Some(len))));
    assert_eq!(calls.last(), Some(&(len, Some(len))));
    assert!(
        calls.len() >= 3,
        "progress called only {} times",
        calls.len()
    );
    assert!(calls.windows(2).all(|w| w[0].0 <= w[1].0));
}

#[test]
fn fetch_to_file_replaces_existing_dest() {
    let s = setup();
    let out = tempfile::tempdir().expect("tempdir");
    let dest = out.path().join("APKINDEX.tar.gz");
    fs::write(&dest, b"old contents").expect("write");
    fetcher()
        .fetch_to_file(
            &s.server.url("/x86_64/APKINDEX.tar.gz"),
            &dest,
            &mut |_, _| {},
        )
        .expect("fetch");
    assert_eq!(fs::read(&dest).expect("read"), b"index");
    assert_eq!(entries(out.path()), vec!["APKINDEX.tar.gz".to_owned()]);
}

#[test]
fn truncated_body_leaves_dest_untouched() {
    let s = setup();
    let f = fetcher();
    let url = s.server.url("/truncated");
    let out = tempfile::tempdir().expect("tempdir");

    let dest = out.path().join("existing.apk");
    fs::write(&dest, b"old contents").expect("write");
    let err = f
        .fetch_to_file(&url, &dest, &mut |_, _| {})
        .expect_err("a truncated body must fail");
    assert!(matches!(err, FetchError::Transport { .. }), "{err:?}");
    assert!(err.to_string().contains(&url), "{err}");
    assert_eq!(fs::read(&dest).expect("read"), b"old contents");
    assert_eq!(entries(out.path()), vec!["existing.apk".to_owned()]);

    let fresh = out.path().join("fresh.apk");
    assert!(f.fetch_to_file(&url, &fresh, &mut |_, _| {}).is_err());
    assert!(!fresh.exists());
    assert_eq!(entries(out.path()), vec!["existing.apk".to_owned()]);

    let err = f.fetch_bytes(&url).expect_err("a truncated body must fail");
    assert!(matches!(err, FetchError::Transport { .. }), "{err:?}");
}

#[test]
fn not_found_and_http_status() {
    let s = setup();
    let f = fetcher();

    let url = s.server.url("/missing.apk");
    let err = f.fetch_bytes(&url).expect_err("404");
    assert!(
        matches!(&err, FetchError::NotFound { url: u } if *u == url),
        "{err:?}"
    );
    assert!(err.is_not_found());
    assert!(err.to_string().contains(&url), "{err}");

    let url = s.server.url("/status/500");
    let err = f.fetch_bytes(&url).expect_err("500");
    assert!(
        matches!(&err, FetchError::Http { status: 500, url: u } if *u == url),
        "{err:?}"
    );
    assert!(
        err.to_string().contains(&url) && err.to_string().contains("500"),
        "{err}"
    );

    let err = f
        .fetch_bytes(&s.server.url("/status/403"))
        .expect_err("403");
    assert!(
        matches!(err, FetchError::Http { status: 403, .. }),
        "{err:?}"
    );

    // Errors before any data leave the destination alone and create nothing.
    let out = tempfile::tempdir().expect("tempdir");
    let dest = out.path().join("x.apk");
    fs::write(&dest, b"keep").expect("write");
    let err = f
        .fetch_to_file(&s.server.url("/missing.apk"), &dest, &mut |_, _| {})
        .expect_err("404");
    assert!(err.is_not_found());
    let err = f
        .fetch_to_file(&s.server.url("/status/503"), &dest, &mut |_, _| {})
        .expect_err("503");
    assert!(
        matches!(err, FetchError::Http { status: 503, .. }),
        "{err:?}"
    );
    assert_eq!(fs::read(&dest).expect("read"), b"keep");
    assert_eq!(entries(out.path()), vec!["x.apk".to_owned()]);
}

#[test]
fn user_agent_is_sent() {
    let s = setup();
    let got = fetcher()
        .fetch_bytes(&s.server.url("/echo-ua"))
        .expect("fetch");
    assert_eq!(
        String::from_utf8(got).expect("utf8"),
        format!("apk-rs/{}", env!("CARGO_PKG_VERSION"))
    );
    let got = fetcher()
        .with_user_agent("custom/2")
        .fetch_bytes(&s.server.url("/echo-ua"))
        .expect("fetch");
    assert_eq!(got, b"custom/2");
}

#[test]
fn open_reader_streams_http_and_local() {
    let s = setup();
    let f = fetcher();
    let mut got = Vec::new();
    f.open_reader(&s.server.url("/pkg.apk"))
        .expect("open")
        .read_to_end(&mut got)
        .expect("read");
    assert_eq!(got, s.data);

    let local = s.served.join("pkg.apk");
    let mut got = Vec::new();
    let Ok(reader) = f.open_reader(local.to_str().expect("utf8")) else {
        panic!("open {}", local.display());
    };
    // The stream also coerces to a plain `Box<dyn Read>`.
    let mut reader: Box<dyn Read> = reader;
    reader.read_to_end(&mut got).expect("read");
    assert_eq!(got, s.data);

    match f.open_reader(&s.server.url("/nope")) {
        Err(e) => assert!(e.is_not_found(), "{e:?}"),
        Ok(_) => panic!("a missing resource must not open"),
    }
}

#[test]
fn network_disabled() {
    let s = setup();
    let f = fetcher().with_no_network(true);
    let url = s.server.url("/pkg.apk");
    let err = f.fetch_bytes(&url).expect_err("network is off");
    assert!(
        matches!(&err, FetchError::NetworkDisabled { url: u } if *u == url),
        "{err:?}"
    );
    assert!(err.to_string().contains(&url));
    let err = f
        .fetch_bytes("https://example.invalid/x")
        .expect_err("network is off");
    assert!(matches!(err, FetchError::NetworkDisabled { .. }), "{err:?}");

    let out = tempfile::tempdir().expect("tempdir");
    let dest = out.path().join("pkg.apk");
    assert!(matches!(
        f.fetch_to_file(&url, &dest, &mut |_, _| {}),
        Err(FetchError::NetworkDisabled { .. })
    ));
    assert!(entries(out.path()).is_empty());

    // Local files still work.
    let local = s.served.join("pkg.apk");
    let local = local.to_str().expect("utf8");
    assert_eq!(f.fetch_bytes(local).expect("local"), s.data);
    assert_eq!(
        f.fetch_bytes(&format!("file://{local}")).expect("local"),
        s.data
    );
}

#[test]
fn local_forms() {
    let s = setup();
    let f = fetcher();
    let local = s.served.join("pkg.apk");
    let local = local.to_str().expect("utf8").to_owned();
    assert!(local.starts_with('/'));

    for url in [
        local.clone(),
        format!("file:{local}"),
        format!("file://{local}"),
        format!("file://localhost{local}"),
        format!("FILE://LOCALHOST{local}"),
    ] {
        assert_eq!(f.fetch_bytes(&url).expect(&url), s.data, "{url}");
    }

    let out = tempfile::tempdir().expect("tempdir");
    let dest = out.path().join("copy.apk");
    let mut last = None;
    let n = f
        .fetch_to_file(&format!("file://{local}"), &dest, &mut |d, t| {
            last = Some((d, t))
        })
        .expect("copy");
    let len = s.data.len() as u64;
    assert_eq!(n, len);
    assert_eq!(last, Some((len, Some(len))));
    assert_eq!(fs::read(&dest).expect("read"), s.data);
    assert_eq!(entries(out.path()), vec!["copy.apk".to_owned()]);

    let missing = format!("file://{}/nope.apk", s.served.display());
    let err = f.fetch_bytes(&missing).expect_err("missing");
    assert!(
        matches!(&err, FetchError::NotFound { url } if *url == missing),
        "{err:?}"
    );
    let err = f
        .fetch_to_file(&missing, &dest, &mut |_, _| {})
        .expect_err("missing");
    assert!(err.is_not_found());
    assert_eq!(fs::read(&dest).expect("read"), s.data);

    let err = f
        .fetch_bytes(&format!("file://otherhost{local}"))
        .expect_err("remote host");
    assert!(matches!(err, FetchError::InvalidUrl { .. }), "{err:?}");
    let err = f.fetch_bytes("file:relative/x.apk").expect_err("relative");
    assert!(matches!(err, FetchError::InvalidUrl { .. }), "{err:?}");
}

#[test]
fn unsupported_schemes() {
    let f = fetcher();
    for url in ["ftp://example.org/x", "relative/path.apk", "", "gopher:x"] {
        let err = f.fetch_bytes(url).expect_err(url);
        assert!(
            matches!(&err, FetchError::UnsupportedScheme { url: u } if u == url),
            "{url}: {err:?}"
        );
        assert!(err.to_string().contains(url));
    }
}

#[test]
fn size_cap() {
    let s = setup();
    let f = fetcher().with_max_bytes(1000);
    let url = s.server.url("/pkg.apk");
    let err = f.fetch_bytes(&url).expect_err("too large");
    assert!(
        matches!(&err, FetchError::TooLarge { limit: 1000, url: u } if *u == url),
        "{err:?}"
    );
    let local = s.served.join("pkg.apk");
    let err = f
        .fetch_bytes(local.to_str().expect("utf8"))
        .expect_err("too large");
    assert!(
        matches!(err, FetchError::TooLarge { limit: 1000, .. }),
        "{err:?}"
    );
    // Exactly at the cap is fine.
    let f = fetcher().with_max_bytes(5);
    assert_eq!(
        f.fetch_bytes(&s.server.url("/x86_64/APKINDEX.tar.gz"))
            .expect("fits"),
        b"index"
    );
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn cache_names() {
    let cache = Cache::new("/var/cache/apk");
    let url = "https://dl-cdn.alpinelinux.org/alpine/v3.20/main/x86_64/APKINDEX.tar.gz";
    let mut h = Sha1::new();
    h.update(url.as_bytes());
    let digest = h.finalize();
    let expected = format!("APKINDEX.{}.tar.gz", hex(&digest[..4]));
    assert_eq!(
        cache.index_path(url),
        Path::new("/var/cache/apk").join(&expected)
    );
    // A different URL gives a different name.
    assert_ne!(
        cache.index_path(url),
        cache.index_path(
            "https://dl-cdn.alpinelinux.org/alpine/v3.20/community/x86_64/APKINDEX.tar.gz"
        )
    );

    // The SHA-1 of "abc" is a9993e36…, a well-known test vector.
    assert_eq!(
        cache.index_path("abc"),
        Path::new("/var/cache/apk/APKINDEX.a9993e36.tar.gz")
    );

    let id_digest: [u8; 20] = Sha1::digest(b"some package").into();
    let identity = Checksum::sha1(id_digest);
    assert_eq!(
        cache.package_path("musl", "1.2.5-r0", &identity),
        Path::new("/var/cache/apk").join(format!("musl-1.2.5-r0.{}.apk", hex(&id_digest[..4])))
    );

    // From the text form in an index: Q1 + base64 of the digest.
    let identity: Checksum = "Q1FF4YFta38d5wuxH9v4onw2JUKW0=".parse().expect("checksum");
    let name = format!("busybox-1.36.1-r0.{}.apk", hex(&identity.as_bytes()[..4]));
    assert_eq!(
        cache.package_path("busybox", "1.36.1-r0", &identity),
        Path::new("/var/cache/apk").join(name)
    );
    assert_eq!(
        cache.package_path("busybox", "1.36.1-r0", &identity),
        Path::new("/var/cache/apk/busybox-1.36.1-r0.145e1816.apk")
    );
}

#[test]
fn cache_freshness() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("APKINDEX.00000000.tar.gz");
    let hour = Duration::from_secs(3600);
    assert!(!Cache::is_fresh(&path, hour), "a missing file is not fresh");

    fs::write(&path, b"x").expect("write");
    assert!(Cache::is_fresh(&path, hour));
    assert!(!Cache::is_fresh(&path, Duration::ZERO));

    let old = SystemTime::now() - Duration::from_secs(2 * 3600);
    fs::File::options()
        .write(true)
        .open(&path)
        .expect("open")
        .set_modified(old)
        .expect("set mtime");
    assert!(!Cache::is_fresh(&path, hour));
    assert!(Cache::is_fresh(&path, 3 * hour));
}
