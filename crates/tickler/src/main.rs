//! The `tickler` binary: command line, configuration, wiring, and `serve`.

mod cli;
mod commands;
mod config;
mod config_file;
mod invoices;
mod output;
mod plans;
mod quotes;
mod serve;
mod tasks;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    if let Err(e) = config_file::load(&args) {
        eprintln!("error: {e:#}");
        return ExitCode::FAILURE;
    }
    let cli = cli::Cli::parse();
    // A service logs what it does; a one-off command only what went wrong.
    let default_filter = match cli.command {
        cli::Command::Serve(_) | cli::Command::Dispatch(_) => "info",
        _ => "warn",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("TICKLER_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_filter));
    // rustls-platform-verifier logs an error for every refused certificate, at every
    // connection attempt; the engine reports the same problem once, saying what to do.
    let filter = match "rustls_platform_verifier=off".parse() {
        Ok(quiet) => filter.add_directive(quiet),
        Err(_) => filter,
    };
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
    tickler_mail::install_crypto_provider();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(commands::run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
