//! Progress of long work, shown on stderr and silenced with a flag.

use std::io::{IsTerminal, Write};

use fabrik_datagen::Progress;
use fabrik_model::Table;

/// Shows [`fabrik_datagen::generate`]'s progress on stderr: one line per table.
///
/// On a terminal the line is rewritten in place as files are written; elsewhere (a log, a
/// pipe) each table's line is printed once, when it is done, so logs stay readable. A quiet
/// `ProgressLine` prints nothing.
///
/// ```
/// # let tmp = tempfile::tempdir().expect("temp dir");
/// use fabrik::datagen::{Format, PlantConfig, generate};
/// let mut progress = fabrik::ProgressLine::new(false);
/// generate(&PlantConfig::tiny(1), tmp.path(), &[Format::Parquet], &mut |p| progress.update(p))?;
/// progress.finish();
/// # Ok::<(), fabrik::Error>(())
/// ```
#[derive(Debug)]
pub struct ProgressLine {
    quiet: bool,
    live: bool,
    last: Option<Progress>,
}

impl ProgressLine {
    /// A progress display; `quiet` silences it.
    pub fn new(quiet: bool) -> Self {
        ProgressLine {
            quiet,
            live: std::io::stderr().is_terminal(),
            last: None,
        }
    }

    /// Takes one progress report.
    pub fn update(&mut self, p: &Progress) {
        if self.quiet {
            return;
        }
        if let Some(done) = self.last.take_if(|l| l.table != p.table) {
            self.print(&done, true);
        }
        if self.live {
            self.print(p, false);
        }
        self.last = Some(p.clone());
    }

    /// Ends the display (prints the last table's line).
    pub fn finish(&mut self) {
        if let Some(done) = self.last.take() {
            self.print(&done, true);
        }
    }

    fn print(&self, p: &Progress, done: bool) {
        let mut err = std::io::stderr().lock();
        // A failed write to stderr is not worth failing the work for.
        let _ = write!(
            err,
            "{}{}",
            if self.live { "\r" } else { "" },
            line(p.table, p.rows, p.files)
        );
        let _ = if done { writeln!(err) } else { err.flush() };
    }
}

fn line(table: Table, rows: u64, files: usize) -> String {
    format!(
        "  {:<18} {:>11} rows  {:>4} files",
        table.name(),
        rows,
        files
    )
}

/// Shows the progress of work over many items (series fitted, files read) on stderr, as
/// `fitting series: 1200 / 10000 (12%)`, from any thread.
///
/// On a terminal the line is rewritten in place at most ten times a second; elsewhere only
/// the final line is printed. A quiet `CountProgress` prints nothing.
///
/// ```
/// let progress = fabrik::CountProgress::new("fitting series", false);
/// progress.update(5, 10);
/// progress.finish();
/// ```
#[derive(Debug)]
pub struct CountProgress {
    label: String,
    quiet: bool,
    live: bool,
    state: std::sync::Mutex<(Option<std::time::Instant>, usize, usize)>,
}

impl CountProgress {
    /// A progress display for `label`; `quiet` silences it.
    pub fn new(label: &str, quiet: bool) -> Self {
        CountProgress {
            label: label.to_string(),
            quiet,
            live: std::io::stderr().is_terminal(),
            state: std::sync::Mutex::new((None, 0, 0)),
        }
    }

    /// Takes a report: `done` of `total` items.
    pub fn update(&self, done: usize, total: usize) {
        if self.quiet {
            return;
        }
        let Ok(mut state) = self.state.lock() else {
            return;
        };
        state.1 = done.max(state.1);
        state.2 = total;
        let now = std::time::Instant::now();
        let due = state
            .0
            .is_none_or(|t| now.duration_since(t).as_millis() >= 100);
        if self.live && due {
            state.0 = Some(now);
            let _ = write!(std::io::stderr().lock(), "\r{}", self.line(state.1, total));
        }
    }

    /// Ends the display with the final count.
    pub fn finish(&self) {
        if self.quiet {
            return;
        }
        if let Ok(state) = self.state.lock() {
            let _ = writeln!(
                std::io::stderr().lock(),
                "{}{}",
                if self.live { "\r" } else { "" },
                self.line(state.1, state.2)
            );
        }
    }

    fn line(&self, done: usize, total: usize) -> String {
        let pct = (done * 100).checked_div(total).unwrap_or(100);
        format!("{}: {done} / {total} ({pct}%)", self.label)
    }
}
