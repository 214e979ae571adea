//! Macaroons as L402 servers issue them: go-macaroon's (and libmacaroons') V2 binary format
//! and HMAC-SHA256 chain, so that tokens interoperate with aperture.
//!
//! - The signing key is derived from the root key: `k = HMAC(key = "macaroons-key-generator",
//!   msg = root key)`; then `sig = HMAC(k, identifier)` and, for each first-party caveat,
//!   `sig = HMAC(sig, caveat)`. (L402's macaroon-spec.md omits the derivation step; go-macaroon
//!   and libmacaroons have it, and the libmacaroons test vectors only verify with it.)
//! - V2 binary: `0x02 [LOCATION] IDENTIFIER EOS {[LOCATION] IDENTIFIER [VID] EOS}* EOS
//!   SIGNATURE`, each field `type (uvarint) length (uvarint) data`, with EOS = 0,
//!   LOCATION = 1, IDENTIFIER = 2, VID = 4, SIGNATURE = 6 (go-macaroon `packet-v2.go`).
//!
//! Written here rather than taken from the `macaroon` crate: its one release (0.3.0) builds
//! libsodium through the archived sodiumoxide, for what is an HMAC chain and a packet format.

use super::base64_any;
use crate::protocol::codec::encode_base64;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// The key-derivation constant of libmacaroons and go-macaroon.
const KEY_GENERATOR: &[u8] = b"macaroons-key-generator";

const FIELD_EOS: u64 = 0;
const FIELD_LOCATION: u64 = 1;
const FIELD_IDENTIFIER: u64 = 2;
const FIELD_VID: u64 = 4;
const FIELD_SIGNATURE: u64 = 6;
const VERSION_2: u8 = 2;

/// One caveat: first-party (a condition such as `services=premium:0`) or third-party (with
/// a verification id, which L402 servers do not use).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caveat {
    /// The caveat identifier: for a first-party caveat, the condition text.
    pub id: Vec<u8>,
    /// The verification id of a third-party caveat.
    pub verification_id: Option<Vec<u8>>,
    /// The location of a third-party caveat.
    pub location: Option<String>,
}

impl Caveat {
    /// The condition as text (first-party caveats are `key=value` in UTF-8).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.id).into_owned()
    }

    /// `(key, value)` of a `key=value` caveat, split at the first `=`.
    pub fn condition(&self) -> Option<(String, String)> {
        let text = std::str::from_utf8(&self.id).ok()?;
        let (k, v) = text.split_once('=')?;
        Some((k.to_string(), v.to_string()))
    }
}

/// A macaroon: location, identifier, caveats and the chained signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Macaroon {
    /// Where it is valid (aperture writes `lsat`); may be empty.
    pub location: String,
    /// The identifier (for L402, a [`super::identifier::Identifier`]).
    pub identifier: Vec<u8>,
    /// The caveats, in the order they were added.
    pub caveats: Vec<Caveat>,
    /// The HMAC chain's last value.
    pub signature: [u8; 32],
}

/// Why bytes are not a macaroon.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a V2 macaroon: {0}")]
pub struct MacaroonError(pub String);

fn hmac(key: &[u8], data: &[u8]) -> [u8; 32] {
    let mut mac = HmacSha256::new_from_slice(key).expect("HMAC takes keys of any length");
    mac.update(data);
    mac.finalize().into_bytes().into()
}

fn derive_key(root_key: &[u8]) -> [u8; 32] {
    hmac(KEY_GENERATOR, root_key)
}

impl Macaroon {
    /// A new macaroon signed with `root_key`.
    pub fn mint(root_key: &[u8], identifier: Vec<u8>, location: &str) -> Self {
        let signature = hmac(&derive_key(root_key), &identifier);
        Self {
            location: location.to_string(),
            identifier,
            caveats: Vec::new(),
            signature,
        }
    }

    /// Adds a first-party caveat, extending the chain. Anyone holding the macaroon can do
    /// this (attenuation); the root key is not needed.
    pub fn add_first_party_caveat(&mut self, condition: &str) {
        self.signature = hmac(&self.signature, condition.as_bytes());
        self.caveats.push(Caveat {
            id: condition.as_bytes().to_vec(),
            verification_id: None,
            location: None,
        });
    }

