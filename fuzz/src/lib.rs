//! What chatroom's fuzz targets share: reading a fuzz input as bytes that
//! arrive in pieces ([`input`]), and driving any tokio-util `Decoder` over
//! those pieces the way `FramedRead` does, checking what every codec owes
//! its reader ([`drive`]).
//!
//! One target is one file in `fuzz_targets/` (with the `[[bin]]` entry
//! `cargo fuzz add` writes) and its seeds in `corpus/<target>/`; a codec
//! target is its decoder, its own checks on the items, and these two
//! modules. `scripts/fuzz.sh` runs every target `cargo fuzz list` names.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod drive;
pub mod input;
