// SPDX-License-Identifier: Apache-2.0
import ArgumentParser
import RssppCore
import RssppDaemon
import RssppKernel

/// `rssppd check-config [FILE]`: validates a configuration against this machine and explains it.
struct CheckConfig: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check-config",
        abstract: "Validate a configuration file and explain what it would do.",
        discussion: """
            Checks syntax, every key and value, and the machine: interfaces exist, cores exist \
            and are online, no core is claimed twice. Errors name FILE:LINE and the key; exit \
            status 2. Each interface's RSS indirection table is read (nothing is written): a \
            device without one fails the check as `rssppd run` would. With --simulated, \
            interfaces and cores are checked against the simulated machine of \
            `rssppd run --simulate` instead.
            With --exec-condition the exit status follows systemd's ExecCondition= protocol, \
            for the unit to skip a start with nothing to do instead of failing: 0 when the file \
            is valid and names an interface, 1 when it is valid and names none (the start is \
            skipped), 255 when it is invalid (the start fails).
            """)

    @Argument(help: "The file to check (default \(ConfigDefaults.path)).")
    var file: String = ConfigDefaults.path
    @Flag(help: "Check against the simulated machine (any interface name, --sim-cores cores).")
    var simulated = false
    @Option(help: "With --simulated: cores of the simulated machine.")
    var simCores = 4
    @Flag(help: "Exit 0 (valid, interfaces to manage), 1 (valid, none) or 255 (invalid), for systemd's ExecCondition=.")
    var execCondition = false

    /// Reads the interface's RSS table (no write); its failure names the config line.
    static func describeDevice(_ iface: InterfaceConfig) throws(RssppError) -> String {
        do {
            let device = try EthtoolDevice(interface: iface.name)
            let s = device.original
            return "device \(iface.name): RSS table of \(s.indirection.count) entries over \(s.rings) rx queues, written through \(device.path.rawValue) (\(device.pathReason))"
        } catch {
            throw RssppError(error.code, "\(iface.origin): interfaces.\(iface.name): \(error.message)")
        }
    }

    func run() async throws {
        do {
            let parsed = try DaemonConfig.load(path: file)
            let lines: [String]
            if simulated {
                lines = try ConfigCheck.explain(parsed, path: file, host: SimulatedInventory(cores: simCores))
            } else {
                lines = try ConfigCheck.explain(parsed, path: file, host: SysfsInventory())
                    + (try parsed.interfaces.map(Self.describeDevice))
            }
            Console.out(lines.joined(separator: "\n") + "\n")
            if execCondition, parsed.interfaces.isEmpty {
                Console.out("\(file): no interface configured, so rssppd is not started; add one and start it again\n")
                throw ExitCode(1)
            }
        } catch let error as RssppError {
            Console.err("rssppd check-config: \(error.message)\n")
            throw ExitCode(execCondition ? 255 : error.exitCode)
        }
    }
}
