//! Getting repository indexes and packages from where repositories live.
//!
//! A repository location is one of:
//!
//! * an absolute path (`/srv/repo/x86_64/APKINDEX.tar.gz`),
//! * a `file:` URL (`file:/p`, `file:///p` or `file://localhost/p`; the path is used as written,
//!   without percent-decoding, exactly like the absolute-path form),
//! * an `http://` or `https://` URL, fetched with a small blocking client that follows redirects.
//!
//! [`Fetcher`] reads any of them, either into memory ([`Fetcher::fetch_bytes`]), into a file that
//! only appears once it is complete ([`Fetcher::fetch_to_file`]), or as a stream
//! ([`Fetcher::open_reader`]). [`Cache`] names the files of the package cache.
//!
//! ```no_run
//! use apk_db::fetch::{Cache, Fetcher};
//!
//! let fetcher = Fetcher::new();
//! let cache = Cache::new("/etc/apk/cache");
//! let url = "https://dl-cdn.alpinelinux.org/alpine/edge/main/x86_64/APKINDEX.tar.gz";
//! let dest = cache.index_path(url);
//! fetcher.fetch_to_file(url, &dest, &mut |_done, _total| {})?;
//! # Ok::<(), apk_db::fetch::FetchError>(())
//! ```

use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use sha1::{Digest, Sha1};

/// The `User-Agent` sent with every HTTP request: `apk-rs/<version>`.
///
/// ```
/// assert!(apk_db::fetch::DEFAULT_USER_AGENT.starts_with("apk-rs/"));
/// ```
pub const DEFAULT_USER_AGENT: &str = concat!("apk-rs/", env!("CARGO_PKG_VERSION"));

/// The default network timeout of a [`Fetcher`] (connecting, and each wait for data).
///
/// ```
/// assert_eq!(apk_db::fetch::DEFAULT_TIMEOUT.as_secs(), 60);
/// ```
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

/// The default cap of [`Fetcher::fetch_bytes`]: 256 MiB.
///
/// ```
/// assert_eq!(apk_db::fetch::DEFAULT_MAX_BYTES, 256 * 1024 * 1024);
/// ```
pub const DEFAULT_MAX_BYTES: u64 = 256 * 1024 * 1024;

/// Size of the buffer used to copy bodies.
const COPY_BUFFER: usize = 64 * 1024;

