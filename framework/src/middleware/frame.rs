//! Finds gRPC message boundaries in a body's byte stream (5-byte prefix: flag, u32 length).

/// Tracks where the next gRPC message header starts across chunks of any size.
#[derive(Debug, Default)]
pub(crate) struct FrameScanner {
    header: [u8; 5],
    header_filled: usize,
    payload_left: u64,
}

impl FrameScanner {
    /// Feeds one chunk; calls `on_message` with each message's declared length as soon as its
    /// header is complete. Stops at the first error `on_message` returns.
    pub(crate) fn feed<E>(
        &mut self,
        mut chunk: &[u8],
        mut on_message: impl FnMut(u32) -> Result<(), E>,
    ) -> Result<(), E> {
        while !chunk.is_empty() {
            if self.payload_left > 0 {
                let skip = usize::try_from(self.payload_left)
                    .unwrap_or(usize::MAX)
                    .min(chunk.len());
                chunk = &chunk[skip..];
                self.payload_left -= skip as u64;
                continue;
            }
            // A whole header in the chunk, the usual case (an encoder writes messages whole):
            // read it in place.
            if self.header_filled == 0
                && let [_, a, b, c, d, ..] = *chunk
            {
                let len = u32::from_be_bytes([a, b, c, d]);
                let rest = &chunk[5..];
                match usize::try_from(len) {
                    // The whole message too: step over it.
                    Ok(whole) if whole <= rest.len() => chunk = &rest[whole..],
                    _ => {
                        self.payload_left = u64::from(len) - rest.len() as u64;
                        chunk = &[];
                    }
                }
                on_message(len)?;
                continue;
            }
            let want = 5 - self.header_filled;
            let take = want.min(chunk.len());
            self.header[self.header_filled..self.header_filled + take]
                .copy_from_slice(&chunk[..take]);
            self.header_filled += take;
            chunk = &chunk[take..];
            if self.header_filled == 5 {
                self.header_filled = 0;
                let len = u32::from_be_bytes([
                    self.header[1],
                    self.header[2],
                    self.header[3],
                    self.header[4],
                ]);
                self.payload_left = u64::from(len);
                on_message(len)?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(len: u32) -> Vec<u8> {
        let mut out = vec![0];
        out.extend_from_slice(&len.to_be_bytes());
        out.extend(std::iter::repeat_n(7, len as usize));
        out
    }

    #[test]
    fn finds_messages_across_any_chunking() {
        let mut bytes = message(3);
        bytes.extend(message(0));
        bytes.extend(message(300));
        for size in [1, 2, 4, 5, 7, 64, 1000] {
            let mut scanner = FrameScanner::default();
            let mut seen = Vec::new();
            for chunk in bytes.chunks(size) {
                scanner
                    .feed(chunk, |len| {
                        seen.push(len);
                        Ok::<_, ()>(())
                    })
                    .unwrap();
            }
            assert_eq!(seen, vec![3, 0, 300], "chunk size {size}");
        }
    }

    #[test]
    fn stops_at_the_first_error() {
        let mut scanner = FrameScanner::default();
        let err = scanner.feed(&message(10), |len| if len > 5 { Err(len) } else { Ok(()) });
        assert_eq!(err, Err(10));
    }
}
