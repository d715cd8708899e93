//! Stacked samples: one `.npz` whose arrays (one per model input, named after it) hold all samples
//! along their first axis, or one `.npy` for a single-input model. Read a batch at a time, never whole.
//!
//! Layout: an array of shape `[S, d1, .., dk]` holds S samples. When the model input has rank k+1
//! (the array's rank), sample i is rows `i..i+1` and keeps the axis (`[1, d1, .., dk]`, the usual case:
//! the model has a batch dimension); when the input has rank k, sample i is `array[i]`
//! (`[d1, .., dk]`). Either way a batch of samples is one contiguous block of rows.
//!
//! Memory: each array is read as a stream, from its own file handle with a 64 KiB buffer; a
//! batch reads the next rows of every array, so one batch is in memory, whatever the archive's size.
//! Stored members (`np.savez`) are read in place; deflated members (`np.savez_compressed`) are
//! inflated as they stream, so they cost no more memory (only the time to inflate, once). The
//! exception: Fortran-order arrays of rank 2 or more (rare: `np.savez` of a transposed array), whose
//! rows are not contiguous, are read whole when the first batch is (memory: that array).
//! Checksums are verified when an array has been read to its end (not when `--calib-samples` stops
//! early).

use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use flate2::CrcReader;
use onnxqc_runtime::io::extension;
use onnxqc_runtime::io::npy::{read_npy_data, read_npy_from, read_npy_header, NpyHeader};
use onnxqc_runtime::{with_data, Data, Elem, IoInfo, Tensor};
use zip::{CompressionMethod, ZipArchive};

use super::{check_part, data_err, declared_rank, input_names, DataError, Part, Source};
use crate::input_files::{dtype_name, quoted_list};

const BUFFER: usize = 1 << 16;

/// Where one array's `.npy` bytes are in the file.
#[derive(Clone, Debug)]
struct Member {
    /// `x.npy` in an archive; empty for a plain `.npy` file.
    name: String,
    data_start: u64,
    compressed_size: u64,
    size: u64,
    deflated: bool,
    crc32: Option<u32>,
}

type Stream = CrcReader<Box<dyn Read + Send>>;

/// One array and how far it has been read.
struct Array {
    member: Member,
    /// `calib.npz (array 'x')`.
    origin: String,
    header: NpyHeader,
    /// Elements per sample.
    row_elems: usize,
    /// Whether a sample keeps the sample axis (as a batch axis of 1).
    keep_axis: bool,
    stream: Option<Stream>,
    /// A Fortran-order array, read whole and converted to C order.
    whole: Option<Tensor>,
}

pub struct Stacked {
    path: PathBuf,
    /// In model input order.
    arrays: Vec<Array>,
    rows: usize,
    pos: usize,
}

