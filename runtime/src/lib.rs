//! The onnxqc runtime: executes float (and, later, integer) IR graphs. It is the calibration engine
//! and the evaluator behind "same outputs before and after this pass" tests.
//!
//! Where to start: [`Session`] (compile once, run many times, observe intermediate values), [`eval_op`]
//! (one op on constants, for constant folding),
//! [`plan`] (steps, value lifetimes, buffer reuse), [`kernels`] (one module per op family, each with
//! a plain reference version of its fast paths), [`tensor`] (run-time tensors), [`io`] (`.npy`,
//! `.npz` and ONNX `TensorProto` files).

pub mod error;
pub mod eval;
pub mod io;
pub mod kernels;
pub mod plan;
pub mod session;
pub mod tensor;

pub use error::{Result, RuntimeError};
pub use eval::eval_op;
pub use plan::Observer;
pub use session::{IoInfo, Outputs, Session, SessionOptions, THREADS_ENV};
pub use tensor::{DType, Data, Elem, Tensor};

/// Every op kind the runtime has a kernel for (`onnx.Conv`, ...), sorted.
pub fn supported_ops() -> Vec<&'static str> {
    kernels::registry().kinds()
}
