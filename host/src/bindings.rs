//! Bindings for the `sandlog-source` world, generated once from the root
//! `wit/` directory. Every import and export is async so that a guest
//! waiting on the host never blocks a host thread. The TLS imports may
//! trap: a guest that holds more sessions than its `max_handles` ends like
//! one that holds too many sockets.

wasmtime::component::bindgen!({
    path: "../wit",
    world: "sandlog-source",
    imports: {
        "sandlog:guest/tls": async | trappable,
        default: async,
    },
    exports: { default: async },
});

pub use self::sandlog::guest::types::{
    Extras, Failure, LogLevel, MessageBlock, PendingArea, Status, Timestamp, TypedValue,
};
