//! Network identifiers: CAIP-2 (`eip155:84532`) in v2 and t402, names (`base-sepolia`) in v1,
//! and which of them are test networks paycheck may sign for.

/// A known EVM network: its v1 name, chain id, and whether it is a test network.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EvmNetwork {
    /// The x402 v1 name, such as `base-sepolia`.
    pub v1_name: &'static str,
    /// The EIP-155 chain id.
    pub chain_id: u64,
    /// True for test networks; paycheck signs only for these unless mainnet is allowed.
    pub testnet: bool,
}

/// Known EVM networks (protocols.md §2.10 and the t402 network list §6).
pub const KNOWN_EVM: &[EvmNetwork] = &[
    net("base-sepolia", 84532, true),
    net("avalanche-fuji", 43113, true),
    net("polygon-amoy", 80002, true),
    net("sei-testnet", 1328, true),
    net("abstract-testnet", 11124, true),
    net("skale-base-sepolia", 324705682, true),
    net("celo-sepolia", 11142220, true),
    net("sepolia", 11155111, true),
    net("arbitrum-sepolia", 421614, true),
    net("anvil", 31337, true),
    net("base", 8453, false),
    net("avalanche", 43114, false),
    net("polygon", 137, false),
    net("sei", 1329, false),
    net("iotex", 4689, false),
    net("peaq", 3338, false),
    net("abstract", 2741, false),
    net("story", 1514, false),
    net("educhain", 41923, false),
    net("xdc", 50, false),
    net("xrpl-evm", 1440000, false),
    net("celo", 42220, false),
    net("ethereum", 1, false),
    net("arbitrum", 42161, false),
    net("optimism", 10, false),
];

const fn net(v1_name: &'static str, chain_id: u64, testnet: bool) -> EvmNetwork {
    EvmNetwork {
        v1_name,
        chain_id,
        testnet,
    }
}

/// True when `text` has the CAIP-2 shape `namespace:reference` (X2 §11.1).
pub fn is_caip2(text: &str) -> bool {
    let Some((ns, reference)) = text.split_once(':') else {
        return false;
    };
    (3..=8).contains(&ns.len())
        && ns
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && (1..=32).contains(&reference.len())
        && reference
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The EIP-155 chain id of a network given as CAIP-2 (`eip155:84532`) or as a v1 name.
pub fn chain_id(network: &str) -> Option<u64> {
    if let Some(reference) = network.strip_prefix("eip155:") {
        return reference.parse().ok();
    }
    KNOWN_EVM
        .iter()
        .find(|n| n.v1_name == network)
        .map(|n| n.chain_id)
}

/// The CAIP-2 id of a network given in either form; non-EVM CAIP-2 ids pass through.
pub fn to_caip2(network: &str) -> Option<String> {
    if is_caip2(network) {
        return Some(network.to_string());
    }
    chain_id(network).map(|id| format!("eip155:{id}"))
}

/// The v1 name of an EVM chain, when it has one.
pub fn v1_name(chain_id: u64) -> Option<&'static str> {
    KNOWN_EVM
        .iter()
        .find(|n| n.chain_id == chain_id)
        .map(|n| n.v1_name)
}

/// True only for networks known to be test networks. Unknown networks count as mainnet:
/// paycheck refuses to sign for a network it cannot prove is a test network.
pub fn is_known_testnet(network: &str) -> bool {
    match chain_id(network) {
        Some(id) => KNOWN_EVM.iter().any(|n| n.chain_id == id && n.testnet),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caip2_shape() {
        assert!(is_caip2("eip155:84532"));
        assert!(is_caip2("solana:5eykt4UsFv8P8NJdTREpY1vzqKqZKvdp"));
        assert!(!is_caip2("base-sepolia"));
        assert!(!is_caip2("EIP155:1"));
        assert!(!is_caip2("eip155:"));
        assert!(!is_caip2("ab:1"));
    }

    #[test]
    fn names_and_ids_agree() {
        assert_eq!(chain_id("base-sepolia"), Some(84532));
        assert_eq!(chain_id("eip155:8453"), Some(8453));
        assert_eq!(to_caip2("base-sepolia").as_deref(), Some("eip155:84532"));
        assert_eq!(v1_name(84532), Some("base-sepolia"));
        assert_eq!(chain_id("solana:abc"), None);
    }

    #[test]
    fn only_known_testnets_are_testnets() {
        assert!(is_known_testnet("eip155:84532"));
        assert!(is_known_testnet("base-sepolia"));
        assert!(!is_known_testnet("eip155:8453"));
        assert!(!is_known_testnet("base"));
        assert!(!is_known_testnet("eip155:999999"));
        assert!(!is_known_testnet("solana:5eykt4UsFv8P8NJdTREpY1vzqKqZKvdp"));
    }
}
