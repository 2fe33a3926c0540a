// SPDX-License-Identifier: Apache-2.0
import Foundation
import Logging
import RssppCore
import RssppKernel
import RssppTestKit
import Testing

@testable import RssppDaemon

@Suite("Daemon configuration")
struct ConfigTests {
    @Test("a file setting every key parses to those values")
    func goodFile() throws {
        let path = Fixtures.path("good.conf", target: "RssppDaemonTests")
        let config = try DaemonConfig.load(path: path)
        #expect(config.logLevel == .debug)
        #expect(config.metricsAddress == ListenAddress(host: "::1", port: 9100))
        #expect(config.interfaces.map(\.name) == ["eth1", "eth2"])
        let eth1 = try #require(config.interfaces.first)
        #expect(eth1.cores?.cpus == [0, 1, 3])
        #expect(eth1.policy == .rsspp)
        #expect(eth1.settings.targetLoad == 0.7)
        #expect(eth1.settings.imbalanceThreshold == 0.05)
        #expect(eth1.settings.minInterval == 0.2)
        #expect(eth1.settings.maxInterval == 2)
        #expect(eth1.settings.autoscale)
        #expect(eth1.settings.minQueues == 2)
        #expect(eth1.settings.maxQueues == 3)
        #expect(eth1.hashSource == .tc)
        #expect(!eth1.restoreOnExit)
        #expect(eth1.irqPinning)
        #expect(eth1.origin == "\(path):5")
        let eth2 = config.interfaces[1]
        #expect(eth2.cores?.cpus == [4, 5, 6])
        #expect(eth2.policy == .default)
        #expect(eth2.restoreOnExit)
        #expect(eth2.hashSource == .auto)
    }

    @Test("the shipped default configuration passes check-config, and so does its commented example")
    func shippedDefault() throws {
        let path = Fixtures.repositoryRoot + "/packaging/rssppd.conf"
        let config = try DaemonConfig.load(path: path)
        #expect(config.interfaces.isEmpty)
        #expect(config.metricsAddress == .default)
        #expect(config.metricsAddress.host == "127.0.0.1")
        let report = try ConfigCheck.explain(path: path, host: FakeHost(cpus: 8, interfaces: []))
        #expect(report.contains { $0.contains("no interface") })

        // The example block: uncomment it and it must parse and validate too.
        let text = try String(contentsOfFile: path, encoding: .utf8)
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let start = try #require(lines.firstIndex(of: "# interfaces:"))
        let example = lines[start...].filter { $0.hasPrefix("#") }.map { String($0.dropFirst(min(2, $0.count))) }
        let parsed = try DaemonConfig(parsing: example.joined(separator: "\n"), source: "example")
        let eth1 = try #require(parsed.interfaces.first)
        #expect(eth1.name == "eth1" && eth1.cores?.cpus == [0, 1, 2, 3] && eth1.policy == .steady)
        _ = try parsed.resolved(on: FakeHost(cpus: 4, interfaces: ["eth1"]))
    }

    @Test("an empty file means every default and no interface")
    func emptyFile() throws {
        let config = try DaemonConfig(parsing: "# nothing\n", source: "e.conf")
        #expect(config.interfaces.isEmpty && config.logLevel == .info && config.metricsAddress == .default)
    }

