// SPDX-License-Identifier: Apache-2.0

/// The baseline: what a NIC does out of the box. Keeps the default spread `i % queues` over
/// the active queues and never moves anything.
public struct StaticPolicy: BalancingPolicy {
    public let name = "static"
    public let settings: BalancerSettings

    public init(settings: BalancerSettings = BalancerSettings()) { self.settings = settings }

    public func initialState(table: IndirectionTable) -> Void {}

    public func plan(_ input: BalanceInput, state: inout Void) throws(RssppError) -> Plan {
        try input.sample.validate(against: input.table)
        var builder = try Plan.Builder(table: input.table, activeQueues: input.activeQueues)
        let queues = builder.activeQueues
        for bucket in 0..<input.table.size {
            try builder.move(bucket: bucket, to: queues[bucket % queues.count])
        }
        return builder.build(nextInterval: settings.maxInterval)
    }
}
