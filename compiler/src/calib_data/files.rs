//! Samples stored one per file or folder: per-sample `.npy`/`.npz`/`.pb` files, and ONNX test data
//! sets (`test_data_set_N/input_K.pb`). Each sample is read when its batch is.
//!
//! Matching tensors to model inputs:
//! - `.npz`: arrays are named after the inputs, all of them and no others; an archive with one array
//!   feeds a single-input model whatever the array's name (`np.savez(f, x)` names it `arr_0`).
//! - `.npy` and `.pb` in a sample folder hold one tensor: only for single-input models.
//! - `input_K.pb` in a test data set feeds the input its `TensorProto` names when that is a model
//!   input, else the model's input K; every input must be fed exactly once (`output_K.pb` and other
//!   files are skipped).

use std::path::{Path, PathBuf};

use onnxqc_runtime::io::{extension, read_pb, read_tensor_file};
use onnxqc_runtime::{IoInfo, Tensor};

use super::{data_err, input_names, natural_cmp, DataError, Part, Source};
use crate::input_files::{is_expected_output, pb_input_index, quoted_list};

/// Extensions of image files (lower case).
pub const IMAGE_EXTENSIONS: &[&str] = &["jpg", "jpeg", "png", "bmp"];

/// The entries of a calibration folder, sorted into kinds, each list in natural order.
#[derive(Debug, Default)]
pub struct Listing {
    /// `.npy`, `.npz` and `.pb` files other than `input_K.pb`/`output_K.pb`.
    pub tensors: Vec<PathBuf>,
    pub images: Vec<PathBuf>,
    /// `test_data_set_*` subfolders.
    pub test_sets: Vec<PathBuf>,
    /// `input_K.pb` files: the folder is itself a test data set.
    pub input_pbs: Vec<PathBuf>,
    /// Files of no known kind, and other subfolders.
    pub other: Vec<String>,
}

impl Listing {
    /// Lists `dir`, skipping hidden entries.
    pub fn read(dir: &Path) -> Result<Listing, DataError> {
        let shown = dir.display();
        let entries = std::fs::read_dir(dir)
            .map_err(|e| data_err!("cannot read the folder '{shown}': {e}"))?;
        let mut l = Listing::default();
        for entry in entries {
            let entry = entry.map_err(|e| data_err!("cannot read the folder '{shown}': {e}"))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') {
                continue;
            }
            let path = entry.path();
            // Follows symbolic links, as a folder of links to images is common.
            if path.is_dir() {
                if name.starts_with("test_data_set_") {
                    l.test_sets.push(path);
                } else {
                    l.other.push(format!("{name}/"));
                }
                continue;
            }
            let ext = extension(&path);
            match ext.as_deref() {
                Some("pb") if pb_input_index(&path).is_some() => l.input_pbs.push(path),
                Some("pb") if is_expected_output(&path) => {}
                Some("npy" | "npz" | "pb") => l.tensors.push(path),
                Some(e) if IMAGE_EXTENSIONS.contains(&e) => l.images.push(path),
                _ => l.other.push(name),
            }
        }
        for list in [
            &mut l.tensors,
            &mut l.images,
            &mut l.test_sets,
            &mut l.input_pbs,
        ] {
            list.sort_by(|a, b| natural_cmp(&file_name(a), &file_name(b)));
        }
        l.other.sort_by(|a, b| natural_cmp(a, b));
        Ok(l)
    }

    /// What was skipped, for the log.
    pub fn notes(&self) -> Vec<String> {
        let mut skipped: Vec<String> = self.other.clone();
        if !self.test_sets.is_empty() || !self.input_pbs.is_empty() {
            // Test data sets win; loose tensors and images beside them are not samples.
            skipped.extend(
                self.tensors
                    .iter()
                    .chain(&self.images)
                    .map(|p| file_name(p)),
            );
            if !self.test_sets.is_empty() {
                skipped.extend(self.input_pbs.iter().map(|p| file_name(p)));
            }
        }
        if skipped.is_empty() {
            return vec![];
        }
        const SHOWN: usize = 5;
        let mut list = skipped[..skipped.len().min(SHOWN)].join(", ");
        if skipped.len() > SHOWN {
            list.push_str(&format!(", and {} more", skipped.len() - SHOWN));
        }
        vec![format!(
            "skipped {} entr{} that {} not calibration samples: {list}",
            skipped.len(),
            if skipped.len() == 1 { "y" } else { "ies" },
            if skipped.len() == 1 { "is" } else { "are" },
        )]
    }
}

