//! Constant tensor data: shared, immutable buffers that either own their bytes or view a memory map.
//!
//! Bytes are in ONNX's layout: little-endian, row-major, sub-byte types (int4, uint4, int2, float4) packed
//! low bits first, exactly as `TensorProto.raw_data`. Cloning a [`TensorData`] or a [`Buffer`] never copies
//! the bytes, so weights are only copied by the code that changes them. A 7-billion-parameter model maps its
//! weights file once and every constant is a `(map, offset, len)` view into it.

use std::fmt;
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use memmap2::Mmap;

use crate::types::ScalarType;

/// A shared immutable byte buffer.
#[derive(Clone)]
pub struct Buffer {
    repr: BufferRepr,
}

#[derive(Clone)]
enum BufferRepr {
    Owned(Arc<[u8]>),
    Mapped {
        file: Arc<MappedFile>,
        offset: usize,
        len: usize,
    },
}

/// A whole file mapped read-only, kept with its open handle so that writers can stream a view's bytes
/// with `pread` instead of touching the mapping (pages read through a mapping count toward the process's
/// resident memory; pages read with `pread` only toward the page cache).
pub struct MappedFile {
    map: Mmap,
    file: File,
    path: PathBuf,
}

impl MappedFile {
    /// Maps `path` read-only.
    pub fn open(path: &Path) -> std::io::Result<Arc<MappedFile>> {
        let file = File::open(path)?;
        // SAFETY: the mapping is read-only. Like every tool that maps model weights, we rely on the file not
        // being truncated or rewritten while it is mapped; onnxqc never writes to its inputs (outputs go to a
        // temporary file that is renamed into place).
        #[allow(unsafe_code)]
        let map = unsafe { Mmap::map(&file)? };
        Ok(Arc::new(MappedFile {
            map,
            file,
            path: path.to_path_buf(),
        }))
    }

    pub fn bytes(&self) -> &[u8] {
        &self.map
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn file(&self) -> &File {
        &self.file
    }
}

impl fmt::Debug for MappedFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "MappedFile({}, {} bytes)",
            self.path.display(),
            self.len()
        )
    }
}

impl Buffer {
    pub fn from_vec(bytes: Vec<u8>) -> Buffer {
        Buffer {
            repr: BufferRepr::Owned(Arc::from(bytes)),
        }
    }

    /// A view of `len` bytes at `offset` in a mapping; fails when the range is outside the mapping.
    pub fn mapped(file: Arc<MappedFile>, offset: usize, len: usize) -> Result<Buffer, String> {
        match offset.checked_add(len) {
            Some(end) if end <= file.len() => Ok(Buffer {
                repr: BufferRepr::Mapped { file, offset, len },
            }),
            _ => Err(format!(
                "byte range {offset}..{} is outside the file of {} bytes",
                offset.saturating_add(len),
                file.len()
            )),
        }
    }

    /// A view of `slice` when it lies inside `file`'s mapping (a zero-copy decoder hands out such
    /// slices), else `None`.
    pub fn mapped_slice(file: &Arc<MappedFile>, slice: &[u8]) -> Option<Buffer> {
        let base = file.bytes().as_ptr() as usize;
        let start = slice.as_ptr() as usize;
        let offset = start.checked_sub(base)?;
        (offset + slice.len() <= file.len()).then(|| Buffer {
            repr: BufferRepr::Mapped {
                file: file.clone(),
                offset,
                len: slice.len(),
            },
        })
    }

    pub fn as_bytes(&self) -> &[u8] {
        match &self.repr {
            BufferRepr::Owned(b) => b,
            BufferRepr::Mapped { file, offset, len } => &file.bytes()[*offset..*offset + *len],
        }
    }

