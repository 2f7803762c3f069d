//! Mirror settings read from other projects' configuration files.
//!
//! Two formats are understood:
//!
//! * stargz-snapshotter's resolver TOML: `[[resolver.host."docker.io".mirrors]]` entries
//!   with `host`, `insecure`, `request_timeout_sec` and a `header` table, and a global
//!   `[resolver] request_timeout_sec`;
//! * nydusd's JSON registry backend: the whole daemon config
//!   (`{"device":{"backend":{"type":"registry","config":{...}}}}`), the version 2 layout
//!   (`{"version":2,"backend":{"type":"registry","registry":{...}}}`), the backend block
//!   alone (`{"type":"registry","config":{...}}`), or the bare `config` object.
//!
//! Both become [`MirrorConfig`]s: an origin and an ordered list of mirrors. Keys this crate
//! does not know are ignored and reported as [`ConfigWarning`]s with their path; values of
//! the wrong type are errors naming the path, such as
//! `resolver.host."docker.io".mirrors[0].insecure: expected a boolean`. Sections of those
//! files that configure other parts of the daemons (stargz's `[blob]`, nydusd's `cache`, …)
//! are skipped without warnings.

use std::fmt;
use std::net::IpAddr;
use std::time::Duration;

use http::header::{HeaderName, HeaderValue};
use http::{HeaderMap, Uri};

use crate::auth::Secret;
use crate::error::{Error, Result};

/// stargz-snapshotter's default per-request timeout.
const STARGZ_DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// nydus's default request and connect timeouts.
const NYDUS_DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);
/// nydus's default health-check interval for mirrors and the proxy.
const NYDUS_DEFAULT_CHECK_INTERVAL: Duration = Duration::from_secs(5);
/// nydus's default failure limit for legacy mirrors.
const NYDUS_DEFAULT_FAILURE_LIMIT: u32 = 5;

/// One server that can serve blobs: the origin registry or a mirror.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Endpoint {
    /// Scheme and authority, plus an optional path prefix, e.g. `https://mirror:5000`.
    pub url: Uri,
    /// Extra headers sent with every request to this endpoint (not to redirect targets).
    /// `Authorization`, `Proxy-Authorization` and `Cookie` values are marked sensitive.
    pub headers: HeaderMap,
    /// Timeout for one request, body included; `None` for no timeout.
    pub request_timeout: Option<Duration>,
    /// Timeout for connecting; `None` to use the transport's default.
    pub connect_timeout: Option<Duration>,
    /// Accept any TLS certificate (nydus `skip_verify`).
    pub skip_tls_verify: bool,
    /// A URL to probe for health checks, if configured.
    pub ping_url: Option<Uri>,
    /// How often to probe the endpoint's health, if health checks are configured.
    pub health_check_interval: Option<Duration>,
    /// After this many consecutive failures the endpoint is skipped until healthy again.
    pub failure_limit: Option<u32>,
    /// Whether the origin's credentials may be sent to this endpoint. Always true for the
    /// origin itself; for mirrors only when the configuration says so.
    pub forward_origin_credentials: bool,
}

impl Endpoint {
    /// An endpoint at `url` with no extra settings. `url` is `http://…` or `https://…` (no
    /// query), or a bare `host[:port]`, which means `https`.
    pub fn new(url: &str) -> Result<Self> {
        let url = parse_base_url(url, "https", "url")?;
        Ok(Self::at(url))
    }

    fn at(url: Uri) -> Self {
        Self {
            url,
            headers: HeaderMap::new(),
            request_timeout: None,
            connect_timeout: None,
            skip_tls_verify: false,
            ping_url: None,
            health_check_interval: None,
            failure_limit: None,
            forward_origin_credentials: false,
        }
    }
}

/// Credentials for the origin registry from the configuration.
#[derive(Clone, Debug, Default, Eq, PartialEq)]
#[non_exhaustive]
pub struct OriginCredentials {
    /// Base64 of `user:password` (nydus `auth`).
    pub basic: Option<Secret>,
    /// A ready bearer token (nydus `registry_token`).
    pub bearer: Option<Secret>,
}

/// The endpoints for one registry: mirrors in the order to try them, then the origin.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct MirrorConfig {
    /// The registry's name as configured, e.g. `docker.io`.
    pub registry: String,
    /// The repository, if the configuration names one (nydus `repo`).
    pub repository: Option<String>,
    /// The origin registry.
    pub origin: Endpoint,
    /// Mirrors, tried in order before the origin.
    pub mirrors: Vec<Endpoint>,
    /// Whether to fall back to the origin when every mirror failed (nydus
    /// `proxy.fallback`; always true for stargz).
    pub fallback_to_origin: bool,
    /// Origin credentials from the configuration, if any.
    pub origin_credentials: Option<OriginCredentials>,
    /// Retries per request, if configured (nydus `retry_limit`).
    pub retry_limit: Option<u32>,
}

impl MirrorConfig {
    /// A configuration with only an origin.
    pub fn new(registry: impl Into<String>, origin: Endpoint) -> Self {
        Self {
            registry: registry.into(),
            repository: None,
            origin,
            mirrors: Vec::new(),
            fallback_to_origin: true,
            origin_credentials: None,
            retry_limit: None,
        }
    }
}

