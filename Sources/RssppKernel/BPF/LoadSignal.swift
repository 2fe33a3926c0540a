// SPDX-License-Identifier: Apache-2.0

/// What a receive queue's load — the busy fraction the policies balance and the daemon reports
/// as `rsspp_core_load_ratio` and `rsspp_imbalance_ratio` — is measured as.
public enum LoadSignal: String, CaseIterable, Sendable {
    /// NET_RX time of the core serving the queue: BPF softirq time, else the irq+softirq share
    /// of /proc/stat. What RSS++ balances.
    case cpu
    /// The queue's share of the interface's packets over the epoch (see `packetShares`). For
    /// cores whose NET_RX time is too noisy to balance on (emulated or heavily shared CPUs).
    case packets

    /// Per-queue loads when the signal is `.packets`:
    ///
    ///     load[q] = packets[q] / (packets[0] + ... + packets[n-1])
    ///
    /// where `packets[q]` is what the core serving queue q processed during the epoch (NAPI
    /// packets, split evenly between queues sharing a core). The loads of one interface sum
    /// to 1, so every value is a fraction in 0...1 and `(max - min) / min` is the packet-rate
    /// imbalance; all zero for an epoch without packets.
    public static func packetShares(_ packets: [UInt64]) -> [Double] {
        let total = packets.reduce(0.0) { $0 + Double($1) }
        guard total > 0 else { return packets.map { _ in 0 } }
        return packets.map { Double($0) / total }
    }
}
