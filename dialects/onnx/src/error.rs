//! The error type of ONNX import and export: one message that names the file, graph, node or tensor at
//! fault, built up from the innermost cause outwards with [`OnnxError::context`].

use std::fmt;

/// An ONNX import/export failure. The message names what is wrong and where (tensor, node, file); the
/// CLI prints it and exits with status 1.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OnnxError {
    message: String,
}

impl OnnxError {
    pub fn new(message: impl Into<String>) -> OnnxError {
        OnnxError {
            message: message.into(),
        }
    }

    /// Prefixes the message with where it happened: `node 'conv1': <message>`.
    pub fn context(self, place: impl fmt::Display) -> OnnxError {
        OnnxError {
            message: format!("{place}: {}", self.message),
        }
    }

    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for OnnxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for OnnxError {}

impl From<String> for OnnxError {
    fn from(message: String) -> OnnxError {
        OnnxError { message }
    }
}

/// `Result` with [`OnnxError`].
pub type Result<T> = std::result::Result<T, OnnxError>;

/// Returns early with an [`OnnxError`] built by `format!`.
macro_rules! bail {
    ($($arg:tt)*) => {
        return Err($crate::error::OnnxError::new(format!($($arg)*)))
    };
}
pub(crate) use bail;