/// Something in a configuration that was ignored.
#[derive(Clone, Debug, Eq, PartialEq)]
#[non_exhaustive]
pub struct ConfigWarning {
    /// Where, e.g. `resolver.host."docker.io".mirrors[0].hots`.
    pub path: String,
    /// Why it was ignored.
    pub kind: WarningKind,
}

/// Why a configuration key was ignored.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
#[non_exhaustive]
pub enum WarningKind {
    /// The key is not known (a typo, or a newer version of the format).
    UnknownKey,
    /// The key is known but this crate does not support it.
    Unsupported,
}

impl fmt::Display for ConfigWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            WarningKind::UnknownKey => write!(f, "{}: unknown key, ignored", self.path),
            WarningKind::Unsupported => write!(f, "{}: not supported, ignored", self.path),
        }
    }
}

/// The result of reading a configuration.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct LoadedConfig {
    /// One entry per configured registry, sorted by registry name for TOML input.
    pub registries: Vec<MirrorConfig>,
    /// Keys that were ignored.
    pub warnings: Vec<ConfigWarning>,
}

impl LoadedConfig {
    /// The configuration for `registry` (as named in the file, e.g. `docker.io`).
    pub fn registry(&self, registry: &str) -> Option<&MirrorConfig> {
        self.registries
            .iter()
            .find(|r| r.registry.eq_ignore_ascii_case(registry))
    }
}

/// Reads a configuration, guessing the format: JSON (nydusd) if the first non-blank
/// character is `{`, otherwise TOML (stargz-snapshotter).
pub fn parse_config(bytes: &[u8]) -> Result<LoadedConfig> {
    if bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{') {
        parse_nydus_json(bytes)
    } else {
        let text = std::str::from_utf8(bytes)
            .map_err(|e| Error::config("", format!("not UTF-8 text: {e}")))?;
        parse_stargz_toml(text)
    }
}

/// Reads stargz-snapshotter's resolver configuration (its `config.toml`).
///
/// Each `[resolver.host."NAME"]` becomes one [`MirrorConfig`] whose origin is
/// `https://NAME` (`registry-1.docker.io` for `docker.io`, plain HTTP for loopback hosts,
/// as containerd does) and whose mirrors are the `mirrors` entries in order. A mirror's
/// `host` may carry a scheme; otherwise it is `http` when `insecure` is set or the host is
/// a loopback address, `https` otherwise. `request_timeout_sec`: absent or 0 means the
/// global value (default 30 s), negative means no timeout. Mirrors never receive origin
/// credentials.
pub fn parse_stargz_toml(text: &str) -> Result<LoadedConfig> {
    let table: toml::Table = text
        .parse()
        .map_err(|e: toml::de::Error| Error::config("", format!("TOML syntax: {e}")))?;
    let root = Node::from_toml_table(&table);
    let mut out = LoadedConfig::default();
    let Some(resolver) = root.get("resolver") else {
        return Ok(out);
    };
    let path = KeyPath::root().key("resolver");
    let resolver = resolver.table(&path)?;
    warn_unknown(
        resolver,
        &["host", "request_timeout_sec"],
        &path,
        &mut out.warnings,
    );
    let global = optional(resolver, "request_timeout_sec", &path, Node::int)?;
    let global_timeout = stargz_timeout(global, Some(STARGZ_DEFAULT_TIMEOUT));

    let hosts_path = path.key("host");
    let hosts = match entry(resolver, "host") {
        Some(node) => node.table(&hosts_path)?,
        None => &[],
    };
    for (name, host) in hosts {
        let host_path = hosts_path.key(name);
        let host = host.table(&host_path)?;
        warn_unknown(host, &["mirrors"], &host_path, &mut out.warnings);
        let origin_host = if name == "docker.io" {
            "registry-1.docker.io"
        } else {
            name.as_str()
        };
        let scheme = if is_loopback(origin_host) {
            "http"
        } else {
            "https"
        };
        let mut origin = Endpoint::at(parse_base_url(origin_host, scheme, &host_path.0)?);
        origin.request_timeout = global_timeout;
        origin.forward_origin_credentials = true;
        let mut config = MirrorConfig::new(name.clone(), origin);

        let mirrors_path = host_path.key("mirrors");
        let mirrors = match entry(host, "mirrors") {
            Some(node) => node.array(&mirrors_path)?,
            None => &[],
        };
        for (i, mirror) in mirrors.iter().enumerate() {
            let mpath = mirrors_path.index(i);
            let mirror = mirror.table(&mpath)?;
            warn_unknown(
                mirror,
                &["host", "insecure", "request_timeout_sec", "header"],
                &mpath,
                &mut out.warnings,
            );
            let host = required(mirror, "host", &mpath, Node::str)?;
            let insecure = optional(mirror, "insecure", &mpath, Node::bool)?.unwrap_or(false);
            let scheme = if insecure || is_loopback(host) {
                "http"
            } else {
                "https"
            };
            let mut endpoint = Endpoint::at(parse_base_url(host, scheme, &mpath.key("host").0)?);
            let timeout = optional(mirror, "request_timeout_sec", &mpath, Node::int)?;
            endpoint.request_timeout = stargz_timeout(timeout, global_timeout);
            if let Some(headers) = entry(mirror, "header") {
                endpoint.headers = header_map(headers, &mpath.key("header"))?;
            }
            config.mirrors.push(endpoint);
        }
        out.registries.push(config);
    }
    Ok(out)
}

