//! Profile photos: only real JPEG, PNG, WebP or GIF images are accepted. Each
//! is decoded (with size limits against decompression bombs), scaled to fit
//! 512x512 and re-encoded as JPEG, which also strips metadata such as GPS tags.

use std::io::Cursor;

use image::{ImageFormat, ImageReader, Limits};

pub const MAX_SIDE: u32 = 512;
const MAX_INPUT_SIDE: u32 = 8_000;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PhotoError {
    #[error("the file is not a JPEG, PNG, WebP or GIF image")]
    NotAnImage,
    #[error("the image is larger than {MAX_INPUT_SIDE}x{MAX_INPUT_SIDE} pixels")]
    TooManyPixels,
}

impl PhotoError {
    /// The stable error code clients see.
    pub fn code(&self) -> &'static str {
        match self {
            PhotoError::NotAnImage => "invalid_image",
            PhotoError::TooManyPixels => "image_too_large",
        }
    }
}

/// The accepted upload content types.
pub const CONTENT_TYPES: &[&str] = &["image/jpeg", "image/png", "image/webp", "image/gif"];

pub fn normalise(bytes: &[u8]) -> Result<Vec<u8>, PhotoError> {
    let mut reader = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|_| PhotoError::NotAnImage)?;
    match reader.format() {
        Some(ImageFormat::Jpeg | ImageFormat::Png | ImageFormat::WebP | ImageFormat::Gif) => {}
        _ => return Err(PhotoError::NotAnImage),
    }
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_INPUT_SIDE);
    limits.max_image_height = Some(MAX_INPUT_SIDE);
    limits.max_alloc = Some(256 * 1024 * 1024);
    reader.limits(limits);
    let image = reader.decode().map_err(|e| match e {
        image::ImageError::Limits(_) => PhotoError::TooManyPixels,
        _ => PhotoError::NotAnImage,
    })?;
    let image = if image.width() > MAX_SIDE || image.height() > MAX_SIDE {
        image.resize(MAX_SIDE, MAX_SIDE, image::imageops::FilterType::Triangle)
    } else {
        image
    };
    let mut out = Vec::new();
    image
        .to_rgb8()
        .write_to(&mut Cursor::new(&mut out), ImageFormat::Jpeg)
        .expect("encoding an in-memory RGB image as JPEG cannot fail");
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png(w: u32, h: u32) -> Vec<u8> {
        let img = image::RgbImage::from_fn(w, h, |x, y| image::Rgb([x as u8, y as u8, 128]));
        let mut out = Vec::new();
        img.write_to(&mut Cursor::new(&mut out), ImageFormat::Png)
            .unwrap();
        out
    }

    #[test]
    fn large_images_are_scaled_and_reencoded_as_jpeg() {
        let out = normalise(&png(1024, 600)).unwrap();
        let decoded = image::load_from_memory(&out).unwrap();
        assert_eq!(image::guess_format(&out).unwrap(), ImageFormat::Jpeg);
        assert_eq!((decoded.width(), decoded.height()), (512, 300));
    }

    #[test]
    fn non_images_and_truncated_images_are_refused() {
        assert_eq!(
            normalise(b"%PDF-1.4 not an image"),
            Err(PhotoError::NotAnImage)
        );
        let mut cut = png(64, 64);
        cut.truncate(cut.len() / 2);
        assert_eq!(normalise(&cut), Err(PhotoError::NotAnImage));
    }
}