/// Why a fetch failed. Every variant carries the URL it was about, and prints it.
///
/// ```
/// use apk_db::fetch::{FetchError, Fetcher};
/// let err = Fetcher::new().fetch_bytes("ftp://example.org/x").unwrap_err();
/// assert!(matches!(err, FetchError::UnsupportedScheme { .. }));
/// assert_eq!(err.url(), "ftp://example.org/x");
/// assert!(err.to_string().contains("ftp://example.org/x"));
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FetchError {
    /// The resource does not exist: HTTP 404, or a local file that is not there.
    #[error("{url}: not found")]
    NotFound {
        /// The URL that was fetched.
        url: String,
    },
    /// The server answered with a status other than 2xx (and other than 404).
    #[error("{url}: HTTP error {status}")]
    Http {
        /// The URL that was fetched.
        url: String,
        /// The HTTP status code.
        status: u16,
    },
    /// The network transfer failed: DNS, connection, TLS, timeout, too many redirects, or the
    /// connection closing before the whole body arrived.
    #[error("{url}: {message}")]
    Transport {
        /// The URL that was fetched.
        url: String,
        /// What went wrong, as the HTTP client describes it.
        message: String,
    },
    /// Reading a local file or writing the destination failed.
    #[error("{url}: {}: {source}", path.display())]
    Io {
        /// The URL that was fetched.
        url: String,
        /// The local file that could not be read or written.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// The URL is neither an absolute path, a `file:` URL nor an `http(s)://` URL.
    #[error("{url}: unsupported URL scheme")]
    UnsupportedScheme {
        /// The URL that was given.
        url: String,
    },
    /// The URL has a supported scheme but cannot be used as written (for example a `file:` URL
    /// naming a remote host, or a relative `file:` path).
    #[error("{url}: invalid URL: {reason}")]
    InvalidUrl {
        /// The URL that was given.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The URL needs the network, and the [`Fetcher`] was told not to use it.
    #[error("{url}: network access is disabled")]
    NetworkDisabled {
        /// The URL that was given.
        url: String,
    },
    /// The resource is bigger than the allowed size.
    #[error("{url}: larger than the limit of {limit} bytes")]
    TooLarge {
        /// The URL that was fetched.
        url: String,
        /// The limit in bytes.
        limit: u64,
    },
}

impl FetchError {
    /// The URL the error is about.
    ///
    /// ```
    /// use apk_db::fetch::Fetcher;
    /// let fetcher = Fetcher::new().with_no_network(true);
    /// let err = fetcher.fetch_bytes("http://example.org/a").unwrap_err();
    /// assert_eq!(err.url(), "http://example.org/a");
    /// ```
    pub fn url(&self) -> &str {
        match self {
            FetchError::NotFound { url }
            | FetchError::Http { url, .. }
            | FetchError::Transport { url, .. }
            | FetchError::Io { url, .. }
            | FetchError::UnsupportedScheme { url }
            | FetchError::InvalidUrl { url, .. }
            | FetchError::NetworkDisabled { url }
            | FetchError::TooLarge { url, .. } => url,
        }
    }

    /// Whether the error means "the resource does not exist" ([`FetchError::NotFound`]).
    ///
    /// ```
    /// use apk_db::fetch::Fetcher;
    /// let err = Fetcher::new().fetch_bytes("/nonexistent/APKINDEX.tar.gz").unwrap_err();
    /// assert!(err.is_not_found());
    /// ```
    pub fn is_not_found(&self) -> bool {
        matches!(self, FetchError::NotFound { .. })
    }
}

/// Where a URL points, once parsed.
enum Location {
    /// A local file.
    Local(PathBuf),
    /// An `http://` or `https://` URL.
    Remote,
}

/// Whether `url` starts with `prefix`, ignoring ASCII case.
fn has_prefix_ignore_case(url: &str, prefix: &str) -> bool {
    url.as_bytes()
        .get(..prefix.len())
        .is_some_and(|head| head.eq_ignore_ascii_case(prefix.as_bytes()))
}

/// Sort a URL into a local path or a remote URL, or reject it.
fn classify(url: &str) -> Result<Location, FetchError> {
    if url.starts_with('/') {
        return Ok(Location::Local(PathBuf::from(url)));
    }
    if has_prefix_ignore_case(url, "http://") || has_prefix_ignore_case(url, "https://") {
        return Ok(Location::Remote);
    }
    if has_prefix_ignore_case(url, "file:") {
        let rest = url.get("file:".len()..).unwrap_or("");
        let path = match rest.strip_prefix("//") {
            Some(after) => {
                // `file://host/path`: only an empty host or `localhost` is this machine.
                let slash = after.find('/').unwrap_or(after.len());
                let (host, path) = after.split_at(slash);
                if !(host.is_empty() || host.eq_ignore_ascii_case("localhost")) {
                    return Err(FetchError::InvalidUrl {
                        url: url.to_owned(),
                        reason: format!("file URL names a remote host '{host}'"),
                    });
                }
                path
            }
            None => rest,
        };
        if !path.starts_with('/') {
            return Err(FetchError::InvalidUrl {
                url: url.to_owned(),
                reason: "file URL path is not absolute".to_owned(),
            });
        }
        return Ok(Location::Local(PathBuf::from(path)));
    }
    Err(FetchError::UnsupportedScheme {
        url: url.to_owned(),
    })
}

/// An opened source: a local file or an HTTP response body.
struct Source {
    url: String,
    kind: SourceKind,
    /// The size announced up front (file size, or `Content-Length`), if known.
    total: Option<u64>,
}

enum SourceKind {
    Local { path: PathBuf, file: File },
    Remote { body: ureq::BodyReader<'static> },
}

impl Source {
    /// Read into `buf`, turning failures into [`FetchError`]s. Interrupted reads are retried.
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, FetchError> {
        loop {
            let res = match &mut self.kind {
                SourceKind::Local { file, .. } => file.read(buf),
                SourceKind::Remote { body } => body.read(buf),
            };
            match res {
                Ok(n) => return Ok(n),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(self.read_error(e)),
            }
        }
    }

    fn read_error(&self, e: io::Error) -> FetchError {
        match &self.kind {
            SourceKind::Local { path, .. } => FetchError::Io {
                url: self.url.clone(),
                path: path.clone(),
                source: e,
            },
            SourceKind::Remote { .. } => transport_error(&self.url, ureq::Error::from(e)),
        }
    }

    fn into_reader(self) -> Box<dyn Read + Send> {
        match self.kind {
            SourceKind::Local { file, .. } => Box::new(file),
            SourceKind::Remote { body } => Box::new(body),
        }
    }
}

/// Map a client error that happened before or during the transfer.
fn transport_error(url: &str, e: ureq::Error) -> FetchError {
    match e {
        ureq::Error::StatusCode(404) => FetchError::NotFound {
            url: url.to_owned(),
        },
        ureq::Error::StatusCode(status) => FetchError::Http {
            url: url.to_owned(),
            status,
        },
        ureq::Error::BadUri(reason) => FetchError::InvalidUrl {
            url: url.to_owned(),
            reason,
        },
        other => FetchError::Transport {
            url: url.to_owned(),
            message: other.to_string(),
        },
    }
}

/// Counter making temporary file names unique within this process.
static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// A temporary file that is removed when dropped, unless it has been renamed into place.
struct TempFile {
    path: PathBuf,
    armed: bool,
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if self.armed {
            let _ = fs::remove_file(&self.path);
        }
    }
}

/// Gets indexes and packages from local paths, `file:` URLs and `http(s)://` URLs.
///
/// Configure it with the `with_*` methods; the HTTP client is built on first use and then reused,
/// so a single `Fetcher` should serve a whole run.
///
/// ```
/// use std::time::Duration;
/// use apk_db::fetch::Fetcher;
///
/// let fetcher = Fetcher::new()
///     .with_timeout(Some(Duration::from_secs(30)))
///     .with_no_network(true)
///     .with_max_bytes(64 << 20);
/// assert_eq!(fetcher.timeout(), Some(Duration::from_secs(30)));
/// assert!(fetcher.no_network());
/// assert_eq!(fetcher.user_agent(), apk_db::fetch::DEFAULT_USER_AGENT);
/// ```
#[derive(Clone)]
pub struct Fetcher {
    timeout: Option<Duration>,
    user_agent: String,
    no_network: bool,
    max_bytes: u64,
    env_proxy: bool,
    agent: OnceLock<ureq::Agent>,
}

impl fmt::Debug for Fetcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Fetcher")
            .field("timeout", &self.timeout)
            .field("user_agent", &self.user_agent)
            .field("no_network", &self.no_network)
            .field("max_bytes", &self.max_bytes)
            .field("env_proxy", &self.env_proxy)
            .finish_non_exhaustive()
    }
}