impl Stacked {
    pub fn open(path: &Path, inputs: &[IoInfo]) -> Result<Stacked, DataError> {
        let shown = path.display().to_string();
        let members = if extension(path).as_deref() == Some("npz") {
            list_npz(path)?
        } else {
            let size = std::fs::metadata(path)
                .map_err(|e| data_err!("cannot read '{shown}': {e}"))?
                .len();
            vec![Member {
                name: String::new(),
                data_start: 0,
                compressed_size: size,
                size,
                deflated: false,
                crc32: None,
            }]
        };
        if members.is_empty() {
            return Err(data_err!("{shown}: the archive holds no arrays"));
        }
        // Match members to inputs by name; a lone array feeds a lone input whatever its name.
        let order: Vec<usize> = if inputs.len() == 1 && members.len() == 1 {
            vec![0]
        } else if members[0].name.is_empty() {
            return Err(data_err!(
                "{shown}: a .npy holds one array, but the model has {} inputs ({}); stack the \
                 samples in an .npz with one array per input, named after it",
                inputs.len(),
                input_names(inputs)
            ));
        } else {
            let names: Vec<&str> = members
                .iter()
                .map(|m| m.name.strip_suffix(".npy").unwrap_or(&m.name))
                .collect();
            if let Some(extra) = names.iter().find(|n| !inputs.iter().any(|i| i.name == **n)) {
                return Err(data_err!(
                    "{shown}: the array '{extra}' is not a model input (the model's inputs: {})",
                    input_names(inputs)
                ));
            }
            let mut order = vec![];
            for info in inputs {
                match names.iter().position(|n| *n == info.name) {
                    Some(k) => order.push(k),
                    None => {
                        return Err(data_err!(
                            "{shown}: no array for input '{}' (the archive holds {})",
                            info.name,
                            quoted_list(&names)
                        ))
                    }
                }
            }
            order
        };
        let mut arrays = Vec::with_capacity(order.len());
        for (info, k) in inputs.iter().zip(order) {
            let member = members[k].clone();
            let origin = if member.name.is_empty() {
                shown.clone()
            } else {
                let name = member.name.strip_suffix(".npy").unwrap_or(&member.name);
                format!("{shown} (array '{name}')")
            };
            let mut stream = open_member(path, &member)?;
            let header = read_npy_header(&mut stream).map_err(|e| data_err!("{origin}: {e}"))?;
            let Some(&rows) = header.shape.first() else {
                return Err(data_err!(
                    "{origin}: a 0-d array holds no samples (its first axis should index them)"
                ));
            };
            let rank = header.shape.len();
            let keep_axis = match declared_rank(info) {
                None => true,
                Some(r) if r == rank => true,
                Some(r) if r + 1 == rank => false,
                Some(r) => {
                    return Err(data_err!(
                        "{origin}: input '{}' has rank {r}, so its stacked array needs rank {r} \
                         (samples along an existing batch axis) or {} (samples along a new first \
                         axis), not {rank} (shape {:?})",
                        info.name,
                        r + 1,
                        header.shape
                    ))
                }
            };
            let row_elems = header.shape[1..].iter().product();
            arrays.push((
                rows,
                Array {
                    member,
                    origin,
                    header,
                    row_elems,
                    keep_axis,
                    stream: Some(stream),
                    whole: None,
                },
            ));
        }
        let rows = arrays[0].0;
        if arrays.iter().any(|(r, _)| *r != rows) {
            let list: Vec<String> = arrays
                .iter()
                .map(|(r, a)| format!("{} has {r}", a.origin))
                .collect();
            return Err(data_err!(
                "{shown}: the arrays hold different numbers of samples ({})",
                list.join(", ")
            ));
        }
        let arrays: Vec<Array> = arrays.into_iter().map(|(_, a)| a).collect();
        // Check types and fixed dimensions from the headers, on one zero sample of each input.
        let probe = Part {
            tensors: arrays
                .iter()
                .map(|a| Tensor::zeros(a.header.dtype, a.sample_shape(1)))
                .collect(),
            origins: arrays.iter().map(|a| a.origin.clone()).collect(),
        };
        check_part(inputs, &probe)?;
        Ok(Stacked {
            path: path.to_path_buf(),
            arrays,
            rows,
            pos: 0,
        })
    }
}

impl Array {
    /// The shape of `count` consecutive samples.
    fn sample_shape(&self, count: usize) -> Vec<usize> {
        let tail = &self.header.shape[1..];
        if self.keep_axis {
            let mut s = vec![count];
            s.extend_from_slice(tail);
            s
        } else if count == 1 || tail.is_empty() {
            tail.to_vec()
        } else {
            // Samples without a batch axis concatenate along their own first axis.
            let mut s = vec![count * tail[0]];
            s.extend_from_slice(&tail[1..]);
            s
        }
    }

    /// Rows `pos .. pos + count`; `total` is the array's number of rows.
    fn read_rows(
        &mut self,
        path: &Path,
        pos: usize,
        count: usize,
        total: usize,
    ) -> Result<Tensor, DataError> {
        let origin = self.origin.clone();
        let n = count * self.row_elems;
        let data = if self.header.fortran_order && self.header.shape.len() > 1 {
            if self.whole.is_none() {
                self.stream = None;
                let mut s = open_member(path, &self.member)?;
                let t = read_npy_from(&mut s, Some(self.member.size))
                    .map_err(|e| data_err!("{origin}: {e}"))?;
                self.whole = Some(t);
            }
            let whole = self.whole.as_ref().expect("read above");
            let (a, b) = (pos * self.row_elems, pos * self.row_elems + n);
            let data = with_data!(whole.data(), v => rows_of(v, a, b));
            if pos + count == total {
                self.whole = None;
            }
            data
        } else {
            let stream = self
                .stream
                .as_mut()
                .ok_or_else(|| data_err!("{origin}: the array was already read to its end"))?;
            let data =
                read_npy_data(stream, &self.header, n).map_err(|e| data_err!("{origin}: {e}"))?;
            if pos + count == total {
                self.finish()?;
            }
            data
        };
        let range = if count == 1 {
            format!("sample {pos}")
        } else {
            format!("samples {pos}..{}", pos + count)
        };
        Tensor::new(self.sample_shape(count), data).map_err(|e| data_err!("{origin}, {range}: {e}"))
    }