/// stargz's timeout rule: absent or 0 → `fallback`, negative → none, else seconds.
fn stargz_timeout(value: Option<i64>, fallback: Option<Duration>) -> Option<Duration> {
    match value {
        None | Some(0) => fallback,
        Some(n) if n < 0 => None,
        Some(n) => Some(Duration::from_secs(n.unsigned_abs())),
    }
}

/// Reads nydusd's registry backend configuration, in any of the layouts listed in the
/// [module docs](self).
///
/// The origin is `scheme://host` (scheme default `https`). `timeout` and
/// `connect_timeout` default to 5 s; 0 means none. The `proxy` (usually a Dragonfly
/// daemon) becomes the first mirror and decides `fallback_to_origin`; it receives origin
/// credentials, as nydus sends them. The legacy `mirrors` follow in order; a mirror gets
/// origin credentials unless `auth_through` is set (then it authenticates on its own).
/// `auth` and `registry_token` are kept as [`Secret`]s.
pub fn parse_nydus_json(bytes: &[u8]) -> Result<LoadedConfig> {
    let value: serde_json::Value = serde_json::from_slice(bytes)
        .map_err(|e| Error::config("", format!("JSON syntax: {e}")))?;
    let root = Node::from_json(&value);
    let mut out = LoadedConfig::default();
    let root_path = KeyPath::root();
    let top = root.table(&root_path)?;

    let (config, config_path) = if let Some(device) = entry(top, "device") {
        let dpath = root_path.key("device");
        let device = device.table(&dpath)?;
        warn_unknown(
            device,
            &["backend", "cache", "id"],
            &dpath,
            &mut out.warnings,
        );
        let bpath = dpath.key("backend");
        let backend = required(device, "backend", &dpath, Node::table)?;
        backend_config(backend, &bpath, "config", &mut out.warnings)?
    } else if entry(top, "version").is_some() && entry(top, "backend").is_some() {
        let bpath = root_path.key("backend");
        let backend = required(top, "backend", &root_path, Node::table)?;
        backend_config(backend, &bpath, "registry", &mut out.warnings)?
    } else if entry(top, "type").is_some() {
        backend_config(top, &root_path, "config", &mut out.warnings)?
    } else {
        (top, root_path.clone())
    };
    out.registries
        .push(nydus_registry(config, &config_path, &mut out.warnings)?);
    Ok(out)
}

/// Checks a backend block's `type` and returns its registry config table.
fn backend_config<'a>(
    backend: &'a [(String, Node)],
    path: &KeyPath,
    config_key: &str,
    warnings: &mut Vec<ConfigWarning>,
) -> Result<(&'a [(String, Node)], KeyPath)> {
    let known: &[&str] = if config_key == "config" {
        &["type", "config"]
    } else {
        &[
            "type",
            "registry",
            "localfs",
            "localdisk",
            "oss",
            "s3",
            "http_proxy",
        ]
    };
    warn_unknown(backend, known, path, warnings);
    let kind = required(backend, "type", path, Node::str)?;
    if kind != "registry" {
        return Err(Error::config(
            path.key("type").0,
            format!("expected \"registry\", found {kind:?}"),
        ));
    }
    let cpath = path.key(config_key);
    let config = required(backend, config_key, path, Node::table)?;
    Ok((config, cpath))
}

