//! Progress on a terminal for anything slower than a second (live probes,
//! a baseline checkout): nothing is drawn when stderr is not a terminal (CI
//! logs), and nothing before the first second (a quick step stays quiet).

use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Shown only once its work has taken this long.
const REVEAL_AFTER: Duration = Duration::from_secs(1);

/// `--quiet`: the verdict line only, so no progress either.
static SILENCED: AtomicBool = AtomicBool::new(false);

/// No progress is drawn from now on in this process.
pub fn silence() {
    SILENCED.store(true, Ordering::Relaxed);
}

/// A progress display; cleared when dropped.
pub struct Progress {
    bar: ProgressBar,
}

impl Progress {
    /// `len` steps (a bar), or `None` for a spinner; `what` says what runs.
    pub fn start(len: Option<u64>, what: &str) -> Self {
        let bar = match len {
            Some(n) => ProgressBar::with_draw_target(Some(n), ProgressDrawTarget::hidden())
                .with_style(
                    ProgressStyle::with_template("{spinner} {msg} {pos}/{len} [{elapsed}]")
                        .unwrap_or_else(|_| ProgressStyle::default_bar()),
                ),
            None => ProgressBar::with_draw_target(None, ProgressDrawTarget::hidden()).with_style(
                ProgressStyle::with_template("{spinner} {msg} [{elapsed}]")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            ),
        };
        bar.set_message(what.to_string());
        if std::io::stderr().is_terminal() && !SILENCED.load(Ordering::Relaxed) {
            let shown = bar.clone();
            std::thread::spawn(move || {
                std::thread::sleep(REVEAL_AFTER);
                if !shown.is_finished() {
                    shown.set_draw_target(ProgressDrawTarget::stderr());
                    shown.enable_steady_tick(Duration::from_millis(120));
                }
            });
        }
        Self { bar }
    }

    /// One step done.
    pub fn inc(&self) {
        self.bar.inc(1);
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.bar.finish_and_clear();
    }
}
