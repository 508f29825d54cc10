//! Case photos as Linli keeps them: whatever a phone or tablet uploads (JPEG, PNG or
//! WebP) is decoded, turned upright by its EXIF orientation, scaled to at most
//! [`MAX_SIDE`] pixels a side and encoded again as JPEG, with a thumbnail. Nothing of
//! the upload's metadata survives (no EXIF, no GPS position of an elder's home), and
//! only images the server made itself are ever served.
//!
//! Decoding is bounded: at most [`MAX_UPLOAD_BYTES`] in, [`MAX_DIMENSION`] pixels a
//! side and [`MAX_DECODE_BYTES`] of memory per image, and at most
//! [`DECODING_AT_ONCE`] images at once (the rest wait), so a flood of uploads or a
//! decompression bomb cannot take the server's memory.

use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader, Limits};
use std::io::Cursor;
use std::sync::LazyLock;
use tokio::sync::Semaphore;

/// Largest upload read.
pub const MAX_UPLOAD_BYTES: usize = 10 * 1024 * 1024;
/// Longest side of an image accepted.
pub const MAX_DIMENSION: u32 = 10_000;
/// Memory a decoder may take for one image.
const MAX_DECODE_BYTES: u64 = 192 * 1024 * 1024;
/// Longest side of a kept photo.
pub const MAX_SIDE: u32 = 2_048;
/// Longest side of a thumbnail.
pub const THUMB_SIDE: u32 = 320;
/// Images decoded at once.
const DECODING_AT_ONCE: usize = 2;
const JPEG_QUALITY: u8 = 82;

static DECODING: LazyLock<Semaphore> = LazyLock::new(|| Semaphore::new(DECODING_AT_ONCE));

/// A photo made from an upload.
#[derive(Debug)]
pub struct Photo {
    pub image: Vec<u8>,
    pub thumb: Vec<u8>,
    pub width: u32,
    pub height: u32,
}

/// Why an upload is no photo.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum PhotoError {
    #[error("the upload is not a JPEG, PNG or WebP image")]
    NotAnImage,
    #[error("the image cannot be read: {0}")]
    Unreadable(String),
    #[error(
        "the image is larger than {MAX_DIMENSION} pixels a side, or needs too much memory to read"
    )]
    TooLarge,
}

/// Makes the kept photo and its thumbnail from an upload, off the async threads and
/// at most [`DECODING_AT_ONCE`] at a time.
pub async fn process(upload: Vec<u8>) -> Result<Photo, PhotoError> {
    let _turn = DECODING
        .acquire()
        .await
        .expect("the semaphore is never closed");
    tokio::task::spawn_blocking(move || process_now(&upload))
        .await
        .unwrap_or_else(|e| Err(PhotoError::Unreadable(format!("the decoder failed: {e}"))))
}

fn process_now(upload: &[u8]) -> Result<Photo, PhotoError> {
    let format = image::guess_format(upload).map_err(|_| PhotoError::NotAnImage)?;
    if !matches!(
        format,
        ImageFormat::Jpeg | ImageFormat::Png | ImageFormat::WebP
    ) {
        return Err(PhotoError::NotAnImage);
    }
    let mut reader = ImageReader::with_format(Cursor::new(upload), format);
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_DIMENSION);
    limits.max_image_height = Some(MAX_DIMENSION);
    limits.max_alloc = Some(MAX_DECODE_BYTES);
    reader.limits(limits);
    let mut decoder = reader.into_decoder().map_err(read_error)?;
    let orientation = decoder.orientation().map_err(read_error)?;
    let mut picture = DynamicImage::from_decoder(decoder).map_err(read_error)?;
    picture.apply_orientation(orientation);
    let picture = if picture.width().max(picture.height()) > MAX_SIDE {
        picture.resize(MAX_SIDE, MAX_SIDE, image::imageops::FilterType::Triangle)
    } else {
        picture
    };
    let picture = DynamicImage::ImageRgb8(picture.to_rgb8());
    let thumb = picture.thumbnail(THUMB_SIDE, THUMB_SIDE);
    Ok(Photo {
        width: picture.width(),
        height: picture.height(),
        image: jpeg(&picture)?,
        thumb: jpeg(&thumb)?,
    })
}

fn read_error(e: image::ImageError) -> PhotoError {
    match e {
        image::ImageError::Limits(_) => PhotoError::TooLarge,
        image::ImageError::Unsupported(_) => PhotoError::NotAnImage,
        other => PhotoError::Unreadable(other.to_string()),
    }
}

