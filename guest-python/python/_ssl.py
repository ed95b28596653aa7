"""_ssl for sandlog: what CPython's own ssl.py needs, on TLS sessions that
the host runs (rustls) under the source's policy.

CPython for WASI has no OpenSSL. This module gives ssl.py (and through it
asyncio, http.client, urllib, and libraries such as urllib3, httpx,
tornado and aiohttp) the same types and behaviour: _SSLContext, the
object behind SSLSocket and SSLObject, MemoryBIO, the SSLError family with
OpenSSL's codes, the constants. A session in the host does no I/O: this
module moves the bytes between it and the script's own socket (or the
memory buffers of SSLObject), so the network policy, selectors and
asyncio see the script's real sockets.

What the policy decides, the host enforces: the CAs a client trusts (a
script's own load_verify_locations() counts only where the policy lets
it), whether verification may be turned off, and the identities a server
or client may present (load_cert_chain() with a path under /identities
names one; its private key stays in the host).
"""

import base64 as _base64
import binascii as _binascii
import operator as _operator
import os as _os
import time as _time
import warnings as _warnings
import weakref as _weakref

import _socket

from componentize_py_types import Err as _Err

from _sandlog import blocking as _blocking
from _sandlog.hostcalls import tls as _tls

# What libraries check before they use TLS: report an OpenSSL 3.0 so that
# none of them takes a degraded path (urllib3 refuses anything below
# 1.1.1, and matches "OpenSSL " to trust the hostname flags).
OPENSSL_VERSION = "OpenSSL 3.0.0 (compatible; TLS by rustls in the sandlog host)"
OPENSSL_VERSION_NUMBER = 0x30000000
OPENSSL_VERSION_INFO = (3, 0, 0, 0, 0)
_OPENSSL_API_VERSION = (3, 0, 0, 0, 0)
_DEFAULT_CIPHERS = (
    "@SECLEVEL=2:ECDH+AESGCM:ECDH+CHACHA20:ECDH+AES:DHE+AES:!aNULL:!eNULL:!aDSS:!SHA1:!AESCCM"
)

HAS_SNI = True
HAS_TLS_UNIQUE = False
HAS_ECDH = True
HAS_NPN = False
HAS_ALPN = True
HAS_SSLv2 = False
HAS_SSLv3 = False
HAS_TLSv1 = False
HAS_TLSv1_1 = False
HAS_TLSv1_2 = True
HAS_TLSv1_3 = True
HAS_PSK = False
HAS_PHA = False

# ssl.py turns every module-level name with these prefixes into an enum
# member: helpers here start with an underscore.
SSL_ERROR_SSL = 1
SSL_ERROR_WANT_READ = 2
SSL_ERROR_WANT_WRITE = 3
SSL_ERROR_WANT_X509_LOOKUP = 4
SSL_ERROR_SYSCALL = 5
SSL_ERROR_ZERO_RETURN = 6
SSL_ERROR_WANT_CONNECT = 7
SSL_ERROR_EOF = 8
SSL_ERROR_INVALID_ERROR_CODE = 10

CERT_NONE = 0
CERT_OPTIONAL = 1
CERT_REQUIRED = 2

PROTOCOL_SSLv23 = 2
PROTOCOL_TLS = 2
PROTOCOL_TLSv1 = 3
PROTOCOL_TLSv1_1 = 4
PROTOCOL_TLSv1_2 = 5
PROTOCOL_TLS_CLIENT = 16
PROTOCOL_TLS_SERVER = 17

PROTO_MINIMUM_SUPPORTED = -2
PROTO_MAXIMUM_SUPPORTED = -1
PROTO_SSLv3 = 0x300
PROTO_TLSv1 = 0x301
PROTO_TLSv1_1 = 0x302
PROTO_TLSv1_2 = 0x303
PROTO_TLSv1_3 = 0x304

OP_ALL = 0x80000050
OP_NO_SSLv2 = 0
OP_NO_SSLv3 = 0x02000000
OP_NO_TLSv1 = 0x04000000
OP_NO_TLSv1_1 = 0x10000000
OP_NO_TLSv1_2 = 0x08000000
OP_NO_TLSv1_3 = 0x20000000
OP_CIPHER_SERVER_PREFERENCE = 0x00400000
OP_SINGLE_DH_USE = 0
OP_SINGLE_ECDH_USE = 0
OP_NO_TICKET = 0x00004000
OP_LEGACY_SERVER_CONNECT = 0x00000004
OP_NO_COMPRESSION = 0x00020000
OP_ENABLE_MIDDLEBOX_COMPAT = 0x00100000
OP_NO_RENEGOTIATION = 0x40000000
OP_IGNORE_UNEXPECTED_EOF = 0x00000080

VERIFY_DEFAULT = 0
VERIFY_CRL_CHECK_LEAF = 0x4
VERIFY_CRL_CHECK_CHAIN = 0xC
VERIFY_X509_STRICT = 0x20
VERIFY_ALLOW_PROXY_CERTS = 0x40
VERIFY_X509_TRUSTED_FIRST = 0x8000
VERIFY_X509_PARTIAL_CHAIN = 0x80000

HOSTFLAG_ALWAYS_CHECK_SUBJECT = 0x1
HOSTFLAG_NO_WILDCARDS = 0x2
HOSTFLAG_NO_PARTIAL_WILDCARDS = 0x4
HOSTFLAG_MULTI_LABEL_WILDCARDS = 0x8
HOSTFLAG_SINGLE_LABEL_SUBDOMAINS = 0x10
HOSTFLAG_NEVER_CHECK_SUBJECT = 0x20

ENCODING_PEM = 1
ENCODING_DER = 2