    /// True when the chain recomputed from `root_key` ends in this signature. Macaroons with
    /// third-party caveats never verify here (L402 uses none).
    pub fn verify_signature(&self, root_key: &[u8]) -> bool {
        if self.caveats.iter().any(|c| c.verification_id.is_some()) {
            return false;
        }
        let mut sig = hmac(&derive_key(root_key), &self.identifier);
        for c in &self.caveats {
            sig = hmac(&sig, &c.id);
        }
        // The comparison runs over every byte whatever the first difference.
        sig.iter()
            .zip(self.signature.iter())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
    }

    /// When this macaroon is `original` with first-party caveats appended, each extending
    /// the chain from `original`'s signature (what any holder can do, without the root
    /// key), the appended caveats; `None` when it is anything else. The location is not
    /// covered by the signature and may differ.
    pub fn attenuation_of(&self, original: &Macaroon) -> Option<Vec<Caveat>> {
        if self.identifier != original.identifier || !self.caveats.starts_with(&original.caveats) {
            return None;
        }
        let added = &self.caveats[original.caveats.len()..];
        if added.iter().any(|c| c.verification_id.is_some()) {
            return None;
        }
        let sig = added
            .iter()
            .fold(original.signature, |sig, c| hmac(&sig, &c.id));
        (sig == self.signature).then(|| added.to_vec())
    }

    /// The first-party conditions as `(key, value)`, in order.
    pub fn conditions(&self) -> Vec<(String, String)> {
        self.caveats.iter().filter_map(Caveat::condition).collect()
    }

    /// The V2 binary serialization.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = vec![VERSION_2];
        if !self.location.is_empty() {
            put_field(&mut out, FIELD_LOCATION, self.location.as_bytes());
        }
        put_field(&mut out, FIELD_IDENTIFIER, &self.identifier);
        put_uvarint(&mut out, FIELD_EOS);
        for c in &self.caveats {
            if let Some(loc) = &c.location {
                put_field(&mut out, FIELD_LOCATION, loc.as_bytes());
            }
            put_field(&mut out, FIELD_IDENTIFIER, &c.id);
            if let Some(vid) = &c.verification_id {
                put_field(&mut out, FIELD_VID, vid);
            }
            put_uvarint(&mut out, FIELD_EOS);
        }
        put_uvarint(&mut out, FIELD_EOS);
        put_field(&mut out, FIELD_SIGNATURE, &self.signature);
        out
    }

    /// Padded standard base64 of the V2 binary, as `WWW-Authenticate` and `Authorization`
    /// carry it.
    pub fn to_base64(&self) -> String {
        encode_base64(&self.to_bytes())
    }

    /// Reads a V2 binary macaroon (bytes after the signature are refused).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, MacaroonError> {
        let err = |m: &str| MacaroonError(m.to_string());
        let mut r = Reader { bytes, at: 0 };
        match r.byte() {
            Some(VERSION_2) => {}
            Some(b) if b.is_ascii_hexdigit() => {
                return Err(err(
                    "this is a V1 (text packet) macaroon; paycheck reads V2, which L402 servers issue",
                ));
            }
            _ => return Err(err("the first byte is not the version 2 marker")),
        }
        let header = r.section()?;
        let location = match header.get(FIELD_LOCATION) {
            Some(l) => String::from_utf8(l.to_vec()).map_err(|_| err("location is not UTF-8"))?,
            None => String::new(),
        };
        let identifier = header
            .get(FIELD_IDENTIFIER)
            .ok_or_else(|| err("no identifier"))?
            .to_vec();
        let mut caveats = Vec::new();
        loop {
            let section = r.section()?;
            if section.fields.is_empty() {
                break;
            }
            let id = section
                .get(FIELD_IDENTIFIER)
                .ok_or_else(|| err("a caveat without an identifier"))?
                .to_vec();
            let location = match section.get(FIELD_LOCATION) {
                Some(l) => Some(
                    String::from_utf8(l.to_vec())
                        .map_err(|_| err("caveat location is not UTF-8"))?,
                ),
                None => None,
            };
            caveats.push(Caveat {
                id,
                verification_id: section.get(FIELD_VID).map(<[u8]>::to_vec),
                location,
            });
        }
        let (kind, sig) = r.field()?.ok_or_else(|| err("no signature"))?;
        if kind != FIELD_SIGNATURE || sig.len() != 32 {
            return Err(err("the signature field is missing or not 32 bytes"));
        }
        if r.at != bytes.len() {
            return Err(err("bytes follow the signature"));
        }
        Ok(Self {
            location,
            identifier,
            caveats,
            signature: sig.try_into().expect("length checked"),
        })
    }

    /// Reads base64 (any alphabet, padded or not) of a V2 binary macaroon.
    pub fn from_base64(text: &str) -> Result<Self, MacaroonError> {
        let bytes = base64_any(text).map_err(MacaroonError)?;
        Self::from_bytes(&bytes)
    }
}

