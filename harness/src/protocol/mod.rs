//! Wire types and codecs for the 402 payment protocols: x402 v1 and v2, t402, and L402.
//!
//! Everything a server or facilitator puts on the wire is decoded here, in one of two
//! [`Mode`]s: `Strict` names every deviation from the specification as an error, `Lenient`
//! still reads what real servers send (URL-safe or unpadded base64, spaces in JSON) and
//! reports the deviations beside the value. Every decoded message is also validated
//! against its JSON Schema in `schemas/` (see [`schema`]).

pub mod amount;
pub mod codec;
pub mod decode;
pub mod deviation;
pub mod dialect;
pub mod eip3009;
pub mod exact;
pub mod facilitator;
pub mod l402;
pub mod network;
pub mod payment_id;
pub mod reasons;
pub mod schema;
pub mod suite;
pub mod v1;
pub mod v2;

pub use decode::{
    DecodeError, Decoded, Message, decode_header, decode_json, decode_value, encode_header,
    to_wire_json,
};
pub use deviation::{Deviation, Mode};
pub use dialect::Dialect;
pub use suite::{L402Profile, Suite};
