//! The runtime's error type: a message plus the context it was raised in (node, op, input), outermost
//! first when printed.

use std::fmt;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuntimeError {
    message: String,
    context: Vec<String>,
}

pub type Result<T, E = RuntimeError> = std::result::Result<T, E>;

impl RuntimeError {
    pub fn new(message: impl Into<String>) -> RuntimeError {
        RuntimeError {
            message: message.into(),
            context: vec![],
        }
    }

    /// Adds where the error happened ("node 'conv1' (onnx.Conv)"); printed before the message.
    pub fn context(mut self, ctx: impl Into<String>) -> RuntimeError {
        self.context.push(ctx.into());
        self
    }

    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for RuntimeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for c in self.context.iter().rev() {
            write!(f, "{c}: ")?;
        }
        f.write_str(&self.message)
    }
}

impl std::error::Error for RuntimeError {}

/// Returns early with a [`RuntimeError`] built from a format string.
#[macro_export]
macro_rules! bail {
    ($($arg:tt)*) => {
        return Err($crate::error::RuntimeError::new(format!($($arg)*)))
    };
}

/// Returns early with a [`RuntimeError`] unless the condition holds.
#[macro_export]
macro_rules! ensure {
    ($cond:expr, $($arg:tt)*) => {
        if !$cond {
            $crate::bail!($($arg)*);
        }
    };
}