fn nydus_registry(
    config: &[(String, Node)],
    path: &KeyPath,
    warnings: &mut Vec<ConfigWarning>,
) -> Result<MirrorConfig> {
    warn_unknown(
        config,
        &[
            "host",
            "repo",
            "scheme",
            "skip_verify",
            "timeout",
            "connect_timeout",
            "retry_limit",
            "auth",
            "registry_token",
            "proxy",
            "mirrors",
            "blob_url_scheme",
            "blob_redirected_host",
        ],
        path,
        warnings,
    );
    for key in ["blob_url_scheme", "blob_redirected_host"] {
        if entry(config, key).is_some() {
            warnings.push(ConfigWarning {
                path: path.key(key).0,
                kind: WarningKind::Unsupported,
            });
        }
    }
    let host = required(config, "host", path, Node::str)?;
    let scheme = optional(config, "scheme", path, Node::str)?.unwrap_or("https");
    if scheme != "http" && scheme != "https" {
        return Err(Error::config(
            path.key("scheme").0,
            "expected \"http\" or \"https\"",
        ));
    }
    let mut origin = Endpoint::at(parse_base_url(host, scheme, &path.key("host").0)?);
    origin.skip_tls_verify = optional(config, "skip_verify", path, Node::bool)?.unwrap_or(false);
    origin.request_timeout = nydus_secs(optional(config, "timeout", path, Node::uint)?);
    origin.connect_timeout = nydus_secs(optional(config, "connect_timeout", path, Node::uint)?);
    origin.forward_origin_credentials = true;
    let mut out = MirrorConfig::new(host, origin);
    out.repository = optional(config, "repo", path, Node::str)?
        .filter(|r| !r.is_empty())
        .map(str::to_owned);
    out.retry_limit = optional(config, "retry_limit", path, Node::uint)?
        .map(|n| u32::try_from(n).unwrap_or(u32::MAX));
    let basic = optional(config, "auth", path, Node::str)?
        .filter(|s| !s.is_empty())
        .map(Secret::new);
    let bearer = optional(config, "registry_token", path, Node::str)?
        .filter(|s| !s.is_empty())
        .map(Secret::new);
    if basic.is_some() || bearer.is_some() {
        out.origin_credentials = Some(OriginCredentials { basic, bearer });
    }

    if let Some(proxy) = entry(config, "proxy") {
        let ppath = path.key("proxy");
        let proxy = proxy.table(&ppath)?;
        warn_unknown(
            proxy,
            &[
                "url",
                "fallback",
                "ping_url",
                "check_interval",
                "use_http",
                "check_pause_elapsed",
            ],
            &ppath,
            warnings,
        );
        if entry(proxy, "check_pause_elapsed").is_some() {
            warnings.push(ConfigWarning {
                path: ppath.key("check_pause_elapsed").0,
                kind: WarningKind::Unsupported,
            });
        }
        let url = optional(proxy, "url", &ppath, Node::str)?.unwrap_or("");
        if !url.is_empty() {
            let use_http = optional(proxy, "use_http", &ppath, Node::bool)?.unwrap_or(false);
            let scheme = if use_http { "http" } else { "https" };
            let mut url = parse_base_url(url, scheme, &ppath.key("url").0)?;
            if use_http {
                url = with_scheme(url, "http", &ppath.key("url").0)?;
            }
            let mut endpoint = Endpoint::at(url);
            endpoint.request_timeout = out.origin.request_timeout;
            endpoint.connect_timeout = out.origin.connect_timeout;
            endpoint.ping_url = optional(proxy, "ping_url", &ppath, Node::str)?
                .filter(|s| !s.is_empty())
                .map(|s| parse_url(s, &ppath.key("ping_url").0))
                .transpose()?;
            let interval = optional(proxy, "check_interval", &ppath, Node::uint)?;
            if endpoint.ping_url.is_some() {
                endpoint.health_check_interval =
                    Some(interval.map_or(NYDUS_DEFAULT_CHECK_INTERVAL, Duration::from_secs));
            }
            endpoint.forward_origin_credentials = true;
            out.fallback_to_origin =
                optional(proxy, "fallback", &ppath, Node::bool)?.unwrap_or(true);
            out.mirrors.push(endpoint);
        }
    }

    if let Some(mirrors) = entry(config, "mirrors") {
        let mpath = path.key("mirrors");
        for (i, mirror) in mirrors.array(&mpath)?.iter().enumerate() {
            let ipath = mpath.index(i);
            let mirror = mirror.table(&ipath)?;
            warn_unknown(
                mirror,
                &[
                    "host",
                    "headers",
                    "ping_url",
                    "auth_through",
                    "health_check_interval",
                    "failure_limit",
                    "health_check_pause_elapsed",
                ],
                &ipath,
                warnings,
            );
            if entry(mirror, "health_check_pause_elapsed").is_some() {
                warnings.push(ConfigWarning {
                    path: ipath.key("health_check_pause_elapsed").0,
                    kind: WarningKind::Unsupported,
                });
            }
            let host = required(mirror, "host", &ipath, Node::str)?;
            let mut endpoint = Endpoint::at(parse_base_url(host, "https", &ipath.key("host").0)?);
            endpoint.request_timeout = out.origin.request_timeout;
            endpoint.connect_timeout = out.origin.connect_timeout;
            if let Some(headers) = entry(mirror, "headers") {
                endpoint.headers = header_map(headers, &ipath.key("headers"))?;
            }
            let ping = match optional(mirror, "ping_url", &ipath, Node::str)? {
                Some(p) if !p.is_empty() => parse_url(p, &ipath.key("ping_url").0)?,
                _ => {
                    let base = endpoint.url.to_string();
                    parse_url(
                        &format!("{}/v2", base.trim_end_matches('/')),
                        &ipath.key("host").0,
                    )?
                }
            };
            endpoint.ping_url = Some(ping);
            let interval = optional(mirror, "health_check_interval", &ipath, Node::uint)?;
            endpoint.health_check_interval =
                Some(interval.map_or(NYDUS_DEFAULT_CHECK_INTERVAL, Duration::from_secs));
            endpoint.failure_limit = Some(
                optional(mirror, "failure_limit", &ipath, Node::uint)?
                    .map_or(NYDUS_DEFAULT_FAILURE_LIMIT, |n| {
                        u32::try_from(n).unwrap_or(u32::MAX)
                    }),
            );
            let auth_through =
                optional(mirror, "auth_through", &ipath, Node::bool)?.unwrap_or(false);
            endpoint.forward_origin_credentials = !auth_through;
            out.mirrors.push(endpoint);
        }
    }
    Ok(out)
}

