//! Bindings for the `sandlog-source` world, generated once from the root
//! `wit/` directory. Every import and export is async so that a guest
//! waiting on the host never blocks a host thread.

wasmtime::component::bindgen!({
    path: "../wit",
    world: "sandlog-source",
    imports: { default: async },
    exports: { default: async },
});

pub use self::sandlog::guest::types::{
    Extras, Failure, LogLevel, MessageBlock, Status, Timestamp, TypedValue,
};
