//! Faulty builds of the reference server, one broken behaviour each, so that every check
//! of the catalogue is shown to catch something (the mutation matrix). Selected with the
//! hidden `paycheck serve-reference --fault NAME`.

use std::fmt;
use std::str::FromStr;

/// One way the reference server can be built wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReferenceFault {
    /// Unpaid requests are served (no 402).
    No402,
    /// The 402 carries no requirements (no header in v2/t402, an empty body in v1).
    NoRequirements,
    /// Offers write the amount as a decimal string (`"10000.00"`).
    DecimalAmount,
    /// The `PAYMENT-REQUIRED` header is URL-safe, unpadded base64.
    UrlSafeBase64,
    /// Challenges carry no `error`.
    NoError,
    /// `resource.url` names another resource.
    WrongResourceUrl,
    /// The payment is settled without being verified first.
    SkipVerify,
    /// The resource is served after verification, without settling.
    SkipSettle,
    /// The payment is settled before the handler runs (so a failing handler is charged).
    SettleBeforeHandler,
    /// Paid answers carry no `Cache-Control`.
    PublicCache,
    /// A payment that does not match the offer, or that the facilitator calls invalid, is
    /// served anyway (without settling).
    ServeInvalid,
    /// Refusals carry no `error`.
    SilentRefusal,
    /// The requirements sent to the facilitator are the client's copy, not the server's.
    TrustClientOffer,
    /// An authorization (nonce) served once is served again without the facilitator, under
    /// any payment-identifier id (a cache keyed by the payment, not by the id).
    ReplayCache,
    /// The resource is served right after verification; settlement runs in the background
    /// and its result is ignored.
    ServeBeforeSettle,
    /// A failed call to `/verify` serves the resource (fails open).
    FailOpen,
    /// Facilitator calls have no timeout worth the name (60 s).
    NoTimeout,
    /// Malformed payment headers get a 500 with a stack trace.
    Malformed500,
    /// A `HEAD` with a payment goes through the paid flow and is settled.
    HeadCharges,
    /// Requests from a browser user agent get an HTML page, whatever they accept.
    HtmlForBrowsers,
    /// No CORS headers.
    NoCors,
    /// The 402 takes 600 ms.
    Slow402,
    /// The health route asks for payment.
    PaidHealth,
    /// A failed settlement's 402 carries no settlement response header.
    NoFailureReceipt,
    /// The requests to the facilitator carry the version as a string.
    MalformedFacilitatorRequest,
    /// No limit on the size of request headers, the payment header's included.
    NoHeaderLimit,
    /// The 402's requirements carry a 10 KiB description.
    HugeRequirements,
    /// The settlement receipt is JSON with spaces after separators, as Python's
    /// `json.dumps` writes it (the official Python SDK does this).
    SpacedReceipt,
    /// The offer says `mimeType: null` (v1: in each requirement, which the facilitator
    /// receives too; v2: in `resource`).
    NullMimeType,
    /// A payment that `/verify` called invalid is sent to `/settle` anyway (the server
    /// reads HTTP 200 as success and ignores `isValid: false`); it is still refused.
    SettleRefused,
    /// Every route's `resource.url` names the first paid route (a resource configured once
    /// for the whole server).
    FirstRouteUrl,
    /// `accepted` is matched to the offer on the amount alone, and the client's copy is
    /// what the facilitator is asked to verify (so a payment to another payTo, asset or
    /// network, signed for it, is served).
    AmountOnlyBinding,
    /// The handler runs before the payment is verified (its error answers an invalid
    /// payment on a failing route).
    HandlerBeforeVerify,
    /// `/premium/` and `/PREMIUM` reach the premium handler without the paywall (a
    /// middleware that matches exact paths in front of a lenient router).
    PathBypass,
    /// A failed facilitator call is answered with the facilitator's URL and what it said.
    LeakFacilitator,
    /// A pending settlement is answered with a fresh 402 challenge (the payer would pay
    /// twice), as @x402/core 2.26 does.
    PendingChallenge,
    /// `POST /premium` reaches the premium handler without the paywall (a middleware keyed
    /// on `GET /premium` in front of a router that takes any method).
    MethodBypass,
    /// A paid answer's status is rewritten to 200 (a handler's 201 or 202 is lost).
    RewriteStatus,
    /// `payment-identifier` is advertised but ids are ignored: a resend is processed
    /// afresh (and refused, its nonce spent) instead of getting its answer.
    IdIgnored,
    /// Ids are the cache key alone: another payment or route under a used id gets the
    /// first request's answer instead of 409.
    IdUnbound,
    /// The 402 declares `required: true`, yet a payment without an id is served.
    IdRequiredIgnored,
    /// Any string is taken as an id (too short, too long, any character).
    IdNoGrammar,
    /// An id is stored only once answered: a resend while the first request is in flight
    /// is processed too (and refused with a fresh challenge).
    IdNoReservation,
    /// A paid request is processed in the client connection's task: when the client
    /// disconnects mid-settle the work is dropped, the settlement lands and its answer is
    /// never kept for the id.
    CancelOnDisconnect,
    /// Settlements begun are noted in a file and, when the server starts, whatever an
    /// earlier life left unanswered is sent to `/settle` again (a naive crash recovery).
    ResettleOnRestart,
}

