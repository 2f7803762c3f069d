//! The eStargz table of contents: model, Go-compatible JSON, footers and index (sans-IO).
