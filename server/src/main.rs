//! The `keyhole` binary: parses the command line, loads the config, sets up
//! logging, and calls [`keyhole::run`]. Startup errors print one line and
//! exit with status 2.

#![forbid(unsafe_code)]

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use keyhole::config::{Config, LogFormat};

/// Just-in-time, least-privilege debugging access to Kubernetes from a browser tab.
#[derive(Debug, Parser)]
#[command(name = "keyhole", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the gateway (HTTP server, web app, API).
    Serve {
        /// Config file (TOML). It must configure [kubernetes] and [oidc], unless --dev.
        #[arg(long, short, env = "KEYHOLE_CONFIG")]
        config: Option<PathBuf>,
        /// Development mode (same as KEYHOLE_DEV=true): start the development stand-ins
        /// (in-process dev cluster whose pods are processes on this host, development IdP) for
        /// [kubernetes] / [oidc] when the config leaves them out. For a local demo only: refused
        /// inside a Kubernetes cluster or on a non-loopback listen address.
        #[arg(long)]
        dev: bool,
        /// Log format: `text` (human-readable) or `json` (one object per line, with the
        /// request and terminal-session span fields). Overrides log_format.
        #[arg(long, value_enum, value_name = "FORMAT")]
        log_format: Option<LogFormatArg>,
        /// Same as --log-format json.
        #[arg(long, conflicts_with = "log_format")]
        log_json: bool,
    },
    /// Check or test a policy file.
    Policy {
        #[command(subcommand)]
        command: PolicyCommand,
    },
}

/// `--log-format`.
#[derive(Debug, Clone, Copy, ValueEnum)]
enum LogFormatArg {
    /// Human-readable lines.
    Text,
    /// JSON lines.
    Json,
}

#[derive(Debug, Subcommand)]
enum PolicyCommand {
    /// Validate a policy file; errors are printed as FILE:LINE:COLUMN: message.
    Check {
        /// The policy file (YAML or JSON).
        file: PathBuf,
    },
    /// Run test cases against a policy file; prints "N passed, N failed".
    Test {
        /// The policy file (YAML or JSON).
        file: PathBuf,
        /// The cases file (YAML).
        cases: PathBuf,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Serve {
            config,
            log_format,
            log_json,
            dev,
        } => {
            let format = match (log_format, log_json) {
                (Some(LogFormatArg::Json), _) | (None, true) => Some(LogFormat::Json),
                (Some(LogFormatArg::Text), _) => Some(LogFormat::Human),
                (None, false) => None,
            };
            serve(config, format, dev)
        }
        Command::Policy {
            command: PolicyCommand::Check { file },
        } => keyhole::policy::cli_check(&file),
        Command::Policy {
            command: PolicyCommand::Test { file, cases },
        } => keyhole::policy::cli_test(&file, &cases),
    }
}

/// `log_format`: from the command line (wins over the config's `log_format`).
fn serve(config_path: Option<PathBuf>, log_format: Option<LogFormat>, dev: bool) -> ExitCode {
    // `--dev` is `KEYHOLE_DEV=true`, last so that it wins over the environment.
    let dev = dev.then(|| ("KEYHOLE_DEV".to_owned(), "true".to_owned()));
    let config = match Config::load(config_path.as_deref(), std::env::vars().chain(dev)) {
        Ok(c) => c,
        Err(e) => return startup_error(&e),
    };
    keyhole::logging::init(log_format.unwrap_or(config.log_format));
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => return startup_error(&e),
    };
    runtime.block_on(async move {
        let listener = match tokio::net::TcpListener::bind(config.listen).await {
            Ok(l) => l,
            Err(e) => {
                return startup_error(&format!("cannot listen on {}: {e}", config.listen));
            }
        };
        match keyhole::run(config, listener, shutdown_signal()).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => startup_error(&format!("{e:#}")),
        }
    })
}

/// One line on stderr, exit status 2.
fn startup_error(e: &dyn std::fmt::Display) -> ExitCode {
    eprintln!("keyhole: error: {e}");
    ExitCode::from(2)
}

/// Resolves on SIGINT or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}
