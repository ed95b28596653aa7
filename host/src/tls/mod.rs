//! TLS for the guests' own connections, run by the host on rustls. A
//! session does no I/O ([`session`]); the guest moves its bytes. What a
//! source may do with TLS is its policy's ([`policy`]): whom it trusts
//! ([`trust`]), which identities ([`identity`]) it presents. Errors read
//! as OpenSSL's ([`errors`]); certificates decode as Python shows them
//! ([`certinfo`]).

pub mod certinfo;
pub mod errors;
pub mod identity;
pub mod policy;
pub mod session;
pub mod trust;