    /// At the end of the array: nothing may follow, and the member's checksum must match.
    fn finish(&mut self) -> Result<(), DataError> {
        let origin = &self.origin;
        let Some(mut stream) = self.stream.take() else {
            return Ok(());
        };
        let mut extra = [0u8; 1];
        let more = stream
            .read(&mut extra)
            .map_err(|e| data_err!("{origin}: {e}"))?;
        if more != 0 {
            return Err(data_err!(
                "{origin}: more data follows the {:?} elements of the header's shape",
                self.header.shape
            ));
        }
        if let Some(want) = self.member.crc32 {
            let got = stream.crc().sum();
            if got != want {
                return Err(data_err!(
                    "{origin}: the data does not match the archive's checksum (a damaged file?)"
                ));
            }
        }
        Ok(())
    }
}

fn rows_of<T: Elem>(v: &[T], a: usize, b: usize) -> Data {
    T::wrap(v[a..b].to_vec())
}

/// The members of an `.npz` archive and where their bytes are.
fn list_npz(path: &Path) -> Result<Vec<Member>, DataError> {
    let shown = path.display();
    let file = File::open(path).map_err(|e| data_err!("cannot read '{shown}': {e}"))?;
    let mut archive = ZipArchive::new(BufReader::new(file))
        .map_err(|e| data_err!("'{shown}': not a .npz (zip) file: {e}"))?;
    let mut out: Vec<Member> = vec![];
    for i in 0..archive.len() {
        let f = archive
            .by_index_raw(i)
            .map_err(|e| data_err!("'{shown}': member {i}: {e}"))?;
        let name = f.name().to_string();
        if f.is_dir() {
            continue;
        }
        let at = |why: &str| data_err!("'{shown}': member '{name}': {why}");
        if !name.ends_with(".npy") {
            return Err(at("not a .npy array (a .npz holds only NAME.npy members)"));
        }
        if out.iter().any(|m| m.name == name) {
            return Err(at("appears twice"));
        }
        if f.encrypted() {
            return Err(at("encrypted members are not supported"));
        }
        let deflated = match f.compression() {
            CompressionMethod::Stored => false,
            CompressionMethod::Deflated => true,
            other => {
                return Err(at(&format!(
                    "compressed with {other}; only stored (np.savez) and deflated \
                     (np.savez_compressed) members are supported"
                )))
            }
        };
        out.push(Member {
            name: name.clone(),
            data_start: f.data_start(),
            compressed_size: f.compressed_size(),
            size: f.size(),
            deflated,
            crc32: Some(f.crc32()),
        });
    }
    Ok(out)
}

/// A stream of a member's uncompressed `.npy` bytes, from its own file handle.
fn open_member(path: &Path, m: &Member) -> Result<Stream, DataError> {
    let err = |e: std::io::Error| data_err!("cannot read '{}': {e}", path.display());
    let mut f = File::open(path).map_err(err)?;
    f.seek(SeekFrom::Start(m.data_start)).map_err(err)?;
    let raw = BufReader::with_capacity(BUFFER, f).take(m.compressed_size);
    let r: Box<dyn Read + Send> = if m.deflated {
        Box::new(flate2::bufread::DeflateDecoder::new(raw))
    } else {
        Box::new(raw)
    };
    Ok(CrcReader::new(r))
}

impl Source for Stacked {
    fn len(&self) -> usize {
        self.rows
    }

    fn read(&mut self, start: usize, count: usize) -> Result<Vec<Part>, DataError> {
        if start != self.pos {
            return Err(data_err!(
                "{}: stacked samples are read in order, once (asked for sample {start} at {})",
                self.path.display(),
                self.pos
            ));
        }
        let mut tensors = Vec::with_capacity(self.arrays.len());
        let mut origins = Vec::with_capacity(self.arrays.len());
        for a in &mut self.arrays {
            tensors.push(a.read_rows(&self.path, start, count, self.rows)?);
            origins.push(if count == 1 {
                format!("{}, sample {start}", a.origin)
            } else {
                format!("{}, samples {start}..{}", a.origin, start + count)
            });
        }
        self.pos += count;
        Ok(vec![Part { tensors, origins }])
    }

    fn describe(&self) -> String {
        let list: Vec<String> = self
            .arrays
            .iter()
            .map(|a| {
                let name = a.member.name.strip_suffix(".npy").unwrap_or(&a.member.name);
                let elem = dtype_name(a.header.dtype);
                let dims: Vec<String> = a.header.shape.iter().map(|d| d.to_string()).collect();
                if name.is_empty() {
                    format!("{elem}[{}]", dims.join(", "))
                } else {
                    format!("'{name}' {elem}[{}]", dims.join(", "))
                }
            })
            .collect();
        format!(
            "the stacked arrays of {} ({})",
            self.path.display(),
            list.join(", ")
        )
    }

    fn check_first(&self) -> bool {
        false
    }
}
