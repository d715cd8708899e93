//! Calibration data: the samples the `calibrate` pass runs the model on, read from files (or made up)
//! one batch at a time and checked against the model's inputs.
//!
//! Start at [`Dataset::open`]. What `--calib-data PATH` may be, decided in this order:
//! - the word `random` (normal values) or `random-uniform` (values in [0, 1)): made-up data of each
//!   input's shape, for smoke tests ([`random`]); a file or folder of that name is `./random`;
//! - a `.npz` file or a `.npy` file: stacked arrays, the first axis indexing samples, read lazily
//!   ([`stacked`]);
//! - a folder of `test_data_set_N/input_K.pb` folders, as in the ONNX model zoo, or one such folder
//!   itself: one sample per folder ([`files`]);
//! - a folder of `.jpg`/`.jpeg`/`.png`/`.bmp` images, decoded and preprocessed by `--preprocess`
//!   ([`images`]);
//! - a folder of per-sample tensor files: `.npz` with arrays named after the inputs, or `.npy`/`.pb`
//!   holding the one input of a single-input model (the layout of ONNX Runtime's calibration examples).
//!   A folder per input is not a layout: per-sample files are what the tools write.
//!
//! Files are taken in natural order (`2.npy` before `10.npy`); hidden files are skipped, and files of
//! no recognised kind are skipped with a note ([`Dataset::notes`]).
//!
//! Batches: `--calib-batch-size N` concatenates N samples along axis 0 (the last batch may be
//! smaller). Every input must then have a batch dimension (a first dimension that is not a fixed
//! number), and the samples of one batch must agree on all other dimensions: if they do not (images
//! of different sizes without `resize`, sequences of different lengths), that batch is an error that
//! names both files, and batch size 1 always works. Batching never falls back silently, so the
//! number of runs is known up front ([`Dataset::num_batches`]).
//!
//! Nothing is converted: a sample must have the element type, rank and fixed dimensions the model
//! declares (images are the exception, produced in the input's own type). What can be checked
//! without reading the data is checked by [`Dataset::open`] (names, element types, ranks, and the
//! first sample), the rest as each batch is read; every error names the file and the input.

pub mod files;
pub mod images;
pub mod random;
pub mod stacked;

#[cfg(test)]
mod tests;

use std::cmp::Ordering;
use std::fmt;
use std::path::{Path, PathBuf};

use onnxqc_ir::Dim;
use onnxqc_runtime::{with_data, Data, Elem, IoInfo, Tensor};
use rustc_hash::FxHashMap;

use crate::input_files::{describe_tensor, describe_type, quoted_list};

/// Samples taken from `random` data when `--calib-samples` is not given.
pub const DEFAULT_RANDOM_SAMPLES: usize = 8;

/// The calibration-data options of the command line.
#[derive(clap::Args, Debug, Clone)]
pub struct CalibDataArgs {
    /// Calibration data: a folder of per-sample .npy/.npz files, a folder of ONNX
    /// test_data_set_N/input_K.pb folders, one .npz (or .npy) of stacked arrays whose first axis
    /// indexes samples, or a folder of .jpg/.png/.bmp images (see --preprocess); or the word
    /// 'random' (normal values; 'random-uniform' for [0, 1)) for smoke tests.
    #[arg(long = "calib-data", value_name = "PATH|random")]
    pub calib_data: Option<PathBuf>,

    /// Use at most N samples, the first in file-name order (random data: N samples, default 8).
    #[arg(long = "calib-samples", value_name = "N", value_parser = parse_positive)]
    pub calib_samples: Option<usize>,

    /// Run N samples at a time, concatenated along axis 0. Every input must have a batch
    /// dimension, and the samples of a batch the same other dimensions.
    #[arg(long = "calib-batch-size", value_name = "N", default_value_t = 1, value_parser = parse_positive)]
    pub calib_batch_size: usize,

    /// How images become tensors: a preset (default, pytorch, mxnet, caffe, caffe2, rcnn, tf)
    /// and/or KEY=VALUE settings, comma-separated, e.g. 'pytorch' or
    /// 'resize=256,crop=224,layout=nchw,order=rgb,mean=0.485:0.456:0.406,std=0.229:0.224:0.225,scale=1/255'.
    #[arg(long = "preprocess", value_name = "SPEC", long_help = images::PREPROCESS_HELP)]
    pub preprocess: Option<String>,

