//! f32 matrix multiply used by MatMul, Gemm, Conv and the RNNs (filled in below).
