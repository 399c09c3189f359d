//! A progress line for long waits: a spinner with the current status on a terminal, and, in pipes
//! and Jenkins logs, one log line each time the status changes (not one per poll).

use std::io::IsTerminal as _;
use std::time::Duration;

/// The status of a long wait.
pub struct Progress {
    bar: Option<indicatif::ProgressBar>,
    last: String,
}

impl Progress {
    /// Starts a wait: a spinner when stderr is a terminal.
    pub fn start() -> Self {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = indicatif::ProgressBar::new_spinner();
            bar.enable_steady_tick(Duration::from_millis(120));
            bar.set_style(
                indicatif::ProgressStyle::with_template("{spinner} {elapsed:>4} {wide_msg}")
                    .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
            );
            bar
        });
        Progress { bar, last: String::new() }
    }

    /// Shows `status` on the spinner only: for counts that change too often to log (the steps of
    /// a plan), where the log has lines of its own.
    pub fn show(&mut self, status: &str) {
        if let Some(bar) = &self.bar {
            bar.set_message(status.to_string());
        }
    }

    /// Shows `status` (on the spinner; logged when it differs from the last one).
    pub fn set(&mut self, status: &str) {
        match &self.bar {
            Some(bar) => bar.set_message(status.to_string()),
            None if status != self.last => tracing::info!("{status}"),
            None => {}
        }
        status.clone_into(&mut self.last);
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