pub(super) fn file_name(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// A folder of per-sample tensor files.
pub struct SampleFiles {
    dir: PathBuf,
    files: Vec<PathBuf>,
    inputs: Vec<IoInfo>,
}

impl SampleFiles {
    pub fn new(
        dir: &Path,
        files: Vec<PathBuf>,
        inputs: &[IoInfo],
    ) -> Result<SampleFiles, DataError> {
        if inputs.len() > 1 {
            if let Some(one) = files
                .iter()
                .find(|f| extension(f).as_deref() != Some("npz"))
            {
                return Err(data_err!(
                    "{}: a .{} file holds one tensor, but the model has {} inputs ({}); save each \
                     sample as an .npz with one array per input, named after it",
                    one.display(),
                    extension(one).unwrap_or_default(),
                    inputs.len(),
                    input_names(inputs)
                ));
            }
        }
        Ok(SampleFiles {
            dir: dir.to_path_buf(),
            files,
            inputs: inputs.to_vec(),
        })
    }

    fn read_one(&self, path: &Path) -> Result<Part, DataError> {
        let shown = path.display().to_string();
        let arrays = read_tensor_file(path).map_err(|e| data_err!("{e}"))?;
        let tensors = match_arrays(&shown, arrays, &self.inputs)?;
        Ok(Part::from_one(tensors, &shown))
    }
}

/// Orders the arrays of one sample file by model input.
fn match_arrays(
    shown: &str,
    mut arrays: Vec<(String, Tensor)>,
    inputs: &[IoInfo],
) -> Result<Vec<Tensor>, DataError> {
    if inputs.len() == 1 && arrays.len() == 1 {
        return Ok(vec![arrays.pop().expect("one array").1]);
    }
    let array_names: Vec<String> = arrays.iter().map(|(n, _)| n.clone()).collect();
    if let Some((extra, _)) = arrays
        .iter()
        .find(|(n, _)| !inputs.iter().any(|i| &i.name == n))
    {
        return Err(data_err!(
            "{shown}: the array '{extra}' is not a model input (the model's inputs: {})",
            input_names(inputs)
        ));
    }
    let mut out = Vec::with_capacity(inputs.len());
    for info in inputs {
        let Some(k) = arrays.iter().position(|(n, _)| *n == info.name) else {
            let names: Vec<&str> = array_names.iter().map(String::as_str).collect();
            return Err(data_err!(
                "{shown}: no array for input '{}' (the file holds {})",
                info.name,
                quoted_list(&names)
            ));
        };
        out.push(arrays.swap_remove(k).1);
    }
    Ok(out)
}

impl Source for SampleFiles {
    fn len(&self) -> usize {
        self.files.len()
    }

    fn read(&mut self, start: usize, count: usize) -> Result<Vec<Part>, DataError> {
        self.files[start..start + count]
            .iter()
            .map(|f| self.read_one(f))
            .collect()
    }

    fn describe(&self) -> String {
        let mut exts: Vec<String> = self
            .files
            .iter()
            .filter_map(|f| extension(f))
            .collect::<Vec<_>>();
        exts.sort();
        exts.dedup();
        let n = self.files.len();
        let what = match exts.as_slice() {
            [one] => format!(".{one} file{}", if n == 1 { "" } else { "s" }),
            _ => {
                let list: Vec<String> = exts.iter().map(|e| format!(".{e}")).collect();
                format!("tensor files ({})", list.join(", "))
            }
        };
        format!("{n} {what} in {}", self.dir.display())
    }
}

/// ONNX test data sets: one sample per `test_data_set_N` folder (or the one folder holding
/// `input_K.pb` files).
pub struct TestSets {
    dir: PathBuf,
    sets: Vec<PathBuf>,
    inputs: Vec<IoInfo>,
}

impl TestSets {
    pub fn new(dir: &Path, listing: &Listing, inputs: &[IoInfo]) -> Result<TestSets, DataError> {
        let sets = if listing.test_sets.is_empty() {
            vec![dir.to_path_buf()]
        } else {
            listing.test_sets.clone()
        };
        Ok(TestSets {
            dir: dir.to_path_buf(),
            sets,
            inputs: inputs.to_vec(),
        })
    }

    fn read_set(&self, set: &Path) -> Result<Part, DataError> {
        let shown = set.display();
        let entries = std::fs::read_dir(set)
            .map_err(|e| data_err!("cannot read the folder '{shown}': {e}"))?;
        let mut pbs: Vec<(usize, PathBuf)> = vec![];
        for entry in entries {
            let path = entry
                .map_err(|e| data_err!("cannot read the folder '{shown}': {e}"))?
                .path();
            if let Some(k) = pb_input_index(&path) {
                pbs.push((k, path));
            }
        }
        pbs.sort_by_key(|(k, _)| *k);
        let n = self.inputs.len();
        if pbs.len() != n {
            return Err(data_err!(
                "{shown}: {} input_K.pb file{}, but the model has {n} input{} ({})",
                pbs.len(),
                if pbs.len() == 1 { "" } else { "s" },
                if n == 1 { "" } else { "s" },
                input_names(&self.inputs)
            ));
        }
        let mut slots: Vec<Option<(Tensor, String)>> = vec![None; n];
        for (k, path) in pbs {
            let file = path.display().to_string();
            let (name, t) = read_pb(&path).map_err(|e| data_err!("{e}"))?;
            let slot = match self.inputs.iter().position(|i| i.name == name) {
                Some(i) => i,
                None if k < n => k,
                None => {
                    return Err(data_err!(
                        "{file}: a tensor {} for input {k}, but the model has {n} input{} ({})",
                        if name.is_empty() {
                            "without a name".to_string()
                        } else {
                            format!("named '{name}' (not an input)")
                        },
                        if n == 1 { "" } else { "s" },
                        input_names(&self.inputs)
                    ))
                }
            };
            if let Some((_, other)) = &slots[slot] {
                return Err(data_err!(
                    "{file}: input '{}' is also fed by {other}",
                    self.inputs[slot].name
                ));
            }
            slots[slot] = Some((t, file));
        }
        let mut tensors = Vec::with_capacity(n);
        let mut origins = Vec::with_capacity(n);
        for (slot, info) in slots.into_iter().zip(&self.inputs) {
            // n files fill n slots without a repeat, so none is empty; say so rather than panic.
            let (t, o) =
                slot.ok_or_else(|| data_err!("{shown}: no tensor for input '{}'", info.name))?;
            tensors.push(t);
            origins.push(o);
        }
        Ok(Part { tensors, origins })
    }
}

impl Source for TestSets {
    fn len(&self) -> usize {
        self.sets.len()
    }

    fn read(&mut self, start: usize, count: usize) -> Result<Vec<Part>, DataError> {
        self.sets[start..start + count]
            .iter()
            .map(|s| self.read_set(s))
            .collect()
    }

    fn describe(&self) -> String {
        if self.sets.len() == 1 && self.sets[0] == self.dir {
            return format!("the test data set {}", self.dir.display());
        }
        format!(
            "{} test_data_set folders in {}",
            self.sets.len(),
            self.dir.display()
        )
    }
}