impl Default for Fetcher {
    fn default() -> Self {
        Fetcher::new()
    }
}

impl Fetcher {
    /// A fetcher with the defaults: [`DEFAULT_TIMEOUT`], [`DEFAULT_USER_AGENT`], network allowed,
    /// [`DEFAULT_MAX_BYTES`], and proxies taken from the usual environment variables
    /// (`http_proxy`, `https_proxy`, `all_proxy`, `no_proxy`, in either case).
    ///
    /// ```
    /// let fetcher = apk_db::fetch::Fetcher::new();
    /// assert!(!fetcher.no_network());
    /// ```
    pub fn new() -> Fetcher {
        Fetcher {
            timeout: Some(DEFAULT_TIMEOUT),
            user_agent: DEFAULT_USER_AGENT.to_owned(),
            no_network: false,
            max_bytes: DEFAULT_MAX_BYTES,
            env_proxy: true,
            agent: OnceLock::new(),
        }
    }

    /// Set the network timeout, or `None` for none. It bounds name resolution, connecting,
    /// sending the request, waiting for the response headers, and each wait for more of the
    /// body; a slow but steady download is never cut off.
    ///
    /// ```
    /// use std::time::Duration;
    /// let fetcher = apk_db::fetch::Fetcher::new().with_timeout(Some(Duration::from_secs(5)));
    /// assert_eq!(fetcher.timeout(), Some(Duration::from_secs(5)));
    /// ```
    pub fn with_timeout(mut self, timeout: Option<Duration>) -> Fetcher {
        self.timeout = timeout;
        self.agent = OnceLock::new();
        self
    }

