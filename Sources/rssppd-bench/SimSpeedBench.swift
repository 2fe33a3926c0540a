// SPDX-License-Identifier: Apache-2.0
import ArgumentParser
import RssppCore
import RssppSim

#if canImport(Glibc)
import Glibc
#endif

/// Simulated packets per wall-clock second on one core, for the host model alone (a
/// pre-generated packet array replayed into it) and end to end (flow generator + host +
/// controller running a policy).
struct SimSpeedBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "simspeed", abstract: "Simulated packets per wall-clock second (target >= 10 M/s).")

    @Option(help: "Repetitions (median reported).") var repetitions = 5
    @Option(help: "Simulated seconds per repetition.") var duration = 2.0
    @Option(help: "Cores.") var cores = 8
    @Option(help: "Spread every flow's packets over this many seconds (default: measured per-flow rates).") var flowLifetime: Double?

    /// 512 entries, 1 Mpps per core, mean load 0.8, fixed 100 ms epochs.
    var scenario: Scenario {
        var s = Scenario()
        s.host.cores = cores
        s.host.tableSize = 512
        s.ratePerCore = 1e6
        s.load = 0.8
        s.duration = duration
        s.warmup = 0
        s.settings.minInterval = 0.1
        s.settings.maxInterval = 0.1
        s.flowLifetime = flowLifetime
        return s
    }

    func validate() throws {
        try ScenarioOptions.checkCores(cores)
        guard repetitions > 0 else { throw ValidationError("--repetitions must be positive") }
        try scenario.validate()
    }

    func run() throws {
        let scenario = self.scenario

        // Pre-generate packets once for the host-only measurement.
        var collect = Collector()
        var source = try scenario.makeSource()
        source.emit(until: duration, into: &collect)
        let packets = collect.packets
        print("packets per repetition: \(packets.count) (\(cores) cores, load 0.8, 1 Mpps/core, campus mix, \(flowLifetime.map { "every flow spread over \($0) s" } ?? "measured per-flow rates"))")

        var hostRates = [Double](), genRates = [Double](), endRates = [Double]()
        for rep in 0..<repetitions {
            var host = try SimulatedHost(config: scenario.resolvedHost)
            var t0 = monotonic()
            for p in packets { host.receive(p) }
            hostRates.append(Double(packets.count) / (monotonic() - t0))
            blackhole(host.totals(at: duration).served)

            var counter = Counter()
            var s = scenario
            s.seed = UInt64(rep + 1)
            var gen = try s.makeSource()
            t0 = monotonic()
            gen.emit(until: duration, into: &counter)
            genRates.append(Double(counter.count) / (monotonic() - t0))

            t0 = monotonic()
            let r = try Simulator.run(policy: .static, scenario: s)
            endRates.append(Double(r.arrived) / (monotonic() - t0))
        }
        func m(_ x: [Double]) -> String { String(format1(Stats.quantile(x, 0.5) / 1e6)) + " M/s" }
        print("host model only (replay of an array): median \(m(hostRates))")
        print("flow generator only:                  median \(m(genRates))")
        print("end to end (generator+host+static):   median \(m(endRates))")
    }
}

private struct Collector: PacketSink {
    var packets: [Packet] = []
    mutating func receive(_ packet: Packet) { packets.append(packet) }
}

private struct Counter: PacketSink {
    var count = 0
    mutating func receive(_ packet: Packet) { count &+= 1 }
}

/// CPU time of the calling thread: what one dedicated core would take, even when the machine
/// is shared with other work (wall time is printed beside it).
func monotonic() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
}

@inline(never) func blackhole<T>(_ x: T) { _ = x }

/// One decimal place.
func format1(_ x: Double) -> String { Format.fixed(x, 1) }

/// Wall-clock seconds.
func monotonicWall() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
}