impl ReferenceFault {
    /// Every faulty build.
    pub const ALL: [ReferenceFault; 45] = [
        ReferenceFault::No402,
        ReferenceFault::NoRequirements,
        ReferenceFault::DecimalAmount,
        ReferenceFault::UrlSafeBase64,
        ReferenceFault::NoError,
        ReferenceFault::WrongResourceUrl,
        ReferenceFault::SkipVerify,
        ReferenceFault::SkipSettle,
        ReferenceFault::SettleBeforeHandler,
        ReferenceFault::PublicCache,
        ReferenceFault::ServeInvalid,
        ReferenceFault::SilentRefusal,
        ReferenceFault::TrustClientOffer,
        ReferenceFault::ReplayCache,
        ReferenceFault::ServeBeforeSettle,
        ReferenceFault::FailOpen,
        ReferenceFault::NoTimeout,
        ReferenceFault::Malformed500,
        ReferenceFault::HeadCharges,
        ReferenceFault::HtmlForBrowsers,
        ReferenceFault::NoCors,
        ReferenceFault::Slow402,
        ReferenceFault::PaidHealth,
        ReferenceFault::NoFailureReceipt,
        ReferenceFault::MalformedFacilitatorRequest,
        ReferenceFault::NoHeaderLimit,
        ReferenceFault::HugeRequirements,
        ReferenceFault::SpacedReceipt,
        ReferenceFault::NullMimeType,
        ReferenceFault::SettleRefused,
        ReferenceFault::FirstRouteUrl,
        ReferenceFault::AmountOnlyBinding,
        ReferenceFault::HandlerBeforeVerify,
        ReferenceFault::PathBypass,
        ReferenceFault::LeakFacilitator,
        ReferenceFault::PendingChallenge,
        ReferenceFault::MethodBypass,
        ReferenceFault::RewriteStatus,
        ReferenceFault::IdIgnored,
        ReferenceFault::IdUnbound,
        ReferenceFault::IdRequiredIgnored,
        ReferenceFault::IdNoGrammar,
        ReferenceFault::IdNoReservation,
        ReferenceFault::CancelOnDisconnect,
        ReferenceFault::ResettleOnRestart,
    ];