ALERT_DESCRIPTION_CLOSE_NOTIFY = 0
ALERT_DESCRIPTION_UNEXPECTED_MESSAGE = 10
ALERT_DESCRIPTION_BAD_RECORD_MAC = 20
ALERT_DESCRIPTION_RECORD_OVERFLOW = 22
ALERT_DESCRIPTION_DECOMPRESSION_FAILURE = 30
ALERT_DESCRIPTION_HANDSHAKE_FAILURE = 40
ALERT_DESCRIPTION_BAD_CERTIFICATE = 42
ALERT_DESCRIPTION_UNSUPPORTED_CERTIFICATE = 43
ALERT_DESCRIPTION_CERTIFICATE_REVOKED = 44
ALERT_DESCRIPTION_CERTIFICATE_EXPIRED = 45
ALERT_DESCRIPTION_CERTIFICATE_UNKNOWN = 46
ALERT_DESCRIPTION_ILLEGAL_PARAMETER = 47
ALERT_DESCRIPTION_UNKNOWN_CA = 48
ALERT_DESCRIPTION_ACCESS_DENIED = 49
ALERT_DESCRIPTION_DECODE_ERROR = 50
ALERT_DESCRIPTION_DECRYPT_ERROR = 51
ALERT_DESCRIPTION_PROTOCOL_VERSION = 70
ALERT_DESCRIPTION_INSUFFICIENT_SECURITY = 71
ALERT_DESCRIPTION_INTERNAL_ERROR = 80
ALERT_DESCRIPTION_USER_CANCELLED = 90
ALERT_DESCRIPTION_NO_RENEGOTIATION = 100
ALERT_DESCRIPTION_UNSUPPORTED_EXTENSION = 110
ALERT_DESCRIPTION_CERTIFICATE_UNOBTAINABLE = 111
ALERT_DESCRIPTION_UNRECOGNIZED_NAME = 112
ALERT_DESCRIPTION_BAD_CERTIFICATE_STATUS_RESPONSE = 113
ALERT_DESCRIPTION_BAD_CERTIFICATE_HASH_VALUE = 114
ALERT_DESCRIPTION_UNKNOWN_PSK_IDENTITY = 115

# Where a granted identity is named (see the module docstring).
_IDENTITIES = "/identities/"

# The TLS bytes read from a socket at once, and the plaintext handed to a
# session in one step.
_RECV = 256 * 1024
_WRITE_CHUNK = 64 * 1024
# A TLS record is at most 16 KiB of plaintext plus its overhead.
_RECORD = 16 * 1024 + 256


# --- exceptions -------------------------------------------------------------

class SSLError(OSError):
    """An error in the SSL implementation."""

    def __str__(self):
        if isinstance(self.strerror, str):
            return self.strerror
        return str(self.args)


class SSLCertVerificationError(SSLError, ValueError):
    """A certificate could not be verified."""


class SSLZeroReturnError(SSLError):
    """SSL/TLS session closed cleanly."""


class SSLWantReadError(SSLError):
    """Non-blocking SSL socket needs to read more data before the requested
    operation can be completed."""


class SSLWantWriteError(SSLError):
    """Non-blocking SSL socket needs to write more data before the requested
    operation can be completed."""


class SSLSyscallError(SSLError):
    """System error when attempting SSL operation."""


class SSLEOFError(SSLError):
    """SSL/TLS connection terminated abruptly."""


for _cls in (SSLError, SSLCertVerificationError, SSLZeroReturnError, SSLWantReadError,
             SSLWantWriteError, SSLSyscallError, SSLEOFError):
    _cls.__module__ = "ssl"
del _cls


def _ssl_error(cls, code, text, reason=None, library=None):
    """An error as _ssl.c makes it: `[LIB: REASON] text`, with its reason and
    library attributes."""
    if reason:
        text = f"[{library or 'SSL'}: {reason}] {text}"
    e = cls(code, text)
    e.reason = reason
    e.library = (library or "SSL") if reason else None
    return e


def _want_read():
    return _ssl_error(SSLWantReadError, SSL_ERROR_WANT_READ, "The operation did not complete (read)")


def _want_write():
    return _ssl_error(SSLWantWriteError, SSL_ERROR_WANT_WRITE, "The operation did not complete (write)")


def _from_host(err, first_eof):
    """The exception for a TLS error the host reported."""
    kind = err.kind
    if kind == _tls.ErrorKind.CERT_VERIFY:
        e = _ssl_error(SSLCertVerificationError, SSL_ERROR_SSL, err.message, "CERTIFICATE_VERIFY_FAILED")
        e.verify_code = err.verify_code
        e.verify_message = err.verify_message
        return e
    if kind == _tls.ErrorKind.EOF:
        if first_eof:
            return _ssl_error(SSLEOFError, SSL_ERROR_EOF, err.message, err.reason or None)
        return _ssl_error(SSLEOFError, SSL_ERROR_EOF, err.message)
    if kind == _tls.ErrorKind.ZERO_RETURN:
        return _ssl_error(SSLZeroReturnError, SSL_ERROR_ZERO_RETURN, "TLS/SSL connection has been closed (EOF)")
    if kind == _tls.ErrorKind.DENIED:
        return _ssl_error(SSLError, SSL_ERROR_SSL, err.message)
    return _ssl_error(SSLError, SSL_ERROR_SSL, err.message, err.reason or None)


class _Need(Exception):
    """An operation needs transport I/O before it can go on."""

    def __init__(self, read):
        self.read = read


def _latin1(data):
    """Bytes as the host takes them (one character per byte)."""
    return bytes(data).decode("latin-1")


# --- module functions -------------------------------------------------------

# (nid, short name, long name, OID) of the objects ssl.py and the
# certificate names use.
_OBJECTS = (
    (129, "serverAuth", "TLS Web Server Authentication", "1.3.6.1.5.5.7.3.1"),
    (130, "clientAuth", "TLS Web Client Authentication", "1.3.6.1.5.5.7.3.2"),
    (13, "CN", "commonName", "2.5.4.3"),
    (14, "C", "countryName", "2.5.4.6"),
    (15, "L", "localityName", "2.5.4.7"),
    (16, "ST", "stateOrProvinceName", "2.5.4.8"),
    (17, "O", "organizationName", "2.5.4.10"),
    (18, "OU", "organizationalUnitName", "2.5.4.11"),
    (48, "emailAddress", "emailAddress", "1.2.840.113549.1.9.1"),
)


def txt2obj(txt, name=False):
    for obj in _OBJECTS:
        if txt == obj[3] or (name and txt in (obj[1], obj[2])):
            return obj
    raise ValueError(f"unknown object '{txt:.100}'")


