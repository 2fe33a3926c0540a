// SPDX-License-Identifier: Apache-2.0

/// The policies rssppd knows, by the names used on the command line and in the config file.
public enum PolicyName: String, CaseIterable, Sendable {
    /// The NIC's default spread; never moves anything.
    case `static`
    /// The published RSS++ algorithm (Barbette et al., CoNEXT 2019).
    case rsspp
    /// rssppd's own default policy.
    case steady

    public static let `default` = PolicyName.steady

    /// Parses a policy name.
    /// - Throws: `.invalidArgument` listing the known names.
    public init(parsing text: String) throws(RssppError) {
        guard let name = PolicyName(rawValue: text) else {
            let known = PolicyName.allCases.map(\.rawValue).joined(separator: ", ")
            throw RssppError(.invalidArgument, "unknown policy '\(text)' (known: \(known))")
        }
        self = name
    }

    /// A balancer running this policy, starting from `table`. `steadyTuning` applies to
    /// `steady` only (tuning studies; the defaults are what rssppd runs).
    public func balancer(settings: BalancerSettings, table: IndirectionTable,
                         steadyTuning: SteadyPolicy.Tuning = SteadyPolicy.Tuning()) -> Balancer {
        switch self {
        case .static: return Balancer(StaticPolicy(settings: settings), table: table)
        case .rsspp: return Balancer(RssppPolicy(settings: settings), table: table)
        case .steady: return Balancer(SteadyPolicy(settings: settings, tuning: steadyTuning), table: table)
        }
    }
}