/// nydus's timeout rule: absent → 5 s, 0 → none, else seconds.
fn nydus_secs(value: Option<u64>) -> Option<Duration> {
    match value {
        None => Some(NYDUS_DEFAULT_TIMEOUT),
        Some(0) => None,
        Some(n) => Some(Duration::from_secs(n)),
    }
}

/// A generic configuration value, from TOML or JSON.
#[derive(Debug)]
enum Node {
    Bool(bool),
    Int(i64),
    /// A number that is not an `i64` (fractional, or too large).
    OtherNumber,
    Str(String),
    Array(Vec<Node>),
    Table(Vec<(String, Node)>),
    Null,
    /// A TOML date or time.
    DateTime,
}

impl Node {
    fn from_toml_table(table: &toml::Table) -> Node {
        Node::Table(
            table
                .iter()
                .map(|(k, v)| (k.clone(), Node::from_toml(v)))
                .collect(),
        )
    }

    fn from_toml(value: &toml::Value) -> Node {
        match value {
            toml::Value::String(s) => Node::Str(s.clone()),
            toml::Value::Integer(i) => Node::Int(*i),
            toml::Value::Float(_) => Node::OtherNumber,
            toml::Value::Boolean(b) => Node::Bool(*b),
            toml::Value::Datetime(_) => Node::DateTime,
            toml::Value::Array(a) => Node::Array(a.iter().map(Node::from_toml).collect()),
            toml::Value::Table(t) => Node::from_toml_table(t),
        }
    }

    fn from_json(value: &serde_json::Value) -> Node {
        match value {
            serde_json::Value::Null => Node::Null,
            serde_json::Value::Bool(b) => Node::Bool(*b),
            serde_json::Value::Number(n) => n.as_i64().map_or(Node::OtherNumber, Node::Int),
            serde_json::Value::String(s) => Node::Str(s.clone()),
            serde_json::Value::Array(a) => Node::Array(a.iter().map(Node::from_json).collect()),
            serde_json::Value::Object(o) => Node::Table(
                o.iter()
                    .map(|(k, v)| (k.clone(), Node::from_json(v)))
                    .collect(),
            ),
        }
    }

    fn get(&self, key: &str) -> Option<&Node> {
        match self {
            Node::Table(entries) => entry(entries, key),
            _ => None,
        }
    }

    fn describe(&self) -> &'static str {
        match self {
            Node::Bool(_) => "a boolean",
            Node::Int(_) => "an integer",
            Node::OtherNumber => "a number",
            Node::Str(_) => "a string",
            Node::Array(_) => "an array",
            Node::Table(_) => "a table",
            Node::Null => "null",
            Node::DateTime => "a date-time",
        }
    }

    fn mismatch(&self, path: &KeyPath, expected: &str) -> Error {
        Error::config(
            path.0.clone(),
            format!("expected {expected}, found {}", self.describe()),
        )
    }

    fn table(&self, path: &KeyPath) -> Result<&[(String, Node)]> {
        match self {
            Node::Table(t) => Ok(t),
            other => Err(other.mismatch(path, "a table")),
        }
    }

    fn array(&self, path: &KeyPath) -> Result<&[Node]> {
        match self {
            Node::Array(a) => Ok(a),
            other => Err(other.mismatch(path, "an array")),
        }
    }

    fn str(&self, path: &KeyPath) -> Result<&str> {
        match self {
            Node::Str(s) => Ok(s),
            other => Err(other.mismatch(path, "a string")),
        }
    }

    fn bool(&self, path: &KeyPath) -> Result<bool> {
        match self {
            Node::Bool(b) => Ok(*b),
            other => Err(other.mismatch(path, "a boolean")),
        }
    }

    fn int(&self, path: &KeyPath) -> Result<i64> {
        match self {
            Node::Int(i) => Ok(*i),
            other => Err(other.mismatch(path, "an integer")),
        }
    }

    fn uint(&self, path: &KeyPath) -> Result<u64> {
        match self {
            Node::Int(i) => u64::try_from(*i)
                .map_err(|_| Error::config(path.0.clone(), "expected a non-negative integer")),
            other => Err(other.mismatch(path, "a non-negative integer")),
        }
    }
}

/// The value of `key` in a table's entries.
fn entry<'a>(entries: &'a [(String, Node)], key: &str) -> Option<&'a Node> {
    entries.iter().find(|(k, _)| k == key).map(|(_, v)| v)
}

/// `table[key]` converted by `f`, or `None` if absent. JSON `null` counts as absent.
fn optional<'a, T>(
    table: &'a [(String, Node)],
    key: &str,
    path: &KeyPath,
    f: impl FnOnce(&'a Node, &KeyPath) -> Result<T>,
) -> Result<Option<T>> {
    match entry(table, key) {
        None | Some(Node::Null) => Ok(None),
        Some(node) => f(node, &path.key(key)).map(Some),
    }
}

