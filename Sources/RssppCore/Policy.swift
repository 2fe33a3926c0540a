// SPDX-License-Identifier: Apache-2.0

/// Settings shared by the balancing policies, with the published RSS++ defaults.
public struct BalancerSettings: Sendable, Hashable {
    /// A queue is under/overloaded when its load differs from the mean by more than this.
    public var imbalanceThreshold: Double = 0.02
    /// Target mean load for autoscaling (0...1).
    public var targetLoad: Double = 0.8
    /// Scale the number of active queues with the load.
    public var autoscale: Bool = false
    /// Bounds on active queues when autoscaling.
    public var minQueues: Int = 1
    public var maxQueues: Int = Int.max
    /// Epoch length bounds, seconds.
    public var minInterval: Double = 0.1
    public var maxInterval: Double = 1.0

    public init() {}

    /// - Throws: `.invalidArgument` naming the bad setting.
    public func validate() throws(RssppError) {
        guard imbalanceThreshold.isFinite, imbalanceThreshold >= 0, imbalanceThreshold < 1 else {
            throw RssppError(.invalidArgument, "imbalance threshold \(imbalanceThreshold) must be in [0, 1)")
        }
        guard targetLoad.isFinite, targetLoad > 0, targetLoad <= 1 else {
            throw RssppError(.invalidArgument, "target load \(targetLoad) must be in (0, 1]")
        }
        guard minQueues >= 1, maxQueues >= minQueues else {
            throw RssppError(.invalidArgument, "queue bounds \(minQueues)...\(maxQueues) are empty or below 1")
        }
        guard minInterval.isFinite, minInterval > 0, maxInterval >= minInterval, maxInterval.isFinite else {
            throw RssppError(.invalidArgument, "epoch bounds \(minInterval)...\(maxInterval) s are invalid")
        }
    }
}

/// Everything a policy sees at the end of an epoch.
public struct BalanceInput: Sendable {
    /// The table now on the device.
    public var table: IndirectionTable
    /// The epoch's counters.
    public var sample: EpochSample
    /// Queues currently carrying traffic (sorted). Autoscaling changes this set.
    public var activeQueues: [Int]
    /// Queues the policy may ever use (the configured cores' queues, sorted).
    public var allowedQueues: [Int]
    /// The epoch length that produced `sample`, seconds.
    public var interval: Double

    public init(table: IndirectionTable, sample: EpochSample, activeQueues: [Int], allowedQueues: [Int], interval: Double) {
        self.table = table
        self.sample = sample
        self.activeQueues = activeQueues
        self.allowedQueues = allowedQueues
        self.interval = interval
    }
}

/// A balancing policy: a pure function from (input, state) to a plan and the next state.
///
/// Implementations must not perform I/O. The state carries what the policy remembers between
/// epochs (smoothed loads, which queues just received buckets, ...); callers keep it and pass
/// it back unchanged next epoch.
public protocol BalancingPolicy: Sendable {
    associatedtype State: Sendable

    /// The name used on the command line and in the configuration file.
    var name: String { get }
    var settings: BalancerSettings { get }

    /// The state before the first epoch, for a device with this table.
    func initialState(table: IndirectionTable) -> State

    /// Decides the next table.
    /// - Throws: `RssppError` only when `input` is inconsistent (sample does not fit the table);
    ///   a policy never throws because of the load it sees.
    func plan(_ input: BalanceInput, state: inout State) throws(RssppError) -> Plan
}

/// A policy bundled with its state, so callers can hold "some policy" by name.
public struct Balancer: Sendable {
    private var stepper: any BalancerStepper
    public var name: String { stepper.name }
    public var settings: BalancerSettings { stepper.settings }

    public init<P: BalancingPolicy>(_ policy: P, table: IndirectionTable) {
        stepper = Stepper(policy: policy, state: policy.initialState(table: table))
    }

    /// Runs the policy on one epoch and keeps its state.
    public mutating func plan(_ input: BalanceInput) throws(RssppError) -> Plan {
        try stepper.step(input)
    }
}

private protocol BalancerStepper: Sendable {
    var name: String { get }
    var settings: BalancerSettings { get }
    mutating func step(_ input: BalanceInput) throws(RssppError) -> Plan
}

private struct Stepper<P: BalancingPolicy>: BalancerStepper {
    let policy: P
    var state: P.State
    var name: String { policy.name }
    var settings: BalancerSettings { policy.settings }
    mutating func step(_ input: BalanceInput) throws(RssppError) -> Plan {
        try policy.plan(input, state: &state)
    }
}
