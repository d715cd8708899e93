//! Reading and writing tensors: `.npy`, `.npz` and ONNX `TensorProto` (`.pb`) files.
