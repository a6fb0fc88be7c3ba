//! A worker's share of a JSON Lines file, read without touching the lines it does not own.
//!
//! A file is cut into chunks of [`CHUNK_BYTES`]; chunk `c` belongs to worker `c % peers`,
//! and a line belongs to the chunk it starts in. Each worker reads only its own chunks (plus
//! the ends of lines that run past them) with positioned reads into one reusable buffer, so
//! the workers read a file side by side, each byte once, and memory stays at a chunk per
//! worker however large the file. A line's position is the byte offset of its start: it
//! orders the lines as the file does, and `tail -c +N` finds it.

use std::fs::File;
use std::io;
use std::ops::ControlFlow;

use super::MAX_LINE_BYTES;

/// The size of the chunks shared out between workers.
pub const CHUNK_BYTES: u64 = 1 << 20;

/// Items (of an in-memory source) per block shared out between workers.
const ITEMS_PER_BLOCK: u64 = 1024;

/// Which part of an input one worker reads: chunks of a file (see the module docs), or
/// blocks of [`ITEMS_PER_BLOCK`] items of an in-memory list, round robin.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Share {
    /// This worker's index.
    pub index: usize,
    /// Number of workers sharing the input.
    pub peers: usize,
}

impl Share {
    /// The whole input (one reader).
    pub fn all() -> Self {
        Share { index: 0, peers: 1 }
    }

    /// Worker `index` of `peers`.
    pub fn of(index: usize, peers: usize) -> Self {
        assert!(index < peers, "worker index {index} out of range for {peers} workers");
        Share { index, peers }
    }

    /// Does this share include item `seq` of an in-memory list?
    pub fn owns(&self, seq: u64) -> bool {
        (seq / ITEMS_PER_BLOCK) % self.peers as u64 == self.index as u64
    }

    /// Does this share include chunk `chunk` of a file?
    pub fn owns_chunk(&self, chunk: u64) -> bool {
        chunk % self.peers as u64 == self.index as u64
    }
}

/// Something lines can be read from at any offset: a file, or bytes in memory.
#[allow(clippy::len_without_is_empty)] // a length that can fail to be read
pub trait ReadAt {
    /// Its length in bytes.
    fn len(&self) -> io::Result<u64>;
    /// Reads at most `buf.len()` bytes at `offset`; 0 at the end.
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<usize>;
}

/// About how many lines `file` has: its length over the mean length of the lines in its
/// first 64 KiB (exact for a file that short). For sizing state ahead; 0 if unreadable.
pub fn estimate_lines(file: &(impl ReadAt + ?Sized)) -> u64 {
    let mut head = vec![0; 64 << 10];
    let (Ok(len), Ok(n)) = (file.len(), file.read_at(0, &mut head)) else { return 0 };
    let lines = memchr::memchr_iter(b'\n', &head[..n]).count() as u64;
    match memchr::memrchr(b'\n', &head[..n]) {
        None => u64::from(n > 0),
        Some(_) if n as u64 == len => lines + u64::from(head[n - 1] != b'\n'),
        Some(last) => len * lines / (last as u64 + 1),
    }
}

impl ReadAt for File {
    fn len(&self) -> io::Result<u64> {
        Ok(self.metadata()?.len())
    }
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
        std::os::unix::fs::FileExt::read_at(self, buf, offset)
    }
}

impl ReadAt for [u8] {
    fn len(&self) -> io::Result<u64> {
        Ok(<[u8]>::len(self) as u64)
    }
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
        let start = (offset as usize).min(<[u8]>::len(self));
        let n = buf.len().min(<[u8]>::len(self) - start);
        buf[..n].copy_from_slice(&self[start..start + n]);
        Ok(n)
    }
}

