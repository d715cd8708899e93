//! The driver's side of calibration: [`RuntimeRunner`] runs a module carrying `qc.observe` ops in the
//! runtime, batch by batch from the calibration [`Dataset`], hands every observed tensor to the pass's
//! sink as soon as it is computed, and shows progress (a bar with samples/s and ETA on a terminal,
//! plain periodic lines otherwise). Only one batch and the tensors it keeps alive are ever in memory.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};
use onnxqc_ir::Module;
use onnxqc_passes::{CalibrationRunInfo, CalibrationRunner, ObservationSink};
use onnxqc_runtime::{DType, Session, SessionOptions, Tensor};

use crate::calib_data::{CalibDataArgs, Dataset};

/// Runs calibration in the runtime on the data the command line names.
pub struct RuntimeRunner<'a> {
    pub data: &'a CalibDataArgs,
    /// Show progress at all (off for `--quiet`-like uses and tests that want clean stderr).
    pub progress: bool,
}

impl CalibrationRunner for RuntimeRunner<'_> {
    fn run(
        &self,
        module: &Module,
        sink: &mut dyn ObservationSink,
    ) -> Result<CalibrationRunInfo, String> {
        let session = Session::with_options(module, &SessionOptions::default())
            .map_err(|e| format!("cannot run the model: {e}"))?;
        let mut data = Dataset::open(self.data, session.inputs()).map_err(|e| e.to_string())?;
        if self.progress {
            for n in data.notes() {
                eprintln!("onnxqc: note: calibration data: {n}");
            }
        }
        let total = data.num_samples();
        let mut progress = Progress::new(self.progress, total as u64, &data.describe());
        let mut info = CalibrationRunInfo::default();
        while let Some(batch) = data.next_batch() {
            let batch = batch.map_err(|e| e.to_string())?;
            let samples = batch_samples(&batch);
            let mut observer = |key: &str, t: &Tensor| observe(&mut *sink, key, t);
            session
                .run_observed(batch, &mut observer)
                .map_err(|e| format!("batch {}: {e}", info.batches + 1))?;
            sink.end_batch();
            info.batches += 1;
            info.samples += samples;
            progress.advance(samples as u64);
        }
        progress.finish();
        if info.batches == 0 {
            return Err(format!("no calibration data in {}", data.describe()));
        }
        Ok(info)
    }
}

/// Hands one observed tensor to the sink as f32 (float16/bfloat16 are widened; other types are not
/// observed by `calibrate`).
fn observe(sink: &mut dyn ObservationSink, key: &str, t: &Tensor) {
    match t.dtype() {
        DType::F32 => {
            if let Ok(v) = t.f32s() {
                sink.observe(key, v);
            }
        }
        d if d.is_float() => sink.observe(key, &t.to_f32_vec()),
        _ => {}
    }
}

/// Samples in a batch: the leading dim of its first input (1 for a scalar input).
fn batch_samples(batch: &[(String, Tensor)]) -> usize {
    batch
        .first()
        .and_then(|(_, t)| t.shape().first().copied())
        .unwrap_or(1)
        .max(1)
}

/// A progress bar on a terminal; on a pipe or file, a line every few seconds so CI logs show life.
struct Progress {
    bar: Option<ProgressBar>,
    plain: bool,
    total: u64,
    done: u64,
    start: Instant,
    last_line: Instant,
}

const PLAIN_EVERY: Duration = Duration::from_secs(5);

impl Progress {
    fn new(enabled: bool, total: u64, what: &str) -> Progress {
        let tty = std::io::stderr().is_terminal();
        let bar = (enabled && tty).then(|| {
            let bar = ProgressBar::new(total);
            bar.set_style(
                ProgressStyle::with_template(
                    "calibrate [{bar:30}] {pos}/{len} samples  {per_sec}  ETA {eta}",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
            );
            bar
        });
        if enabled {
            eprintln!("onnxqc: calibrate: {what}");
        }
        Progress {
            bar,
            plain: enabled && !tty,
            total,
            done: 0,
            start: Instant::now(),
            last_line: Instant::now(),
        }
    }

    fn advance(&mut self, n: u64) {
        self.done += n;
        if let Some(bar) = &self.bar {
            bar.inc(n);
        } else if self.plain && self.last_line.elapsed() >= PLAIN_EVERY {
            self.last_line = Instant::now();
            eprintln!("onnxqc: calibrate: {}", self.status());
        }
    }

    fn status(&self) -> String {
        let secs = self.start.elapsed().as_secs_f64().max(1e-9);
        let rate = self.done as f64 / secs;
        let eta = if rate > 0.0 && self.total > self.done {
            format!(", ETA {:.0} s", (self.total - self.done) as f64 / rate)
        } else {
            String::new()
        };
        format!(
            "{}/{} samples ({rate:.1} samples/s{eta})",
            self.done, self.total
        )
    }

    fn finish(&mut self) {
        let shown = self.plain || self.bar.is_some();
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
        if shown {
            eprintln!(
                "onnxqc: calibrate: {} samples in {:.1} s",
                self.done,
                self.start.elapsed().as_secs_f64()
            );
        }
    }
}
