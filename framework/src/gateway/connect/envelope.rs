//! Connect's streaming envelopes: one flags byte, a 4-byte big-endian length, the bytes.
//!
//! Flag `0x01` marks a compressed message, `0x02` the end-of-stream message (JSON with the
//! final error and the trailers). The decoder is fed the body's chunks as they come and never
//! copies a message that arrived whole in one chunk.

use bytes::{Buf, BufMut, Bytes, BytesMut};

/// The message is compressed with the stream's `connect-content-encoding`.
pub(crate) const COMPRESSED: u8 = 0x01;
/// The last envelope of a response: the end-of-stream JSON.
pub(crate) const END_STREAM: u8 = 0x02;
const HEADER: usize = 5;

/// One envelope's flags and bytes.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Envelope {
    pub(crate) flags: u8,
    pub(crate) data: Bytes,
}

/// What a body's bytes can get wrong.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub(crate) enum EnvelopeError {
    /// A message longer than the server takes.
    #[error("a message of {len} bytes is over the limit of {max} bytes")]
    TooLarge { len: usize, max: usize },
    /// The body ended inside an envelope.
    #[error("the body ended {missing} bytes short of a whole envelope")]
    Truncated { missing: usize },
}

/// Cuts envelopes out of a body's chunks.
#[derive(Debug)]
pub(crate) struct Decoder {
    buf: BytesMut,
    /// The largest message taken (`server.grpc.max_message_bytes`).
    max: usize,
}

impl Decoder {
    pub(crate) fn new(max: usize) -> Self {
        Self {
            buf: BytesMut::new(),
            max,
        }
    }

    /// Adds the next chunk of the body.
    pub(crate) fn push(&mut self, chunk: Bytes) {
        self.buf.extend_from_slice(&chunk);
    }

    /// The next whole envelope, if the bytes so far hold one.
    pub(crate) fn next(&mut self) -> Result<Option<Envelope>, EnvelopeError> {
        if self.buf.len() < HEADER {
            return Ok(None);
        }
        let len = u32::from_be_bytes([self.buf[1], self.buf[2], self.buf[3], self.buf[4]]) as usize;
        if len > self.max {
            return Err(EnvelopeError::TooLarge { len, max: self.max });
        }
        if self.buf.len() < HEADER + len {
            self.buf.reserve(HEADER + len - self.buf.len());
            return Ok(None);
        }
        let flags = self.buf[0];
        self.buf.advance(HEADER);
        let data = self.buf.split_to(len).freeze();
        Ok(Some(Envelope { flags, data }))
    }

    /// Checks, once the body has ended, that no partial envelope is left.
    pub(crate) fn finish(&self) -> Result<(), EnvelopeError> {
        match self.buf.len() {
            0 => Ok(()),
            n if n < HEADER => Err(EnvelopeError::Truncated {
                missing: HEADER - n,
            }),
            n => {
                let len = u32::from_be_bytes([self.buf[1], self.buf[2], self.buf[3], self.buf[4]]);
                Err(EnvelopeError::Truncated {
                    missing: HEADER + len as usize - n,
                })
            }
        }
    }
}

/// `data` in an envelope with `flags`.
pub(crate) fn encode(flags: u8, data: &[u8]) -> Bytes {
    let mut out = BytesMut::with_capacity(HEADER + data.len());
    out.put_u8(flags);
    out.put_u32(u32::try_from(data.len()).expect("a message under 4 GiB"));
    out.put_slice(data);
    out.freeze()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelopes_split_over_chunks_come_out_whole_and_in_order() {
        let mut wire = encode(0, b"first").to_vec();
        wire.extend_from_slice(&encode(COMPRESSED, b"second"));
        let mut decoder = Decoder::new(64);
        let mut out = Vec::new();
        for byte in wire {
            decoder.push(Bytes::copy_from_slice(&[byte]));
            while let Some(envelope) = decoder.next().unwrap() {
                out.push(envelope);
            }
        }
        decoder.finish().unwrap();
        assert_eq!(
            out,
            [
                Envelope {
                    flags: 0,
                    data: Bytes::from_static(b"first")
                },
                Envelope {
                    flags: COMPRESSED,
                    data: Bytes::from_static(b"second")
                },
            ]
        );
    }

    #[test]
    fn an_empty_message_is_an_envelope_too() {
        let mut decoder = Decoder::new(0);
        decoder.push(encode(0, b""));
        assert_eq!(decoder.next().unwrap().unwrap().data.len(), 0);
        assert_eq!(decoder.next().unwrap(), None);
    }

    #[test]
    fn a_message_over_the_limit_is_refused_before_it_is_buffered() {
        let mut decoder = Decoder::new(4);
        decoder.push(Bytes::from_static(&[0, 0, 0, 1, 0]));
        assert_eq!(
            decoder.next(),
            Err(EnvelopeError::TooLarge { len: 256, max: 4 })
        );
    }

    #[test]
    fn a_body_that_ends_inside_an_envelope_says_how_much_is_missing() {
        let mut decoder = Decoder::new(64);
        decoder.push(Bytes::from_static(&[0, 0, 0]));
        assert_eq!(
            decoder.finish(),
            Err(EnvelopeError::Truncated { missing: 2 })
        );
        decoder.push(Bytes::from_static(&[0, 4, b'a']));
        assert_eq!(decoder.next(), Ok(None));
        assert_eq!(
            decoder.finish(),
            Err(EnvelopeError::Truncated { missing: 3 })
        );
    }
}