fn put_uvarint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn put_field(out: &mut Vec<u8>, kind: u64, data: &[u8]) {
    put_uvarint(out, kind);
    put_uvarint(out, data.len() as u64);
    out.extend_from_slice(data);
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

/// The fields of one section, in order.
struct Section<'a> {
    fields: Vec<(u64, &'a [u8])>,
}

impl<'a> Section<'a> {
    fn get(&self, kind: u64) -> Option<&'a [u8]> {
        self.fields
            .iter()
            .find(|(k, _)| *k == kind)
            .map(|(_, v)| *v)
    }
}

impl<'a> Reader<'a> {
    fn byte(&mut self) -> Option<u8> {
        let b = *self.bytes.get(self.at)?;
        self.at += 1;
        Some(b)
    }

    fn uvarint(&mut self) -> Result<u64, MacaroonError> {
        let mut v: u64 = 0;
        for shift in (0..35).step_by(7) {
            let b = self
                .byte()
                .ok_or_else(|| MacaroonError("truncated length".into()))?;
            v |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return if v > 0x7fff_ffff {
                    Err(MacaroonError("a length over 2^31".into()))
                } else {
                    Ok(v)
                };
            }
        }
        Err(MacaroonError("a varint longer than 5 bytes".into()))
    }

    /// One field, or `None` at an end-of-section marker.
    fn field(&mut self) -> Result<Option<(u64, &'a [u8])>, MacaroonError> {
        let kind = self.uvarint()?;
        if kind == FIELD_EOS {
            return Ok(None);
        }
        let len = self.uvarint()? as usize;
        let end = self
            .at
            .checked_add(len)
            .filter(|e| *e <= self.bytes.len())
            .ok_or_else(|| MacaroonError("a field runs past the end".into()))?;
        let data = &self.bytes[self.at..end];
        self.at = end;
        Ok(Some((kind, data)))
    }

    /// Fields up to the next end-of-section marker; types must strictly increase.
    fn section(&mut self) -> Result<Section<'a>, MacaroonError> {
        let mut fields = Vec::new();
        let mut last = 0;
        while let Some((kind, data)) = self.field()? {
            if kind <= last || kind == FIELD_SIGNATURE {
                return Err(MacaroonError(format!("field type {kind} out of order")));
            }
            last = kind;
            fields.push((kind, data));
        }
        Ok(Section { fields })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy::primitives::hex;

    /// libmacaroons `test/unit/caveat_v2_1.vtest`: key "this is the key", one caveat.
    const LIBMACAROONS_V2: &str = "AgETaHR0cDovL2V4YW1wbGUub3JnLwIFa2V5aWQAAhRhY2NvdW50ID0gMzczNTkyODU1OQAABiD1SAf23G7fiL8PcwazgiVio2JTPb9zObphdl2kvSWdhw";

    #[test]
    fn the_libmacaroons_v2_vector_reads_verifies_and_writes_back() {
        let m = Macaroon::from_base64(LIBMACAROONS_V2).unwrap();
        assert_eq!(m.location, "http://example.org/");
        assert_eq!(m.identifier, b"keyid");
        assert_eq!(m.caveats.len(), 1);
        assert_eq!(m.caveats[0].text(), "account = 3735928559");
        assert_eq!(
            hex::encode(m.signature),
            "f54807f6dc6edf88bf0f7306b3822562a362533dbf7339ba61765da4bd259d87"
        );
        assert!(m.verify_signature(b"this is the key"));
        assert!(!m.verify_signature(b"this is not the key"));
        assert_eq!(
            Macaroon::from_base64(&m.to_base64()).unwrap(),
            m,
            "write then read"
        );
        // Re-minting with the same key and caveat gives the same bytes as libmacaroons.
        let mut again =
            Macaroon::mint(b"this is the key", b"keyid".to_vec(), "http://example.org/");
        again.add_first_party_caveat("account = 3735928559");
        assert_eq!(again.to_bytes(), m.to_bytes());
    }

    #[test]
    fn the_libmacaroons_readme_signatures_come_out() {
        let key = b"this is our super secret key; only we should know it";
        let mut m = Macaroon::mint(key, b"we used our secret key".to_vec(), "http://mybank/");
        assert_eq!(
            hex::encode(m.signature),
            "e3d9e02908526c4c0039ae15114115d97fdd68bf2ba379b342aaf0f617d0552f"
        );
        m.add_first_party_caveat("account = 3735928559");
        assert_eq!(
            hex::encode(m.signature),
            "1efe4763f290dbce0c1d08477367e11f4eee456a64933cf662d79772dbb82128"
        );
    }

    #[test]
    fn tampering_and_attenuation() {
        let key = [7u8; 32];
        let mut m = Macaroon::mint(&key, vec![1, 2, 3], "lsat");
        m.add_first_party_caveat("services=premium:0");
        assert!(m.verify_signature(&key));
        // Attenuation keeps it valid; editing a caveat does not.
        let mut narrowed = m.clone();
        narrowed.add_first_party_caveat("premium_valid_until=1");
        assert!(narrowed.verify_signature(&key));
        assert_eq!(
            narrowed.conditions()[1],
            ("premium_valid_until".into(), "1".into())
        );
        let mut edited = m.clone();
        edited.caveats[0].id = b"services=premium:9".to_vec();
        assert!(!edited.verify_signature(&key));
        let mut flipped = m.clone();
        flipped.signature[0] ^= 1;
        assert!(!flipped.verify_signature(&key));
    }

    #[test]
    fn attenuations_are_recognised_and_forgeries_are_not() {
        let mut m = Macaroon::mint(&[7; 32], vec![1, 2, 3], "lsat");
        m.add_first_party_caveat("services=premium:0");
        assert_eq!(m.attenuation_of(&m), Some(vec![]));
        let mut narrowed = m.clone();
        narrowed.location = "elsewhere".into();
        narrowed.add_first_party_caveat("premium_valid_until=1");
        let added = narrowed.attenuation_of(&m).unwrap();
        assert_eq!(added[0].text(), "premium_valid_until=1");
        let mut forged = narrowed.clone();
        forged.caveats[1].id = b"premium_valid_until=9".to_vec();
        assert_eq!(forged.attenuation_of(&m), None);
        let mut dropped = m.clone();
        dropped.caveats.clear();
        assert_eq!(dropped.attenuation_of(&m), None);
    }

    #[test]
    fn malformed_bytes_are_refused_with_a_reason() {
        let good = Macaroon::mint(&[1; 32], vec![9; 66], "lsat").to_bytes();
        for (bytes, why) in [
            (vec![], "version"),
            (b"0021location".to_vec(), "V1"),
            (good[..good.len() - 1].to_vec(), "past the end"),
            ([good.clone(), vec![0]].concat(), "follow"),
        ] {
            let e = Macaroon::from_bytes(&bytes).unwrap_err().to_string();
            assert!(e.contains(why), "{why}: {e}");
        }
    }
}
