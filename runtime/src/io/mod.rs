//! Reading and writing tensors: `.npy`, `.npz` and ONNX `TensorProto` (`.pb`) files.

use std::io::Write;
use std::path::Path;

use crate::error::{Result, RuntimeError};

pub mod pb;

pub use pb::{read_pb, write_pb};

/// Writes `bytes` to `path` through a temporary file in the same folder, so a failure never leaves a
/// half-written file.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let err =
        |e: std::io::Error| RuntimeError::new(format!("cannot write '{}': {e}", path.display()));
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(err)?;
    tmp.write_all(bytes).map_err(err)?;
    tmp.persist(path).map_err(|e| err(e.error))?;
    Ok(())
}