    /// (file text, line of the error, key it must name, words the message must contain)
    static let badCases: [(String, Int, String, String)] = [
        ("log-level: info\nfoo: 1\n", 2, "foo", "unknown key"),
        ("interfaces:\n  eth0:\n    polcy: rsspp\n", 3, "interfaces.eth0.polcy", "unknown key"),
        ("interfaces:\n  eth0:\n    policy: fastest\n", 3, "interfaces.eth0.policy", "unknown policy 'fastest'"),
        ("interfaces:\n  eth0:\n    target-load: 2\n", 3, "interfaces.eth0.target-load", "not in"),
        ("interfaces:\n  eth0:\n    target-load: high\n", 3, "interfaces.eth0.target-load", "expected a number"),
        ("interfaces:\n  eth0:\n    imbalance-threshold: -0.1\n", 3, "interfaces.eth0.imbalance-threshold", "not in"),
        ("interfaces:\n  eth0:\n    cores: 3-1\n", 3, "interfaces.eth0.cores", "bad CPU range"),
        ("interfaces:\n  eth0:\n    cores: {a: 1}\n", 3, "interfaces.eth0.cores", "expected a CPU list"),
        ("interfaces:\n  eth0:\n    autoscale: maybe\n", 3, "interfaces.eth0.autoscale", "expected true or false"),
        ("interfaces:\n  eth0:\n    min-cores: 0\n", 3, "interfaces.eth0.min-cores", "not in"),
        ("interfaces:\n  eth0:\n    max-cores: 2.5\n", 3, "interfaces.eth0.max-cores", "expected an integer"),
        ("interfaces:\n  eth0:\n    min-cores: 4\n    max-cores: 2\n", 4, "interfaces.eth0.max-cores", "below min-cores"),
        ("interfaces:\n  eth0:\n    cores: 0-1\n    min-cores: 3\n", 4, "interfaces.eth0.min-cores", "exceeds"),
        ("interfaces:\n  eth0:\n    epoch-min: 2\n    epoch-max: 1\n", 4, "interfaces.eth0.epoch-max", "below epoch-min"),
        ("interfaces:\n  eth0:\n    epoch-min: 0\n", 3, "interfaces.eth0.epoch-min", "not in"),
        ("interfaces:\n  eth0:\n    hash-source: ebpf\n", 3, "interfaces.eth0.hash-source", "unknown hash source"),
        ("interfaces:\n  eth0:\n    load: busy\n", 3, "interfaces.eth0.load", "unknown load signal 'busy' (known: cpu, packets)"),
        ("interfaces:\n  eth0:\n    load: packets\n    autoscale: true\n", 4, "interfaces.eth0.autoscale", "autoscale needs load: cpu"),
        ("interfaces:\n  eth0:\n    autoscale: true\n    load: packets\n", 4, "interfaces.eth0.load", "autoscale needs load: cpu"),
        ("interfaces:\n  eth0:\n    restore-on-exit: [1]\n", 3, "interfaces.eth0.restore-on-exit", "expected true or false"),
        ("interfaces:\n  eth0:\n    irq-pinning: 2\n", 3, "interfaces.eth0.irq-pinning", "expected true or false"),
        ("log-level: loud\n", 1, "log-level", "unknown log level"),
        ("metrics-address: localhost\n", 1, "metrics-address", "bad listen address"),
        ("metrics-address: 127.0.0.1:99999\n", 1, "metrics-address", "not in 0...65535"),
        ("interfaces: 5\n", 1, "interfaces", "expected a mapping"),
        ("interfaces:\n  a/b: {}\n", 2, "interfaces.a/b", "not a valid interface name"),
        ("interfaces:\n  eth0: {}\n  eth0: {}\n", 2, "", "duplicate key eth0"),
        ("interfaces: [\n", 2, "", "did not find"),
        ("- 1\n- 2\n", 1, "", "expected a mapping"),
    ]

    @Test("every bad key or value is reported with file:line and the key", arguments: badCases.indices)
    func badValue(index: Int) throws {
        let (text, line, key, words) = Self.badCases[index]
        let error = try #require(throws: RssppError.self) { try DaemonConfig(parsing: text, source: "/etc/rssppd/x.conf") }
        #expect(error.code == .badFile)
        #expect(error.message.hasPrefix("/etc/rssppd/x.conf:\(line): \(key)"), "\(error.message)")
        #expect(error.message.contains(words), "\(error.message)")
        #expect(!error.message.contains("\n"))
        #expect(error.exitCode == 2)
    }

    @Test("load is cpu by default; packets is accepted and explained by check-config")
    func loadSignal() throws {
        let text = "interfaces:\n  eth0:\n    cores: 0-3\n    load: packets\n  eth1:\n    cores: 4\n"
        let config = try DaemonConfig(parsing: text, source: "l.conf")
        #expect(config.interfaces.map(\.load) == [.packets, .cpu])
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("rssppd-load-\(UUID().uuidString).conf").path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let report = try ConfigCheck.explain(path: path, host: FakeHost(cpus: 8, interfaces: ["eth0", "eth1"]))
        #expect(report.contains("  load: each queue's share of the interface's packets (not CPU time)"))
        #expect(report.contains("  load: each core's NET_RX time"))
    }