    /// Set the `User-Agent` header.
    ///
    /// ```
    /// let fetcher = apk_db::fetch::Fetcher::new().with_user_agent("test/1");
    /// assert_eq!(fetcher.user_agent(), "test/1");
    /// ```
    pub fn with_user_agent(mut self, user_agent: impl Into<String>) -> Fetcher {
        self.user_agent = user_agent.into();
        self.agent = OnceLock::new();
        self
    }

    /// Forbid (`true`) or allow network access. When forbidden, `http(s)://` URLs fail with
    /// [`FetchError::NetworkDisabled`]; local paths and `file:` URLs still work.
    ///
    /// ```
    /// use apk_db::fetch::{FetchError, Fetcher};
    /// let fetcher = Fetcher::new().with_no_network(true);
    /// let err = fetcher.fetch_bytes("https://example.org/x").unwrap_err();
    /// assert!(matches!(err, FetchError::NetworkDisabled { .. }));
    /// ```
    pub fn with_no_network(mut self, no_network: bool) -> Fetcher {
        self.no_network = no_network;
        self
    }

    /// Set the most bytes [`Fetcher::fetch_bytes`] will hold in memory; a bigger resource fails
    /// with [`FetchError::TooLarge`]. [`Fetcher::fetch_to_file`] and [`Fetcher::open_reader`]
    /// are not capped.
    ///
    /// ```
    /// let fetcher = apk_db::fetch::Fetcher::new().with_max_bytes(1024);
    /// assert_eq!(fetcher.max_bytes(), 1024);
    /// ```
    pub fn with_max_bytes(mut self, max_bytes: u64) -> Fetcher {
        self.max_bytes = max_bytes;
        self
    }

    /// Whether to use the proxy named by the environment (`http_proxy` and friends). On by
    /// default.
    ///
    /// ```
    /// let fetcher = apk_db::fetch::Fetcher::new().with_env_proxy(false);
    /// assert!(!fetcher.env_proxy());
    /// ```
    pub fn with_env_proxy(mut self, env_proxy: bool) -> Fetcher {
        self.env_proxy = env_proxy;
        self.agent = OnceLock::new();
        self
    }

    /// The network timeout.
    ///
    /// ```
    /// let fetcher = apk_db::fetch::Fetcher::new();
    /// assert_eq!(fetcher.timeout(), Some(apk_db::fetch::DEFAULT_TIMEOUT));
    /// ```
    pub fn timeout(&self) -> Option<Duration> {
        self.timeout
    }

    /// The `User-Agent` header value.
    ///
    /// ```
    /// assert!(apk_db::fetch::Fetcher::new().user_agent().starts_with("apk-rs/"));
    /// ```
    pub fn user_agent(&self) -> &str {
        &self.user_agent
    }

    /// Whether network access is forbidden.
    ///
    /// ```
    /// assert!(!apk_db::fetch::Fetcher::new().no_network());
    /// ```
    pub fn no_network(&self) -> bool {
        self.no_network
    }

    /// The cap of [`Fetcher::fetch_bytes`], in bytes.
    ///
    /// ```
    /// let fetcher = apk_db::fetch::Fetcher::new();
    /// assert_eq!(fetcher.max_bytes(), apk_db::fetch::DEFAULT_MAX_BYTES);
    /// ```
    pub fn max_bytes(&self) -> u64 {
        self.max_bytes
    }

    /// Whether the proxy named by the environment is used.
    ///
    /// ```
    /// assert!(apk_db::fetch::Fetcher::new().env_proxy());
    /// ```
    pub fn env_proxy(&self) -> bool {
        self.env_proxy
    }

