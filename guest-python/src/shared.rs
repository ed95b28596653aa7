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

/// What the guest's pending-area probe holds (see `pending-area` in the
/// WIT world): a str that is not ASCII, bytes that are not UTF-8 and an
/// array word. The host reads the guest's buffer only after these read
/// back exactly, which proves it reads CPython's objects as they are laid
/// out.
pub const PENDING_PROBE_STR: &str = "sandlog-pröbe";
pub const PENDING_PROBE_BYTES: [u8; 9] = [0, 0xFF, b's', b'a', b'n', b'd', b'l', b'o', b'g'];
pub const PENDING_PROBE_WORD: u32 = 0x5A4D_10C5;

/// How long, in milliseconds, a posted message may wait in the guest's
/// buffer while the source keeps posting: the post path hands the buffer
/// over once its oldest message is this old.
pub const PENDING_MAX_AGE_MS: u32 = 20;
