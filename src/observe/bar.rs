//! A progress bar for a computation: tasks done of all, rate and time left. On a terminal it
//! is redrawn in place a few times a second; written elsewhere (a log file, CI's output) it
//! is a plain line every few seconds and one at the end, so logs stay readable.
//!
//! The bar only draws what it is given: callers read progress with `Future::progress` (a
//! scan of the computation's task states), so a computation nobody watches pays nothing.

use std::io::Write;
use std::time::{Duration, Instant};

/// Where a bar goes, and how it draws there.
pub struct Bar {
    out: Box<dyn Write + Send>,
    terminal: bool,
    width: usize,
    started: Instant,
    /// Nothing is drawn before this much time has passed (short computations stay quiet).
    delay: Duration,
    last_draw: Option<Instant>,
    /// A terminal line is drawn and not yet ended with a newline.
    open_line: bool,
}

impl Bar {
    /// How often a terminal's bar is redrawn (and how often a waiter looks at progress).
    pub const REDRAW_EVERY: Duration = Duration::from_millis(100);
    /// How far apart the plain lines are when the output is not a terminal.
    pub const LINE_EVERY: Duration = Duration::from_secs(5);

    /// A bar written to `out`; `terminal` chooses redrawing in place over plain lines.
    pub fn new(out: Box<dyn Write + Send>, terminal: bool) -> Bar {
        Bar {
            out,
            terminal,
            width: 80,
            started: Instant::now(),
            delay: Duration::ZERO,
            last_draw: None,
            open_line: false,
        }
    }

    /// A bar on file descriptor `fd` (not closed by the bar), a terminal's when `isatty`
    /// says so; its width from `COLUMNS` when set.
    pub fn on_fd(fd: i32) -> Bar {
        // SAFETY: isatty only inspects the descriptor.
        let terminal = unsafe { libc::isatty(fd) } == 1;
        let mut bar = Bar::new(Box::new(FdWriter(fd)), terminal);
        if let Some(w) = std::env::var("COLUMNS")
            .ok()
            .and_then(|c| c.trim().parse::<usize>().ok())
        {
            bar.width = w.clamp(40, 200);
        }
        bar
    }

    /// Draws nothing until `delay` has passed since the bar was made.
    pub fn with_delay(mut self, delay: Duration) -> Bar {
        self.delay = delay;
        self
    }

    pub fn with_width(mut self, width: usize) -> Bar {
        self.width = width.clamp(40, 200);
        self
    }

    /// The computation is at `done` of `total`: draws if it is time to.
    pub fn update(&mut self, done: usize, total: usize) {
        let now = Instant::now();
        let elapsed = now - self.started;
        if elapsed < self.delay {
            return;
        }
        let every = if self.terminal {
            Self::REDRAW_EVERY
        } else {
            Self::LINE_EVERY
        };
        if self.last_draw.is_some_and(|t| now - t < every) {
            return;
        }
        self.last_draw = Some(now);
        self.draw(done, total, elapsed, false);
    }

    /// The wait is over with the computation at `done` of `total`: the last drawing (when
    /// anything was drawn, or the wait outlasted the delay).
    pub fn finish(&mut self, done: usize, total: usize) {
        let elapsed = self.started.elapsed();
        if self.last_draw.is_none() && elapsed < self.delay {
            return;
        }
        self.draw(done, total, elapsed, true);
    }

    /// The wait stopped early (a timeout): a terminal's line is ended so later output starts
    /// on a line of its own.
    pub fn interrupt(&mut self) {
        if self.open_line {
            let _ = self.out.write_all(b"\n");
            let _ = self.out.flush();
            self.open_line = false;
        }
    }

    fn draw(&mut self, done: usize, total: usize, elapsed: Duration, last: bool) {
        let line = render(done, total, elapsed, self.terminal, self.width);
        // A closed or full stream must never fail the computation: errors are dropped.
        let text = if self.terminal {
            format!("\r{line}\x1b[K{}", if last { "\n" } else { "" })
        } else {
            format!("{line}\n")
        };
        let _ = self.out.write_all(text.as_bytes());
        let _ = self.out.flush();
        self.open_line = self.terminal && !last;
    }
}

impl Drop for Bar {
    fn drop(&mut self) {
        self.interrupt();
    }
}

/// One drawing of the bar, without line ending. On a terminal:
/// `[########------]  41% 412/1000 tasks | 1.2k tasks/s | 5s left`, the bar as wide as
/// `width` allows; otherwise a sentence: `412/1000 tasks (41%), 1.2k tasks/s, 5s left`.
/// Once `done == total`: the time taken instead of the time left.
pub fn render(
    done: usize,
    total: usize,
    elapsed: Duration,
    terminal: bool,
    width: usize,
) -> String {
    let done = done.min(total);
    let fraction = if total == 0 {
        1.0
    } else {
        done as f64 / total as f64
    };
    let percent = (fraction * 100.0).floor() as u32;
    let secs = elapsed.as_secs_f64();
    let rate = if secs > 0.0 { done as f64 / secs } else { 0.0 };
    let when = if done == total {
        format!("done in {}", duration(secs))
    } else if rate > 0.0 {
        format!("{} left", duration((total - done) as f64 / rate))
    } else {
        "time left unknown".to_string()
    };
    let rate_text = format!("{} tasks/s", count(rate));
    if !terminal {
        return format!("{done}/{total} tasks ({percent}%), {rate_text}, {when}");
    }
    let tail = format!(" {percent:>3}% {done}/{total} tasks | {rate_text} | {when}");
    let room = width.saturating_sub(tail.chars().count() + 2).clamp(10, 50);
    let filled = ((fraction * room as f64).floor() as usize).min(room);
    format!(
        "[{}{}]{tail}",
        "#".repeat(filled),
        "-".repeat(room - filled)
    )
}

