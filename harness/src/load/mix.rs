//! The open model's mix: which transaction each arrival is. A smooth weighted round-robin
//! over the weights (reduced by their greatest common divisor) spreads each transaction
//! evenly through the run, the same way in every run.

use super::profile::Txn;

/// The transaction of each arrival, by its index.
#[derive(Debug, Clone)]
pub struct Mixer {
    cycle: Vec<Txn>,
}

fn gcd(a: u32, b: u32) -> u32 {
    if b == 0 { a } else { gcd(b, a % b) }
}

impl Mixer {
    /// A mixer for weights indexed by [`Txn::index`] (at least one above zero).
    pub fn new(weights: [u32; 4]) -> Self {
        let g = weights
            .iter()
            .copied()
            .filter(|w| *w > 0)
            .fold(0, gcd)
            .max(1);
        let weights: Vec<i64> = weights.iter().map(|w| i64::from(w / g)).collect();
        let total: i64 = weights.iter().sum();
        let mut current = vec![0i64; weights.len()];
        let mut cycle = Vec::with_capacity(total as usize);
        for _ in 0..total {
            for (c, w) in current.iter_mut().zip(&weights) {
                *c += w;
            }
            let (best, _) = current
                .iter()
                .enumerate()
                .max_by_key(|(i, c)| (**c, -(*i as i64)))
                .expect("four transactions");
            current[best] -= total;
            cycle.push(Txn::ALL[best]);
        }
        Self { cycle }
    }

    /// The transaction of arrival `n`.
    pub fn pick(&self, n: u64) -> Txn {
        self.cycle[(n % self.cycle.len() as u64) as usize]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weights_are_honoured_and_spread() {
        let m = Mixer::new([6, 3, 1, 0]);
        let first: Vec<Txn> = (0..10).map(|n| m.pick(n)).collect();
        let count = |t| first.iter().filter(|x| **x == t).count();
        assert_eq!(
            (count(Txn::Unpaid), count(Txn::Paid), count(Txn::Free)),
            (6, 3, 1)
        );
        assert_eq!(count(Txn::Replay), 0);
        // Spread: no transaction of weight 3 twice in a row.
        assert!(
            first
                .windows(2)
                .all(|w| !(w[0] == Txn::Paid && w[1] == Txn::Paid))
        );
        // Reduced by the gcd: 600/300/100 cycles every 10 too.
        assert_eq!(Mixer::new([600, 300, 100, 0]).cycle.len(), 10);
        assert_eq!(m.pick(10), m.pick(0));
    }
}
