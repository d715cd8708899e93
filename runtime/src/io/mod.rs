//! Reading and writing tensors: `.npy`, `.npz` and ONNX `TensorProto` (`.pb`) files.

use std::io::Write;
use std::path::Path;

use crate::error::{Result, RuntimeError};
use crate::tensor::Tensor;

pub mod npy;
pub mod npz;
pub mod pb;

pub use npy::{read_npy, write_npy};
pub use npz::{read_npz, write_npz};
pub use pb::{read_pb, write_pb};

/// Reads every tensor of a file, chosen by its extension: `.npy` gives one tensor named after the
/// file stem, `.npz` one per array (named as in `np.savez`), `.pb` one named by its `TensorProto`
/// name, or after the file stem when it has none.
pub fn read_tensor_file(path: &Path) -> Result<Vec<(String, Tensor)>> {
    let stem = || {
        path.file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default()
    };
    match extension(path).as_deref() {
        Some("npy") => Ok(vec![(stem(), read_npy(path)?)]),
        Some("npz") => read_npz(path),
        Some("pb") => {
            let (name, t) = read_pb(path)?;
            Ok(vec![(if name.is_empty() { stem() } else { name }, t)])
        }
        _ => Err(RuntimeError::new(format!(
            "'{}': unknown tensor file type (expected .npy, .npz or .pb)",
            path.display()
        ))),
    }
}

/// The lower-cased extension of `path`, so `X.NPY` reads like `x.npy`.
pub fn extension(path: &Path) -> Option<String> {
    path.extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
}

/// Writes `bytes` to `path` through a temporary file in the same folder, so a failure never leaves a
/// half-written file.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    write_atomically_with(path, |f| f.write_all(bytes))
}

/// Like [`write_atomically`] for writers that stream (and may seek) into the file.
pub fn write_atomically_with(
    path: &Path,
    write: impl FnOnce(&mut std::fs::File) -> std::io::Result<()>,
) -> Result<()> {
    let err =
        |e: std::io::Error| RuntimeError::new(format!("cannot write '{}': {e}", path.display()));
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(err)?;
    #[cfg(unix)]
    {
        // Temporary files are created 0600; the result is an ordinary file.
        use std::os::unix::fs::PermissionsExt;
        let _ = tmp
            .as_file()
            .set_permissions(std::fs::Permissions::from_mode(0o644));
    }
    write(tmp.as_file_mut()).map_err(err)?;
    tmp.persist(path).map_err(|e| err(e.error))?;
    Ok(())
}
