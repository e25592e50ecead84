//! A progress bar on stderr for long runs in a terminal; nothing otherwise.

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Runs shorter than this many files finish before a bar would help.
const MIN_FILES: u64 = 2_000;

pub struct Progress(Option<ProgressBar>);

impl Progress {
    /// `steps` is the number of `tick`s to expect.
    pub fn new(enabled: bool, steps: u64) -> Progress {
        if !enabled || steps < MIN_FILES {
            return Progress(None);
        }
        let bar = ProgressBar::with_draw_target(Some(steps), ProgressDrawTarget::stderr());
        bar.set_style(
            ProgressStyle::with_template(
                "{spinner} lifecycle-lint [{bar:30}] {percent}% {elapsed_precise}",
            )
            .expect("valid template")
            .progress_chars("=> "),
        );
        Progress(Some(bar))
    }

    pub fn tick(&self) {
        if let Some(bar) = &self.0 {
            bar.inc(1);
        }
    }

    pub fn finish(&self) {
        if let Some(bar) = &self.0 {
            bar.finish_and_clear();
        }
    }
}

/// Whether a bar belongs on this stderr: a terminal, and not in CI.
pub fn wanted() -> bool {
    std::io::stderr().is_terminal() && std::env::var_os("CI").is_none()
}
