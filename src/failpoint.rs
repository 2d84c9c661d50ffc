//! Failure points: named places in the runtime's own machinery (finishing a task, storing a
//! result, the worker loop, the spiller) where a test can make the library panic, to check
//! that such a panic is contained: the thread lives on and the affected futures fail with an
//! error naming the cause, instead of waiting forever.
//!
//! Unarmed (always, outside tests), a failure point costs one relaxed atomic load.

use parking_lot::Mutex;
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};

static ARMED: AtomicUsize = AtomicUsize::new(0);
static POINTS: Mutex<Option<HashMap<String, usize>>> = Mutex::new(None);

/// Arms failure point `name` to panic the next `times` times it is reached (0 disarms it).
/// For tests of the library's panic containment; never needed otherwise.
#[doc(hidden)]
pub fn arm(name: &str, times: usize) {
    let mut points = POINTS.lock();
    let map = points.get_or_insert_with(HashMap::new);
    if times == 0 {
        map.remove(name);
    } else {
        map.insert(name.to_string(), times);
    }
    ARMED.store(map.len(), Ordering::SeqCst);
}

/// How many more times `name` will panic.
#[doc(hidden)]
pub fn remaining(name: &str) -> usize {
    POINTS
        .lock()
        .as_ref()
        .and_then(|m| m.get(name).copied())
        .unwrap_or(0)
}

/// Panics if failure point `name` is armed.
#[inline]
pub(crate) fn hit(name: &str) {
    if ARMED.load(Ordering::Relaxed) == 0 {
        return;
    }
    let fire = {
        let mut points = POINTS.lock();
        let map = points.get_or_insert_with(HashMap::new);
        match map.get_mut(name) {
            Some(n) => {
                *n -= 1;
                if *n == 0 {
                    map.remove(name);
                    ARMED.store(map.len(), Ordering::SeqCst);
                }
                true
            }
            None => false,
        }
    };
    if fire {
        panic!("failure point '{name}'");
    }
}