/// `0.4s`, `12s`, `3m05s`, `2h07m`.
fn duration(secs: f64) -> String {
    if !secs.is_finite() {
        return "?".into();
    }
    if secs < 10.0 {
        return format!("{secs:.1}s");
    }
    let s = secs.round() as u64;
    match s {
        0..=59 => format!("{s}s"),
        60..=3599 => format!("{}m{:02}s", s / 60, s % 60),
        _ => format!("{}h{:02}m", s / 3600, (s % 3600) / 60),
    }
}

/// `312`, `4.5k`, `1.2M`.
fn count(x: f64) -> String {
    if x >= 1e6 {
        format!("{:.1}M", x / 1e6)
    } else if x >= 1e4 {
        format!("{:.0}k", x / 1e3)
    } else if x >= 1e3 {
        format!("{:.1}k", x / 1e3)
    } else {
        format!("{x:.0}")
    }
}

/// Writes to a descriptor the bar does not own.
struct FdWriter(i32);

impl Write for FdWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        // SAFETY: `buf` is valid for `buf.len()` bytes; a bad descriptor is an error return.
        let n = unsafe { libc::write(self.0, buf.as_ptr().cast(), buf.len()) };
        if n < 0 {
            Err(std::io::Error::last_os_error())
        } else {
            Ok(n as usize)
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    #[test]
    fn a_terminal_bar_fills_with_the_fraction_done_and_fits_its_width() {
        let line = render(250, 1000, Duration::from_secs(2), true, 80);
        assert!(line.starts_with('['), "{line}");
        let inside = &line[1..line.find(']').unwrap()];
        let filled = inside.chars().filter(|&c| c == '#').count();
        assert_eq!(filled, inside.len() / 4, "a quarter filled: {line}");
        assert!(line.contains(" 25% 250/1000 tasks"), "{line}");
        assert!(line.contains("125 tasks/s"), "{line}");
        assert!(line.contains("6.0s left"), "750 at 125/s: {line}");
        assert!(line.chars().count() <= 80, "{} columns: {line}", line.len());
        let done = render(1000, 1000, Duration::from_secs(75), true, 80);
        assert!(
            done.contains("100% 1000/1000") && done.contains("done in 1m15s"),
            "{done}"
        );
        assert!(!done.contains('-'), "{done}");
    }

    #[test]
    fn plain_lines_are_sentences_and_edge_cases_are_sane() {
        let line = render(412, 1000, Duration::from_secs_f64(0.5), false, 80);
        assert_eq!(line, "412/1000 tasks (41%), 824 tasks/s, 0.7s left");
        assert_eq!(
            render(0, 0, Duration::ZERO, false, 80),
            "0/0 tasks (100%), 0 tasks/s, done in 0.0s"
        );
        assert!(render(0, 10, Duration::ZERO, false, 80).ends_with("time left unknown"));
        assert!(render(20, 10, Duration::from_secs(1), false, 80).starts_with("10/10"));
        assert_eq!(count(1_234_567.0), "1.2M");
        assert_eq!(count(45_000.0), "45k");
        assert_eq!(duration(7384.0), "2h03m");
    }

    #[derive(Clone, Default)]
    struct Shared(Arc<Mutex<Vec<u8>>>);
    impl Write for Shared {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_terminal_redraws_in_place_and_ends_its_line_once() {
        let out = Shared::default();
        let mut bar = Bar::new(Box::new(out.clone()), true);
        bar.update(1, 4);
        bar.update(2, 4); // within REDRAW_EVERY: skipped
        bar.finish(4, 4);
        drop(bar);
        let text = String::from_utf8(out.0.lock().unwrap().clone()).unwrap();
        assert_eq!(text.matches('\r').count(), 2, "{text:?}");
        assert_eq!(text.matches('\n').count(), 1, "{text:?}");
        assert!(
            text.ends_with("\n") && text.contains("4/4 tasks"),
            "{text:?}"
        );
    }

    #[test]
    fn a_delay_keeps_short_waits_quiet_and_a_timeout_ends_the_line() {
        let out = Shared::default();
        let mut bar = Bar::new(Box::new(out.clone()), true).with_delay(Duration::from_secs(60));
        bar.update(1, 2);
        bar.finish(2, 2);
        assert!(out.0.lock().unwrap().is_empty());
        let out = Shared::default();
        let mut bar = Bar::new(Box::new(out.clone()), true);
        bar.update(1, 2);
        bar.interrupt();
        let text = String::from_utf8(out.0.lock().unwrap().clone()).unwrap();
        assert!(
            text.ends_with('\n') && text.contains("1/2 tasks"),
            "{text:?}"
        );
    }
}
