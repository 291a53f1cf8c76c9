//! The `tickler` binary: command line, configuration, wiring, and `serve`.

mod cli;
mod commands;
mod config;
mod config_file;
mod invoices;
mod operations;
mod output;
mod plans;
mod quotes;
mod serve;
mod tasks;
mod transfer;

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
    // Colours only for a person at a terminal: a log file or a journal gets plain text.
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()));
    match std::env::var("TICKLER_LOG_FORMAT")
        .unwrap_or_default()
        .trim()
    {
        "" | "text" => builder.init(),
        // One JSON object a line, for log shippers.
        "json" => builder.json().with_ansi(false).init(),
        other => {
            eprintln!("error: TICKLER_LOG_FORMAT is \"{other}\": it must be text or json");
            return ExitCode::FAILURE;
        }
    }
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
