//! Model inputs as messages show them, and the file-name conventions of tensor folders: shared by
//! `onnxqc run` (one set of inputs) and the calibration data readers (many samples), so both name
//! types, files and missing inputs the same way.

use std::path::Path;

use onnxqc_ir::{Dim, Type};
use onnxqc_runtime::io::extension;
use onnxqc_runtime::{DType, Tensor};

/// `'a', 'b'`, or `none`.
pub fn quoted_list(names: &[&str]) -> String {
    if names.is_empty() {
        return "none".into();
    }
    names
        .iter()
        .map(|n| format!("'{n}'"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A declared input type as `f32[2, N]`.
pub fn describe_type(ty: &Type) -> String {
    let Some(t) = ty.as_tensor() else {
        return "not a tensor".into();
    };
    let elem = match t.elem.scalar() {
        Some(s) => DType::from_scalar(s)
            .map(|d| dtype_name(d).to_string())
            .unwrap_or_else(|| s.to_string()),
        None => "quantized".into(),
    };
    match &t.shape {
        None => format!("{elem}, any shape"),
        Some(dims) => {
            let ds: Vec<String> = dims
                .iter()
                .map(|d| match d {
                    Dim::Known(n) => n.to_string(),
                    Dim::Symbolic(s) => s.to_string(),
                    Dim::Unknown => "?".into(),
                })
                .collect();
            format!("{elem}[{}]", ds.join(", "))
        }
    }
}

/// A tensor's type as `f64[1, 3, 224, 224]`, comparable with [`describe_type`].
pub fn describe_tensor(t: &Tensor) -> String {
    let dims: Vec<String> = t.shape().iter().map(|d| d.to_string()).collect();
    format!("{}[{}]", dtype_name(t.dtype()), dims.join(", "))
}

/// numpy-style names (the IR's own are MLIR's: `i1`, `ui8`).
pub fn dtype_name(d: DType) -> &'static str {
    match d {
        DType::F32 => "f32",
        DType::F64 => "f64",
        DType::F16 => "f16",
        DType::BF16 => "bf16",
        DType::I8 => "i8",
        DType::I16 => "i16",
        DType::I32 => "i32",
        DType::I64 => "i64",
        DType::U8 => "u8",
        DType::U16 => "u16",
        DType::U32 => "u32",
        DType::U64 => "u64",
        DType::Bool => "bool",
    }
}

/// N for a file named `input_N.pb`: in ONNX test data sets, the model input it feeds when its
/// `TensorProto` does not name one.
pub fn pb_input_index(path: &Path) -> Option<usize> {
    if extension(path).as_deref() != Some("pb") {
        return None;
    }
    path.file_stem()?
        .to_str()?
        .strip_prefix("input_")?
        .parse()
        .ok()
}

/// An `output_N.pb` of an ONNX test data set: an expected output, never an input.
pub fn is_expected_output(path: &Path) -> bool {
    extension(path).as_deref() == Some("pb")
        && path
            .file_stem()
            .is_some_and(|s| s.to_string_lossy().starts_with("output_"))
}
