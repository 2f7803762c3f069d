//! A mirror-aware HTTP range reader for blobs in OCI registries.
//!
//! This crate will own: endpoints (an origin registry plus ordered mirrors, each with its own
//! scheme, headers and timeouts), per-request failover, range coalescing and multi-range
//! requests with per-endpoint learning of what works, strict validation of replies,
//! redirects, token authentication, retries, single-flight and metrics.
//!
//! It knows nothing of the eStargz format: it serves byte ranges of blobs.
