// SPDX-License-Identifier: Apache-2.0

/// Placeholder: behaves like `static` until implemented.
public struct SteadyPolicy: BalancingPolicy {
    public let name = "steady"
    public let settings: BalancerSettings
    public init(settings: BalancerSettings = BalancerSettings()) { self.settings = settings }
    public func initialState(table: IndirectionTable) -> Void {}
    public func plan(_ input: BalanceInput, state: inout Void) throws(RssppError) -> Plan {
        var s: Void = ()
        return try StaticPolicy(settings: settings).plan(input, state: &s)
    }
}