    /// Seed of random data.
    #[arg(long = "calib-seed", value_name = "N", default_value_t = 0)]
    pub calib_seed: u64,

    /// Random data: the size of a symbolic dimension, NAME=N (repeatable, or comma-separated).
    /// Unnamed sizes are 1 for the first dimension of inputs of rank 2 or more, else 32.
    #[arg(long = "calib-dims", value_name = "NAME=N", value_delimiter = ',')]
    pub calib_dims: Vec<String>,
}

impl Default for CalibDataArgs {
    fn default() -> Self {
        CalibDataArgs {
            calib_data: None,
            calib_samples: None,
            calib_batch_size: 1,
            preprocess: None,
            calib_seed: 0,
            calib_dims: vec![],
        }
    }
}

impl CalibDataArgs {
    /// Options for data at `path` (or the word `random`), everything else at its default: the
    /// constructor for callers without a command line. Set the other fields as needed.
    #[cfg_attr(not(test), allow(dead_code))] // for callers without clap (tests; a library API later)
    pub fn new(path: impl Into<PathBuf>) -> CalibDataArgs {
        CalibDataArgs {
            calib_data: Some(path.into()),
            ..CalibDataArgs::default()
        }
    }
}

fn parse_positive(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err("expected a positive integer".into()),
    }
}

/// A problem with the calibration data; the message names the file and the input.
#[derive(Debug, Clone, PartialEq)]
pub struct DataError {
    message: String,
}

impl DataError {
    pub fn new(message: impl Into<String>) -> DataError {
        DataError {
            message: message.into(),
        }
    }
}

impl fmt::Display for DataError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for DataError {}

/// Makes a [`DataError`] from a format string.
macro_rules! data_err {
    ($($arg:tt)*) => { $crate::calib_data::DataError::new(format!($($arg)*)) };
}
pub(crate) use data_err;

/// Tensors for a run of consecutive samples, one per model input in the model's order, and for each
/// where it came from (`calib/0003.npy`). A source gives one part per sample, or one part for several
/// samples when it reads them as one block (stacked arrays).
#[derive(Debug)]
pub struct Part {
    pub tensors: Vec<Tensor>,
    pub origins: Vec<String>,
}

impl Part {
    /// A part whose tensors all come from one place.
    pub fn from_one(tensors: Vec<Tensor>, origin: &str) -> Part {
        let origins = vec![origin.to_string(); tensors.len()];
        Part { tensors, origins }
    }
}

/// Where samples come from. Samples are asked for in order, each once.
pub trait Source: Send {
    /// How many samples the source holds.
    fn len(&self) -> usize;
    /// Samples `start .. start + count`, as one or more parts in order.
    fn read(&mut self, start: usize, count: usize) -> Result<Vec<Part>, DataError>;
    /// What the samples are, for the log: "16 .npy files in calib/".
    fn describe(&self) -> String;
    /// Whether [`Dataset::open`] should read the first sample to check it: not for sources that
    /// check everything from headers, nor for those that can only be read once.
    fn check_first(&self) -> bool {
        true
    }
}

/// Calibration samples, read one batch at a time.
pub struct Dataset {
    inputs: Vec<IoInfo>,
    source: Box<dyn Source>,
    samples: usize,
    batch_size: usize,
    next: usize,
    notes: Vec<String>,
    available: usize,
}

impl fmt::Debug for Dataset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Dataset")
            .field("source", &self.source.describe())
            .field("samples", &self.samples)
            .field("batch_size", &self.batch_size)
            .field("next", &self.next)
            .finish()
    }
}

