//! The wire format: any value as a small header plus raw frames, each frame checksummed and
//! optionally lz4-compressed. Spill files and (later) network messages are the same bytes, so
//! a block is never re-encoded between memory, disk and the network.
//!
//! A message is: a fixed prefix (magic, version, header length, header checksum), the header
//! (the value's kind and layout, then one descriptor per frame), then the frames, each
//! starting at a 64-byte boundary of the message so a dense frame read from a file or a map
//! is aligned for any dtype. Dense blocks are one frame of their bytes in C order; sparse
//! blocks a coordinate frame and a data frame; bytes and strings one frame; table partitions
//! one frame per Arrow buffer (`table_codec`).

mod codec;
mod frame;
mod lz4;
mod mapped;
mod message;
mod table_codec;
mod task;
mod wire;

pub use frame::Compression;
pub(crate) use lz4::on_this_core;
pub use mapped::read_file;
pub(crate) use message::run_ready;
pub use message::{
    decode, encode, encoded_len, read_value, read_value_async, write_value, Encoded, FrameSum,
    Streamed,
};
pub use task::{decode_task, encode_task, WireArg, WireTask};
