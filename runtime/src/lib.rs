//! The onnxqc runtime (filled by the runtime issue).