    @Test("a missing file is a one-line not-found error")
    func missingFile() throws {
        let error = try #require(throws: RssppError.self) { try DaemonConfig.load(path: "/nonexistent/rssppd.conf") }
        #expect(error.code == .notFound && error.message.hasPrefix("/nonexistent/rssppd.conf: "))
    }

    @Test("CPU lists parse the kernel's syntax and print compactly")
    func cpuLists() throws {
        #expect(try CPUList(parsing: "0-3,8").cpus == [0, 1, 2, 3, 8])
        #expect(try CPUList(parsing: " 5, 1-2 ,2\n").description == "1-2,5")
        for bad in ["", "a", "1-", "-1", "3-1", "1,,2", "1-2-3"] {
            #expect(throws: RssppError.self) { try CPUList(parsing: bad) }
        }
    }

    @Test("listen addresses")
    func listenAddresses() throws {
        #expect(try ListenAddress(parsing: "0.0.0.0:80") == ListenAddress(host: "0.0.0.0", port: 80))
        #expect(try ListenAddress(parsing: "[::]:9715").description == "[::]:9715")
        for bad in [":80", "host", "[::1]80", "h:x", "::1:80"] {
            #expect(throws: RssppError.self) { try ListenAddress(parsing: bad) }
        }
    }

    // MARK: against the host

    @Test("an unknown interface names file:line and is not-found (exit 2)")
    func unknownInterface() throws {
        let config = try DaemonConfig(parsing: "interfaces:\n  eth0: {}\n  eth9:\n    cores: 1\n", source: "r.conf")
        let error = try #require(throws: RssppError.self) { try config.resolved(on: FakeHost(cpus: 4, interfaces: ["eth0"])) }
        #expect(error.code == .notFound && error.exitCode == 2)
        #expect(error.message == "r.conf:3: interfaces.eth9: no such network interface")
    }

    @Test("a core that does not exist is refused")
    func missingCore() throws {
        let config = try DaemonConfig(parsing: "interfaces:\n  eth0:\n    cores: 2-5\n", source: "r.conf")
        let error = try #require(throws: RssppError.self) { try config.resolved(on: FakeHost(cpus: 4, interfaces: ["eth0"])) }
        #expect(error.message.hasPrefix("r.conf:2: interfaces.eth0.cores: CPU 4 does not exist"))
    }

    @Test("two interfaces claiming one core are refused")
    func sharedCore() throws {
        let text = "interfaces:\n  eth0:\n    cores: 0-1\n  eth1:\n    cores: 1-2\n"
        let config = try DaemonConfig(parsing: text, source: "r.conf")
        let error = try #require(throws: RssppError.self) { try config.resolved(on: FakeHost(cpus: 4, interfaces: ["eth0", "eth1"])) }
        #expect(error.message == "r.conf:4: interfaces.eth1.cores: CPU 1 is already claimed by eth0")
    }

    @Test("without cores, the NIC's NUMA-local online cores are used")
    func localCores() throws {
        let config = try DaemonConfig(parsing: "interfaces:\n  eth0:\n", source: "r.conf")
        var host = FakeHost(cpus: 4, interfaces: ["eth0"])
        host.local["eth0"] = CPUList([2, 3, 7])
        let resolved = try config.resolved(on: host)
        #expect(resolved.interfaces[0].cores?.cpus == [2, 3])
        // Unknown locality (no device/ directory): every online core.
        let fallback = try config.resolved(on: FakeHost(cpus: 3, interfaces: ["eth0"]))
        #expect(fallback.interfaces[0].cores?.cpus == [0, 1, 2])
    }

    @Test("sysfs inventory reads this machine")
    func sysfs() throws {
        let host = SysfsInventory()
        let online = try host.onlineCPUs()
        #expect(online.contains(0))
        #expect(host.interfaceExists("lo"))
        #expect(!host.interfaceExists("rsspp-none0"))
        #expect(!host.interfaceExists("../lo"))
    }