/// `table[key]` converted by `f`; an error naming the path if absent.
fn required<'a, T>(
    table: &'a [(String, Node)],
    key: &str,
    path: &KeyPath,
    f: impl FnOnce(&'a Node, &KeyPath) -> Result<T>,
) -> Result<T> {
    optional(table, key, path, f)?
        .ok_or_else(|| Error::config(path.key(key).0, "missing required key"))
}

fn warn_unknown(
    table: &[(String, Node)],
    known: &[&str],
    path: &KeyPath,
    warnings: &mut Vec<ConfigWarning>,
) {
    for (key, _) in table {
        if !known.contains(&key.as_str()) {
            warnings.push(ConfigWarning {
                path: path.key(key).0,
                kind: WarningKind::UnknownKey,
            });
        }
    }
}

/// A header table: values are strings or arrays of strings.
fn header_map(node: &Node, path: &KeyPath) -> Result<HeaderMap> {
    let mut map = HeaderMap::new();
    for (name, value) in node.table(path)? {
        let vpath = path.key(name);
        let header = HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| Error::config(vpath.0.clone(), "invalid header name"))?;
        let values: Vec<(&str, KeyPath)> = match value {
            Node::Str(s) => vec![(s.as_str(), vpath.clone())],
            Node::Array(items) => items
                .iter()
                .enumerate()
                .map(|(i, item)| {
                    let ipath = vpath.index(i);
                    item.str(&ipath).map(|s| (s, ipath))
                })
                .collect::<Result<_>>()?,
            other => return Err(other.mismatch(&vpath, "a string or an array of strings")),
        };
        for (text, vpath) in values {
            let mut value = HeaderValue::from_str(text)
                .map_err(|_| Error::config(vpath.0.clone(), "invalid header value"))?;
            if matches!(
                header.as_str(),
                "authorization" | "proxy-authorization" | "cookie"
            ) {
                value.set_sensitive(true);
            }
            map.append(header.clone(), value);
        }
    }
    Ok(map)
}

/// Parses `host[:port]` or `scheme://host[:port][/path]` into a base URL.
fn parse_base_url(text: &str, default_scheme: &str, path: &str) -> Result<Uri> {
    let full = if text.contains("://") {
        text.to_owned()
    } else {
        format!("{default_scheme}://{text}")
    };
    let uri = parse_url(&full, path)?;
    if uri.query().is_some() {
        return Err(Error::config(path, "a base URL may not have a query"));
    }
    Ok(uri)
}

/// Parses an absolute `http` or `https` URL.
fn parse_url(text: &str, path: &str) -> Result<Uri> {
    let uri: Uri = text
        .parse()
        .map_err(|e| Error::config(path, format!("invalid URL {text:?}: {e}")))?;
    match uri.scheme_str() {
        Some("http" | "https") => {}
        _ => {
            return Err(Error::config(
                path,
                format!("URL {text:?} must be http or https"),
            ));
        }
    }
    if uri.authority().is_none_or(|a| a.host().is_empty()) {
        return Err(Error::config(path, format!("URL {text:?} has no host")));
    }
    Ok(uri)
}

/// `uri` with its scheme replaced.
fn with_scheme(uri: Uri, scheme: &str, path: &str) -> Result<Uri> {
    let mut parts = uri.into_parts();
    parts.scheme = Some(
        scheme
            .parse()
            .map_err(|_| Error::config(path, "invalid scheme"))?,
    );
    Uri::from_parts(parts).map_err(|e| Error::config(path, format!("invalid URL: {e}")))
}

