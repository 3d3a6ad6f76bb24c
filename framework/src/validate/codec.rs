//! The codec that validates every request message before a handler sees it.

use std::marker::PhantomData;

use prost::Message;
use tonic::Status;
use tonic::codec::{BufferSettings, Codec, DecodeBuf, Decoder};
use tonic_prost::{ProstCodec, ProstDecoder, ProstEncoder};

use super::Validate;

/// tonic's prost codec, with a decoder that validates each decoded message.
///
/// bia-build points the servers it generates at this codec (and their clients at the plain
/// `tonic_prost::ProstCodec`, so a client never checks the responses it receives). A message
/// that breaks its `buf.validate` rules fails to decode with INVALID_ARGUMENT and a
/// `google.rpc.BadRequest` listing every violation: a unary or server-streaming handler is
/// never called, and a client- or bidi-streaming handler gets that status from its stream in
/// place of the bad message, after every message before it.
#[derive(Debug, Clone)]
pub struct ValidatingCodec<T, U> {
    _types: PhantomData<(T, U)>,
}

impl<T, U> Default for ValidatingCodec<T, U> {
    fn default() -> Self {
        Self {
            _types: PhantomData,
        }
    }
}

impl<T, U> Codec for ValidatingCodec<T, U>
where
    T: Message + Send + 'static,
    U: Message + Default + Validate + Send + 'static,
{
    type Encode = T;
    type Decode = U;
    type Encoder = ProstEncoder<T>;
    type Decoder = ValidatingDecoder<U>;

    fn encoder(&mut self) -> Self::Encoder {
        ProstCodec::<T, U>::default().encoder()
    }

    fn decoder(&mut self) -> Self::Decoder {
        ValidatingDecoder {
            inner: ProstCodec::<T, U>::default().decoder(),
        }
    }
}

/// The decoder of [`ValidatingCodec`]: prost's, then [`Validate::check`].
#[derive(Debug, Clone)]
pub struct ValidatingDecoder<U> {
    inner: ProstDecoder<U>,
}

impl<U: Message + Default + Validate> Decoder for ValidatingDecoder<U> {
    type Item = U;
    type Error = Status;

    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<U>, Status> {
        match self.inner.decode(src)? {
            Some(message) => match message.check() {
                Ok(()) => Ok(Some(message)),
                Err(violations) => Err(violations.into()),
            },
            None => Ok(None),
        }
    }

    fn buffer_settings(&self) -> BufferSettings {
        self.inner.buffer_settings()
    }
}