/// A line as read: its bytes (without the newline), or only its length if it is longer
/// than [`MAX_LINE_BYTES`] (the rest of it is not kept).
#[derive(Debug, PartialEq, Eq)]
pub enum Line<'a> {
    /// The line.
    Text(&'a [u8]),
    /// A line of this many bytes, over the limit; the first bytes of it.
    Oversized(usize, &'a [u8]),
}

/// Calls `on_line(offset, line)` for every line of `source` in `share`, in file order,
/// until it breaks. Only I/O errors are errors.
pub fn for_each_line<R, F>(source: &R, share: Share, mut on_line: F) -> io::Result<()>
where
    R: ReadAt + ?Sized,
    F: FnMut(u64, Line<'_>) -> ControlFlow<()>,
{
    let len = source.len()?;
    let mut window = Window { buf: Vec::with_capacity(CHUNK_BYTES as usize + 4096), base: 0 };
    for chunk in (0..len.div_ceil(CHUNK_BYTES)).filter(|c| share.owns_chunk(*c)) {
        let (start, end) = (chunk * CHUNK_BYTES, ((chunk + 1) * CHUNK_BYTES).min(len));
        // The byte before the chunk says whether a line starts at its first byte.
        let from = start.saturating_sub(1);
        window.fill(source, from, end)?;
        let mut at = match start {
            0 => 0,
            _ => match memchr::memchr(b'\n', &window.buf) {
                Some(i) => from + i as u64 + 1,
                None => continue,
            },
        };
        while at < end {
            let (line, next) = window.line(source, at, len)?;
            if on_line(at, line).is_break() {
                return Ok(());
            }
            at = next;
        }
    }
    Ok(())
}

/// A stretch of the source in memory: `buf` holds the bytes from `base` on.
struct Window {
    buf: Vec<u8>,
    base: u64,
}

impl Window {
    /// Holds `[from, to)`.
    fn fill<R: ReadAt + ?Sized>(&mut self, source: &R, from: u64, to: u64) -> io::Result<()> {
        self.buf.clear();
        self.base = from;
        self.extend(source, to)
    }

    /// Reads on until the window reaches `to` (or the end of the source).
    fn extend<R: ReadAt + ?Sized>(&mut self, source: &R, to: u64) -> io::Result<()> {
        let mut end = self.base + self.buf.len() as u64;
        while end < to {
            let have = self.buf.len();
            self.buf.resize(have + (to - end) as usize, 0);
            let n = source.read_at(end, &mut self.buf[have..])?;
            self.buf.truncate(have + n);
            if n == 0 {
                break;
            }
            end += n as u64;
        }
        Ok(())
    }

    /// The line starting at `at`, and where the next one starts.
    fn line<R: ReadAt + ?Sized>(&mut self, source: &R, at: u64, len: u64) -> io::Result<(Line<'_>, u64)> {
        let limit = MAX_LINE_BYTES as u64;
        loop {
            let start = (at - self.base) as usize;
            if let Some(i) = memchr::memchr(b'\n', &self.buf[start..]) {
                let line = (i as u64 <= limit).then(|| Line::Text(&self.buf[start..start + i]));
                return Ok((line.unwrap_or(Line::Oversized(i, &self.buf[start..start + 1024.min(i)])), at + i as u64 + 1));
            }
            let have = self.base + self.buf.len() as u64;
            if have >= len {
                let i = self.buf.len() - start;
                let line = if i as u64 <= limit { Line::Text(&self.buf[start..]) } else { Line::Oversized(i, &self.buf[start..start + 1024]) };
                return Ok((line, len));
            }
            if have - at > limit {
                return self.skip_oversized(source, at, len);
            }
            // The line runs past the window: keep it and read on.
            self.buf.drain(..start);
            self.base = at;
            self.extend(source, (have + CHUNK_BYTES).min(len))?;
        }
    }

    /// Skips a line longer than the limit, without holding it: its length, and where the
    /// next line starts.
    fn skip_oversized<R: ReadAt + ?Sized>(&mut self, source: &R, at: u64, len: u64) -> io::Result<(Line<'_>, u64)> {
        let head: Vec<u8> = self.buf[(at - self.base) as usize..][..1024].to_vec();
        let mut scan = self.base + self.buf.len() as u64;
        let end = loop {
            if scan >= len {
                break len;
            }
            self.fill(source, scan, (scan + CHUNK_BYTES).min(len))?;
            if let Some(i) = memchr::memchr(b'\n', &self.buf) {
                break scan + i as u64;
            }
            scan += self.buf.len() as u64;
        };
        self.buf.clear();
        self.buf.extend_from_slice(&head);
        self.base = at;
        let next = (end + 1).min(len);
        Ok((Line::Oversized((end - at) as usize, &self.buf), next))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn line_estimates() {
        assert_eq!(super::estimate_lines(&b""[..]), 0);
        assert_eq!(super::estimate_lines(&b"a\nb\nc"[..]), 3);
        assert_eq!(super::estimate_lines(&b"a\nb\n"[..]), 2);
        let long: Vec<u8> = (0..100_000).flat_map(|i| format!("{{\"n\":{:06}}}\n", i).into_bytes()).collect();
        assert_eq!(super::estimate_lines(&long[..]), 100_000);
    }

    use super::*;

    fn lines(bytes: &[u8], share: Share) -> Vec<(u64, String)> {
        let mut out = Vec::new();
        for_each_line(bytes, share, |at, line| {
            out.push((
                at,
                match line {
                    Line::Text(t) => String::from_utf8_lossy(t).into_owned(),
                    Line::Oversized(n, _) => format!("<{n} bytes>"),
                },
            ));
            ControlFlow::Continue(())
        })
        .unwrap();
        out
    }

    #[test]
    fn every_line_is_read_once_by_one_worker_with_its_offset() {
        // Lines of every length around the chunk size, some blank, no newline at the end.
        let mut text = Vec::new();
        let mut expected = Vec::new();
        let mut state = 7u64;
        while (text.len() as u64) < 5 * CHUNK_BYTES {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            let n = match state >> 60 {
                0 => 0,
                1 => (CHUNK_BYTES - 1) as usize,
                2 => CHUNK_BYTES as usize,
                _ => (state >> 40) as usize % 300,
            };
            expected.push((text.len() as u64, "x".repeat(n)));
            text.extend(std::iter::repeat_n(b'x', n));
            text.push(b'\n');
        }
        text.pop();
        for peers in 1..=3 {
            let mut all: Vec<_> = (0..peers).flat_map(|index| lines(&text, Share::of(index, peers))).collect();
            all.sort();
            assert_eq!(all.len(), expected.len(), "{peers} workers");
            assert!(all == expected, "{peers} workers");
        }
    }

    #[test]
    fn a_line_over_the_limit_is_reported_by_its_length_and_skipped() {
        let mut text = b"a\n".to_vec();
        text.extend(std::iter::repeat_n(b'y', MAX_LINE_BYTES + 5));
        text.extend(b"\nb\n");
        let all = lines(&text, Share::all());
        assert_eq!(all, vec![(0, "a".into()), (2, format!("<{} bytes>", MAX_LINE_BYTES + 5)), ((MAX_LINE_BYTES + 8) as u64, "b".into())]);
    }
}