/// Whether `host` (with an optional port) is `localhost` or a loopback address.
fn is_loopback(host: &str) -> bool {
    let host = host.split("://").last().unwrap_or(host);
    let host = host.split('/').next().unwrap_or(host);
    let name = if let Some(rest) = host.strip_prefix('[') {
        rest.split(']').next().unwrap_or(rest)
    } else if host.matches(':').count() == 1 {
        host.split(':').next().unwrap_or(host)
    } else {
        host
    };
    name.eq_ignore_ascii_case("localhost")
        || name.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// A key path for messages, in TOML's dotted style: `a.b."c.d"[0].e`.
#[derive(Clone, Debug)]
struct KeyPath(String);

impl KeyPath {
    fn root() -> Self {
        Self(String::new())
    }

    fn key(&self, key: &str) -> KeyPath {
        let bare = !key.is_empty()
            && key
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        let mut s = self.0.clone();
        if !s.is_empty() {
            s.push('.');
        }
        if bare {
            s.push_str(key);
        } else {
            s.push('"');
            for c in key.chars() {
                match c {
                    '"' => s.push_str("\\\""),
                    '\\' => s.push_str("\\\\"),
                    c if c.is_control() => s.push_str(&c.escape_default().to_string()),
                    c => s.push(c),
                }
            }
            s.push('"');
        }
        KeyPath(s)
    }

    fn index(&self, i: usize) -> KeyPath {
        KeyPath(format!("{}[{i}]", self.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STARGZ: &str = include_str!("../tests/fixtures/stargz-config.toml");
    const NYDUS_FULL: &str = include_str!("../tests/fixtures/nydusd-registry.json");
    const NYDUS_PROXY: &str = include_str!("../tests/fixtures/nydusd-backend-proxy.json");
    const NYDUS_V2: &str = include_str!("../tests/fixtures/nydusd-v2.json");

    fn err_text(r: Result<LoadedConfig>) -> String {
        r.unwrap_err().to_string()
    }

    #[test]
    fn stargz_fixture() {
        let c = parse_config(STARGZ.as_bytes()).unwrap();
        assert_eq!(c.registries.len(), 2);
        let hub = c.registry("docker.io").unwrap();
        assert_eq!(hub.origin.url.to_string(), "https://registry-1.docker.io/");
        assert_eq!(hub.origin.request_timeout, Some(Duration::from_secs(60)));
        assert_eq!(hub.mirrors.len(), 2);
        let df = &hub.mirrors[0];
        assert_eq!(df.url.to_string(), "http://127.0.0.1:65001/");
        assert_eq!(df.request_timeout, Some(Duration::from_secs(10)));
        assert!(!df.forward_origin_credentials);
        let tags: Vec<_> = df.headers.get_all("x-dragonfly-tag").iter().collect();
        assert_eq!(tags.len(), 2);
        assert_eq!(
            df.headers["x-dragonfly-registry"],
            "https://index.docker.io"
        );
        let cache = &hub.mirrors[1];
        assert_eq!(cache.url.to_string(), "https://mirror.example.com/");
        assert_eq!(cache.request_timeout, None);
        assert!(format!("{:?}", cache.headers).contains("Sensitive"));
        let local = c.registry("localhost:5000").unwrap();
        assert_eq!(local.origin.url.scheme_str(), Some("http"));
        assert_eq!(local.mirrors[0].url.scheme_str(), Some("http"));
        assert_eq!(
            local.mirrors[0].request_timeout,
            Some(Duration::from_secs(60))
        );
        let warnings: Vec<_> = c.warnings.iter().map(ToString::to_string).collect();
        assert_eq!(
            warnings,
            [
                "resolver.unknown_global: unknown key, ignored",
                "resolver.host.\"docker.io\".mirrors[1].hots: unknown key, ignored",
            ]
        );
    }

    #[test]
    fn stargz_type_errors_name_the_path() {
        let e = err_text(parse_stargz_toml(
            "[[resolver.host.\"docker.io\".mirrors]]\nhost = \"m\"\ninsecure = \"yes\"\n",
        ));
        assert_eq!(
            e,
            "invalid config: resolver.host.\"docker.io\".mirrors[0].insecure: expected a boolean, found a string"
        );
        let e = err_text(parse_stargz_toml(
            "[[resolver.host.\"docker.io\".mirrors]]\ninsecure = true\n",
        ));
        assert!(e.contains("mirrors[0].host: missing required key"), "{e}");
        let e = err_text(parse_stargz_toml("[resolver]\nrequest_timeout_sec = 1.5\n"));
        assert!(
            e.contains("resolver.request_timeout_sec: expected an integer"),
            "{e}"
        );
        let e = err_text(parse_stargz_toml(
            "[[resolver.host.\"r\".mirrors]]\nhost = \"m\"\n[resolver.host.\"r\".mirrors.header]\nx = 1\n",
        ));
        assert!(
            e.contains("mirrors[0].header.x: expected a string or an array of strings"),
            "{e}"
        );
        let e = err_text(parse_stargz_toml(
            "[[resolver.host.\"r\".mirrors]]\nhost = \"m\"\n[resolver.host.\"r\".mirrors.header]\nx = [\"a\", 2]\n",
        ));
        assert!(e.contains("header.x[1]: expected a string"), "{e}");
        let e = err_text(parse_stargz_toml(
            "[[resolver.host.\"r\".mirrors]]\nhost = \"ftp://m\"\n",
        ));
        assert!(e.contains("must be http or https"), "{e}");
        assert!(parse_stargz_toml("resolver = [").is_err());
        assert!(parse_stargz_toml("[resolver]\nhost = 5\n").is_err());
        // No resolver section: nothing configured, no warnings for other sections.
        let c = parse_stargz_toml("[blob]\nchunk_size = 50000\n").unwrap();
        assert!(c.registries.is_empty() && c.warnings.is_empty());
    }

    #[test]
    fn nydus_full_daemon_config() {
        let c = parse_config(NYDUS_FULL.as_bytes()).unwrap();
        let r = &c.registries[0];
        assert_eq!(r.registry, "index.docker.io");
        assert_eq!(r.repository.as_deref(), Some("library/ubuntu"));
        assert_eq!(r.origin.url.to_string(), "https://index.docker.io/");
        assert!(r.origin.skip_tls_verify);
        assert_eq!(r.origin.request_timeout, Some(Duration::from_secs(10)));
        assert_eq!(r.origin.connect_timeout, Some(Duration::from_secs(5)));
        assert_eq!(r.retry_limit, Some(2));
        let creds = r.origin_credentials.as_ref().unwrap();
        assert_eq!(
            creds.basic.as_ref().map(Secret::expose),
            Some("dXNlcjpwYXNz")
        );
        assert!(!format!("{r:?}").contains("dXNlcjpwYXNz"));
        assert_eq!(r.mirrors.len(), 2);
        let m0 = &r.mirrors[0];
        assert_eq!(m0.url.to_string(), "http://127.0.0.1:65001/");
        assert_eq!(
            m0.ping_url.as_ref().unwrap().to_string(),
            "http://127.0.0.1:65001/v2"
        );
        assert_eq!(
            m0.headers["x-dragonfly-registry"],
            "https://index.docker.io"
        );
        assert!(m0.forward_origin_credentials);
        assert_eq!(m0.failure_limit, Some(5));
        let m1 = &r.mirrors[1];
        assert!(!m1.forward_origin_credentials);
        assert_eq!(
            m1.ping_url.as_ref().unwrap().to_string(),
            "https://mirror.example.com/healthz"
        );
        assert_eq!(m1.health_check_interval, Some(Duration::from_secs(10)));
        let warnings: Vec<_> = c.warnings.iter().map(ToString::to_string).collect();
        assert_eq!(
            warnings,
            ["device.backend.config.mirrors[1].color: unknown key, ignored",]
        );
    }

    #[test]
    fn nydus_backend_with_proxy() {
        let c = parse_nydus_json(NYDUS_PROXY.as_bytes()).unwrap();
        let r = &c.registries[0];
        assert_eq!(r.origin.url.scheme_str(), Some("http"));
        assert!(!r.fallback_to_origin);
        assert_eq!(
            r.origin_credentials
                .as_ref()
                .unwrap()
                .bearer
                .as_ref()
                .map(Secret::expose),
            Some("tok")
        );
        let p = &r.mirrors[0];
        assert_eq!(p.url.to_string(), "http://p2p-proxy:65001/");
        assert!(p.forward_origin_credentials);
        assert_eq!(p.health_check_interval, Some(Duration::from_secs(5)));
        assert_eq!(r.origin.request_timeout, None);
        let warnings: Vec<_> = c.warnings.iter().map(ToString::to_string).collect();
        assert_eq!(
            warnings,
            [
                "config.blob_redirected_host: not supported, ignored",
                "config.proxy.check_pause_elapsed: not supported, ignored",
            ]
        );
    }

    #[test]
    fn nydus_v2_and_bare() {
        let c = parse_nydus_json(NYDUS_V2.as_bytes()).unwrap();
        assert_eq!(c.registries[0].registry, "ghcr.io");
        let c = parse_nydus_json(br#"{"host":"reg:5000","repo":"a/b","scheme":"http"}"#).unwrap();
        assert_eq!(c.registries[0].origin.url.to_string(), "http://reg:5000/");
        assert!(c.registries[0].mirrors.is_empty());
    }

    #[test]
    fn nydus_errors_name_the_path() {
        let e = err_text(parse_nydus_json(
            br#"{"device":{"backend":{"type":"oss","config":{}}}}"#,
        ));
        assert!(
            e.contains("device.backend.type: expected \"registry\""),
            "{e}"
        );
        let e = err_text(parse_nydus_json(
            br#"{"type":"registry","config":{"host":"h","timeout":"5"}}"#,
        ));
        assert_eq!(
            e,
            "invalid config: config.timeout: expected a non-negative integer, found a string"
        );
        let e = err_text(parse_nydus_json(br#"{"host":"h","timeout":-1}"#));
        assert!(
            e.contains("timeout: expected a non-negative integer"),
            "{e}"
        );
        let e = err_text(parse_nydus_json(
            br#"{"host":"h","mirrors":[{"host":"m","headers":{"bad name":"x"}}]}"#,
        ));
        assert!(
            e.contains("mirrors[0].headers.\"bad name\": invalid header name"),
            "{e}"
        );
        let e = err_text(parse_nydus_json(br#"{"host":"h","mirrors":{}}"#));
        assert!(
            e.contains("mirrors: expected an array, found a table"),
            "{e}"
        );
        assert!(parse_nydus_json(b"[1]").is_err());
        assert!(parse_nydus_json(b"{").is_err());
        assert!(parse_nydus_json(br#"{"repo":"x"}"#).is_err());
    }

    #[test]
    fn helpers() {
        assert!(is_loopback("localhost:5000"));
        assert!(is_loopback("127.0.0.2"));
        assert!(is_loopback("[::1]:5000"));
        assert!(is_loopback("::1"));
        assert!(!is_loopback("registry.example.com"));
        assert_eq!(
            KeyPath::root().key("a").key("b.c").index(2).key("").0,
            "a.\"b.c\"[2].\"\""
        );
        assert!(Endpoint::new("mirror:5000").is_ok());
        assert!(Endpoint::new("https://m/?q").is_err());
        assert!(Endpoint::new("https://").is_err());
        assert_eq!(stargz_timeout(Some(-1), Some(STARGZ_DEFAULT_TIMEOUT)), None);
        assert_eq!(stargz_timeout(Some(0), None), None);
    }
}