    // MARK: reload

    @Test("a reload with an invalid file keeps the old configuration")
    func reloadKeepsOld() throws {
        let dir = try TempDir()
        let path = dir.path + "/rssppd.conf"
        try "interfaces:\n  eth0:\n    policy: rsspp\n".write(toFile: path, atomically: true, encoding: .utf8)
        let loader = ConfigLoader(path: path, host: FakeHost(cpus: 4, interfaces: ["eth0", "eth1"]))
        let store = ConfigStore(try loader.load())
        let metrics = DaemonMetrics()
        let logs = LogCapture()
        let reloader = Reloader(loader: loader, store: store, metrics: metrics, logger: logs.logger)

        try "interfaces:\n  eth0:\n    policy: nope\n".write(toFile: path, atomically: true, encoding: .utf8)
        #expect(!reloader.reload())
        #expect(store.current.generation == 0)
        #expect(store.config.interfaces[0].policy == .rsspp)
        #expect(logs.messages.contains { $0.level == .error && $0.metadata["error"]?.contains("rssppd.conf:3: interfaces.eth0.policy") == true })

        // Adding an interface needs a restart: rejected too.
        try "interfaces:\n  eth0: {}\n  eth1: {}\n".write(toFile: path, atomically: true, encoding: .utf8)
        #expect(!reloader.reload())
        #expect(store.config.interfaces.count == 1)

        // So do a new hash source and a new load signal, each wired in at start-up.
        for (key, value) in [("hash-source", "software"), ("load", "packets")] {
            try "interfaces:\n  eth0:\n    \(key): \(value)\n".write(toFile: path, atomically: true, encoding: .utf8)
            #expect(!reloader.reload())
            #expect(logs.messages.contains { $0.metadata["error"]?.contains("interfaces.eth0.\(key) changed; that needs a restart") == true })
        }
        #expect(store.current.generation == 0)

        try "interfaces:\n  eth0:\n    policy: static\n".write(toFile: path, atomically: true, encoding: .utf8)
        #expect(reloader.reload())
        #expect(store.current.generation == 1)
        #expect(store.config.interfaces[0].policy == .static)
        let text = String(decoding: metrics.render(), as: UTF8.self)
        #expect(text.contains("rsspp_config_reloads_total{result=\"error\"} 4"))
        #expect(text.contains("rsspp_config_reloads_total{result=\"ok\"} 1"))
    }

    @Test("command-line overrides win over the file, on reload too")
    func overrides() throws {
        let dir = try TempDir()
        let path = dir.path + "/rssppd.conf"
        try "metrics-address: 127.0.0.1:1\nlog-level: error\n".write(toFile: path, atomically: true, encoding: .utf8)
        let loader = ConfigLoader(path: path, host: FakeHost(cpus: 1, interfaces: []),
                                  metricsAddressOverride: ListenAddress(host: "::1", port: 2), logLevelOverride: .trace)
        let config = try loader.load()
        #expect(config.metricsAddress.port == 2 && config.logLevel == .trace)
        #expect(try loader.loadReplacing(config).metricsAddress.port == 2)
    }
}

@Suite("Load signal")
struct LoadSignalTests {
    @Test("packet shares: each queue's packets over the interface's total, summing to 1")
    func packetShares() {
        #expect(LoadSignal.packetShares([600, 200, 200, 0]) == [0.6, 0.2, 0.2, 0])
        let shares = LoadSignal.packetShares([3, 1, 1, 1, 1, 1])
        #expect(abs(shares.reduce(0, +) - 1) < 1e-12)
        #expect(shares[0] == 0.375 && shares[1] == 0.125)
        // The imbalance the daemon reports is the packet-rate imbalance: (600 - 200) / 200.
        #expect(abs(Balance.imbalance(LoadSignal.packetShares([600, 200, 200])) - 2) < 1e-12)
    }

    @Test("an epoch without packets loads no queue")
    func idle() {
        #expect(LoadSignal.packetShares([0, 0, 0, 0]) == [0, 0, 0, 0])
        #expect(LoadSignal.packetShares([]) == [])
    }
}