def nid2obj(nid):
    if nid < 0:
        raise ValueError("NID must be positive.")
    for obj in _OBJECTS:
        if obj[0] == nid:
            return obj
    raise ValueError(f"unknown NID {nid}")


def RAND_bytes(n):
    if n < 0:
        raise ValueError("num must be positive")
    return _os.urandom(n)


def RAND_status():
    return True


def RAND_add(string, entropy):
    return None


def get_default_verify_paths():
    # The trust is the policy's; there is no CA file in the sandbox.
    return ("SSL_CERT_FILE", "/etc/ssl/cert.pem", "SSL_CERT_DIR", "/etc/ssl/certs")


def _pem_certificates(text):
    """The DER certificates of PEM text (what is around them is ignored)."""
    out = []
    begin, end = "-----BEGIN CERTIFICATE-----", "-----END CERTIFICATE-----"
    at = 0
    while True:
        start = text.find(begin, at)
        if start < 0:
            return out
        stop = text.find(end, start)
        if stop < 0:
            return out
        body = text[start + len(begin):stop]
        try:
            out.append(_base64.b64decode("".join(body.split()), validate=True))
        except (_binascii.Error, ValueError):
            raise _ssl_error(SSLError, 9, "bad base64 decode", "BAD_BASE64_DECODE", "PEM") from None
        at = stop + len(end)


def _der_certificates(data):
    """Concatenated DER certificates, split by their ASN.1 lengths."""
    out = []
    data = bytes(data)
    at = 0
    while at + 2 <= len(data):
        if data[at] != 0x30:
            break
        first = data[at + 1]
        if first < 0x80:
            length, head = first, 2
        else:
            n = first & 0x7F
            if n == 0 or n > 4 or at + 2 + n > len(data):
                break
            length = int.from_bytes(data[at + 2:at + 2 + n], "big")
            head = 2 + n
        if at + head + length > len(data):
            break
        out.append(data[at:at + head + length])
        at += head + length
    if out and at != len(data):
        raise _ssl_error(SSLError, 13, "not enough data", "NOT_ENOUGH_DATA", "ASN1")
    return out


def _cert_dict(info):
    """A decoded certificate as getpeercert() returns it."""
    def name(rdns):
        return tuple(tuple((k, v) for k, v in rdn) for rdn in rdns)
    d = {
        "subject": name(info.subject),
        "issuer": name(info.issuer),
        "version": info.version,
        "serialNumber": info.serial_number,
        "notBefore": info.not_before,
        "notAfter": info.not_after,
    }
    if info.has_subject_alt_name:
        d["subjectAltName"] = tuple((k, v) for k, v in info.subject_alt_name)
    if info.ocsp:
        d["OCSP"] = tuple(info.ocsp)
    if info.ca_issuers:
        d["caIssuers"] = tuple(info.ca_issuers)
    if info.crl_distribution_points:
        d["crlDistributionPoints"] = tuple(info.crl_distribution_points)
    return d


def _host_call(fn, *args):
    """Calls the host; returns (result, None), or (None, its error). The
    caller raises outside the except clause, so that the host's error
    object never hangs on the exception's __context__ (it is a frozen
    dataclass, which unittest's traceback cleaning cannot handle)."""
    try:
        return fn(*args), None
    except _Err as e:
        return None, e.value


def _decode_info(der):
    info, err = _host_call(_tls.decode_certificate, _latin1(der))
    if err is not None:
        raise _ssl_error(SSLError, 0, f"cannot decode the certificate: {err}")
    return info


def _decode(der):
    return _cert_dict(_decode_info(der))


def _test_decode_cert(path):
    try:
        with open(_os.fsdecode(path), "rb") as f:
            text = f.read().decode("latin-1")
    except OSError:
        raise SSLError("Can't open file") from None
    certs = _pem_certificates(text)
    if not certs:
        raise SSLError("Error decoding PEM-encoded file")
    return _decode(certs[0])


# --- Certificate, SSLSession ------------------------------------------------

# RFC 2253 names of the attributes, as OpenSSL prints a certificate's
# subject.
_SHORT_NAMES = {
    "commonName": "CN", "countryName": "C", "localityName": "L", "stateOrProvinceName": "ST",
    "organizationName": "O", "organizationalUnitName": "OU", "streetAddress": "STREET",
    "domainComponent": "DC", "userId": "UID",
}


class Certificate:
    """A certificate of a chain (get_verified_chain, get_unverified_chain)."""

    __slots__ = ("_der",)

    def __new__(cls, *args, **kwargs):
        raise TypeError("cannot create '_ssl.Certificate' instances")

    @classmethod
    def _of(cls, der):
        self = object.__new__(cls)
        self._der = bytes(der)
        return self

    def public_bytes(self, format=ENCODING_PEM):
        if format == ENCODING_DER:
            return self._der
        if format == ENCODING_PEM:
            b64 = _base64.b64encode(self._der).decode("ascii")
            lines = [b64[i:i + 64] for i in range(0, len(b64), 64)]
            return "-----BEGIN CERTIFICATE-----\n" + "\n".join(lines) + "\n-----END CERTIFICATE-----\n"
        raise ValueError("Unsupported format")

    def get_info(self):
        return _decode(self._der)

    def __eq__(self, other):
        if not isinstance(other, Certificate):
            return NotImplemented
        return self._der == other._der

    def __hash__(self):
        return hash(self._der)

    def __repr__(self):
        subject = self.get_info().get("subject", ())
        text = ",".join(f"{_SHORT_NAMES.get(k, k)}={v}" for rdn in reversed(subject) for k, v in rdn)
        return f"<_ssl.Certificate '{text}'>"


class SSLSession:
    """A TLS session. rustls resumes sessions itself, within a context; a
    session object carries no state of its own here."""

    def __new__(cls, *args, **kwargs):
        raise TypeError("cannot create '_ssl.SSLSession' instances")

    @classmethod
    def _of(cls, context):
        self = object.__new__(cls)
        self._context = context
        self.id = b""
        self.time = int(_time.time())
        self.timeout = 7200
        self.ticket_lifetime_hint = 0
        self.has_ticket = False
        return self

    def __eq__(self, other):
        if not isinstance(other, SSLSession):
            return NotImplemented
        return self is other


# --- MemoryBIO ---------------------------------------------------------------

