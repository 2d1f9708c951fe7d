//! Several server addresses (the nodes of a cluster): which client talks
//! to which node, and whether a copy crossed from one node to another.
//!
//! Client `i` (senders and receivers alike, numbered as in the scenarios)
//! connects to address `i mod n`, so every room has members and senders
//! on every node; a copy is *cross-node* when its sender and its receiver
//! are on different nodes.

use std::net::{SocketAddr, ToSocketAddrs};

use anyhow::{anyhow, bail, Context as _};

/// The addresses `--addr` was given, each value possibly a comma-separated
/// list: every entry resolved to its first address, in order.
pub fn parse_addrs(values: &[String]) -> anyhow::Result<Vec<SocketAddr>> {
    let mut addrs = Vec::new();
    for entry in values.iter().flat_map(|v| v.split(',')) {
        let entry = entry.trim();
        if entry.is_empty() {
            bail!("--addr: an empty address");
        }
        let addr = entry
            .to_socket_addrs()
            .with_context(|| format!("--addr {entry}"))?
            .next()
            .ok_or_else(|| anyhow!("--addr {entry} resolves to nothing"))?;
        addrs.push(addr);
    }
    if addrs.is_empty() {
        bail!("--addr: no address given");
    }
    Ok(addrs)
}

/// The nodes, and which client connects to which (round robin).
#[derive(Debug, Clone)]
pub struct Spread {
    addrs: Vec<SocketAddr>,
}

impl Spread {
    /// Clients spread over `addrs` (at least one).
    pub fn new(addrs: Vec<SocketAddr>) -> anyhow::Result<Spread> {
        if addrs.is_empty() {
            bail!("no server address");
        }
        Ok(Spread { addrs })
    }

    /// How many nodes.
    pub fn len(&self) -> usize {
        self.addrs.len()
    }

    /// Whether clients are spread over more than one node.
    pub fn is_spread(&self) -> bool {
        self.addrs.len() > 1
    }

    /// The node client `client` talks to.
    pub fn node(&self, client: usize) -> usize {
        client % self.addrs.len()
    }

    /// The address client `client` connects to.
    pub fn addr(&self, client: usize) -> SocketAddr {
        self.addrs[self.node(client)]
    }

    /// Whether a copy from `sender` to `receiver` crossed nodes.
    pub fn crosses(&self, sender: usize, receiver: usize) -> bool {
        self.node(sender) != self.node(receiver)
    }

    /// Every address, in order.
    pub fn addrs(&self) -> &[SocketAddr] {
        &self.addrs
    }

    /// The addresses as given to `--addr`: comma-separated.
    pub fn joined(&self) -> String {
        let list: Vec<String> = self.addrs.iter().map(ToString::to_string).collect();
        list.join(",")
    }
}

/// One connection's latency samples, kept apart by whether the copy was
/// delivered on its sender's node (`0`) or another (`1`), to be merged in
/// batches as [`crate::report::Latencies`] are.
#[derive(Debug, Default)]
pub struct ByNode {
    /// `[same node, cross-node]`, in ns.
    pub samples: [Vec<u64>; 2],
}

impl ByNode {
    /// Adds one sample; whether that side's batch is full.
    pub fn push(&mut self, cross: bool, ns: u64) -> bool {
        let side = &mut self.samples[usize::from(cross)];
        side.push(ns);
        side.len() >= crate::report::LOCAL_BATCH
    }

    /// Merges (and empties) both sides into `into` (`[same, cross]`).
    pub fn merge(&mut self, into: &[crate::report::Latencies; 2]) {
        for (hist, side) in into.iter().zip(self.samples.iter_mut()) {
            hist.merge(side);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::Latencies;

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn one_address_as_before() {
        let addrs = parse_addrs(&strings(&["127.0.0.1:5555"])).unwrap();
        assert_eq!(addrs, ["127.0.0.1:5555".parse::<SocketAddr>().unwrap()]);
    }

    #[test]
    fn addresses_repeated_or_comma_separated_keep_their_order() {
        let addrs = parse_addrs(&strings(&["127.0.0.1:1, 127.0.0.1:2", "127.0.0.1:3"])).unwrap();
        let ports: Vec<u16> = addrs.iter().map(SocketAddr::port).collect();
        assert_eq!(ports, [1, 2, 3]);
    }

    #[test]
    fn bad_or_empty_addresses_are_refused() {
        assert!(parse_addrs(&strings(&["127.0.0.1:1,,127.0.0.1:2"])).is_err());
        assert!(parse_addrs(&strings(&["nonsense"])).is_err());
        assert!(parse_addrs(&[]).is_err());
        assert!(Spread::new(Vec::new()).is_err());
    }

    #[test]
    fn clients_go_round_robin_over_the_nodes() {
        let addrs = parse_addrs(&strings(&["127.0.0.1:1,127.0.0.1:2,127.0.0.1:3"])).unwrap();
        let spread = Spread::new(addrs).unwrap();
        assert!(spread.is_spread());
        let ports: Vec<u16> = (0..7).map(|c| spread.addr(c).port()).collect();
        assert_eq!(ports, [1, 2, 3, 1, 2, 3, 1]);
        // Ten senders (clients 0..9) land 4, 3, 3 on the three nodes.
        let mut per_node = [0; 3];
        for c in 0..10 {
            per_node[spread.node(c)] += 1;
        }
        assert_eq!(per_node, [4, 3, 3]);
        assert_eq!(spread.joined(), "127.0.0.1:1,127.0.0.1:2,127.0.0.1:3");
    }

    #[test]
    fn a_copy_crosses_when_sender_and_receiver_are_on_different_nodes() {
        let spread =
            Spread::new(parse_addrs(&strings(&["127.0.0.1:1,127.0.0.1:2"])).unwrap()).unwrap();
        assert!(!spread.crosses(0, 2));
        assert!(spread.crosses(0, 1));
        assert!(spread.crosses(3, 4));
        let alone = Spread::new(parse_addrs(&strings(&["127.0.0.1:1"])).unwrap()).unwrap();
        assert!(!alone.is_spread());
        assert!((0..5).all(|r| !alone.crosses(0, r)));
    }

    #[test]
    fn samples_are_kept_apart_by_node() {
        let hists = [Latencies::new(), Latencies::new()];
        let mut by = ByNode::default();
        for i in 1..=10u64 {
            by.push(false, i * 1000);
        }
        for i in 1..=4u64 {
            by.push(true, i * 1_000_000);
        }
        by.merge(&hists);
        assert!(by.samples.iter().all(Vec::is_empty));
        let (same, cross) = (hists[0].summary(), hists[1].summary());
        assert_eq!((same.count, cross.count), (10, 4));
        assert!((same.max_us - 10.0).abs() < 0.1);
        assert!((cross.p50_us - 2000.0).abs() < 2.0);
    }

    #[test]
    fn a_full_batch_is_told() {
        let mut by = ByNode::default();
        let full = (0..crate::report::LOCAL_BATCH).map(|i| by.push(true, i as u64 + 1));
        assert_eq!(full.filter(|&f| f).count(), 1);
    }
}
