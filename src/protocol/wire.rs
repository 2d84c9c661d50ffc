//! Little-endian fields of the header, written to a vector and read back with every length
//! checked: a short or corrupt header is an error, never a panic or a wild allocation.

use crate::error::{Error, Result};

#[derive(Default)]
pub(super) struct Writer {
    pub(super) bytes: Vec<u8>,
}

impl Writer {
    pub(super) fn u8(&mut self, v: u8) {
        self.bytes.push(v);
    }
    pub(super) fn u32(&mut self, v: u32) {
        self.bytes.extend_from_slice(&v.to_le_bytes());
    }
    pub(super) fn u64(&mut self, v: u64) {
        self.bytes.extend_from_slice(&v.to_le_bytes());
    }
    pub(super) fn raw(&mut self, v: &[u8]) {
        self.bytes.extend_from_slice(v);
    }
}

/// Reads fields from a header; errors name `what` (the key or file being decoded).
pub(super) struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
    what: &'a str,
}

impl<'a> Reader<'a> {
    pub(super) fn new(bytes: &'a [u8], what: &'a str) -> Self {
        Reader { bytes, at: 0, what }
    }

    pub(super) fn corrupt(&self, why: impl std::fmt::Display) -> Error {
        Error::Corrupt(format!("{}: {why}", self.what))
    }

    pub(super) fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        let end = self
            .at
            .checked_add(n)
            .filter(|&e| e <= self.bytes.len())
            .ok_or_else(|| self.corrupt("the header is truncated"))?;
        let s = &self.bytes[self.at..end];
        self.at = end;
        Ok(s)
    }

    pub(super) fn u8(&mut self) -> Result<u8> {
        Ok(self.take(1)?[0])
    }
    pub(super) fn u32(&mut self) -> Result<u32> {
        Ok(u32::from_le_bytes(
            self.take(4)?.try_into().expect("4 bytes"),
        ))
    }
    pub(super) fn u64(&mut self) -> Result<u64> {
        Ok(u64::from_le_bytes(
            self.take(8)?.try_into().expect("8 bytes"),
        ))
    }

    /// A length that must fit in memory (usize).
    pub(super) fn len(&mut self) -> Result<usize> {
        let v = self.u64()?;
        usize::try_from(v).map_err(|_| self.corrupt(format!("length {v} does not fit")))
    }

    pub(super) fn finished(&self) -> Result<()> {
        if self.at == self.bytes.len() {
            Ok(())
        } else {
            Err(self.corrupt("the header has trailing bytes"))
        }
    }
}
