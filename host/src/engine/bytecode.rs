//! Scripts compiled once per process. The first instance of a script
//! compiles it before anything of it has run, and hands the marshalled code
//! object to the host; later instances of the same script (more sources,
//! restarts, recycling, reloads) load that bytecode instead of compiling
//! again. Bytecode only ever comes from an instance that has run no script
//! code, so one tenant cannot hand another its code through the cache.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use sha2::{Digest, Sha256};

/// Scripts kept at most; when full the cache starts over, which costs only
/// a compile per script.
const MAX_SCRIPTS: usize = 4096;

/// What identifies a compiled script: its file name (shown in tracebacks
/// and kept in the code object) and its text.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct ScriptKey([u8; 32]);

impl ScriptKey {
    pub fn new(filename: &str, code: &str) -> ScriptKey {
        let mut h = Sha256::new();
        h.update((filename.len() as u64).to_le_bytes());
        h.update(filename);
        h.update(code);
        ScriptKey(h.finalize().into())
    }
}

/// The bytecode of the scripts compiled so far, as the guest returned it
/// (marshalled, one character per byte).
#[derive(Default)]
pub struct BytecodeCache {
    scripts: Mutex<HashMap<ScriptKey, Arc<str>>>,
}

impl BytecodeCache {
    pub fn get(&self, key: &ScriptKey) -> Option<Arc<str>> {
        self.lock().get(key).cloned()
    }

    pub fn insert(&self, key: ScriptKey, bytecode: Arc<str>) {
        let mut scripts = self.lock();
        if scripts.len() >= MAX_SCRIPTS {
            scripts.clear();
        }
        scripts.insert(key, bytecode);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<ScriptKey, Arc<str>>> {
        // A panic while holding the lock leaves the map whole.
        self.scripts.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_tell_file_names_and_texts_apart() {
        let a = ScriptKey::new("a.py", "x = 1");
        assert_eq!(a, ScriptKey::new("a.py", "x = 1"));
        assert_ne!(a, ScriptKey::new("b.py", "x = 1"));
        assert_ne!(a, ScriptKey::new("a.py", "x = 2"));
        // The length prefix keeps the two parts from running together.
        assert_ne!(ScriptKey::new("ab", "c"), ScriptKey::new("a", "bc"));
    }

    #[test]
    fn a_full_cache_starts_over() {
        let cache = BytecodeCache::default();
        for i in 0..MAX_SCRIPTS {
            cache.insert(ScriptKey::new("s.py", &i.to_string()), "b".into());
        }
        let first = ScriptKey::new("s.py", "0");
        assert!(cache.get(&first).is_some());
        cache.insert(ScriptKey::new("s.py", "new"), "b".into());
        assert!(cache.get(&first).is_none());
        assert!(cache.get(&ScriptKey::new("s.py", "new")).is_some());
    }
}
