//! The server: a listener on 127.0.0.1, one thread per connection, shared state, and a
//! clean stop.

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::io::{self, BufReader};
use std::net::{Ipv4Addr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use super::behaviour::Behaviour;
use super::http::{Limits, read_request, write_error};
use super::lock;
use super::log::{Entry, Log};
use super::respond::{Outcome, respond};

/// Most connections served at once; more are closed on arrival.
const MAX_CONNECTIONS: usize = 256;
/// How long a connection may sit idle between requests, or in the middle of one.
const READ_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a reply may wait for a client that does not read.
const WRITE_TIMEOUT: Duration = Duration::from_secs(10);

/// A running loopback server on `127.0.0.1` that answers blob requests with a
/// [`Behaviour`]. See the [module documentation](super) for an example.
///
/// Besides blobs, every server answers `/token` (a Bearer token endpoint, see
/// [`require_token`](Self::require_token)) and `/ping` (200). It stops when dropped or
/// when [`stop`](Self::stop) is called.
pub struct Server {
    shared: Arc<Shared>,
    addr: SocketAddr,
    acceptor: Mutex<Option<JoinHandle<()>>>,
}

impl Server {
    /// Starts a server labelled `label` (the name in `log`) that serves `blob` at every
    /// path other than `/token` and `/ping`, answering with `behaviour`.
    ///
    /// # Errors
    ///
    /// When no loopback port can be bound or no thread started.
    pub fn start(
        label: &str,
        blob: Arc<Vec<u8>>,
        log: &Log,
        behaviour: Behaviour,
    ) -> io::Result<Self> {
        Self::spawn(label, Content::One(blob), log, behaviour)
    }

    /// Starts a small registry labelled `label`: each blob of `blobs` (digest, bytes) is
    /// served at `/v2/<any repo>/blobs/<digest>` with `behaviour`, unknown digests and
    /// other paths get 404, and `/v2/` answers 200. Redirects from a registry carry the
    /// digest (`/storage/<digest>`), so a registry with [`Behaviour::Storage`] is the
    /// matching object store.
    ///
    /// # Errors
    ///
    /// When no loopback port can be bound or no thread started.
    pub fn start_registry(
        label: &str,
        blobs: Vec<(String, Arc<Vec<u8>>)>,
        log: &Log,
        behaviour: Behaviour,
    ) -> io::Result<Self> {
        Self::spawn(
            label,
            Content::Registry(blobs.into_iter().collect()),
            log,
            behaviour,
        )
    }

    fn spawn(label: &str, content: Content, log: &Log, behaviour: Behaviour) -> io::Result<Self> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            label: label.to_owned(),
            base: format!("http://{addr}"),
            content,
            log: log.clone(),
            current: Mutex::new(Current {
                behaviour,
                served: 0,
            }),
            once: Mutex::new(VecDeque::new()),
            auth: Mutex::new(Auth {
                token: None,
                token_expires_in: 300,
                basic: None,
            }),
            token_fetches: AtomicU64::new(0),
            stop: StopSignal::default(),
            connections: Mutex::new(HashMap::new()),
            next_connection: AtomicU64::new(0),
        });
        let accepting = Arc::clone(&shared);
        let acceptor = thread::Builder::new()
            .name(format!("quirk-{label}"))
            .spawn(move || accept_loop(&accepting, &listener))?;
        Ok(Self {
            shared,
            addr,
            acceptor: Mutex::new(Some(acceptor)),
        })
    }

    /// The base URL, `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        self.shared.base.clone()
    }

    /// `127.0.0.1:PORT`, the form a registry host name takes in configurations and `ns=`.
    pub fn authority(&self) -> String {
        self.addr.to_string()
    }

    /// The socket address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The label the server logs its requests under.
    pub fn label(&self) -> &str {
        &self.shared.label
    }

    /// Answers later blob requests with `behaviour` (and restarts the count of a
    /// [`Behaviour::Flaky`]).
    pub fn set(&self, behaviour: Behaviour) {
        *lock(&self.shared.current) = Current {
            behaviour,
            served: 0,
        };
    }

    /// Answers the next blob request only with `behaviour`, after the one-shot behaviours
    /// queued before it. A queued [`Behaviour::Flaky`] counts as its first request.
    pub fn once(&self, behaviour: Behaviour) {
        lock(&self.shared.once).push_back(behaviour);
    }

    /// Demands `Authorization: Bearer <token>` on blob requests. Others get a 401 with a
    /// Bearer challenge whose realm is this server's `/token`, which hands out `token`
    /// valid for `expires_in` seconds.
    pub fn require_token(&self, token: &str, expires_in: u64) {
        let mut auth = lock(&self.shared.auth);
        auth.token = Some(token.to_owned());
        auth.token_expires_in = expires_in;
    }

    /// Demands `Authorization: Basic <credentials>` (already base64-encoded) on blob
    /// requests. Others get a 401 with a Basic challenge.
    pub fn require_basic(&self, credentials: &str) {
        lock(&self.shared.auth).basic = Some(credentials.to_owned());
    }

    /// How many times `/token` was asked for.
    pub fn token_fetches(&self) -> u64 {
        self.shared.token_fetches.load(Ordering::SeqCst)
    }

    /// Stops the server: no new connections, open ones are shut down, sleeping quirks
    /// ([`Behaviour::Delay`], [`Behaviour::Stall`]) wake up and close. Returns once the
    /// accepting thread has ended. Calling it again does nothing.
    pub fn stop(&self) {
        self.shared.stop.stop();
        for stream in lock(&self.shared.connections).values() {
            let _ = stream.shutdown(Shutdown::Both);
        }
        let Some(acceptor) = lock(&self.acceptor).take() else {
            return;
        };
        // Wake the blocking `accept` so the thread sees the stop. On loopback this
        // connection succeeds at once; should it not, the thread is left to end at its
        // next connection rather than block the caller.
        if TcpStream::connect_timeout(&self.addr, Duration::from_secs(1)).is_ok() {
            let _ = acceptor.join();
        }
    }
}

