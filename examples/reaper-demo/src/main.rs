//! A small in-process cluster with the quorum-gated reaper, under faults.
//!
//! `cargo run -p reaper-demo` plays one short act per situation on a real
//! 3-node openraft cluster in this process (real time, about half a minute):
//! the raft side (`raft:` lines, one per node event) and the reaper's own
//! log. `cargo run -p reaper-demo -- --backend sim` plays the simulated
//! cluster's acts instead, on tokio's paused clock (about a second).

mod raft;
mod sim;

use std::process::ExitCode;

use tokio::time::Instant;
use tracing::{Level, Subscriber};
use tracing_subscriber::filter::Targets;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::time::FormatTime;
use tracing_subscriber::layer::SubscriberExt;

const USAGE: &str = "usage: reaper-demo [--backend raft|sim]
  raft  a real openraft cluster in this process, real time (default)
  sim   the simulated cluster, on a paused clock";

/// Shows the time since the act started (tokio's clock: simulated under the sim).
struct ActTime(Instant);

impl FormatTime for ActTime {
    fn format_time(&self, w: &mut Writer<'_>) -> std::fmt::Result {
        write!(w, "t={:>7.3}s", self.0.elapsed().as_secs_f64())
    }
}

/// The reaper's log (nothing from openraft's own), timed from `start`.
fn subscriber(start: Instant, level: Level) -> impl Subscriber + Send + Sync {
    tracing_subscriber::fmt()
        .with_max_level(level)
        .with_timer(ActTime(start))
        .with_target(false)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout()))
        .finish()
        .with(Targets::new().with_target("quorum_reaper", level))
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let backend = match args.iter().map(String::as_str).collect::<Vec<_>>()[..] {
        [] | ["--backend", "raft"] => "raft",
        ["--backend", "sim"] => "sim",
        ["-h" | "--help"] => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        _ => {
            eprintln!("reaper-demo: unexpected arguments {args:?}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let mut runtime = tokio::runtime::Builder::new_current_thread();
    runtime.enable_all();
    if backend == "sim" {
        runtime.start_paused(true);
    }
    let runtime = match runtime.build() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("reaper-demo: cannot start a tokio runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    let held = match backend {
        "sim" => runtime.block_on(sim::play()),
        _ => runtime.block_on(raft::play()),
    };
    if held {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
