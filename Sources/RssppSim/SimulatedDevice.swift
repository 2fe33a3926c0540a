// SPDX-License-Identifier: Apache-2.0
import RssppCore

/// The simulated host behind the daemon's seams: the epoch loop that drives a real NIC through
/// `LoadSource`/`TableSink` can drive this instead. Simulated time advances only when a
/// sample is asked for, so a test runs as fast as the CPU allows.
public actor SimulatedDevice: LoadSource, TableSink {
    private var host: SimulatedHost
    private var traffic: Traffic
    private var last: HostCounters
    /// Simulated seconds elapsed.
    public private(set) var now: Double = 0
    /// Tables written through `apply`, in order.
    public private(set) var applied: [IndirectionTable] = []

    /// - Throws: `RssppError` for an invalid scenario.
    public init(scenario: Scenario) throws(RssppError) {
        try scenario.validate()
        host = try SimulatedHost(config: scenario.resolvedHost)
        traffic = try scenario.makeSource()
        last = host.counters(at: 0)
    }

    public func nextSample(after interval: Double) async throws -> EpochSample {
        guard interval.isFinite, interval > 0 else {
            throw RssppError(.invalidArgument, "epoch interval \(interval) s must be positive")
        }
        now += interval
        traffic.emit(until: now, into: &host)
        let counters = host.counters(at: now)
        defer { last = counters }
        return counters.sample(since: last)
    }

    public func currentTable() async throws -> IndirectionTable { host.table }

    public func apply(_ table: IndirectionTable) async throws {
        guard table != host.table else { return }
        try host.apply(table: table)
        applied.append(table)
    }

    /// Latencies recorded so far.
    public var latency: LatencyHistogram { host.latency }
    /// Conservation totals now.
    public var totals: (arrived: UInt64, served: UInt64, dropped: UInt64, queued: UInt64) { host.totals(at: now) }
}