impl Dataset {
    /// Opens the data `args` names for a model with graph inputs `inputs` (as the runtime sees
    /// them). Checks up front what it can without reading every sample: the layout, input names,
    /// element types, ranks and fixed dimensions, and that batching is possible.
    pub fn open(args: &CalibDataArgs, inputs: &[IoInfo]) -> Result<Dataset, DataError> {
        let Some(path) = &args.calib_data else {
            return Err(data_err!(
                "no calibration data: give --calib-data PATH (a folder of samples, an .npz of \
                 stacked arrays or a folder of images), or --calib-data random for a smoke test"
            ));
        };
        if inputs.is_empty() {
            return Err(data_err!(
                "the model has no inputs: there is nothing to feed calibration data to"
            ));
        }
        for i in inputs {
            if i.ty.as_tensor().is_none() {
                return Err(data_err!(
                    "input '{}' is {}: calibration data can only feed tensors",
                    i.name,
                    describe_type(&i.ty)
                ));
            }
        }
        let batch_size = args.calib_batch_size.max(1);
        if batch_size > 1 {
            check_batchable(inputs, batch_size)?;
        }
        let word = path.to_str().map(str::to_ascii_lowercase);
        let random_kind = match word.as_deref() {
            Some("random") => Some(random::Distribution::Normal),
            Some("random-uniform") => Some(random::Distribution::Uniform),
            _ => None,
        };
        if args.preprocess.is_some() && random_kind.is_some() {
            return Err(data_err!(
                "--preprocess applies to a folder of images, not to random data"
            ));
        }
        if !args.calib_dims.is_empty() && random_kind.is_none() {
            return Err(data_err!(
                "--calib-dims sets the shapes of random data; the shapes of data read from files \
                 are the files' own"
            ));
        }
        let mut notes = vec![];
        let source: Box<dyn Source> = if let Some(dist) = random_kind {
            let n = args.calib_samples.unwrap_or(DEFAULT_RANDOM_SAMPLES);
            Box::new(random::Random::new(
                inputs,
                n,
                dist,
                args.calib_seed,
                &args.calib_dims,
            )?)
        } else {
            open_path(path, args, inputs, &mut notes)?
        };
        let available = source.len();
        if available == 0 {
            return Err(data_err!("{}: no calibration samples", path.display()));
        }
        let samples = match args.calib_samples {
            Some(n) if n < available => n,
            Some(n) if n > available && random_kind.is_none() => {
                notes.push(format!(
                    "--calib-samples {n}: the data holds only {available} samples; using all of them"
                ));
                available
            }
            _ => available,
        };
        let mut ds = Dataset {
            inputs: inputs.to_vec(),
            source,
            samples,
            batch_size,
            next: 0,
            notes,
            available,
        };
        if ds.source.check_first() {
            let parts = ds.source.read(0, 1)?;
            for p in &parts {
                check_part(&ds.inputs, p)?;
            }
        }
        Ok(ds)
    }

    /// The number of samples used (after `--calib-samples`).
    pub fn num_samples(&self) -> usize {
        self.samples
    }

    /// The number of runs: samples divided by the batch size, rounded up.
    pub fn num_batches(&self) -> usize {
        self.samples.div_ceil(self.batch_size)
    }

    /// Remarks for the log: files skipped, fewer samples than asked for.
    pub fn notes(&self) -> &[String] {
        &self.notes
    }

    /// Reads the next batch: one tensor per model input, named, in the model's input order. Only
    /// this batch is in memory. After an error the dataset moves on to the next batch.
    pub fn next_batch(&mut self) -> Option<Result<Vec<(String, Tensor)>, DataError>> {
        if self.next >= self.samples {
            return None;
        }
        let start = self.next;
        let count = self.batch_size.min(self.samples - start);
        self.next += count;
        Some(self.read_batch(start, count))
    }

    fn read_batch(
        &mut self,
        start: usize,
        count: usize,
    ) -> Result<Vec<(String, Tensor)>, DataError> {
        let parts = self.source.read(start, count)?;
        for p in &parts {
            check_part(&self.inputs, p)?;
        }
        let tensors = concat_parts(&self.inputs, parts)?;
        Ok(self
            .inputs
            .iter()
            .map(|i| i.name.clone())
            .zip(tensors)
            .collect())
    }

    /// One line for the log: "16 samples from 16 .npy files in calib/, in batches of 4".
    pub fn describe(&self) -> String {
        let mut s = format!(
            "{} sample{} from {}",
            self.samples,
            if self.samples == 1 { "" } else { "s" },
            self.source.describe()
        );
        if self.samples < self.available {
            s.push_str(&format!(
                " (the first {} of {})",
                self.samples, self.available
            ));
        }
        if self.batch_size > 1 {
            s.push_str(&format!(
                ", in batches of {} ({} runs)",
                self.batch_size,
                self.num_batches()
            ));
        }
        s
    }
}

