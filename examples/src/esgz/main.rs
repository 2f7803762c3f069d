//! `esgz`: convert, inspect, verify and extract eStargz blobs.
//!
//! The command line is a contract that scripts rely on (see the workspace's DESIGN.md,
//! section 4): exit code 0 on success, 1 when the input or its verification fails (with a
//! message on standard error naming what and where), 2 on usage errors.

mod cat;
mod convert;
mod extract;
mod info;
mod ls;
mod output;
mod verify;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Convert, inspect, verify and extract eStargz blobs.
#[derive(Debug, Parser)]
#[command(name = "esgz", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Convert a tar or tar.gz (or `-` for standard input) to an eStargz blob.
    Convert(convert::ConvertArgs),
    /// Print the footer kind, TOC offset, size and digest, and entry counts of a blob.
    Info(info::InfoArgs),
    /// Print the TOC JSON exactly as stored in a blob.
    Toc(info::TocArgs),
    /// List the entries of a blob, in TOC order.
    Ls(ls::LsArgs),
    /// Verify the TOC digest, every chunk and every file of a blob.
    Verify(verify::VerifyArgs),
    /// Print one file of a blob, verified, read lazily.
    Cat(cat::CatArgs),
    /// Extract a blob's tree into a directory, every file verified, never writing outside it.
    Extract(extract::ExtractArgs),
}

/// mimalloc instead of the system allocator: opening a large TOC makes hundreds of thousands
/// of small allocations, and glibc's allocator returns and re-faults large buffers as they
/// grow (see scripts/bench-open.sh). `convert` turns transparent huge pages off for itself.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Convert(args) => convert::run_convert(&args),
        Command::Info(args) => info::run_info(&args),
        Command::Toc(args) => info::run_toc(&args),
        Command::Ls(args) => ls::run_ls(&args),
        Command::Verify(args) => verify::run_verify(&args),
        Command::Cat(args) => cat::run_cat(&args),
        Command::Extract(args) => extract::run_extract(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("esgz: {err}");
            ExitCode::from(1)
        }
    }
}