    pub fn len(&self) -> usize {
        match &self.repr {
            BufferRepr::Owned(b) => b.len(),
            BufferRepr::Mapped { len, .. } => *len,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// True when the bytes live in a memory map rather than on the heap.
    pub fn is_mapped(&self) -> bool {
        matches!(self.repr, BufferRepr::Mapped { .. })
    }

    /// Writes the bytes to `out`. A mapped view is copied with `pread` in chunks rather than through the
    /// mapping, so streaming a large model's weights does not grow the resident set.
    pub fn write_to(&self, out: &mut dyn Write) -> std::io::Result<()> {
        match &self.repr {
            BufferRepr::Owned(b) => out.write_all(b),
            BufferRepr::Mapped { file, offset, len } => {
                use std::os::unix::fs::FileExt;
                const CHUNK: usize = 4 << 20;
                let mut chunk = vec![0u8; CHUNK.min(*len)];
                let mut done = 0usize;
                while done < *len {
                    let n = CHUNK.min(*len - done);
                    file.file()
                        .read_exact_at(&mut chunk[..n], (*offset + done) as u64)?;
                    out.write_all(&chunk[..n])?;
                    done += n;
                }
                Ok(())
            }
        }
    }

    /// True when both buffers are the same bytes in memory (a cheap test before comparing contents).
    pub fn same_storage(&self, other: &Buffer) -> bool {
        match (&self.repr, &other.repr) {
            (BufferRepr::Owned(a), BufferRepr::Owned(b)) => {
                a.as_ptr() == b.as_ptr() && a.len() == b.len()
            }
            (
                BufferRepr::Mapped { file, offset, len },
                BufferRepr::Mapped {
                    file: f2,
                    offset: o2,
                    len: l2,
                },
            ) => Arc::ptr_eq(file, f2) && offset == o2 && len == l2,
            _ => false,
        }
    }
}

impl PartialEq for Buffer {
    fn eq(&self, other: &Self) -> bool {
        self.same_storage(other) || self.as_bytes() == other.as_bytes()
    }
}

impl Eq for Buffer {}

impl fmt::Debug for Buffer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = if self.is_mapped() { "mapped" } else { "owned" };
        write!(f, "Buffer({kind}, {} bytes)", self.len())
    }
}

/// Maps a whole file read-only, for [`Buffer::mapped`] views.
pub fn map_file(path: &Path) -> std::io::Result<Arc<MappedFile>> {
    MappedFile::open(path)
}

/// The elements of a constant tensor.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Storage {
    /// Packed little-endian bytes for every fixed-width type.
    Bytes(Buffer),
    /// One byte string per element for `string` tensors.
    Strings(Arc<[Vec<u8>]>),
}

/// A constant tensor: element type, static shape, and its elements.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TensorData {
    pub elem: ScalarType,
    pub shape: Vec<u64>,
    pub storage: Storage,
}

impl TensorData {
    /// A tensor from packed bytes; checks that the byte count matches the shape.
    pub fn from_bytes(
        elem: ScalarType,
        shape: Vec<u64>,
        bytes: Buffer,
    ) -> Result<TensorData, String> {
        let count = shape.iter().try_fold(1u64, |acc, &d| acc.checked_mul(d));
        let Some(count) = count else {
            return Err(format!("shape {shape:?} has too many elements"));
        };
        let Some(expected) = elem.byte_size(count) else {
            return Err(format!("{elem} tensors are not stored as bytes"));
        };
        if bytes.len() as u64 != expected {
            return Err(format!(
                "{} bytes of data for a {elem} tensor of shape {shape:?}, which needs {expected}",
                bytes.len()
            ));
        }
        Ok(TensorData {
            elem,
            shape,
            storage: Storage::Bytes(bytes),
        })
    }

    pub fn from_strings(shape: Vec<u64>, strings: Vec<Vec<u8>>) -> Result<TensorData, String> {
        let count = shape.iter().try_fold(1u64, |acc, &d| acc.checked_mul(d));
        if count != Some(strings.len() as u64) {
            return Err(format!(
                "{} strings for a tensor of shape {shape:?}",
                strings.len()
            ));
        }
        Ok(TensorData {
            elem: ScalarType::String,
            shape,
            storage: Storage::Strings(Arc::from(strings)),
        })
    }

    pub fn from_f32(shape: Vec<u64>, values: &[f32]) -> Result<TensorData, String> {
        let bytes = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        TensorData::from_bytes(ScalarType::F32, shape, Buffer::from_vec(bytes))
    }

    pub fn from_i64(shape: Vec<u64>, values: &[i64]) -> Result<TensorData, String> {
        let bytes = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        TensorData::from_bytes(ScalarType::I64, shape, Buffer::from_vec(bytes))
    }

    pub fn num_elements(&self) -> u64 {
        // Saturating: a shape that overflows cannot hold data, and callers compare against real sizes.
        self.shape
            .iter()
            .fold(1u64, |acc, &d| acc.saturating_mul(d))
    }

    pub fn bytes(&self) -> Option<&[u8]> {
        match &self.storage {
            Storage::Bytes(b) => Some(b.as_bytes()),
            Storage::Strings(_) => None,
        }
    }

