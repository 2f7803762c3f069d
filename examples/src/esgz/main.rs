//! `esgz`: convert, inspect, verify and extract eStargz blobs.
//!
//! The command line is a contract that scripts rely on (see the workspace's DESIGN.md,
//! section 4): exit code 0 on success, 1 when the input or its verification fails (with a
//! message on standard error naming what and where), 2 on usage errors.

mod info;
mod output;

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
    /// Print the footer kind, TOC offset, size and digest, and entry counts of a blob.
    Info(info::InfoArgs),
    /// Print the TOC JSON exactly as stored in a blob.
    Toc(info::TocArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Info(args) => info::run_info(&args),
        Command::Toc(args) => info::run_toc(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("esgz: {err}");
            ExitCode::from(1)
        }
    }
}
