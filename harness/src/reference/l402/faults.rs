//! Faulty builds of the reference L402 server, one broken behaviour each, so that every
//! check of the L402 suites is shown to catch something (the mutation matrix). Selected
//! with the hidden `paycheck serve-reference --protocol l402 --fault NAME`.

use std::fmt;
use std::str::FromStr;

/// One way the reference L402 server can be built wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum L402Fault {
    /// Unpaid requests are served.
    No402,
    /// The 402 carries no `WWW-Authenticate`.
    NoChallenge,
    /// The challenge's parameters are not comma-separated.
    BadGrammar,
    /// The invoice is damaged on its way into the header.
    CorruptInvoice,
    /// The invoice has already expired when it is sent.
    ExpiredInvoice,
    /// The invoice asks for 1 sat while the server states its price.
    WrongAmount,
    /// The token commits to another payment hash than the invoice's.
    UnboundToken,
    /// Every challenge carries the same invoice and token.
    StaticInvoice,
    /// The preimage is hashed as hex text, so no paid credential is ever accepted.
    HashOfHex,
    /// The legacy `LSAT` scheme is not accepted.
    RejectLsat,
    /// The preimage is not checked against the payment hash.
    NoPreimageCheck,
    /// An invalid credential gets a fresh 402 challenge instead of 401 (as aperture does).
    ChallengeOnInvalid,
    /// The token's signature is not checked.
    NoSignatureCheck,
    /// The token's caveats are not checked.
    IgnoreCaveats,
    /// Credentials are read loosely: control characters are dropped and the preimage is
    /// what follows the last colon.
    LenientCredentials,
    /// A malformed credential gets a 500 with a stack trace.
    Malformed500,
    /// A credential works once, though the server is meant to follow the specification.
    ConsumeCredentials,
    /// A single-use server keeps no record of used credentials.
    NoReplayStore,
    /// The record of used credentials is keyed by the header text, not the payment.
    RawReplayKey,
    /// The record of used credentials is checked, then the backend asked, then written.
    RacyReplayStore,
    /// Invoice creation is not rate-limited.
    NoRateLimit,
    /// A Lightning backend failure gets a 500 with a stack trace.
    Backend500,
    /// The health route asks for payment.
    PaidHealth,
    /// No CORS headers.
    NoCors,
}

impl L402Fault {
    /// Every faulty build.
    pub const ALL: [L402Fault; 24] = [
        L402Fault::No402,
        L402Fault::NoChallenge,
        L402Fault::BadGrammar,
        L402Fault::CorruptInvoice,
        L402Fault::ExpiredInvoice,
        L402Fault::WrongAmount,
        L402Fault::UnboundToken,
        L402Fault::StaticInvoice,
        L402Fault::HashOfHex,
        L402Fault::RejectLsat,
        L402Fault::NoPreimageCheck,
        L402Fault::ChallengeOnInvalid,
        L402Fault::NoSignatureCheck,
        L402Fault::IgnoreCaveats,
        L402Fault::LenientCredentials,
        L402Fault::Malformed500,
        L402Fault::ConsumeCredentials,
        L402Fault::NoReplayStore,
        L402Fault::RawReplayKey,
        L402Fault::RacyReplayStore,
        L402Fault::NoRateLimit,
        L402Fault::Backend500,
        L402Fault::PaidHealth,
        L402Fault::NoCors,
    ];

    /// The checks (`SECTION/NAME`, in every L402 suite that has them) written to catch this
    /// fault: the mutation matrix asserts that each of them fails against this build.
    pub fn caught_by(self) -> &'static [&'static str] {
        use L402Fault::*;
        match self {
            No402 => &["challenge/status"],
            NoChallenge | BadGrammar => &["challenge/header-grammar"],
            CorruptInvoice => &["challenge/invoice-decodes"],
            ExpiredInvoice => &["challenge/invoice-live"],
            WrongAmount => &["challenge/amount"],
            UnboundToken => &["challenge/token-bound"],
            StaticInvoice => &["challenge/fresh-invoice"],
            HashOfHex => &["credential/paid-accepted"],
            RejectLsat => &["credential/lsat-scheme"],
            NoPreimageCheck | ChallengeOnInvalid => &["credential/bad-preimage"],
            NoSignatureCheck => &["credential/self-minted", "credential/tampered-token"],
            IgnoreCaveats => &["credential/expired-caveat", "credential/other-service"],
            LenientCredentials => &["credential/control-characters", "credential/extra-colons"],
            Malformed500 => &["hygiene/no-internals"],
            ConsumeCredentials => &["replay/reusable"],
            NoReplayStore => &["replay/sequential"],
            RawReplayKey => &["replay/re-encoded"],
            RacyReplayStore => &["replay/concurrent"],
            NoRateLimit => &["limits/invoice-rate"],
            Backend500 => &["hygiene/backend-down"],
            PaidHealth => &["hygiene/free-route"],
            NoCors => &["hygiene/cors-expose"],
        }
    }

    /// The kebab-case name used with `--fault`.
    pub fn name(self) -> &'static str {
        use L402Fault::*;
        match self {
            No402 => "no-402",
            NoChallenge => "no-challenge",
            BadGrammar => "bad-grammar",
            CorruptInvoice => "corrupt-invoice",
            ExpiredInvoice => "expired-invoice",
            WrongAmount => "wrong-amount",
            UnboundToken => "unbound-token",
            StaticInvoice => "static-invoice",
            HashOfHex => "hash-of-hex",
            RejectLsat => "reject-lsat",
            NoPreimageCheck => "no-preimage-check",
            ChallengeOnInvalid => "challenge-on-invalid",
            NoSignatureCheck => "no-signature-check",
            IgnoreCaveats => "ignore-caveats",
            LenientCredentials => "lenient-credentials",
            Malformed500 => "malformed-500",
            ConsumeCredentials => "consume-credentials",
            NoReplayStore => "no-replay-store",
            RawReplayKey => "raw-replay-key",
            RacyReplayStore => "racy-replay-store",
            NoRateLimit => "no-rate-limit",
            Backend500 => "backend-500",
            PaidHealth => "paid-health",
            NoCors => "no-cors",
        }
    }
}

impl fmt::Display for L402Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for L402Fault {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        L402Fault::ALL
            .into_iter()
            .find(|f| f.name() == s)
            .ok_or_else(|| {
                let names: Vec<_> = L402Fault::ALL.iter().map(|f| f.name()).collect();
                format!(
                    "unknown L402 reference fault '{s}': expected one of {}",
                    names.join(", ")
                )
            })
    }
}
