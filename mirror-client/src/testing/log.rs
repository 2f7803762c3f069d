//! The request log shared by the servers of a test: who was asked what, in which order.

use std::sync::{Arc, Mutex};

use super::lock;

/// One request as a [`Server`](super::Server) received it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Entry {
    /// The label of the server that received the request.
    pub server: String,
    /// The request method, such as `GET`.
    pub method: String,
    /// The request path, without the query.
    pub path: String,
    /// The query string (after `?`), if there was one.
    pub query: Option<String>,
    /// The request headers in the order received, names lower-cased, values trimmed.
    pub headers: Vec<(String, String)>,
}

impl Entry {
    /// The value of the first header called `name` (compared case-insensitively).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// A request log, shared (cheaply cloned) by any number of servers.
///
/// Every server appends each request it reads, before answering it, so the log shows
/// the order in which a client tried its endpoints.
#[derive(Clone, Debug, Default)]
pub struct Log {
    entries: Arc<Mutex<Vec<Entry>>>,
}

impl Log {
    /// A new, empty log.
    pub fn new() -> Self {
        Self::default()
    }

    /// A copy of the entries so far, oldest first.
    pub fn entries(&self) -> Vec<Entry> {
        lock(&self.entries).clone()
    }

    /// How many requests were logged.
    pub fn len(&self) -> usize {
        lock(&self.entries).len()
    }

    /// Whether nothing was logged yet.
    pub fn is_empty(&self) -> bool {
        lock(&self.entries).is_empty()
    }

    /// Forgets every entry.
    pub fn clear(&self) {
        lock(&self.entries).clear();
    }

    pub(super) fn push(&self, entry: Entry) {
        lock(&self.entries).push(entry);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clones_share_entries_and_headers_match_any_case() {
        let log = Log::new();
        let other = log.clone();
        other.push(Entry {
            server: "m0".to_owned(),
            method: "GET".to_owned(),
            path: "/v2/".to_owned(),
            query: None,
            headers: vec![("range".to_owned(), "bytes=0-1".to_owned())],
        });
        assert_eq!(log.len(), 1);
        assert_eq!(log.entries()[0].header("Range"), Some("bytes=0-1"));
        assert_eq!(log.entries()[0].header("accept"), None);
        log.clear();
        assert!(other.is_empty());
    }
}
