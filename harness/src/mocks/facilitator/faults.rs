//! The mock facilitator's fault rules: `verify`, `settle` or `supported` (or `*`), with the
//! faults of [`crate::mocks::faults`]. `settle-failure` and `pending` apply to `/settle`.

use super::journal::Endpoint;
pub use crate::mocks::faults::Fault;

/// A fault rule for the facilitator's endpoints, such as `settle=pending`.
pub type FaultRule = crate::mocks::faults::FaultRule<Endpoint>;
/// The facilitator's fault schedule.
pub type FaultSchedule = crate::mocks::faults::FaultSchedule<Endpoint>;