/// Picks the source for a path on disk.
fn open_path(
    path: &Path,
    args: &CalibDataArgs,
    inputs: &[IoInfo],
    notes: &mut Vec<String>,
) -> Result<Box<dyn Source>, DataError> {
    let shown = path.display();
    let meta = std::fs::metadata(path)
        .map_err(|e| data_err!("--calib-data {shown}: cannot read it: {e}"))?;
    let ext = onnxqc_runtime::io::extension(path);
    if !meta.is_dir() {
        if args.preprocess.is_some() {
            return Err(data_err!(
                "--preprocess applies to a folder of images, and --calib-data {shown} is a file"
            ));
        }
        return match ext.as_deref() {
            Some("npz" | "npy") => Ok(Box::new(stacked::Stacked::open(path, inputs)?)),
            _ => Err(data_err!(
                "--calib-data {shown}: a file must be an .npz or .npy of stacked arrays (first axis = \
                 samples); per-sample files and images go in a folder"
            )),
        };
    }
    let listing = files::Listing::read(path)?;
    notes.extend(listing.notes());
    if !listing.test_sets.is_empty() || !listing.input_pbs.is_empty() {
        if args.preprocess.is_some() {
            return Err(data_err!(
                "--preprocess applies to a folder of images, and {shown} holds ONNX test data sets"
            ));
        }
        return Ok(Box::new(files::TestSets::new(path, &listing, inputs)?));
    }
    match (listing.tensors.is_empty(), listing.images.is_empty()) {
        (true, true) => Err(data_err!(
            "--calib-data {shown}: the folder has no calibration samples (expected .npy/.npz \
             files, test_data_set_N folders of input_K.pb, or .jpg/.png/.bmp images)"
        )),
        (false, false) => Err(data_err!(
            "--calib-data {shown}: the folder mixes tensor files ({}) and images ({}); keep one \
             kind per folder",
            listing.tensors.len(),
            listing.images.len()
        )),
        (false, true) => {
            if args.preprocess.is_some() {
                return Err(data_err!(
                    "--preprocess applies to a folder of images, and {shown} holds tensor files"
                ));
            }
            Ok(Box::new(files::SampleFiles::new(
                path,
                listing.tensors,
                inputs,
            )?))
        }
        (true, false) => Ok(Box::new(images::Images::new(
            path,
            listing.images,
            args.preprocess.as_deref(),
            inputs,
        )?)),
    }
}

/// With batches of more than one sample, every input needs a first dimension that can grow.
fn check_batchable(inputs: &[IoInfo], batch_size: usize) -> Result<(), DataError> {
    for i in inputs {
        let Some(dims) = i.ty.as_tensor().and_then(|t| t.shape.as_ref()) else {
            continue;
        };
        let why = match dims.first() {
            None => "is a scalar, with no batch dimension".to_string(),
            Some(Dim::Known(n)) => format!("has a fixed first dimension ({n})"),
            Some(_) => continue,
        };
        return Err(data_err!(
            "--calib-batch-size {batch_size}: input '{}' ({}) {why}, so samples cannot be \
             concatenated; use --calib-batch-size 1",
            i.name,
            describe_type(&i.ty)
        ));
    }
    Ok(())
}

/// Checks a part's tensors against the declared input types: element type, rank, fixed dimensions,
/// and symbolic dimensions that agree across inputs.
fn check_part(inputs: &[IoInfo], part: &Part) -> Result<(), DataError> {
    debug_assert_eq!(inputs.len(), part.tensors.len());
    let mut symbols: FxHashMap<&str, (usize, &str)> = FxHashMap::default();
    for ((info, t), origin) in inputs.iter().zip(&part.tensors).zip(&part.origins) {
        let Some(tt) = info.ty.as_tensor() else {
            continue;
        };
        let mismatch = |why: String| {
            data_err!(
                "{origin}: input '{}' expects {}, got {} ({why})",
                info.name,
                describe_type(&info.ty),
                describe_tensor(t)
            )
        };
        if let Some(s) = tt.elem.scalar() {
            if onnxqc_runtime::DType::from_scalar(s) != Some(t.dtype()) {
                return Err(mismatch(
                    "the element type differs; nothing is converted, so save the data with the \
                     model's element type"
                        .into(),
                ));
            }
        }
        let Some(dims) = &tt.shape else {
            continue;
        };
        if dims.len() != t.rank() {
            return Err(mismatch(format!(
                "rank {} instead of {}",
                t.rank(),
                dims.len()
            )));
        }
        for (axis, (d, &n)) in dims.iter().zip(t.shape()).enumerate() {
            match d {
                Dim::Known(k) if *k as usize != n => {
                    return Err(mismatch(format!("dimension {axis} is {n}, not {k}")))
                }
                // Exporters write "?" or "" for "unknown", not for a shared size (as the session).
                Dim::Symbolic(s) if &**s != "?" && !s.is_empty() => match symbols.get(&**s) {
                    Some(&(m, other)) if m != n => {
                        return Err(mismatch(format!(
                            "dimension {axis} ('{s}') is {n}, but input '{other}' has '{s}' = {m}"
                        )))
                    }
                    Some(_) => {}
                    None => {
                        symbols.insert(s, (n, &info.name));
                    }
                },
                _ => {}
            }
        }
    }
    Ok(())
}

