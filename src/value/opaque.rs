//! Opaque host values (a rooted Julia or R object): an address the library never looks
//! into, released through its callback. A host value registered with a codec can also be
//! serialized — spilled to disk and read back — through the codec's callbacks.

use crate::error::{Error, Result};
use parking_lot::Mutex;
use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

/// Turns host objects of one kind into bytes and back (the host language's own serializer).
pub trait OpaqueCodec: Send + Sync {
    /// The name the codec is registered under (written into spill files and messages).
    fn name(&self) -> &str;
    /// The bytes of the object at `address`.
    fn serialize(&self, address: usize) -> Result<Vec<u8>>;
    /// The address of a new object from bytes `serialize` produced.
    fn deserialize(&self, bytes: &[u8]) -> Result<usize>;
    /// Frees the object at `address` (when the last reference to its value goes).
    fn release(&self, address: usize);
}

fn registry() -> &'static Mutex<HashMap<String, Arc<dyn OpaqueCodec>>> {
    static R: OnceLock<Mutex<HashMap<String, Arc<dyn OpaqueCodec>>>> = OnceLock::new();
    R.get_or_init(Default::default)
}

/// Registers `codec` under its name, process-wide.
pub fn register_opaque_codec(codec: Arc<dyn OpaqueCodec>) -> Result<()> {
    let mut r = registry().lock();
    let name = codec.name().to_string();
    if r.contains_key(&name) {
        return Err(Error::AlreadyExists(format!(
            "an opaque codec named '{name}' is registered already"
        )));
    }
    r.insert(name, codec);
    Ok(())
}

/// The codec registered under `name`.
pub fn opaque_codec(name: &str) -> Option<Arc<dyn OpaqueCodec>> {
    registry().lock().get(name).cloned()
}

/// Host data carried through graphs untouched: an address plus what to call when the last
/// reference is dropped, and optionally a codec and an in-memory size, which make it count
/// towards the memory limit and spillable.
pub struct Opaque {
    address: usize,
    release: Option<Box<dyn FnOnce() + Send + Sync>>,
    codec: Option<Arc<dyn OpaqueCodec>>,
    nbytes: usize,
}

impl Opaque {
    /// Wraps `address`; `release` runs once, when the last reference goes.
    pub fn new(address: usize, release: Option<Box<dyn FnOnce() + Send + Sync>>) -> Arc<Self> {
        Arc::new(Opaque {
            address,
            release,
            codec: None,
            nbytes: 0,
        })
    }

    /// Wraps `address` as an object of `codec` holding `nbytes` of memory; the codec
    /// releases it.
    pub fn with_codec(address: usize, codec: Arc<dyn OpaqueCodec>, nbytes: usize) -> Arc<Self> {
        let c = codec.clone();
        Arc::new(Opaque {
            address,
            release: Some(Box::new(move || c.release(address))),
            codec: Some(codec),
            nbytes,
        })
    }

    /// The wrapped address.
    pub fn address(&self) -> usize {
        self.address
    }

    /// The in-memory size the host declared (0 without a codec).
    pub fn nbytes(&self) -> usize {
        self.nbytes
    }

    /// The codec that serializes this object, if any.
    pub fn codec(&self) -> Option<&Arc<dyn OpaqueCodec>> {
        self.codec.as_ref()
    }
}

impl std::fmt::Debug for Opaque {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Opaque({:#x})", self.address)
    }
}

impl Drop for Opaque {
    fn drop(&mut self) {
        if let Some(release) = self.release.take() {
            release();
        }
    }
}
