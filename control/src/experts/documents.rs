//! Identity documents: which kinds there are and what each may be. A file is
//! judged by its first bytes as well as its declared type, so a renamed
//! executable or HTML page is not kept (and later served) as an ID card.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::accounts::text_enum;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DocumentKind {
    /// The national identity card's front, as an image.
    CinFront,
    /// Its back, as an image.
    CinBack,
    /// Both sides in one PDF, instead of the two images.
    CinPdf,
}

text_enum!(DocumentKind { CinFront = "cin_front", CinBack = "cin_back", CinPdf = "cin_pdf" });

const IMAGES: &[&str] = &["image/jpeg", "image/png", "image/webp"];
const PDF: &[&str] = &["application/pdf"];

impl DocumentKind {
    /// The content types accepted for this kind.
    pub fn content_types(self) -> &'static [&'static str] {
        match self {
            DocumentKind::CinFront | DocumentKind::CinBack => IMAGES,
            DocumentKind::CinPdf => PDF,
        }
    }
}

/// Why an upload was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The declared content type is not one this kind accepts.
    WrongType,
    /// The bytes are not what the declared type says.
    NotMatching,
}

/// The content type to store for an upload of `kind` declared as `declared`
/// (parameters such as `; charset` ignored).
pub fn check(kind: DocumentKind, declared: &str, bytes: &[u8]) -> Result<&'static str, Refusal> {
    let declared = declared.split(';').next().unwrap_or_default().trim();
    let accepted = kind
        .content_types()
        .iter()
        .find(|t| t.eq_ignore_ascii_case(declared))
        .ok_or(Refusal::WrongType)?;
    if sniff(bytes) == Some(*accepted) {
        Ok(accepted)
    } else {
        Err(Refusal::NotMatching)
    }
}

/// The type the leading bytes (magic numbers) say.
fn sniff(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some("image/jpeg")
    } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some("image/png")
    } else if bytes.len() >= 12 && bytes.starts_with(b"RIFF") && &bytes[8..12] == b"WEBP" {
        Some("image/webp")
    } else if bytes.starts_with(b"%PDF-") {
        Some("application/pdf")
    } else {
        None
    }
}

/// The file name extension for a stored content type.
pub fn extension(content_type: &str) -> &'static str {
    match content_type {
        "image/jpeg" => "jpg",
        "image/png" => "png",
        "image/webp" => "webp",
        "application/pdf" => "pdf",
        _ => "bin",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const JPEG: &[u8] = &[0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10, b'J', b'F', b'I', b'F'];
    const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR";
    const WEBP: &[u8] = b"RIFF\x24\0\0\0WEBPVP8 ";
    const PDF_FILE: &[u8] = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n";

    #[test]
    fn each_kind_takes_its_types_when_the_bytes_agree() {
        for (bytes, ct) in [
            (JPEG, "image/jpeg"),
            (PNG, "image/png"),
            (WEBP, "image/webp"),
        ] {
            for kind in [DocumentKind::CinFront, DocumentKind::CinBack] {
                assert_eq!(check(kind, ct, bytes), Ok(ct));
            }
            assert_eq!(
                check(DocumentKind::CinPdf, ct, bytes),
                Err(Refusal::WrongType)
            );
        }
        assert_eq!(
            check(DocumentKind::CinPdf, "application/pdf; qs=1", PDF_FILE),
            Ok("application/pdf")
        );
        assert_eq!(
            check(DocumentKind::CinFront, "IMAGE/PNG", PNG),
            Ok("image/png")
        );
        assert_eq!(
            check(DocumentKind::CinFront, "application/pdf", PDF_FILE),
            Err(Refusal::WrongType)
        );
        assert_eq!(
            check(DocumentKind::CinFront, "", JPEG),
            Err(Refusal::WrongType)
        );
    }

    #[test]
    fn bytes_that_are_not_the_declared_type_are_refused() {
        let html = b"<!doctype html><script>alert(1)</script>";
        assert_eq!(
            check(DocumentKind::CinFront, "image/jpeg", html),
            Err(Refusal::NotMatching)
        );
        assert_eq!(
            check(DocumentKind::CinFront, "image/jpeg", PNG),
            Err(Refusal::NotMatching)
        );
        assert_eq!(
            check(DocumentKind::CinPdf, "application/pdf", JPEG),
            Err(Refusal::NotMatching)
        );
        assert_eq!(
            check(DocumentKind::CinFront, "image/webp", b"RIFF\0\0\0\0WAVE"),
            Err(Refusal::NotMatching)
        );
        assert_eq!(
            check(DocumentKind::CinFront, "image/png", b""),
            Err(Refusal::NotMatching)
        );
    }
}
