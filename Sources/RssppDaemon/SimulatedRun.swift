// SPDX-License-Identifier: Apache-2.0
// `rssppd run --simulate`: the same loop, with the simulator as NIC and traffic.
import RssppCore
import RssppSim

/// Defaults of a simulated run: works on a fresh clone with no configuration at all.
public enum SimulatedRun {
    public static let interfaceName = "sim0"

    /// One simulated interface using `cores` cores (queue i on core i), default policy.
    public static func config(cores: Int = 4, policy: PolicyName = .default) -> DaemonConfig {
        var config = DaemonConfig(source: "<built-in simulation>")
        var iface = InterfaceConfig(name: interfaceName, origin: "<built-in simulation>")
        iface.cores = CPUList(0..<cores)
        iface.policy = policy
        config.interfaces = [iface]
        return config
    }

    /// The built-in scenario: campus-like flows (heavy hitters included) at 80 % of `cores`
    /// cores, each serving `ratePerCore` packets/s.
    public static func scenario(cores: Int = 4, ratePerCore: Double = 100_000, seed: UInt64 = 1) -> Scenario {
        var s = Scenario()
        s.host.cores = cores
        s.ratePerCore = ratePerCore
        s.seed = seed
        return s
    }

    /// A simulated device for `name`; with `speed` set, epochs last `interval / speed` of
    /// wall time, so a person can watch; without it, as fast as the CPU allows.
    public static func device(name: String = interfaceName, scenario: Scenario, speed: Double? = nil) throws(RssppError) -> ManagedDevice {
        let sim = try SimulatedDevice(scenario: scenario)
        let source: any LoadSource = speed.map { PacedSource(inner: sim, speed: $0) } ?? sim
        return ManagedDevice(name: name, source: source, sink: sim, queueMap: QueueMap.identity(queues: scenario.host.cores))
    }
}

/// Makes an instant source (the simulator) take the epoch's length in wall time, divided by `speed`.
public struct PacedSource: LoadSource {
    let inner: any LoadSource
    let speed: Double

    public init(inner: any LoadSource, speed: Double) {
        self.inner = inner
        self.speed = speed > 0 && speed.isFinite ? speed : 1
    }

    public func nextSample(after interval: Double) async throws -> EpochSample {
        try await Task.sleep(for: .seconds(interval / speed))
        return try await inner.nextSample(after: interval)
    }
}

/// The simulated machine as a `HostInventory`: every configured interface exists, CPUs 0..<cores.
public struct SimulatedInventory: HostInventory {
    public var cores: Int
    public init(cores: Int) { self.cores = cores }
    public func onlineCPUs() throws(RssppError) -> CPUList { CPUList(0..<cores) }
    public func interfaceExists(_ name: String) -> Bool { DaemonConfig.isValidInterfaceName(name) }
    public func localCPUs(of interface: String) throws(RssppError) -> CPUList { CPUList(0..<cores) }
}
