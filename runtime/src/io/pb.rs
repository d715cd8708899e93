//! ONNX `TensorProto` files (`input_0.pb`, as in ONNX's test data sets).

use std::path::Path;

use onnxqc_onnx::proto::TensorProto;
use onnxqc_onnx::tensor_proto::{tensor_from_proto, tensor_to_proto, DataSource};
use prost::Message;

use crate::error::{Result, RuntimeError};
use crate::tensor::Tensor;

/// Reads a serialized `TensorProto`; returns its name ("" when unnamed) and value. External data is
/// resolved relative to the file's folder.
pub fn read_pb(path: &Path) -> Result<(String, Tensor)> {
    let bytes = std::fs::read(path)
        .map_err(|e| RuntimeError::new(format!("cannot read '{}': {e}", path.display())))?;
    let at = |e: String| RuntimeError::new(format!("'{}': {e}", path.display()));
    let proto = TensorProto::decode(bytes.as_slice())
        .map_err(|e| at(format!("not a TensorProto file ({e})")))?;
    let base = path.parent().map(Path::to_path_buf);
    let mut src = DataSource::new(None, base);
    let data = tensor_from_proto(&proto, &mut src).map_err(|e| at(e.to_string()))?;
    let t = Tensor::from_tensor_data(&data).map_err(|e| at(e.to_string()))?;
    Ok((proto.name, t))
}

/// Writes `t` as a serialized `TensorProto` named `name`.
pub fn write_pb(path: &Path, name: &str, t: &Tensor) -> Result<()> {
    let proto = tensor_to_proto(name, &t.to_tensor_data());
    crate::io::write_atomically(path, &proto.encode_to_vec())
}
