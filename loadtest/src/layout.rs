//! Which sizes subscribers ask for: `q=10,h=20,f=20` (the publisher's
//! simulcast layers by name) or explicit sizes (`320x180=5`), counted.

use simpeer::{Size, SIMULCAST};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LayoutError {
    #[error("layout entry {0:?}: expected NAME=COUNT (q, h, f or WIDTHxHEIGHT, e.g. h=20)")]
    Entry(String),
    #[error("layout size {0:?}: expected q, h, f or WIDTHxHEIGHT")]
    Size(String),
    #[error("layout count {0:?}: expected a whole number")]
    Count(String),
    #[error("the layout asks for no subscriber")]
    Empty,
}

/// Subscribers by the size they ask for, in the order given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout(pub Vec<(Size, usize)>);

/// `q`, `h`, `f` (the simulcast layers) or `WIDTHxHEIGHT`.
pub fn parse_size(text: &str) -> Result<Size, LayoutError> {
    if let Some((_, size)) = SIMULCAST.iter().find(|(rid, _)| *rid == text) {
        return Ok(*size);
    }
    let bad = || LayoutError::Size(text.to_owned());
    let (w, h) = text.split_once('x').ok_or_else(bad)?;
    match (w.parse(), h.parse()) {
        (Ok(width), Ok(height)) if width > 0 && height > 0 => Ok(Size { width, height }),
        _ => Err(bad()),
    }
}

impl Layout {
    pub fn parse(text: &str) -> Result<Layout, LayoutError> {
        let mut entries = Vec::new();
        for entry in text.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let (size, count) = entry
                .split_once('=')
                .ok_or_else(|| LayoutError::Entry(entry.to_owned()))?;
            let count: usize = count
                .trim()
                .parse()
                .map_err(|_| LayoutError::Count(count.to_owned()))?;
            entries.push((parse_size(size.trim())?, count));
        }
        let layout = Layout(entries);
        match layout.subscribers() {
            0 => Err(LayoutError::Empty),
            _ => Ok(layout),
        }
    }

    /// Everyone asking for `size`.
    pub fn all(size: Size, subscribers: usize) -> Layout {
        Layout(vec![(size, subscribers)])
    }

    pub fn subscribers(&self) -> usize {
        self.0.iter().map(|(_, n)| n).sum()
    }

    /// The size each subscriber asks for, one per subscriber.
    pub fn sizes(&self) -> Vec<Size> {
        self.0
            .iter()
            .flat_map(|(size, n)| std::iter::repeat_n(*size, *n))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_sizes_parse_with_their_counts() {
        let l = Layout::parse("q=1, h=2,640x360=1").unwrap();
        assert_eq!(l.subscribers(), 4);
        let widths: Vec<u32> = l.sizes().iter().map(|s| s.width).collect();
        assert_eq!(widths, [160, 320, 320, 640]);
    }

    #[test]
    fn bad_layouts_say_what_is_wrong() {
        assert_eq!(Layout::parse("x=1"), Err(LayoutError::Size("x".to_owned())));
        assert_eq!(
            Layout::parse("q=two"),
            Err(LayoutError::Count("two".to_owned()))
        );
        assert_eq!(Layout::parse("q"), Err(LayoutError::Entry("q".to_owned())));
        assert_eq!(Layout::parse("q=0"), Err(LayoutError::Empty));
        assert_eq!(
            Layout::parse("0x9=1"),
            Err(LayoutError::Size("0x9".to_owned()))
        );
    }
}