class MemoryBIO:
    """A buffer of bytes, the transport of an SSLObject."""

    def __init__(self):
        self._buf = bytearray()
        self._eof = False

    @property
    def pending(self):
        return len(self._buf)

    @property
    def eof(self):
        return self._eof and not self._buf

    def read(self, size=-1, /):
        n = len(self._buf) if size < 0 or size > len(self._buf) else size
        data = bytes(self._buf[:n])
        del self._buf[:n]
        return data

    def write(self, b, /):
        if isinstance(b, str):
            raise TypeError("a bytes-like object is required, not 'str'")
        view = memoryview(b)
        if not view.contiguous:
            raise BufferError("memoryview: underlying buffer is not C-contiguous")
        if self._eof:
            raise SSLError("cannot write() after write_eof()")
        self._buf += view
        return view.nbytes

    def write_eof(self):
        self._eof = True


# --- _SSLContext -------------------------------------------------------------

_TLS13_SUITES = (
    (0x1302, "TLS_AES_256_GCM_SHA384", "aes-256-gcm", 256, "TLSv1.3"),
    (0x1301, "TLS_AES_128_GCM_SHA256", "aes-128-gcm", 128, "TLSv1.3"),
    (0x1303, "TLS_CHACHA20_POLY1305_SHA256", "chacha20-poly1305", 256, "TLSv1.3"),
    (0xC02C, "ECDHE-ECDSA-AES256-GCM-SHA384", "aes-256-gcm", 256, "TLSv1.2"),
    (0xC02B, "ECDHE-ECDSA-AES128-GCM-SHA256", "aes-128-gcm", 128, "TLSv1.2"),
    (0xCCA9, "ECDHE-ECDSA-CHACHA20-POLY1305", "chacha20-poly1305", 256, "TLSv1.2"),
    (0xC030, "ECDHE-RSA-AES256-GCM-SHA384", "aes-256-gcm", 256, "TLSv1.2"),
    (0xC02F, "ECDHE-RSA-AES128-GCM-SHA256", "aes-128-gcm", 128, "TLSv1.2"),
    (0xCCA8, "ECDHE-RSA-CHACHA20-POLY1305", "chacha20-poly1305", 256, "TLSv1.2"),
)

_CURVES = ("prime256v1", "secp384r1", "X25519")


