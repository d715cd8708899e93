//! `TensorProto` ↔ [`TensorData`]: every ONNX data type, `raw_data` and the typed fields, external data
//! (memory-mapped, never copied, and refused when its location escapes the model's folder), and sparse
//! tensors (densified on import, re-sparsified on export).
//!
//! Import keeps weights where they are: `raw_data` decoded from a memory-mapped model is a view into that
//! mapping, and external data is a view into the mapped data file. Only the typed fields (`float_data`,
//! `int32_data`, ...) are converted, into ONNX's packed little-endian layout. Export always writes
//! `raw_data` (or `string_data`), or an external-data reference filled in by the writer.

use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use onnxqc_ir::tensor::MappedFile;
use onnxqc_ir::{Buffer, ScalarType, Storage, TensorData};
use rustc_hash::FxHashMap;

use crate::error::{bail, OnnxError, Result};
use crate::proto::{tensor_proto, SparseTensorProto, TensorProto};

/// Largest tensor onnxqc materialises when densifying a sparse tensor.
const MAX_DENSE_BYTES: u64 = 4 << 30;

/// Where tensor bytes come from: the mapped model file (for zero-copy `raw_data`) and the folder that
/// external-data locations are relative to, with every data file mapped once.
#[derive(Default)]
pub struct DataSource {
    pub model_file: Option<Arc<MappedFile>>,
    pub base_dir: Option<PathBuf>,
    files: FxHashMap<PathBuf, Arc<MappedFile>>,
    /// Tensors and bytes read from external data, for the import summary.
    pub external_tensors: usize,
    pub external_bytes: u64,
}

impl DataSource {
    pub fn new(model_file: Option<Arc<MappedFile>>, base_dir: Option<PathBuf>) -> DataSource {
        DataSource {
            model_file,
            base_dir,
            ..DataSource::default()
        }
    }

    /// A buffer over `raw`: a view of the mapped model when `raw` lies inside it, else a copy.
    fn raw_buffer(&self, raw: &Bytes) -> Buffer {
        self.model_file
            .as_ref()
            .and_then(|f| Buffer::mapped_slice(f, raw))
            .unwrap_or_else(|| Buffer::from_vec(raw.to_vec()))
    }

    /// The mapped external-data file at `location`, refusing locations outside the model's folder.
    fn external_file(&mut self, location: &str) -> Result<Arc<MappedFile>> {
        let Some(base) = self.base_dir.clone() else {
            bail!(
                "external data '{location}' can only be read when the model is loaded from a file"
            );
        };
        let rel = Path::new(location);
        let escapes = location.is_empty()
            || location.contains('\0')
            || rel
                .components()
                .any(|c| !matches!(c, Component::Normal(_) | Component::CurDir));
        if escapes {
            bail!(
                "external data location '{location}' escapes the model's folder (only relative paths \
                 without '..' are allowed)"
            );
        }
        let path = base.join(rel);
        if let Some(file) = self.files.get(&path) {
            return Ok(file.clone());
        }
        let canonical = path.canonicalize().map_err(|e| {
            OnnxError::new(format!(
                "cannot open external data file '{}': {e}",
                path.display()
            ))
        })?;
        let canonical_base = base.canonicalize().unwrap_or(base);
        if !canonical.starts_with(&canonical_base) {
            bail!(
                "external data location '{location}' escapes the model's folder (it resolves to '{}')",
                canonical.display()
            );
        }
        let file = MappedFile::open(&canonical).map_err(|e| {
            OnnxError::new(format!(
                "cannot map external data file '{}': {e}",
                path.display()
            ))
        })?;
        self.files.insert(path, file.clone());
        Ok(file)
    }
}

/// The scalar type of an ONNX `data_type` code.
pub fn scalar_type(code: i32) -> Result<ScalarType> {
    match ScalarType::from_onnx_code(code) {
        Some(t) => Ok(t),
        None if code == 0 => bail!("data type is UNDEFINED (0)"),
        None => bail!("unknown data type {code}"),
    }
}

fn shape_of(dims: &[i64]) -> Result<Vec<u64>> {
    dims.iter()
        .map(|&d| {
            u64::try_from(d)
                .map_err(|_| OnnxError::new(format!("negative dimension {d} in {dims:?}")))
        })
        .collect()
}

fn element_count(shape: &[u64]) -> Result<u64> {
    shape
        .iter()
        .try_fold(1u64, |acc, &d| acc.checked_mul(d))
        .ok_or_else(|| OnnxError::new(format!("shape {shape:?} has too many elements")))
}