    fn agent(&self) -> &ureq::Agent {
        self.agent.get_or_init(|| {
            let proxy = if self.env_proxy {
                ureq::Proxy::try_from_env()
            } else {
                None
            };
            let config = ureq::Agent::config_builder()
                // Statuses are turned into errors here, so that 404 gets its own variant.
                .http_status_as_error(false)
                .proxy(proxy)
                .user_agent(self.user_agent.as_str())
                // The bytes must arrive exactly as stored (checksums, signatures): never ask
                // for a transfer encoding that the client would undo.
                .accept_encoding("identity")
                .max_redirects(10)
                .timeout_resolve(self.timeout)
                .timeout_connect(self.timeout)
                .timeout_send_request(self.timeout)
                .timeout_recv_response(self.timeout)
                .timeout_per_read(self.timeout)
                .timeout_per_write(self.timeout)
                .build();
            ureq::Agent::new_with_config(config)
        })
    }

    /// Open `url` for reading, checking the scheme, network policy and HTTP status.
    fn open(&self, url: &str) -> Result<Source, FetchError> {
        match classify(url)? {
            Location::Local(path) => {
                let file = File::open(&path).map_err(|e| local_error(url, &path, e))?;
                let meta = file.metadata().map_err(|e| local_error(url, &path, e))?;
                if meta.is_dir() {
                    return Err(FetchError::Io {
                        url: url.to_owned(),
                        path,
                        source: io::Error::other("is a directory"),
                    });
                }
                Ok(Source {
                    url: url.to_owned(),
                    kind: SourceKind::Local { path, file },
                    total: Some(meta.len()),
                })
            }
            Location::Remote => {
                if self.no_network {
                    return Err(FetchError::NetworkDisabled {
                        url: url.to_owned(),
                    });
                }
                let response = self
                    .agent()
                    .get(url)
                    .call()
                    .map_err(|e| transport_error(url, e))?;
                let status = response.status().as_u16();
                if status == 404 {
                    return Err(FetchError::NotFound {
                        url: url.to_owned(),
                    });
                }
                if !(200..300).contains(&status) {
                    return Err(FetchError::Http {
                        url: url.to_owned(),
                        status,
                    });
                }
                let body = response.into_body();
                let total = body.content_length();
                Ok(Source {
                    url: url.to_owned(),
                    kind: SourceKind::Remote {
                        body: body.into_reader(),
                    },
                    total,
                })
            }
        }
    }

    /// Read the whole resource at `url` into memory, up to [`Fetcher::max_bytes`].
    ///
    /// ```no_run
    /// use apk_db::fetch::Fetcher;
    /// let bytes = Fetcher::new().fetch_bytes("file:///srv/repo/x86_64/APKINDEX.tar.gz")?;
    /// println!("{} bytes", bytes.len());
    /// # Ok::<(), apk_db::fetch::FetchError>(())
    /// ```
    pub fn fetch_bytes(&self, url: &str) -> Result<Vec<u8>, FetchError> {
        let limit = self.max_bytes;
        let too_large = || FetchError::TooLarge {
            url: url.to_owned(),
            limit,
        };
        let mut source = self.open(url)?;
        if source.total.is_some_and(|t| t > limit) {
            return Err(too_large());
        }
        let initial = source
            .total
            .and_then(|t| usize::try_from(t).ok())
            .unwrap_or(0);
        let mut out = Vec::with_capacity(initial);
        let mut buf = vec![0u8; COPY_BUFFER];
        loop {
            let n = source.read(&mut buf)?;
            if n == 0 {
                break;
            }
            let chunk = buf.get(..n).unwrap_or(&[]);
            if (out.len() as u64).saturating_add(n as u64) > limit {
                return Err(too_large());
            }
            out.extend_from_slice(chunk);
        }
        Ok(out)
    }