class _SSLContext:
    """The host-side TLS settings a script's SSLContext builds up."""

    def __new__(cls, protocol):
        if protocol not in (PROTOCOL_TLS, PROTOCOL_TLS_CLIENT, PROTOCOL_TLS_SERVER,
                            PROTOCOL_TLSv1_2, PROTOCOL_TLSv1, PROTOCOL_TLSv1_1):
            raise ValueError(f"invalid or unsupported protocol version {protocol}")
        if protocol in (PROTOCOL_TLS, PROTOCOL_TLSv1, PROTOCOL_TLSv1_1, PROTOCOL_TLSv1_2):
            name = {PROTOCOL_TLS: "PROTOCOL_TLS", PROTOCOL_TLSv1: "PROTOCOL_TLSv1",
                    PROTOCOL_TLSv1_1: "PROTOCOL_TLSv1_1", PROTOCOL_TLSv1_2: "PROTOCOL_TLSv1_2"}[protocol]
            _warnings.warn(f"ssl.{name} is deprecated", DeprecationWarning, stacklevel=3)
        if protocol in (PROTOCOL_TLSv1, PROTOCOL_TLSv1_1):
            raise ValueError(f"invalid or unsupported protocol version {protocol}")
        self = object.__new__(cls)
        self._protocol = protocol
        client = protocol == PROTOCOL_TLS_CLIENT
        self._check_hostname = client
        self._verify_mode = CERT_REQUIRED if client else CERT_NONE
        self._options = OP_ALL | OP_NO_SSLv3 | OP_NO_COMPRESSION | OP_CIPHER_SERVER_PREFERENCE | OP_ENABLE_MIDDLEBOX_COMPAT
        self._verify_flags = VERIFY_X509_TRUSTED_FIRST
        self._host_flags = HOSTFLAG_NO_PARTIAL_WILDCARDS
        self._min = PROTO_TLSv1_2
        self._max = PROTO_MAXIMUM_SUPPORTED
        if protocol == PROTOCOL_TLSv1_2:
            self._min = self._max = PROTO_TLSv1_2
        self._alpn = []
        self._script_ca = []
        self._identity = None
        self._sni_callback = None
        self._msg_callback = None
        self._keylog = None
        self._num_tickets = 2
        self._ciphers = _DEFAULT_CIPHERS
        return self

    # Properties are data descriptors on the class, as ssl.py reaches them
    # through super(SSLContext, SSLContext).X.__set__.

    @property
    def protocol(self):
        return self._protocol

    @property
    def verify_mode(self):
        return self._verify_mode

    @verify_mode.setter
    def verify_mode(self, value):
        n = _operator.index(value)
        if n not in (CERT_NONE, CERT_OPTIONAL, CERT_REQUIRED):
            raise ValueError("invalid value for verify_mode")
        if n == CERT_NONE and self._check_hostname:
            raise ValueError("Cannot set verify_mode to CERT_NONE when check_hostname is enabled.")
        self._verify_mode = n

    @property
    def check_hostname(self):
        return self._check_hostname

    @check_hostname.setter
    def check_hostname(self, value):
        value = bool(value)
        if value and self._verify_mode == CERT_NONE:
            self._verify_mode = CERT_REQUIRED
        self._check_hostname = value

    @property
    def options(self):
        return self._options

    @options.setter
    def options(self, value):
        if not isinstance(value, int):
            raise TypeError(f"'{type(value).__name__}' object cannot be interpreted as an integer")
        new = int(value)
        if new < 0 or new >= 1 << 64:
            raise OverflowError("options must be a non-negative integer of at most 64 bits")
        added = new & ~self._options
        if added & (OP_NO_SSLv3 | OP_NO_TLSv1 | OP_NO_TLSv1_1 | OP_NO_TLSv1_2 | OP_NO_TLSv1_3):
            _warnings.warn("ssl.OP_NO_SSL*/ssl.OP_NO_TLS* options are deprecated",
                           DeprecationWarning, stacklevel=3)
        self._options = new

    @property
    def verify_flags(self):
        return self._verify_flags

    @verify_flags.setter
    def verify_flags(self, value):
        self._verify_flags = int(value)

    @property
    def minimum_version(self):
        return self._min

    @minimum_version.setter
    def minimum_version(self, value):
        self._min = self._version(value)

    @property
    def maximum_version(self):
        return self._max

    @maximum_version.setter
    def maximum_version(self, value):
        self._max = self._version(value)

    def _version(self, value):
        v = int(value)
        if self._protocol not in (PROTOCOL_TLS, PROTOCOL_TLS_CLIENT, PROTOCOL_TLS_SERVER):
            raise ValueError("The context's protocol doesn't support modification of highest and lowest version.")
        names = {PROTO_SSLv3: "SSLv3", PROTO_TLSv1: "TLSv1", PROTO_TLSv1_1: "TLSv1_1"}
        if v in names:
            _warnings.warn(f"ssl.TLSVersion.{names[v]} is deprecated", DeprecationWarning, stacklevel=4)
        elif v not in (PROTO_MINIMUM_SUPPORTED, PROTO_MAXIMUM_SUPPORTED, PROTO_TLSv1_2, PROTO_TLSv1_3):
            raise ValueError(f"Unsupported TLS/SSL version 0x{v:x}")
        return v

    @property
    def post_handshake_auth(self):
        # None: not supported (rustls has no post-handshake client auth);
        # http.client and urllib3 then leave it alone.
        return None

    @property
    def sni_callback(self):
        return self._sni_callback

    @sni_callback.setter
    def sni_callback(self, value):
        if self._protocol == PROTOCOL_TLS_CLIENT:
            raise ValueError("sni_callback cannot be set on TLS_CLIENT context")
        if value is not None and not callable(value):
            raise TypeError("not a callable object")
        self._sni_callback = value

    @property
    def _msg_callback(self):
        return self.__dict__.get("_msg_cb")

    @_msg_callback.setter
    def _msg_callback(self, value):
        if value is not None and not callable(value):
            raise TypeError("not a callable object")
        self.__dict__["_msg_cb"] = value

    @property
    def keylog_filename(self):
        return self._keylog

    @keylog_filename.setter
    def keylog_filename(self, value):
        # Accepted and ignored: TLS secrets never leave the host.
        self._keylog = value

    @property
    def num_tickets(self):
        return self._num_tickets

    @num_tickets.setter
    def num_tickets(self, value):
        value = int(value)
        if value < 0:
            raise ValueError("value must be non-negative")
        if self._protocol != PROTOCOL_TLS_SERVER:
            raise ValueError("SSLContext is not a server context.")
        self._num_tickets = value

    @property
    def security_level(self):
        return 2

    # -- methods --

    def set_ciphers(self, cipherlist):
        if not isinstance(cipherlist, str):
            raise TypeError("set_ciphers() argument must be str")
        # rustls's suites are all strong ones; the list is kept for
        # get_ciphers() and otherwise ignored.
        self._ciphers = cipherlist

    def get_ciphers(self):
        out = []
        for code, name, sym, bits, proto in _TLS13_SUITES:
            out.append({
                "id": 0x03000000 | code, "name": name, "protocol": proto,
                "description": f"{name} {proto} Enc={sym}", "strength_bits": bits,
                "alg_bits": bits, "aead": True, "symmetric": sym, "digest": None,
                "kea": "kx-any" if proto == "TLSv1.3" else "kx-ecdhe",
                "auth": "auth-any" if proto == "TLSv1.3" else ("auth-ecdsa" if "ECDSA" in name else "auth-rsa"),
            })
        return out

    def _set_alpn_protocols(self, protos):
        data = bytes(protos)
        out, at = [], 0
        while at < len(data):
            n = data[at]
            out.append(data[at + 1:at + 1 + n])
            at += 1 + n
        self._alpn = out

    def load_cert_chain(self, certfile, keyfile=None, password=None):
        if password is not None and not (callable(password) or isinstance(password, (str, bytes, bytearray))):
            raise TypeError("password should be a string or callable")
        try:
            certfile = _os.fsdecode(certfile)
            keyfile = None if keyfile is None else _os.fsdecode(keyfile)
        except TypeError:
            raise TypeError("certfile should be a valid filesystem path") from None
        if certfile.startswith(_IDENTITIES):
            identity, err = _host_call(_tls.Identity.granted, certfile, keyfile)
            if err is not None:
                raise _from_host(err, False)
            self._identity = identity
            return
        # A certificate and key of the script's own, from its files.
        with open(certfile, "rb") as f:
            chain = f.read()
        if keyfile is None:
            key = chain
        else:
            with open(keyfile, "rb") as f:
                key = f.read()
        pw = None
        if b"ENCRYPTED" in key:
            # As OpenSSL: the password (or its callback) is asked for only
            # when a key must be decrypted.
            if callable(password):
                password = password()
                if not isinstance(password, (str, bytes, bytearray)):
                    raise TypeError("password callback must return a string")
            if password:
                pw = _latin1(password.encode() if isinstance(password, str) else password)
        identity, err = _host_call(_tls.Identity.from_pem, _latin1(chain), _latin1(key), pw)
        if err is not None:
            raise _ssl_error(SSLError, 9, err.message, None, "SSL")
        self._identity = identity

    def load_verify_locations(self, cafile=None, capath=None, cadata=None):
        if cafile is None and capath is None and cadata is None:
            raise TypeError("cafile, capath and cadata cannot be all omitted")
        found = []
        if cafile is not None:
            with open(_os.fsdecode(cafile), "rb") as f:
                data = f.read()
            try:
                certs = _pem_certificates(data.decode("latin-1")) or _der_certificates(data)
            except SSLError:
                # OpenSSL reports a corrupt certificate in a CA file this way.
                raise _ssl_error(SSLError, 9, "PEM lib", "PEM_LIB", "X509") from None
            if not certs:
                raise _ssl_error(SSLError, 136, "no certificate or crl found", "NO_CERTIFICATE_OR_CRL_FOUND", "X509")
            found += certs
        if capath is not None:
            path = _os.fsdecode(capath)
            for name in sorted(_os.listdir(path)):
                try:
                    with open(_os.path.join(path, name), "rb") as f:
                        data = f.read()
                except OSError:
                    continue
                found += _pem_certificates(data.decode("latin-1")) or _der_certificates(data)
        if cadata is not None:
            if isinstance(cadata, str):
                if not cadata.isascii():
                    raise TypeError("cadata should be an ASCII string or a bytes-like object")
                certs = _pem_certificates(cadata)
                if not certs:
                    raise SSLError(0, "no start line: cadata does not contain a certificate")
            else:
                try:
                    certs = _der_certificates(memoryview(cadata))
                except TypeError:
                    raise TypeError("cadata should be an ASCII string or a bytes-like object") from None
                if not certs:
                    raise SSLError(0, "not enough data: cadata does not contain a certificate")
            found += certs
        for c in found:
            if c not in self._script_ca:
                self._script_ca.append(c)

    def set_default_verify_paths(self):
        # The default trust is the policy's (the host's system store unless
        # the policy names CAs): nothing to load here.
        return None

    def load_dh_params(self, path):
        with open(_os.fsdecode(path), "rb"):
            pass

    def set_ecdh_curve(self, name):
        name = _os.fsdecode(name)
        if name not in _CURVES:
            raise ValueError(f"unknown elliptic curve name {name!r}")

    def session_stats(self):
        keys = ("number", "connect", "connect_good", "connect_renegotiate", "accept", "accept_good",
                "accept_renegotiate", "hits", "misses", "timeouts", "cache_full")
        return dict.fromkeys(keys, 0)

    def _trusted(self):
        return list(_tls.trusted_certificates()) + list(self._script_ca)

    def cert_store_stats(self):
        certs = self._trusted()
        cas = sum(1 for c in certs if _decode_info(c).is_ca)
        return {"x509": len(certs), "crl": 0, "x509_ca": cas}

    def get_ca_certs(self, binary_form=False):
        # As OpenSSL: only certificates that are CAs.
        infos = [(c, _decode_info(c)) for c in self._trusted()]
        cas = [(c, i) for c, i in infos if i.is_ca]
        if binary_form:
            return [bytes(c) for c, _ in cas]
        return [_cert_dict(i) for _, i in cas]

    def set_psk_client_callback(self, callback):
        raise NotImplementedError("TLS-PSK is not supported by your OpenSSL version.")

    def set_psk_server_callback(self, callback, identity_hint=None):
        raise NotImplementedError("TLS-PSK is not supported by your OpenSSL version.")

    def _settings(self, server_side):
        def version(v, low):
            if v == PROTO_MINIMUM_SUPPORTED:
                return 0x0303 if not low else 0
            if v == PROTO_MAXIMUM_SUPPORTED:
                return 0 if not low else 0x0304
            return max(v, 0x0303) if low else v
        low = version(self._min, True)
        high = version(self._max, False)
        if self._options & OP_NO_TLSv1_3:
            high = 0x0303 if high in (0, 0x0304) else high
        if self._options & OP_NO_TLSv1_2:
            low = 0x0304
        return _tls.Settings(
            server_side, self._verify_mode, self._check_hostname, low, high,
            [_latin1(p) for p in self._alpn], [_latin1(c) for c in self._script_ca],
            not (self._options & OP_NO_TICKET))

    def _wrap_socket(self, sock, server_side, server_hostname=None, *, owner=None, session=None):
        if not isinstance(sock, _socket.socket):
            raise TypeError(f"_wrap_socket() argument 'sock' must be _socket.socket, not {type(sock).__name__}")
        return _SSLSocket._new(self, sock, None, None, bool(server_side), server_hostname, owner, session)

    def _wrap_bio(self, incoming, outgoing, server_side, server_hostname=None, *, owner=None, session=None):
        for name, bio in (("incoming", incoming), ("outgoing", outgoing)):
            if not isinstance(bio, MemoryBIO):
                raise TypeError(f"_wrap_bio() argument '{name}' must be _ssl.MemoryBIO, not {type(bio).__name__}")
        return _SSLSocket._new(self, None, incoming, outgoing, bool(server_side), server_hostname, owner, session)