/// Converts a `TensorProto` into [`TensorData`] (errors do not name the tensor: callers add that).
pub fn tensor_from_proto(t: &TensorProto, src: &mut DataSource) -> Result<TensorData> {
    let elem = scalar_type(t.data_type)?;
    let shape = shape_of(&t.dims)?;
    let count = element_count(&shape)?;
    if t.segment.is_some() {
        bail!("segmented tensors (TensorProto.segment) are not supported");
    }
    if t.data_location == tensor_proto::DataLocation::External as i32 {
        return external_tensor(t, elem, shape, count, src);
    }
    if elem == ScalarType::String {
        if t.string_data.len() as u64 != count {
            bail!(
                "{} strings of data for a tensor of shape {shape:?}, which needs {count}",
                t.string_data.len()
            );
        }
        return Ok(TensorData::from_strings(shape, t.string_data.clone())?);
    }
    let expected = elem
        .byte_size(count)
        .ok_or_else(|| OnnxError::new(format!("{elem} tensors are not stored as bytes")))?;
    if !t.raw_data.is_empty() || (count == 0 && typed_len(t) == 0) || expected == 0 {
        if t.raw_data.len() as u64 != expected {
            bail!(
                "{} bytes of raw data for a {elem} tensor of shape {shape:?}, which needs {expected}",
                t.raw_data.len()
            );
        }
        return Ok(TensorData::from_bytes(
            elem,
            shape,
            src.raw_buffer(&t.raw_data),
        )?);
    }
    let bytes = typed_to_bytes(t, elem, count)?;
    Ok(TensorData::from_bytes(
        elem,
        shape,
        Buffer::from_vec(bytes),
    )?)
}

fn typed_len(t: &TensorProto) -> usize {
    t.float_data.len()
        + t.int32_data.len()
        + t.int64_data.len()
        + t.double_data.len()
        + t.uint64_data.len()
        + t.string_data.len()
}

/// The packed little-endian bytes of a tensor stored in its typed field.
fn typed_to_bytes(t: &TensorProto, elem: ScalarType, count: u64) -> Result<Vec<u8>> {
    use ScalarType::*;
    let count = usize::try_from(count).map_err(|_| OnnxError::new("tensor too large"))?;
    fn check<T>(field: &str, v: &[T], want: usize) -> Result<()> {
        if v.len() != want {
            bail!(
                "{} values in {field} for a tensor of {want} elements",
                v.len()
            );
        }
        Ok(())
    }
    let packed = |per_byte: usize| count.div_ceil(per_byte);
    Ok(match elem {
        F32 => {
            check("float_data", &t.float_data, count)?;
            t.float_data.iter().flat_map(|v| v.to_le_bytes()).collect()
        }
        Complex64 => {
            check("float_data", &t.float_data, 2 * count)?;
            t.float_data.iter().flat_map(|v| v.to_le_bytes()).collect()
        }
        F64 => {
            check("double_data", &t.double_data, count)?;
            t.double_data.iter().flat_map(|v| v.to_le_bytes()).collect()
        }
        Complex128 => {
            check("double_data", &t.double_data, 2 * count)?;
            t.double_data.iter().flat_map(|v| v.to_le_bytes()).collect()
        }
        I64 => {
            check("int64_data", &t.int64_data, count)?;
            t.int64_data.iter().flat_map(|v| v.to_le_bytes()).collect()
        }
        U64 => {
            check("uint64_data", &t.uint64_data, count)?;
            t.uint64_data.iter().flat_map(|v| v.to_le_bytes()).collect()
        }
        U32 => {
            check("uint64_data", &t.uint64_data, count)?;
            t.uint64_data
                .iter()
                .flat_map(|&v| (v as u32).to_le_bytes())
                .collect()
        }
        I32 => {
            check("int32_data", &t.int32_data, count)?;
            t.int32_data.iter().flat_map(|v| v.to_le_bytes()).collect()
        }
        I16 | U16 | F16 | BF16 => {
            check("int32_data", &t.int32_data, count)?;
            t.int32_data
                .iter()
                .flat_map(|&v| (v as u16).to_le_bytes())
                .collect()
        }
        I4 | U4 | F4E2M1FN => {
            check("int32_data", &t.int32_data, packed(2))?;
            t.int32_data.iter().map(|&v| v as u8).collect()
        }
        I2 | U2 => {
            check("int32_data", &t.int32_data, packed(4))?;
            t.int32_data.iter().map(|&v| v as u8).collect()
        }
        String => bail!("string tensors are stored in string_data"),
        // The remaining one-byte types (int8, uint8, bool, float8 variants) keep one value per int32.
        _ => {
            check("int32_data", &t.int32_data, count)?;
            t.int32_data.iter().map(|&v| v as u8).collect()
        }
    })
}