impl fmt::Debug for Server {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Server")
            .field("label", &self.shared.label)
            .field("addr", &self.addr)
            .field("content", &self.shared.content)
            .finish_non_exhaustive()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}

/// What a server serves.
pub(super) enum Content {
    /// One blob, at every path.
    One(Arc<Vec<u8>>),
    /// Blobs by digest.
    Registry(HashMap<String, Arc<Vec<u8>>>),
}

impl Content {
    /// The blob called `name` (`blob` on a single-blob server, else a digest).
    pub(super) fn blob(&self, name: &str) -> Option<Arc<Vec<u8>>> {
        match self {
            Self::One(blob) => Some(Arc::clone(blob)),
            Self::Registry(blobs) => blobs.get(name).cloned(),
        }
    }
}

impl fmt::Debug for Content {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Lengths, not the bytes.
        match self {
            Self::One(blob) => f.debug_tuple("One").field(&blob.len()).finish(),
            Self::Registry(blobs) => f
                .debug_map()
                .entries(blobs.iter().map(|(digest, blob)| (digest, blob.len())))
                .finish(),
        }
    }
}

/// The default behaviour and how many blob requests it answered since it was set.
#[derive(Debug)]
struct Current {
    behaviour: Behaviour,
    served: u64,
}

#[derive(Debug)]
struct Auth {
    token: Option<String>,
    token_expires_in: u64,
    basic: Option<String>,
}

/// State shared by the server handle, the accepting thread and the connections.
#[derive(Debug)]
pub(super) struct Shared {
    label: String,
    /// `http://127.0.0.1:PORT`.
    pub(super) base: String,
    pub(super) content: Content,
    log: Log,
    current: Mutex<Current>,
    once: Mutex<VecDeque<Behaviour>>,
    auth: Mutex<Auth>,
    token_fetches: AtomicU64,
    pub(super) stop: StopSignal,
    /// Open connections by id, to shut them down on stop.
    connections: Mutex<HashMap<u64, TcpStream>>,
    next_connection: AtomicU64,
}

impl Shared {
    /// The behaviour for the next blob request: a queued one-shot, else the default with
    /// [`Behaviour::Flaky`] resolved.
    pub(super) fn next_behaviour(&self) -> Behaviour {
        if let Some(once) = lock(&self.once).pop_front() {
            return once.resolve(1).clone();
        }
        let mut current = lock(&self.current);
        current.served = current.served.saturating_add(1);
        current.behaviour.resolve(current.served).clone()
    }

    /// The required Bearer token and Basic credentials.
    pub(super) fn credentials(&self) -> (Option<String>, Option<String>) {
        let auth = lock(&self.auth);
        (auth.token.clone(), auth.basic.clone())
    }