    /// Size in bytes of the payload (for strings, the sum of their lengths).
    pub fn byte_len(&self) -> usize {
        match &self.storage {
            Storage::Bytes(b) => b.len(),
            Storage::Strings(s) => s.iter().map(Vec::len).sum(),
        }
    }

    /// Element `i` widened to i64 for integer and bool types (sub-byte types unpacked, sign-extended).
    pub fn int_at(&self, i: usize) -> Option<i64> {
        let b = self.bytes()?;
        use ScalarType::*;
        let le = |n: usize| -> Option<&[u8]> { b.get(i * n..i * n + n) };
        Some(match self.elem {
            I8 => le(1)?[0] as i8 as i64,
            U8 | Bool => le(1)?[0] as i64,
            I16 => i16::from_le_bytes(le(2)?.try_into().ok()?) as i64,
            U16 => u16::from_le_bytes(le(2)?.try_into().ok()?) as i64,
            I32 => i32::from_le_bytes(le(4)?.try_into().ok()?) as i64,
            U32 => u32::from_le_bytes(le(4)?.try_into().ok()?) as i64,
            I64 => i64::from_le_bytes(le(8)?.try_into().ok()?),
            U64 => u64::from_le_bytes(le(8)?.try_into().ok()?) as i64,
            I4 | U4 => {
                let byte = *b.get(i / 2)?;
                let nib = if i % 2 == 0 { byte & 0x0f } else { byte >> 4 } as i64;
                if self.elem == I4 && nib >= 8 {
                    nib - 16
                } else {
                    nib
                }
            }
            I2 | U2 => {
                let byte = *b.get(i / 4)?;
                let v = ((byte >> (2 * (i % 4))) & 0x3) as i64;
                if self.elem == I2 && v >= 2 {
                    v - 4
                } else {
                    v
                }
            }
            _ => return None,
        })
    }

    /// Element `i` as f64 for f32/f64 tensors.
    pub fn float_at(&self, i: usize) -> Option<f64> {
        let b = self.bytes()?;
        match self.elem {
            ScalarType::F32 => {
                Some(f32::from_le_bytes(b.get(i * 4..i * 4 + 4)?.try_into().ok()?) as f64)
            }
            ScalarType::F64 => Some(f64::from_le_bytes(
                b.get(i * 8..i * 8 + 8)?.try_into().ok()?,
            )),
            _ => None,
        }
    }

    /// A cheap content hash (for CSE of constants); hashes every byte, so callers hash once per tensor.
    pub fn content_hash(&self) -> u64 {
        use std::hash::{Hash, Hasher};
        let mut h = rustc_hash::FxHasher::default();
        self.elem.hash(&mut h);
        self.shape.hash(&mut h);
        match &self.storage {
            Storage::Bytes(b) => b.as_bytes().hash(&mut h),
            Storage::Strings(s) => s.hash(&mut h),
        }
        h.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn size_is_checked() {
        let err =
            TensorData::from_bytes(ScalarType::F32, vec![2, 2], Buffer::from_vec(vec![0; 15]))
                .unwrap_err();
        assert!(err.contains("15 bytes"), "{err}");
        assert!(
            TensorData::from_bytes(ScalarType::I4, vec![3], Buffer::from_vec(vec![0; 2])).is_ok()
        );
    }

    #[test]
    fn sub_byte_unpacking_sign_extends() {
        let t = TensorData::from_bytes(ScalarType::I4, vec![3], Buffer::from_vec(vec![0xF1, 0x07]))
            .unwrap();
        assert_eq!(
            (0..3).map(|i| t.int_at(i).unwrap()).collect::<Vec<_>>(),
            vec![1, -1, 7]
        );
    }

    #[test]
    fn mapped_views_are_bounds_checked() {
        let dir = tempfile_dir();
        let path = dir.join("w.bin");
        std::fs::write(&path, [1u8, 2, 3, 4]).unwrap();
        let map = map_file(&path).unwrap();
        let view = Buffer::mapped(map.clone(), 1, 2).unwrap();
        assert_eq!(view.as_bytes(), &[2, 3]);
        assert!(view.is_mapped());
        assert!(Buffer::mapped(map, 3, 2).is_err());
        std::fs::remove_dir_all(dir).ok();
    }

    fn tempfile_dir() -> std::path::PathBuf {
        let d = std::env::temp_dir().join(format!("onnxqc-ir-test-{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        d
    }
}