fn external_tensor(
    t: &TensorProto,
    elem: ScalarType,
    shape: Vec<u64>,
    count: u64,
    src: &mut DataSource,
) -> Result<TensorData> {
    let mut location = None;
    let mut offset = 0u64;
    let mut length = None;
    for kv in &t.external_data {
        let parse = |v: &str| {
            v.parse::<u64>().map_err(|_| {
                OnnxError::new(format!("external data {} '{v}' is not a number", kv.key))
            })
        };
        match kv.key.as_str() {
            "location" => location = Some(kv.value.as_str()),
            "offset" => offset = parse(&kv.value)?,
            "length" => length = Some(parse(&kv.value)?),
            _ => {}
        }
    }
    let Some(location) = location else {
        bail!("external data has no 'location'");
    };
    if elem == ScalarType::String {
        bail!("string tensors cannot be stored as external data");
    }
    let expected = elem
        .byte_size(count)
        .ok_or_else(|| OnnxError::new(format!("{elem} tensors are not stored as bytes")))?;
    let length = length.unwrap_or(expected);
    if length != expected {
        bail!(
            "external data length {length} does not match the {expected} bytes a {elem} tensor of shape {shape:?} needs"
        );
    }
    let file = src.external_file(location)?;
    let (Ok(off), Ok(len)) = (usize::try_from(offset), usize::try_from(length)) else {
        bail!("external data range {offset}+{length} is too large");
    };
    let buffer = Buffer::mapped(file, off, len)
        .map_err(|e| OnnxError::new(format!("external data in '{location}': {e}")))?;
    src.external_tensors += 1;
    src.external_bytes += length;
    Ok(TensorData::from_bytes(elem, shape, buffer)?)
}

/// Densifies a sparse tensor: `values` (1-D, NNZ) scattered at `indices` (NNZ linear indices, or NNZ×rank
/// coordinates) into zeros of shape `dims`.
pub fn sparse_from_proto(s: &SparseTensorProto, src: &mut DataSource) -> Result<TensorData> {
    let Some(values) = &s.values else {
        bail!("sparse tensor has no values");
    };
    let values = tensor_from_proto(values, src).map_err(|e| e.context("sparse values"))?;
    let shape = shape_of(&s.dims)?;
    let count = element_count(&shape)?;
    let elem = values.elem;
    let Some(width) = elem
        .bit_width()
        .filter(|w| w % 8 == 0)
        .map(|w| (w / 8) as usize)
    else {
        bail!("sparse tensors of {elem} are not supported");
    };
    let dense_len = count
        .checked_mul(width as u64)
        .filter(|&n| n <= MAX_DENSE_BYTES)
        .ok_or_else(|| {
            OnnxError::new(format!(
                "sparse tensor of shape {shape:?} is too large to densify"
            ))
        })?;
    let nnz = values.num_elements() as usize;
    let indices = match &s.indices {
        Some(i) => tensor_from_proto(i, src).map_err(|e| e.context("sparse indices"))?,
        None => bail!("sparse tensor has no indices"),
    };
    let idx: Vec<i64> = (0..indices.num_elements() as usize)
        .map(|i| indices.int_at(i))
        .collect::<Option<_>>()
        .ok_or_else(|| OnnxError::new("sparse indices must be an integer tensor"))?;
    let linear: Vec<u64> = if indices.shape.len() == 1 && idx.len() == nnz {
        idx.iter().map(|&i| i as u64).collect()
    } else if indices.shape.len() == 2
        && indices.shape[0] as usize == nnz
        && indices.shape[1] as usize == shape.len()
    {
        idx.chunks(shape.len().max(1))
            .map(|coord| {
                coord
                    .iter()
                    .zip(&shape)
                    .fold(0u64, |acc, (&c, &d)| acc * d + c as u64)
            })
            .collect()
    } else {
        bail!(
            "sparse indices of shape {:?} do not fit {nnz} values of a tensor of rank {}",
            indices.shape,
            shape.len()
        );
    };
    let src_bytes = values.bytes().unwrap_or_default();
    let mut dense = vec![0u8; dense_len as usize];
    for (k, &i) in linear.iter().enumerate() {
        if i >= count {
            bail!("sparse index {i} is outside a tensor of {count} elements");
        }
        let (d, v) = (i as usize * width, k * width);
        dense[d..d + width].copy_from_slice(&src_bytes[v..v + width]);
    }
    Ok(TensorData::from_bytes(
        elem,
        shape,
        Buffer::from_vec(dense),
    )?)
}

/// A `TensorProto` for `t` named `name`. Fixed-width data goes to `raw_data` as a zero-copy view of the
/// tensor's buffer; strings go to `string_data`.
pub fn tensor_to_proto(name: &str, t: &TensorData) -> TensorProto {
    let mut p = TensorProto {
        name: name.to_string(),
        data_type: t.elem.onnx_code(),
        dims: t.shape.iter().map(|&d| d as i64).collect(),
        ..TensorProto::default()
    };
    match &t.storage {
        Storage::Bytes(b) => p.raw_data = buffer_bytes(b),
        Storage::Strings(s) => p.string_data = s.to_vec(),
    }
    p
}

