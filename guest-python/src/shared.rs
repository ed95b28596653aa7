// What the host and the guest must agree on, in one place. The host uses
// these constants through `sandlog_guest::shared`; the guest's build
// (`build.rs`) writes them into the Python module `_sandlog_shared`, which
// the `syslogng` package imports. Plain constants only: build.rs
// `include!`s this file.

/// Names whose value the host owns in every message it writes. A script
/// may assign them, as in AxoSyslog, but the value stays in the script's
/// message (SOURCE and HOST_FROM read back as assigned, the others as
/// AxoSyslog's macros); the host drops them from what a guest sends.
pub const HOST_OWNED_NAMES: [&str; 8] = [
    "SOURCE",
    "PRI",
    "FACILITY",
    "SEVERITY",
    "ISODATE",
    "SOURCEIP",
    "RAWMSG_SIZE",
    "HOST_FROM",
];

/// How many messages a guest buffers before it hands them to the host, by
/// default (a source's `guest_buffer`).
pub const DEFAULT_GUEST_BUFFER: u32 = 256;

/// A source's window by default (AxoSyslog's log-iw-size).
pub const DEFAULT_WINDOW: u32 = 10_000;

/// The largest message by default (syslog-ng's default log-msg-size).
pub const DEFAULT_MAX_MESSAGE_SIZE: u32 = 64 * 1024;

/// The longest name of a name-value pair, in characters.
pub const MAX_NAME_CHARS: u32 = 255;

/// The longest transport name (`set_transport_name()`), in bytes: it is
/// written into every message after it.
pub const MAX_TRANSPORT_NAME: u32 = 255;