/// Concatenates the parts of a batch along axis 0, input by input.
fn concat_parts(inputs: &[IoInfo], mut parts: Vec<Part>) -> Result<Vec<Tensor>, DataError> {
    if parts.len() == 1 {
        return Ok(parts.pop().expect("one part").tensors);
    }
    let mut out = Vec::with_capacity(inputs.len());
    for (k, info) in inputs.iter().enumerate() {
        let first = &parts[0];
        let t0 = &first.tensors[k];
        for p in &parts[1..] {
            let t = &p.tensors[k];
            if t.rank() == 0 || t0.rank() == 0 || t.shape()[1..] != t0.shape()[1..] {
                return Err(data_err!(
                    "input '{}': samples of different shapes cannot share a batch ({} from {}, {} \
                     from {}); use --calib-batch-size 1",
                    info.name,
                    describe_tensor(t0),
                    first.origins[k],
                    describe_tensor(t),
                    p.origins[k]
                ));
            }
        }
        let ts: Vec<&Tensor> = parts.iter().map(|p| &p.tensors[k]).collect();
        out.push(concat0(&ts));
    }
    Ok(out)
}

/// Concatenates tensors of one element type and equal trailing dimensions along axis 0.
fn concat0(ts: &[&Tensor]) -> Tensor {
    fn cat<T: Elem>(_: &[T], ts: &[&Tensor]) -> Data {
        let mut v: Vec<T> = Vec::with_capacity(ts.iter().map(|t| t.len()).sum());
        for t in ts {
            v.extend_from_slice(t.as_slice::<T>().expect("one element type per batch"));
        }
        T::wrap(v)
    }
    let mut shape = ts[0].shape().to_vec();
    shape[0] = ts.iter().map(|t| t.shape()[0]).sum();
    let data = with_data!(ts[0].data(), v => cat(v, ts));
    Tensor::new(shape, data).expect("shape and data agree")
}

/// Orders file names as people do: digit runs by value (`2.npy` before `10.npy`), the rest by
/// character; names that differ only in leading zeros or case are ordered plainly.
pub fn natural_cmp(a: &str, b: &str) -> Ordering {
    let (mut x, mut y) = (a.as_bytes(), b.as_bytes());
    while let (Some(&c), Some(&d)) = (x.first(), y.first()) {
        if c.is_ascii_digit() && d.is_ascii_digit() {
            let run = |s: &[u8]| s.iter().take_while(|b| b.is_ascii_digit()).count();
            let (m, n) = (run(x), run(y));
            let trim = |s: &[u8]| {
                let z = s.iter().take_while(|&&b| b == b'0').count();
                s[z..].to_vec()
            };
            let (p, q) = (trim(&x[..m]), trim(&y[..n]));
            let ord = p.len().cmp(&q.len()).then_with(|| p.cmp(&q));
            if ord != Ordering::Equal {
                return ord;
            }
            x = &x[m..];
            y = &y[n..];
        } else {
            let ord = c.to_ascii_lowercase().cmp(&d.to_ascii_lowercase());
            if ord != Ordering::Equal {
                return ord;
            }
            x = &x[1..];
            y = &y[1..];
        }
    }
    x.len().cmp(&y.len()).then_with(|| a.cmp(b))
}

/// The names of the model's inputs, for messages.
fn input_names(inputs: &[IoInfo]) -> String {
    let names: Vec<&str> = inputs.iter().map(|i| i.name.as_str()).collect();
    quoted_list(&names)
}

/// The rank an input declares, when it declares one.
fn declared_rank(info: &IoInfo) -> Option<usize> {
    info.ty.as_tensor()?.shape.as_ref().map(Vec::len)
}
