//! Test support shared by the integration tests.

#[allow(unreachable_pub)] // A module of a test binary: `pub` is for its other modules.
pub mod quirk_server;