    /// Download (or copy) `url` to `dest`, atomically.
    ///
    /// The data goes to a hidden temporary file in `dest`'s directory
    /// (`.<file name>.<unique>.part`), which is flushed to disk and renamed over `dest` only
    /// once complete. On any error the temporary file is removed and `dest` is left as it was.
    /// `progress` is called with the bytes written so far and the total size when known
    /// (a local file's size, or the `Content-Length`), first with `0` and last with the final
    /// count. Returns the number of bytes written.
    ///
    /// ```no_run
    /// use std::path::Path;
    /// use apk_db::fetch::Fetcher;
    ///
    /// let fetcher = Fetcher::new();
    /// let n = fetcher.fetch_to_file(
    ///     "https://dl-cdn.alpinelinux.org/alpine/edge/main/x86_64/APKINDEX.tar.gz",
    ///     Path::new("/var/cache/apk/APKINDEX.0123abcd.tar.gz"),
    ///     &mut |done, total| eprintln!("{done}/{total:?}"),
    /// )?;
    /// println!("{n} bytes");
    /// # Ok::<(), apk_db::fetch::FetchError>(())
    /// ```
    pub fn fetch_to_file(
        &self,
        url: &str,
        dest: &Path,
        progress: &mut dyn FnMut(u64, Option<u64>),
    ) -> Result<u64, FetchError> {
        let dest_error = |path: &Path, source: io::Error| FetchError::Io {
            url: url.to_owned(),
            path: path.to_owned(),
            source,
        };
        let Some(file_name) = dest.file_name() else {
            return Err(dest_error(
                dest,
                io::Error::new(io::ErrorKind::InvalidInput, "destination has no file name"),
            ));
        };
        let dir = match dest.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };

        // Open the source first: a missing file or an HTTP error leaves nothing behind.
        let mut source = self.open(url)?;
        let total = source.total;

        let (mut file, mut temp) =
            create_temp(dir, &file_name.to_string_lossy()).map_err(|e| dest_error(dir, e))?;

        progress(0, total);
        let mut done: u64 = 0;
        let mut buf = vec![0u8; COPY_BUFFER];
        loop {
            let n = source.read(&mut buf)?;
            if n == 0 {
                break;
            }
            let chunk = buf.get(..n).unwrap_or(&[]);
            file.write_all(chunk)
                .map_err(|e| dest_error(&temp.path, e))?;
            done = done.saturating_add(n as u64);
            progress(done, total);
        }
        file.sync_all().map_err(|e| dest_error(&temp.path, e))?;
        drop(file);
        fs::rename(&temp.path, dest).map_err(|e| dest_error(dest, e))?;
        temp.armed = false;
        // Make the rename itself durable; the data is already complete, so this is best effort.
        if let Ok(d) = File::open(dir) {
            let _ = d.sync_all();
        }
        Ok(done)
    }

    /// Open `url` as a stream. Local files are opened directly, without copying; HTTP bodies are
    /// streamed as they arrive. Errors that happen before any data (missing file, HTTP status,
    /// scheme, network policy) are reported here; later ones come from the reader as
    /// [`io::Error`]s. The stream is not capped by [`Fetcher::max_bytes`].
    ///
    /// ```no_run
    /// use std::io::Read;
    /// use apk_db::fetch::Fetcher;
    ///
    /// let mut reader = Fetcher::new().open_reader("/srv/repo/x86_64/busybox-1.36.1-r0.apk")?;
    /// let mut head = [0u8; 2];
    /// reader.read_exact(&mut head).map_err(|e| std::io::Error::other(e))?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn open_reader(&self, url: &str) -> Result<Box<dyn Read + Send>, FetchError> {
        Ok(self.open(url)?.into_reader())
    }
}

/// Map an error opening a local file; a missing file is [`FetchError::NotFound`].
fn local_error(url: &str, path: &Path, e: io::Error) -> FetchError {
    if e.kind() == io::ErrorKind::NotFound {
        FetchError::NotFound {
            url: url.to_owned(),
        }
    } else {
        FetchError::Io {
            url: url.to_owned(),
            path: path.to_owned(),
            source: e,
        }
    }
}

/// Create a new, uniquely named temporary file `.<name>.<pid>-<n>.part` in `dir`.
fn create_temp(dir: &Path, name: &str) -> io::Result<(File, TempFile)> {
    let pid = std::process::id();
    let mut last_err = None;
    for _ in 0..100 {
        let n = TEMP_COUNTER.fetch_add(1, Ordering::Relaxed);
        let path = dir.join(format!(".{name}.{pid}-{n}.part"));
        match OpenOptions::new().write(true).create_new(true).open(&path) {
            Ok(file) => return Ok((file, TempFile { path, armed: true })),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => last_err = Some(e),
            Err(e) => return Err(e),
        }
    }
    Err(last_err.unwrap_or_else(|| io::Error::other("could not create a temporary file")))
}

