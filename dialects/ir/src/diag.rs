//! Diagnostics: errors and warnings with an optional source span, rendered with `codespan-reporting`
//! (file, line, column, a caret under the offending text) when the source text is known, and as a plain
//! one-line message otherwise (e.g. for a model imported from ONNX, where the message names the node).

use std::fmt;

use codespan_reporting::diagnostic::{Diagnostic as CsDiagnostic, Label};
use codespan_reporting::files::SimpleFile;
use codespan_reporting::term::{self, termcolor};

use crate::graph::Span;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Severity {
    Error,
    Warning,
    Note,
}

/// A source text that spans point into.
#[derive(Clone, Debug)]
pub struct SourceFile {
    pub name: String,
    pub text: String,
}

impl SourceFile {
    pub fn new(name: impl Into<String>, text: impl Into<String>) -> SourceFile {
        SourceFile {
            name: name.into(),
            text: text.into(),
        }
    }

    /// 1-based (line, column) of a byte offset.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let before = &self.text.as_bytes()[..offset];
        let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
        let line_start = before
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |i| i + 1);
        let col = self.text[line_start..offset].chars().count() + 1;
        (line, col)
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    pub severity: Severity,
    pub message: String,
    /// Primary location; its label is `label` (empty: the caret alone).
    pub span: Option<Span>,
    pub label: String,
    /// Secondary locations with their notes.
    pub secondary: Vec<(Span, String)>,
    pub notes: Vec<String>,
}

impl Diagnostic {
    pub fn error(message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            severity: Severity::Error,
            message: message.into(),
            span: None,
            label: String::new(),
            secondary: vec![],
            notes: vec![],
        }
    }

    pub fn warning(message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            severity: Severity::Warning,
            ..Diagnostic::error(message)
        }
    }

    pub fn with_span(mut self, span: Option<Span>) -> Self {
        self.span = span;
        self
    }

    pub fn with_label(mut self, label: impl Into<String>) -> Self {
        self.label = label.into();
        self
    }

    pub fn with_secondary(mut self, span: Option<Span>, note: impl Into<String>) -> Self {
        if let Some(span) = span {
            self.secondary.push((span, note.into()));
        }
        self
    }

    pub fn with_note(mut self, note: impl Into<String>) -> Self {
        self.notes.push(note.into());
        self
    }

    /// Renders the diagnostic as text, against `source` when given (without colors).
    pub fn render(&self, source: Option<&SourceFile>) -> String {
        let mut buf = termcolor::Buffer::no_color();
        self.emit_to(&mut buf, source);
        String::from_utf8_lossy(buf.as_slice()).into_owned()
    }

    /// Writes the diagnostic to a terminal-capable writer (colors when the writer supports them).
    pub fn emit_to(&self, writer: &mut dyn termcolor::WriteColor, source: Option<&SourceFile>) {
        let config = term::Config::default();
        let text_len = source.map_or(0, |s| s.text.len());
        let clamp = |s: Span| -> std::ops::Range<usize> {
            let start = (s.start as usize).min(text_len);
            start..(s.end as usize).clamp(start, text_len)
        };
        let file = SimpleFile::new(
            source.map_or("<unknown>", |s| s.name.as_str()),
            source.map_or("", |s| s.text.as_str()),
        );
        let mut d = match self.severity {
            Severity::Error => CsDiagnostic::error(),
            Severity::Warning => CsDiagnostic::warning(),
            Severity::Note => CsDiagnostic::note(),
        }
        .with_message(&self.message)
        .with_notes(self.notes.clone());
        if source.is_some() {
            let mut labels = Vec::new();
            if let Some(span) = self.span {
                labels.push(Label::primary((), clamp(span)).with_message(&self.label));
            }
            for (span, note) in &self.secondary {
                labels.push(Label::secondary((), clamp(*span)).with_message(note));
            }
            d = d.with_labels(labels);
        }
        if term::emit_to_write_style(writer, &config, &file, &d).is_err() {
            // The writer failed (closed pipe); there is nowhere left to report to.
        }
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sev = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Note => "note",
        };
        write!(f, "{sev}: {}", self.message)?;
        for n in &self.notes {
            write!(f, "\n  = {n}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Diagnostic {}

/// Renders several diagnostics one after the other.
pub fn render_all(diags: &[Diagnostic], source: Option<&SourceFile>) -> String {
    diags.iter().map(|d| d.render(source)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_line_and_caret() {
        let src = SourceFile::new("x.mlir", "func.func @f() {\n  %0 = oops\n}\n");
        let d = Diagnostic::error("expected an op name")
            .with_span(Some(Span::new(24, 28)))
            .with_label("here");
        let out = d.render(Some(&src));
        assert!(out.contains("x.mlir:2:8"), "{out}");
        assert!(out.contains("^^^^ here"), "{out}");
        assert_eq!(src.line_col(24), (2, 8));
    }
}
