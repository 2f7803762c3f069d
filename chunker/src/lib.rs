//! How an eStargz encoder cuts files into chunks and orders entries (sans-IO).
//!
//! This crate will own, as the encoder lands:
//!
//! - fixed-size chunk plans (default 4 MiB) and minimum-chunk-size packing, where small files
//!   share one compressed member and carry an `innerOffset`;
//! - the order entries are written in: prioritized files first, then the landmark file
//!   (`.prefetch.landmark`, or `.no.prefetch.landmark` first when nothing is prioritized),
//!   then the rest, with the reference implementation's rules for duplicate names, reserved
//!   names and parents that have no entry of their own.
//!
//! It performs no I/O.