/// Lowercase hex of the first four bytes of `bytes` (fewer if it is shorter).
fn hex8(bytes: &[u8]) -> String {
    bytes.iter().take(4).map(|b| format!("{b:02x}")).collect()
}

/// Names the files of the package cache directory (`etc/apk/cache`).
///
/// ```
/// use std::path::Path;
/// use apk_db::fetch::Cache;
///
/// let cache = Cache::new("/etc/apk/cache");
/// assert_eq!(cache.dir(), Path::new("/etc/apk/cache"));
/// let index = cache.index_path("https://example.org/main/x86_64/APKINDEX.tar.gz");
/// assert!(index.starts_with("/etc/apk/cache"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cache {
    dir: PathBuf,
}

impl Cache {
    /// A cache rooted at `dir`. Nothing is created or checked.
    ///
    /// ```
    /// let cache = apk_db::fetch::Cache::new("/var/cache/apk");
    /// assert_eq!(cache.dir(), std::path::Path::new("/var/cache/apk"));
    /// ```
    pub fn new(dir: impl Into<PathBuf>) -> Cache {
        Cache { dir: dir.into() }
    }

    /// The cache directory.
    ///
    /// ```
    /// let cache = apk_db::fetch::Cache::new("/c");
    /// assert_eq!(cache.dir().to_str(), Some("/c"));
    /// ```
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Where the index fetched from `index_url` is cached: `APKINDEX.<8 hex>.tar.gz`, the hex
    /// being the first 4 bytes of the SHA-1 of the URL string exactly as given (the full index
    /// URL, `<repo>/<arch>/APKINDEX.tar.gz`).
    ///
    /// ```
    /// let cache = apk_db::fetch::Cache::new("/c");
    /// let p = cache.index_path("https://example.org/main/x86_64/APKINDEX.tar.gz");
    /// let name = p.file_name().unwrap().to_str().unwrap();
    /// assert!(name.starts_with("APKINDEX.") && name.ends_with(".tar.gz"));
    /// assert_eq!(name.len(), "APKINDEX.".len() + 8 + ".tar.gz".len());
    /// ```
    pub fn index_path(&self, index_url: &str) -> PathBuf {
        let digest = Sha1::digest(index_url.as_bytes());
        self.dir
            .join(format!("APKINDEX.{}.tar.gz", hex8(digest.as_slice())))
    }

    /// Where a package is cached: `<name>-<version>.<8 hex>.apk`, the hex being the first
    /// 4 bytes of the package's identity digest (its `C:` checksum).
    ///
    /// ```
    /// use apk_index::Checksum;
    /// let cache = apk_db::fetch::Cache::new("/c");
    /// let mut digest = [0u8; 20];
    /// digest[..4].copy_from_slice(&[0xde, 0xad, 0xbe, 0xef]);
    /// let p = cache.package_path("busybox", "1.36.1-r0", &Checksum::sha1(digest));
    /// assert_eq!(p, std::path::Path::new("/c/busybox-1.36.1-r0.deadbeef.apk"));
    /// ```
    pub fn package_path(
        &self,
        name: &str,
        version: &str,
        identity: &apk_index::Checksum,
    ) -> PathBuf {
        self.dir.join(format!(
            "{name}-{version}.{}.apk",
            hex8(identity.as_bytes())
        ))
    }

    /// Whether the file at `path` exists and was modified less than `max_age` ago. A missing
    /// file is never fresh; a modification time in the future counts as fresh.
    ///
    /// ```no_run
    /// use std::time::Duration;
    /// use apk_db::fetch::Cache;
    ///
    /// let cache = Cache::new("/etc/apk/cache");
    /// let index = cache.index_path("https://example.org/main/x86_64/APKINDEX.tar.gz");
    /// if !Cache::is_fresh(&index, Duration::from_secs(4 * 60 * 60)) {
    ///     // refresh it
    /// }
    /// ```
    pub fn is_fresh(path: &Path, max_age: Duration) -> bool {
        let Ok(modified) = fs::metadata(path).and_then(|m| m.modified()) else {
            return false;
        };
        match SystemTime::now().duration_since(modified) {
            Ok(age) => age < max_age,
            Err(_) => true,
        }
    }
}