    /// The checks (`SECTION/NAME`, in every suite that has them) written to catch this
    /// fault: the mutation matrix asserts that each of them fails against this build.
    pub fn caught_by(self) -> &'static [&'static str] {
        use ReferenceFault::*;
        match self {
            No402 => &["http/402-signal/status"],
            NoRequirements => &["http/402-signal/requirements-present"],
            DecimalAmount => &["http/402-signal/requirements-schema"],
            UrlSafeBase64 => &["http/402-signal/requirements-encoding"],
            NoError => &["http/402-signal/error-reason"],
            WrongResourceUrl => &["http/402-signal/resource-url"],
            SkipVerify => &["payment/verify-then-settle"],
            SkipSettle => &["payment/served"],
            SettleBeforeHandler => &["payment/no-settle-on-handler-failure"],
            PublicCache => &["payment/not-publicly-cacheable"],
            ServeInvalid => &[
                "rejection/wrong-signer",
                "rejection/bad-signature",
                "rejection/underpaid",
                "rejection/overpaid",
                "rejection/wrong-pay-to",
                "rejection/wrong-network",
                "rejection/wrong-asset",
                "rejection/expired",
                "rejection/not-yet-valid",
                "replicas/cross-replay",
            ],
            SilentRefusal => &["rejection/reason-given"],
            TrustClientOffer => &["binding/cheaper-route", "binding/edited-amount"],
            ReplayCache => &["replay/sequential", "replay/interleaved"],
            ServeBeforeSettle => &[
                "replay/concurrent",
                "replicas/concurrent",
                "resilience/settle-error",
                "resilience/settle-html",
                "resilience/settle-garbage",
                "resilience/settle-truncated",
                "resilience/settle-failure",
                "resilience/settle-pending",
                "resilience/settle-hang",
            ],
            FailOpen => &["resilience/verify-error", "resilience/verify-hang"],
            NoTimeout => &["resilience/bounded-answer"],
            Malformed500 => &["http/hygiene/malformed-400", "http/hygiene/no-internals"],
            HeadCharges => &["http/hygiene/head-not-charged"],
            HtmlForBrowsers => &["http/hygiene/json-not-html"],
            NoCors => &["http/hygiene/cors-expose", "http/hygiene/cors-preflight"],
            Slow402 => &["http/hygiene/fast-402"],
            PaidHealth => &["http/hygiene/free-route"],
            NoFailureReceipt => &["resilience/failure-receipt"],
            MalformedFacilitatorRequest => &["payment/facilitator-request"],
            NoHeaderLimit => &["http/hygiene/payment-header-limit"],
            HugeRequirements => &["http/402-signal/header-budget"],
            SpacedReceipt => &["payment/receipt-encoding"],
            NullMimeType => &["http/402-signal/requirements-schema"],
            SettleRefused => &["payment/settle-only-verified"],
            FirstRouteUrl => &["http/402-signal/resource-url"],
            AmountOnlyBinding => &["binding/accepted-fields"],
            HandlerBeforeVerify => &["payment/verify-before-work"],
            PathBypass => &["bypass/path-variants"],
            LeakFacilitator => &["http/hygiene/no-facilitator-internals"],
            PendingChallenge => &["resilience/pending-no-challenge"],
            MethodBypass => &["bypass/other-methods"],
            RewriteStatus => &["payment/handler-status-kept"],
            IdIgnored => &["payment-id/cached-response"],
            IdUnbound => &["payment-id/conflict"],
            IdRequiredIgnored => &["payment-id/required"],
            IdNoGrammar => &["payment-id/id-format"],
            IdNoReservation => &["payment-id/concurrent", "retry/while-settling"],
            CancelOnDisconnect => &["retry/after-disconnect"],
            ResettleOnRestart => &["retry/crash-restart"],
        }
    }

    /// The kebab-case name used with `--fault`.
    pub fn name(self) -> &'static str {
        match self {
            ReferenceFault::No402 => "no-402",
            ReferenceFault::NoRequirements => "no-requirements",
            ReferenceFault::DecimalAmount => "decimal-amount",
            ReferenceFault::UrlSafeBase64 => "url-safe-base64",
            ReferenceFault::NoError => "no-error",
            ReferenceFault::WrongResourceUrl => "wrong-resource-url",
            ReferenceFault::SkipVerify => "skip-verify",
            ReferenceFault::SkipSettle => "skip-settle",
            ReferenceFault::SettleBeforeHandler => "settle-before-handler",
            ReferenceFault::PublicCache => "public-cache",
            ReferenceFault::ServeInvalid => "serve-invalid",
            ReferenceFault::SilentRefusal => "silent-refusal",
            ReferenceFault::TrustClientOffer => "trust-client-offer",
            ReferenceFault::ReplayCache => "replay-cache",
            ReferenceFault::ServeBeforeSettle => "serve-before-settle",
            ReferenceFault::FailOpen => "fail-open",
            ReferenceFault::NoTimeout => "no-timeout",
            ReferenceFault::Malformed500 => "malformed-500",
            ReferenceFault::HeadCharges => "head-charges",
            ReferenceFault::HtmlForBrowsers => "html-for-browsers",
            ReferenceFault::NoCors => "no-cors",
            ReferenceFault::Slow402 => "slow-402",
            ReferenceFault::PaidHealth => "paid-health",
            ReferenceFault::NoFailureReceipt => "no-failure-receipt",
            ReferenceFault::MalformedFacilitatorRequest => "malformed-facilitator-request",
            ReferenceFault::NoHeaderLimit => "no-header-limit",
            ReferenceFault::HugeRequirements => "huge-requirements",
            ReferenceFault::SpacedReceipt => "spaced-receipt",
            ReferenceFault::NullMimeType => "null-mime-type",
            ReferenceFault::SettleRefused => "settle-refused",
            ReferenceFault::FirstRouteUrl => "first-route-url",
            ReferenceFault::AmountOnlyBinding => "amount-only-binding",
            ReferenceFault::HandlerBeforeVerify => "handler-before-verify",
            ReferenceFault::PathBypass => "path-bypass",
            ReferenceFault::LeakFacilitator => "leak-facilitator",
            ReferenceFault::PendingChallenge => "pending-challenge",
            ReferenceFault::MethodBypass => "method-bypass",
            ReferenceFault::RewriteStatus => "rewrite-status",
            ReferenceFault::IdIgnored => "id-ignored",
            ReferenceFault::IdUnbound => "id-unbound",
            ReferenceFault::IdRequiredIgnored => "id-required-ignored",
            ReferenceFault::IdNoGrammar => "id-no-grammar",
            ReferenceFault::IdNoReservation => "id-no-reservation",
            ReferenceFault::CancelOnDisconnect => "cancel-on-disconnect",
            ReferenceFault::ResettleOnRestart => "resettle-on-restart",
        }
    }
}

impl fmt::Display for ReferenceFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for ReferenceFault {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ReferenceFault::ALL
            .into_iter()
            .find(|f| f.name() == s)
            .ok_or_else(|| {
                let names: Vec<_> = ReferenceFault::ALL.iter().map(|f| f.name()).collect();
                format!(
                    "unknown reference fault '{s}': expected one of {}",
                    names.join(", ")
                )
            })
    }
}
