// SPDX-License-Identifier: Apache-2.0
import RssppCore
import RssppSim
import Testing

@Suite("simulate options")
struct OptionsTests {
    func refusal(_ change: (inout ScenarioOptions) -> Void) -> RssppError? {
        var o = ScenarioOptions()
        o.duration = "1s"
        change(&o)
        do {
            _ = try o.policyNames()
            _ = try o.scenario()
            return nil
        } catch {
            return error
        }
    }

    /// (what the message must name, how to break the options)
    static let badOptions: [(String, @Sendable (inout ScenarioOptions) -> Void)] = [
        ("--cores", { $0.cores = 0 }),
        ("--table-size", { $0.tableSize = 100 }),
        ("--table-size", { $0.tableSize = 32 }),
        ("--load", { $0.load = 0 }),
        ("--load", { $0.load = -0.5 }),
        ("--load", { $0.load = .nan }),
        ("--policies", { $0.policies = "static,best" }),
        ("--policies", { $0.policies = "," }),
        ("--traffic", { $0.traffic = "mystery" }),
        ("--duration", { $0.duration = "soon" }),
        ("--duration", { $0.duration = "-3s" }),
        ("--epoch", { $0.epoch = "0ms" }),
        ("--rate-per-core", { $0.ratePerCore = "fast" }),
        ("--cycles", { $0.cycles = 0 }),
        ("--ring", { $0.ring = 0 }),
        ("descriptors", { $0.cores = 4096; $0.ring = 1 << 20 }),
        ("--warmup", { $0.warmup = "2s" }),
        ("/nonexistent/x.pcap", { $0.pcap = "/nonexistent/x.pcap" }),
        ("/nonexistent/x.csv", { $0.flowLengths = "/nonexistent/x.csv" }),
        ("mutually exclusive", { $0.pcap = "a"; $0.flowSizeCDF = "b" }),
    ]

    @Test("Bad options are refused with exit code 2 and a line naming the option", arguments: 0..<20)
    func refused(index: Int) {
        let (what, change) = Self.badOptions[index]
        let e = refusal(change)
        #expect(e != nil)
        #expect(e?.exitCode == 2)
        #expect(e?.message.contains(what) == true, "\(e?.message ?? "-")")
        #expect(e?.message.contains("\n") == false)
    }

    @Test("Every bad-option case is exercised")
    func allCases() { #expect(Self.badOptions.count == 20) }

    @Test("A malformed trace file is refused naming the file")
    func malformedFile() throws {
        let f = try TempFile(contents: "this is not a capture at all")
        let e = refusal { $0.pcap = f.path }
        #expect(e?.code == .badFile && e?.exitCode == 2 && e?.message.contains(f.path) == true)
        let csv = try TempFile(contents: "size_bytes,cdf\n10,2.5\n")
        let e2 = refusal { $0.flowSizeCDF = csv.path }
        #expect(e2?.code == .badFile && e2?.message.contains("line 2") == true)
    }

    @Test("Defaults and units parse")
    func defaults() throws {
        var o = ScenarioOptions()
        o.epoch = "100ms"
        o.ratePerCore = "1M"
        let s = try o.scenario()
        #expect(s.host.cores == 4 && s.host.tableSize == 128 && s.load == 0.8)
        #expect(s.settings.minInterval == 0.1 && s.settings.maxInterval == 0.1)
        #expect(abs(s.coreCapacity - 1e6) < 1)
        #expect(try o.policyNames() == [.static, .rsspp, .steady])
        #expect(try ScenarioOptions.parseDuration("20s", option: "x") == 20)
        #expect(abs(try ScenarioOptions.parseDuration("250us", option: "x") - 250e-6) < 1e-15)
        #expect(try ScenarioOptions.parseRate("100k", option: "x") == 100_000)
    }

    @Test("A comma-separated list refuses a bad item, naming the option and the item")
    func lists() throws {
        let ints: (Substring) -> Int? = { Int($0) }
        #expect(try ScenarioOptions.parseList("4, 8,16", option: "--cores", expecting: "an integer", ints) == [4, 8, 16])
        for (text, item) in [("4,x", "'x'"), ("4,,8", "''"), ("", "''"), ("8,", "''"), ("1.5", "'1.5'")] {
            do {
                _ = try ScenarioOptions.parseList(text, option: "--cores", expecting: "an integer", ints)
                Issue.record("'\(text)' was accepted")
            } catch {
                #expect(error.exitCode == 2)
                #expect(error.message.hasPrefix("--cores: \(item) in '\(text)'"), "\(error.message)")
            }
        }
        #expect(throws: RssppError.self) { try ScenarioOptions.checkCores(0) }
        #expect(throws: RssppError.self) { try ScenarioOptions.checkCores(4097) }
        #expect(throws: RssppError.self) { try ScenarioOptions.checkTableSize(500, option: "--entries") }
        #expect(throws: RssppError.self) { try ScenarioOptions.checkTableSize(8192) }
        try ScenarioOptions.checkCores(4096)
        try ScenarioOptions.checkTableSize(64)
        do {
            try ScenarioOptions.checkTableSize(500, option: "--entries")
        } catch {
            #expect(error.message == "--entries: 500 is not a power of two in 64...4096")
        }
    }

    @Test("A report renders as a table and as JSON")
    func report() async throws {
        var o = ScenarioOptions()
        o.duration = "0.5s"
        o.ratePerCore = "50k"
        o.policies = "static,steady"
        let r = try await SimulationReport.run(try o.scenario(), policies: try o.policyNames())
        #expect(r.results.map(\.name) == ["static", "steady"])
        #expect(r.text.contains("shared-queue*") && r.text.contains("steady"))
        #expect(r.json.hasPrefix("{\"scenario\":") && r.json.hasSuffix("}}"))
        #expect(!r.json.contains("inf") && !r.json.contains("nan"))
        #expect(!r.oracleImbalance.isEmpty && !r.expectedImbalance.isEmpty && !r.predictedImbalance.isEmpty)
        #expect(r.text.contains("live-flow-lpt*") && r.json.contains("\"live_flow_lpt\":"))
    }
}