fn jpeg(picture: &DynamicImage) -> Result<Vec<u8>, PhotoError> {
    let mut out = Vec::new();
    let encoder = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, JPEG_QUALITY);
    picture
        .write_with_encoder(encoder)
        .map_err(|e| PhotoError::Unreadable(format!("cannot encode: {e}")))?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encoded(width: u32, height: u32, format: ImageFormat) -> Vec<u8> {
        let picture = DynamicImage::ImageRgb8(image::RgbImage::from_fn(width, height, |x, y| {
            image::Rgb([(x % 256) as u8, (y % 256) as u8, 90])
        }));
        let mut out = Cursor::new(Vec::new());
        picture.write_to(&mut out, format).unwrap();
        out.into_inner()
    }

    /// A JPEG with an EXIF segment (APP1) carrying a GPS tag and an orientation of
    /// 6 (turned 90° clockwise), as a phone writes it.
    fn jpeg_with_exif(width: u32, height: u32) -> Vec<u8> {
        let plain = encoded(width, height, ImageFormat::Jpeg);
        // TIFF header (little-endian), IFD0 with two entries: Orientation = 6 and a
        // GPS IFD pointer (to an empty GPS IFD), then the marker text.
        let mut tiff = vec![b'I', b'I', 42, 0, 8, 0, 0, 0, 2, 0];
        tiff.extend([0x12, 0x01, 3, 0, 1, 0, 0, 0, 6, 0, 0, 0]);
        tiff.extend([0x25, 0x88, 4, 0, 1, 0, 0, 0, 26, 0, 0, 0]);
        tiff.extend([0, 0, 0, 0]);
        tiff.extend([0, 0, 0, 0, 0, 0]);
        tiff.extend(b"GPS 31.8451N 117.3051E");
        let mut app1 = b"Exif\0\0".to_vec();
        app1.extend(tiff);
        let length = (app1.len() + 2) as u16;
        let mut out = plain[..2].to_vec();
        out.extend([0xFF, 0xE1]);
        out.extend(length.to_be_bytes());
        out.extend(app1);
        out.extend(&plain[2..]);
        out
    }

    #[test]
    fn a_phone_photo_comes_out_upright_and_without_its_exif() {
        let upload = jpeg_with_exif(400, 300);
        assert!(upload.windows(4).any(|w| w == b"Exif"));
        let photo = process_now(&upload).unwrap();
        assert_eq!((photo.width, photo.height), (300, 400), "turned upright");
        for kept in [&photo.image, &photo.thumb] {
            assert!(!kept.windows(4).any(|w| w == b"Exif"), "EXIF left behind");
            assert!(!kept.windows(3).any(|w| w == b"GPS"), "GPS left behind");
            assert_eq!(image::guess_format(kept).unwrap(), ImageFormat::Jpeg);
        }
    }

    #[test]
    fn large_images_are_scaled_and_thumbnails_made() {
        for format in [ImageFormat::Png, ImageFormat::WebP, ImageFormat::Jpeg] {
            let photo = process_now(&encoded(3_000, 1_000, format)).unwrap();
            assert_eq!((photo.width, photo.height), (MAX_SIDE, 683), "{format:?}");
            let thumb = image::load_from_memory(&photo.thumb).unwrap();
            assert_eq!(thumb.width(), THUMB_SIDE, "{format:?}");
        }
    }

    #[test]
    fn what_is_no_photo_is_refused() {
        for not_a_photo in [
            &b"hello"[..],
            b"GIF89a\x01\x00\x01\x00\x00\x00\x00;",
            b"BM\x1e\x00",
        ] {
            assert!(matches!(
                process_now(not_a_photo),
                Err(PhotoError::NotAnImage)
            ));
        }
        // A PNG cut short.
        let png = encoded(64, 64, ImageFormat::Png);
        assert!(matches!(
            process_now(&png[..png.len() / 2]),
            Err(PhotoError::Unreadable(_))
        ));
        // A PNG header claiming 20,000 × 20,000 pixels (a decompression bomb's first
        // bytes) is refused before anything is allocated.
        let mut bomb = png.clone();
        bomb[16..20].copy_from_slice(&20_000u32.to_be_bytes());
        bomb[20..24].copy_from_slice(&20_000u32.to_be_bytes());
        assert!(matches!(
            process_now(&bomb),
            Err(PhotoError::TooLarge | PhotoError::Unreadable(_))
        ));
    }
}