# --- _SSLSocket ----------------------------------------------------------------

class _SSLSocket:
    """One TLS connection: the object behind ssl.SSLSocket and ssl.SSLObject.

    The transport is either the script's socket (through the socket base
    methods, since SSLSocket overrides recv and send) or two MemoryBIOs.
    The socket's timeout is read at every call, as _ssl.c does: None
    blocks, 0 raises SSLWantReadError/SSLWantWriteError, a number is the
    deadline of the whole call."""

    def __new__(cls, *args, **kwargs):
        raise TypeError("cannot create '_ssl._SSLSocket' instances")

    @classmethod
    def _new(cls, context, sock, incoming, outgoing, server_side, server_hostname, owner, session):
        if server_side and context._protocol == PROTOCOL_TLS_CLIENT:
            raise SSLError(0, "Cannot create a server socket with a PROTOCOL_TLS_CLIENT context")
        if not server_side and context._protocol == PROTOCOL_TLS_SERVER:
            raise SSLError(0, "Cannot create a client socket with a PROTOCOL_TLS_SERVER context")
        if server_hostname is not None:
            if not isinstance(server_hostname, str):
                server_hostname = bytes(server_hostname).decode("ascii")
            if "\0" in server_hostname:
                raise TypeError("argument must be encoded string without null bytes, not str")
            server_hostname.encode("ascii")
            if not server_hostname or server_hostname.startswith("."):
                raise ValueError("server_hostname cannot be an empty string or start with a leading dot.")
        self = object.__new__(cls)
        self._context = context
        self._sock = None if sock is None else _weakref.ref(sock)
        self._incoming = incoming
        self._outgoing = outgoing
        self.server_side = server_side
        self.server_hostname = server_hostname
        self._owner = None
        if owner is not None:
            self.owner = owner
        self._in = b""
        self._in_pos = 0
        self._out = bytearray()
        self._eof = False
        self._eof_reported = False
        self._handshaking = True
        self._peer_closed = False
        self._shutdown_sent = False
        self._pending = 0
        self._wpending = None
        self._info = None
        self._failed = None
        self._session = None
        # Trust, identity and verification are settled when the host opens
        # the session; a refusal (of the policy, say) is raised at the first
        # operation, where OpenSSL reports a failed handshake.
        try:
            self._sess = _tls.Session.open(context._settings(server_side), context._identity,
                                           None if server_side else server_hostname)
        except _Err as e:
            self._sess = None
            self._failed = _from_host(e.value, True)
        if session is not None:
            self.session = session
        return self

    # -- attributes --

    @property
    def context(self):
        return self._context

    @context.setter
    def context(self, value):
        if not isinstance(value, _SSLContext):
            raise TypeError("The value must be a SSLContext")
        self._context = value

    @property
    def owner(self):
        return None if self._owner is None else self._owner()

    @owner.setter
    def owner(self, value):
        self._owner = _weakref.ref(value)

    @property
    def session(self):
        if self._handshaking or self.server_side:
            return None
        if self._session is None:
            self._session = SSLSession._of(self._context)
        return self._session

    @session.setter
    def session(self, value):
        if not isinstance(value, SSLSession):
            raise TypeError("Value is not a SSLSession.")
        if value._context is not self._context:
            raise ValueError("Session refers to a different SSLContext.")
        if self.server_side:
            raise ValueError("Cannot set session for server-side SSLSocket.")
        if not self._handshaking:
            raise ValueError("Cannot set session after handshake.")
        self._session = value

    @property
    def session_reused(self):
        return bool(self._info and self._info.resumed)

    # -- the transport --

    def _socket(self):
        sock = self._sock()
        if sock is None:
            raise SSLError(0, "Underlying socket connection gone")
        return sock

    def _deadline(self):
        """The socket's mode for this call: (timeout, deadline)."""
        if self._sock is None:
            return 0.0, None
        timeout = self._socket().gettimeout()
        if timeout is None or timeout == 0:
            return timeout, None
        return timeout, _time.monotonic() + timeout

    def _flush(self, timeout, deadline, op):
        """Sends the TLS bytes the session produced. A non-blocking socket
        raises SSLWantWriteError when some are left."""
        if not self._out:
            return
        if self._sock is None:
            self._outgoing.write(self._out)
            self._out.clear()
            return
        sock = self._socket()
        while self._out:
            if timeout != 0 and not _blocking.wait_fd(sock.fileno(), False, deadline):
                raise TimeoutError("The write operation timed out" if op != "handshake"
                                   else "The handshake operation timed out")
            try:
                n = _socket.socket.send(sock, self._out)
            except (BlockingIOError, InterruptedError):
                if timeout == 0:
                    raise _want_write() from None
                continue
            except OSError as exc:
                raise _blocking.connection_error(exc) from None
            del self._out[:n]

    def _fill(self, timeout, deadline, op):
        """Reads more TLS bytes from the transport."""
        if self._sock is None:
            data = self._incoming.read()
            if not data:
                if not self._incoming.eof:
                    raise _want_read()
                self._eof = True
            self._take(data)
            return
        sock = self._socket()
        while True:
            if timeout != 0 and not _blocking.wait_fd(sock.fileno(), True, deadline):
                raise TimeoutError("The read operation timed out" if op != "handshake"
                                   else "The handshake operation timed out")
            try:
                data = _socket.socket.recv(sock, _RECV)
            except (BlockingIOError, InterruptedError):
                if timeout == 0:
                    raise _want_read() from None
                continue
            except OSError as exc:
                raise _blocking.connection_error(exc) from None
            if not data:
                self._eof = True
            self._take(data)
            return

    def _take(self, data):
        if self._in_pos:
            self._in = self._in[self._in_pos:]
            self._in_pos = 0
        self._in = self._in + data if self._in else data

    def _run(self, op, attempt):
        """Runs `attempt` until it completes, doing the transport I/O it
        asks for (by raising _Need) in the socket's mode."""
        if self._failed is not None:
            raise self._failed
        timeout, deadline = self._deadline()
        while True:
            try:
                result = attempt()
            except _Need as need:
                self._flush(timeout, deadline, op)
                if need.read:
                    self._fill(timeout, deadline, op)
                continue
            except SSLError as e:
                # An alert for the peer goes out before the error is raised.
                try:
                    self._flush(timeout, deadline, op)
                except (OSError, SSLError):
                    pass
                if not isinstance(e, (SSLWantReadError, SSLWantWriteError, SSLEOFError)):
                    self._failed = e
                raise
            self._flush(timeout, deadline, op)
            return result

    def _step(self, plaintext=b"", want=0):
        """One step of the host session: feeds what was read, takes
        plaintext to send and up to `want` bytes of plaintext received."""
        end = self._in_pos + max(want, _RECORD) + _RECORD
        chunk = self._in[self._in_pos:end]
        eof = self._eof and end >= len(self._in)
        p, err = _host_call(self._sess.step, chunk.hex() if chunk else "", eof,
                            _latin1(plaintext) if plaintext else "", want)
        if err is not None:
            if err.outgoing:
                self._out += err.outgoing
            first = not self._eof_reported
            if err.kind == _tls.ErrorKind.EOF:
                self._eof_reported = True
            raise _from_host(err, first)
        self._in_pos += p.consumed
        if p.outgoing:
            self._out += p.outgoing
        self._handshaking = p.handshaking
        self._peer_closed = p.peer_closed
        self._pending = p.pending
        self._note_buffered()
        return p

    def _more(self):
        """What is left of the TLS bytes read: the session has not taken
        all of them yet."""
        return self._in_pos < len(self._in)

    def _has_buffered(self, fd):
        """Whether readable data of socket `fd` is held here (plaintext in
        the session, or records it has not taken): select() and poll()
        then report the socket readable."""
        sock = None if self._sock is None else self._sock()
        if sock is None or self._failed is not None:
            return False
        try:
            if sock.fileno() != fd:
                return False
        except OSError:
            return False
        return self._pending > 0 or self._more() or (self._eof and not self._peer_closed)

    def _note_buffered(self):
        """Registers (or unregisters) the socket with select() and poll()
        as holding readable data."""
        if self._sock is None:
            return
        sock = self._sock()
        if sock is None:
            return
        fd = sock.fileno()
        if fd < 0:
            return
        if self._has_buffered(fd):
            _blocking.buffered[fd] = _weakref.ref(self)
        elif _blocking.buffered.get(fd) is not None:
            _blocking.buffered.pop(fd, None)

    def _handshake_once(self):
        p = self._step()
        if self._handshaking:
            if self._more() and p.consumed:
                return self._handshake_once()
            raise _Need(read=True)
        if self._info is None:
            self._info = self._sess.info()

    # -- operations --

    def do_handshake(self):
        def attempt():
            if self._handshaking:
                self._handshake_once()
        self._run("handshake", attempt)

    def read(self, len=1024, buffer=None, /):
        if buffer is not None:
            view = memoryview(buffer).cast("B")
            if len <= 0 or len > view.nbytes:
                len = view.nbytes
            if view.nbytes == 0:
                return 0
        else:
            if len < 0:
                raise ValueError("size should not be negative")
            if len == 0:
                return b""
        ignore_eof = bool(self._context._options & OP_IGNORE_UNEXPECTED_EOF)

        def attempt():
            if self._handshaking:
                self._handshake_once()
            while True:
                try:
                    p = self._step(want=len)
                except SSLEOFError:
                    if ignore_eof:
                        return b""
                    raise
                if p.plaintext:
                    return p.plaintext
                if self._peer_closed:
                    if self._shutdown_sent:
                        raise _ssl_error(SSLZeroReturnError, SSL_ERROR_ZERO_RETURN,
                                         "TLS/SSL connection has been closed (EOF)")
                    return b""
                if not (self._more() and p.consumed):
                    raise _Need(read=True)

        data = self._run("read", attempt)
        if buffer is None:
            return data
        n = data.__len__()
        view[:n] = data
        return n

    def write(self, b, /):
        if isinstance(b, str):
            raise TypeError("a bytes-like object is required, not 'str'")
        view = memoryview(b).cast("B")
        if self._shutdown_sent:
            raise _ssl_error(SSLError, SSL_ERROR_SSL, "protocol is shutdown", "PROTOCOL_IS_SHUTDOWN")
        if self._failed is not None:
            raise self._failed
        if self._handshaking:
            # The handshake first; nothing of `b` is taken until it is done.
            self.do_handshake()
        timeout, deadline = self._deadline()
        if self._wpending is not None:
            # The write a WantWrite interrupted is retried: what it took is
            # sent now, and counts as written.
            self._flush(timeout, deadline, "write")
            n, self._wpending = self._wpending, None
            return n
        total = view.nbytes
        if total == 0:
            return 0
        done = 0
        while done < total:
            p = self._step(plaintext=view[done:done + _WRITE_CHUNK])
            done += p.written
            try:
                self._flush(timeout, deadline, "write")
            except SSLWantWriteError:
                self._wpending = done
                raise
            if p.written == 0:
                raise SSLError(0, "the TLS session took no data")
        return total

    def pending(self):
        if self._sess is None or self._failed is not None or self._handshaking:
            return 0
        if self._more():
            try:
                self._step()
            except SSLError:
                return 0
        return self._pending

    def shutdown(self):
        sock = self._socket() if self._sock is not None else None
        if self._failed is not None or self._handshaking or self._sess is None:
            raise _ssl_error(SSLError, SSL_ERROR_SSL, "shutdown while in init", "SHUTDOWN_WHILE_IN_INIT")
        if not self._shutdown_sent:
            self._out += self._sess.close()
            self._shutdown_sent = True

        def attempt():
            while not self._peer_closed:
                p = self._step(want=_RECORD)
                if p.plaintext:
                    raise _ssl_error(SSLError, SSL_ERROR_SSL, "application data after close notify",
                                     "APPLICATION_DATA_AFTER_CLOSE_NOTIFY")
                if self._peer_closed:
                    break
                if not (self._more() and p.consumed):
                    raise _Need(read=True)
        self._run("shutdown", attempt)
        return sock

    # -- the session's facts --

    def _done(self):
        if self._handshaking or self._info is None:
            return None
        return self._info

    def getpeercert(self, binary_form=False):
        if self._handshaking:
            raise ValueError("handshake not done yet")
        info = self._done()
        if info is None or not info.peer_chain:
            return None
        der = bytes(info.peer_chain[0])
        if binary_form:
            return der
        if self._context._verify_mode == CERT_NONE:
            return {}
        return _decode(der)

    def get_verified_chain(self):
        info = self._done()
        if info is None:
            return None
        if not info.verified:
            return [Certificate._of(c) for c in info.peer_chain[:1]]
        # The path the verifier took: what the peer sent, up to the trust
        # anchor that issued its last certificate (rustls does not hand out
        # the path it built; the anchor is found by name).
        chain = [bytes(c) for c in info.peer_chain]
        if chain:
            last = _decode_info(chain[-1])
            if last.issuer != last.subject:
                for ca in self._context._trusted():
                    ca_info = _decode_info(ca)
                    if ca_info.is_ca and ca_info.subject == last.issuer:
                        chain.append(bytes(ca))
                        break
        return [Certificate._of(c) for c in chain]

    def get_unverified_chain(self):
        info = self._done()
        if info is None:
            return None
        return [Certificate._of(c) for c in info.peer_chain]

    def cipher(self):
        info = self._done()
        if info is None:
            return None
        return (info.cipher, "TLSv1.3" if info.cipher.startswith("TLS_") else "TLSv1.2", info.cipher_bits)

    def shared_ciphers(self):
        if not self.server_side:
            return None
        c = self.cipher()
        return None if c is None else [c]

    def version(self):
        info = self._done()
        return None if info is None else info.version

    def selected_alpn_protocol(self):
        info = self._done()
        if info is None or info.alpn is None:
            return None
        return bytes(info.alpn).decode("ascii", "replace")

    def compression(self):
        return None

    def get_channel_binding(self, cb_type="tls-unique"):
        if cb_type != "tls-unique":
            raise ValueError(f"'{cb_type}' channel binding type not implemented")
        # rustls does not expose the Finished message.
        return None

    def verify_client_post_handshake(self):
        raise NotImplementedError("Post-handshake auth is not supported by your OpenSSL version.")
