//! A moving test pattern in I420: a gradient background with a bright square
//! that crosses the frame, so every frame differs and motion is encoded.

/// One I420 frame of `width` x `height` for frame number `n`.
pub fn frame(width: usize, height: usize, n: u64) -> Vec<u8> {
    let (cw, ch) = (width.div_ceil(2), height.div_ceil(2));
    let mut yuv = vec![0u8; width * height + 2 * cw * ch];
    let shift = (n * 4) as usize;
    let side = (height / 4).max(2);
    let left = shift % width.max(1);
    let top = (shift / 2) % height.saturating_sub(side).max(1);
    for y in 0..height {
        for x in 0..width {
            let in_square = x >= left && x < left + side && y >= top && y < top + side;
            yuv[y * width + x] = if in_square {
                235
            } else {
                (16 + ((x + y + shift) * 200 / (width + height)) % 200) as u8
            };
        }
    }
    let (u, v) = yuv[width * height..].split_at_mut(cw * ch);
    for i in 0..cw * ch {
        u[i] = (128 + (i + shift) % 64) as u8;
        v[i] = (128u8).wrapping_sub(((i / cw.max(1) + shift) % 64) as u8);
    }
    yuv
}

/// 20 ms of a 440 Hz tone at 48 kHz, mono, continuing from sample `start`.
pub fn tone(start: u64) -> Vec<i16> {
    (0..960u64)
        .map(|i| {
            let t = (start + i) as f64 / 48_000.0;
            ((t * 440.0 * std::f64::consts::TAU).sin() * 8_000.0) as i16
        })
        .collect()
}