/// The buffer as [`Bytes`] without copying.
pub fn buffer_bytes(b: &Buffer) -> Bytes {
    struct Owner(Buffer);
    impl AsRef<[u8]> for Owner {
        fn as_ref(&self) -> &[u8] {
            self.0.as_bytes()
        }
    }
    Bytes::from_owner(Owner(b.clone()))
}

/// The sparse form of a dense tensor (linear int64 indices of the non-zero elements).
pub fn sparse_to_proto(name: &str, t: &TensorData) -> Option<SparseTensorProto> {
    let bytes = t.bytes()?;
    let width = (t.elem.bit_width()? / 8) as usize;
    if width == 0 || t.elem.bit_width()? % 8 != 0 {
        return None;
    }
    let mut values = Vec::new();
    let mut indices = Vec::new();
    for (i, chunk) in bytes.chunks_exact(width).enumerate() {
        if chunk.iter().any(|&b| b != 0) {
            values.extend_from_slice(chunk);
            indices.push(i as i64);
        }
    }
    let nnz = indices.len() as i64;
    Some(SparseTensorProto {
        values: Some(TensorProto {
            name: name.to_string(),
            data_type: t.elem.onnx_code(),
            dims: vec![nnz],
            raw_data: Bytes::from(values),
            ..TensorProto::default()
        }),
        indices: Some(TensorProto {
            name: format!("{name}_indices"),
            data_type: ScalarType::I64.onnx_code(),
            dims: vec![nnz],
            raw_data: Bytes::from(
                indices
                    .iter()
                    .flat_map(|v| v.to_le_bytes())
                    .collect::<Vec<_>>(),
            ),
            ..TensorProto::default()
        }),
        dims: t.shape.iter().map(|&d| d as i64).collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn proto(elem: ScalarType, dims: &[i64]) -> TensorProto {
        TensorProto {
            data_type: elem.onnx_code(),
            dims: dims.to_vec(),
            ..TensorProto::default()
        }
    }

    #[test]
    fn typed_fields_become_packed_bytes() {
        let mut src = DataSource::default();
        let mut t = proto(ScalarType::F16, &[2]);
        t.int32_data = vec![0x3c00, 0xc000];
        let d = tensor_from_proto(&t, &mut src).unwrap();
        assert_eq!(d.bytes().unwrap(), &[0x00, 0x3c, 0x00, 0xc0]);

        let mut t = proto(ScalarType::I4, &[3]);
        t.int32_data = vec![0xF1, 0x07];
        let d = tensor_from_proto(&t, &mut src).unwrap();
        assert_eq!(d.int_at(1), Some(-1));

        let mut t = proto(ScalarType::U32, &[1]);
        t.uint64_data = vec![7];
        assert_eq!(tensor_from_proto(&t, &mut src).unwrap().int_at(0), Some(7));
    }

    #[test]
    fn size_mismatches_are_errors() {
        let mut src = DataSource::default();
        let mut t = proto(ScalarType::F32, &[2, 2]);
        t.raw_data = Bytes::from(vec![0u8; 12]);
        let e = tensor_from_proto(&t, &mut src).unwrap_err();
        assert!(e.message().contains("12 bytes"), "{e}");
        let mut t = proto(ScalarType::F32, &[3]);
        t.float_data = vec![1.0];
        assert!(tensor_from_proto(&t, &mut src).is_err());
        let t = proto(ScalarType::F32, &[-1]);
        assert!(tensor_from_proto(&t, &mut src).is_err());
        let mut t = proto(ScalarType::F32, &[1]);
        t.data_type = 99;
        assert!(tensor_from_proto(&t, &mut src)
            .unwrap_err()
            .message()
            .contains("unknown data type 99"));
    }

    #[test]
    fn external_locations_outside_the_folder_are_refused() {
        let mut src = DataSource::new(None, Some(std::env::temp_dir()));
        for loc in ["../x.bin", "/etc/passwd", "a/../../x"] {
            let e = src.external_file(loc).unwrap_err();
            assert!(e.message().contains("escapes"), "{loc}: {e}");
        }
        let mut no_base = DataSource::default();
        assert!(no_base.external_file("w.bin").is_err());
    }

    #[test]
    fn sparse_round_trip() {
        let dense = TensorData::from_f32(vec![2, 3], &[0.0, 1.5, 0.0, 0.0, 0.0, -2.0]).unwrap();
        let sparse = sparse_to_proto("w", &dense).unwrap();
        assert_eq!(sparse.indices.as_ref().unwrap().dims, vec![2]);
        let back = sparse_from_proto(&sparse, &mut DataSource::default()).unwrap();
        assert_eq!(back, dense);
    }
}