    /// Counts a token fetch; returns the token to hand out (empty if none is required)
    /// and its lifetime in seconds.
    pub(super) fn token_fetched(&self) -> (String, u64) {
        self.token_fetches.fetch_add(1, Ordering::SeqCst);
        let auth = lock(&self.auth);
        (
            auth.token.clone().unwrap_or_default(),
            auth.token_expires_in,
        )
    }
}

/// A stop flag that sleeping threads can wait on.
#[derive(Debug, Default)]
pub(super) struct StopSignal {
    stopped: Mutex<bool>,
    changed: Condvar,
}

impl StopSignal {
    fn stop(&self) {
        *lock(&self.stopped) = true;
        self.changed.notify_all();
    }

    fn is_stopped(&self) -> bool {
        *lock(&self.stopped)
    }

    /// Sleeps for `d` or until stopped; returns whether the server was stopped.
    /// A duration too long for the clock waits for the stop alone.
    pub(super) fn sleep(&self, d: Duration) -> bool {
        let deadline = Instant::now().checked_add(d);
        let mut stopped = lock(&self.stopped);
        while !*stopped {
            let now = Instant::now();
            let left = match deadline {
                Some(deadline) if now >= deadline => break,
                Some(deadline) => deadline - now,
                None => Duration::from_secs(3600),
            };
            stopped = match self.changed.wait_timeout(stopped, left) {
                Ok((guard, _)) => guard,
                Err(poisoned) => poisoned.into_inner().0,
            };
        }
        *stopped
    }
}

fn accept_loop(shared: &Arc<Shared>, listener: &TcpListener) {
    for stream in listener.incoming() {
        if shared.stop.is_stopped() {
            return;
        }
        match stream {
            Ok(stream) => spawn_connection(shared, stream),
            // Out of descriptors or similar: back off instead of spinning.
            Err(_) => {
                shared.stop.sleep(Duration::from_millis(10));
            }
        }
    }
}

/// Registers `stream` and serves it on its own thread; drops it if the server is full,
/// stopping, or no thread can be started.
fn spawn_connection(shared: &Arc<Shared>, stream: TcpStream) {
    let id = shared.next_connection.fetch_add(1, Ordering::SeqCst);
    {
        let mut connections = lock(&shared.connections);
        // Checked under the lock `stop` takes, so no connection escapes the shutdown.
        if connections.len() >= MAX_CONNECTIONS || shared.stop.is_stopped() {
            return;
        }
        let Ok(handle) = stream.try_clone() else {
            return;
        };
        connections.insert(id, handle);
    }
    let serving = Arc::clone(shared);
    let started = thread::Builder::new()
        .name(format!("quirk-{}-{id}", shared.label))
        .spawn(move || {
            serve_connection(&serving, stream);
            forget_connection(&serving, id);
        });
    if started.is_err() {
        forget_connection(shared, id);
    }
}

fn forget_connection(shared: &Shared, id: u64) {
    if let Some(stream) = lock(&shared.connections).remove(&id) {
        let _ = stream.shutdown(Shutdown::Both);
    }
}

/// Serves requests on one connection until it closes, misbehaves or the server stops.
/// Any error just ends the connection.
fn serve_connection(shared: &Shared, stream: TcpStream) {
    // The listener is blocking, but not every platform says accepted sockets are.
    let setup = stream
        .set_nonblocking(false)
        .and_then(|()| stream.set_read_timeout(Some(READ_TIMEOUT)))
        .and_then(|()| stream.set_write_timeout(Some(WRITE_TIMEOUT)))
        .and_then(|()| stream.try_clone());
    let Ok(read_half) = setup else {
        return;
    };
    let mut reader = BufReader::new(read_half);
    let mut out = stream;
    while !shared.stop.is_stopped() {
        let request = match read_request(&mut reader, &Limits::DEFAULT) {
            Ok(Some(request)) => request,
            Ok(None) => return,
            Err(e) => {
                if let Some(status) = e.status() {
                    let _ = write_error(&mut out, status);
                }
                return;
            }
        };
        if shared.stop.is_stopped() {
            return;
        }
        shared.log.push(Entry {
            server: shared.label.clone(),
            method: request.method.clone(),
            path: request.path.clone(),
            query: request.query.clone(),
            headers: request.headers.clone(),
        });
        if respond(shared, &mut out, &request) == Outcome::Close {
            return;
        }
    }
}
