//! Quantization parameter math shared by the passes and the runtime: scale and zero point from a range.
