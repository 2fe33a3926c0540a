// SPDX-License-Identifier: Apache-2.0
import ArgumentParser
import RssppCore
import RssppKernel

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// `rssppd table show|set|irqs`: read and write a NIC's RSS indirection table by hand.
/// Wiring only: parsing and formatting of tables live in RssppKernel (TableSpec, TableFormat).
struct Table: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "table",
        abstract: "Show or write a NIC's RSS indirection table (ethtool netlink, or the ioctl on older kernels).",
        subcommands: [TableShow.self, TableSet.self, TableContexts.self, TableIrqs.self, TableMonitor.self]
    )
}

/// Options every `table` subcommand takes. Values are parsed by us, not by ArgumentParser, so a
/// bad value is a one-line error with exit status 2 like every other user mistake.
struct TableDeviceOptions: ParsableArguments {
    @Option(name: .long, help: "RSS context (0 = the main table).")
    var context: String = "0"

    @Option(name: .long, help: "Kernel interface: netlink, ioctl or auto (netlink when the kernel has RSS_SET).")
    var path: String = "auto"

    func parsed() throws(RssppError) -> (context: UInt32, path: EthtoolPathChoice) {
        guard let ctx = UInt32(context) else {
            throw RssppError(.invalidArgument, "--context: '\(context)' is not a context number")
        }
        guard let choice = EthtoolPathChoice(rawValue: path) else {
            throw RssppError(.invalidArgument, "--path: '\(path)' is not one of netlink, ioctl, auto")
        }
        return (ctx, choice)
    }
}

struct TableShow: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show",
        abstract: "Print the table like `ethtool -x`: rings, entries, key, hash function, and the path used.")

    @Argument(help: "Network interface.")
    var interface: String

    @OptionGroup var device: TableDeviceOptions

    @Flag(name: .long, help: "Print one JSON object instead.")
    var json = false

    func run() throws {
        try runReportingErrors { () throws(RssppError) in
            let (context, path) = try device.parsed()
            let dev = try EthtoolDevice(interface: interface, context: context, path: path)
            let s = dev.original
            print(json ? TableFormat.json(s, pathReason: dev.pathReason) : TableFormat.text(s, pathReason: dev.pathReason), terminator: "")
        }
    }
}

struct TableSet: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "set",
        abstract: "Write the table: equal N | weight W0 W1 ... | file PATH | default.",
        discussion: """
            equal N          spread over the first N queues (entry i -> i % N)
            weight W0 W1 ..  contiguous blocks sized by weight, like `ethtool -X weight`
            file PATH        one queue per entry, whitespace or newline separated, # comments
            default          the driver's default spread (context 0 only)
            The table is validated before anything is sent (size = device size, every entry
            below the rx ring count), written only if it changes something, and read back.
            """)

    @Argument(help: "Network interface.")
    var interface: String

    @Argument(help: "The table: equal N | weight W0 W1 ... | file PATH | default.")
    var table: [String] = []

    @OptionGroup var device: TableDeviceOptions

    func run() throws {
        try runReportingErrors { () throws(RssppError) in
            let (context, path) = try device.parsed()
            let spec = try TableSpec.parse(table, readFile: { path throws(RssppError) in try TextFile.read(path) })
            let dev = try EthtoolDevice(interface: interface, context: context, path: path)
            let before = dev.original
            let entries = try spec.table(size: before.indirection.count, rings: before.rings, interface: interface)
            let report = try dev.write(entries)
            print("path: \(dev.path.rawValue) (\(dev.pathReason))")
            if !report.wrote {
                print("\(interface): table unchanged, nothing written")
            } else if entries == nil {
                print("\(interface): reset to the default table, \(report.changedEntries) of \(before.indirection.count) entries changed")
            } else {
                print("\(interface): wrote \(before.indirection.count) entries over \(before.rings) rx rings, \(report.changedEntries) changed, read back ok")
            }
        }
    }
}

struct TableContexts: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "contexts",
        abstract: "List the device's RSS contexts (netlink RSS_GET dump, Linux 6.12+).")

    @Argument(help: "Network interface.")
    var interface: String

    @Option(name: .long, help: "First context to list (START_CONTEXT).")
    var start: String = "0"

    func run() throws {
        try runReportingErrors { () throws(RssppError) in
            guard let first = UInt32(start) else { throw RssppError(.invalidArgument, "--start: '\(start)' is not a context number") }
            let dev = try EthtoolDevice(interface: interface, path: .netlink)
            for c in try dev.contexts(startContext: first == 0 ? nil : first) {
                let fn = c.hashFunction.map { RssHashFunction.decode($0).map(\.name).joined(separator: ",") } ?? "unknown"
                print("context \(c.context ?? 0): \(c.indirection?.count ?? 0) entries, hash \(fn), key \(c.key?.count ?? 0) bytes")
            }
        }
    }
}

struct TableMonitor: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "monitor",
        abstract: "Print RSS_NTF notifications (ethtool netlink 'monitor' group, Linux 6.17+), one line each.")

    @Argument(help: "Only this interface (default: all).")
    var interface: String?

    @Option(name: .long, help: "Stop after this many notifications (0: never).")
    var count: String = "0"

    @Option(name: .long, help: "Stop after this many seconds without a notification (0: never).")
    var timeout: String = "0"

    func run() throws {
        try runReportingErrors { () throws(RssppError) in
            guard let limit = Int(count), limit >= 0 else { throw RssppError(.invalidArgument, "--count: '\(count)' is not a count") }
            guard let seconds = Int32(timeout), seconds >= 0, seconds < 86_400 else {
                throw RssppError(.invalidArgument, "--timeout: '\(timeout)' is not a number of seconds")
            }
            let listener = try RssNotificationListener()
            // Unbuffered: a monitor's lines must reach a pipe or file as they happen.
            writeFD(1, "listening: ethtool family \(listener.family.id), monitor group \(listener.groupID)\n")
            var seen = 0
            while limit == 0 || seen < limit {
                guard let n = try listener.next(timeoutMs: seconds == 0 ? -1 : seconds * 1000) else { return }
                if let interface, n.interface != interface { continue }
                seen += 1
                let table = n.indirection.map { "\($0.count) entries, queues \(Set($0).sorted())" } ?? "no table"
                let key = n.key.map { "key \(TableFormat.hex($0))" } ?? "no key"
                writeFD(1, "ntf dev=\(n.interface ?? "?") context=\(n.context ?? 0) \(table) \(key)\n")
            }
        }
    }
}

struct TableIrqs: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "irqs",
        abstract: "List the CPU serving each rx queue (IRQ affinity); --pin moves queue IRQs one-to-one to cores.")

    @Argument(help: "Network interface.")
    var interface: String

    @Option(name: .long, help: "CPU list (e.g. 0-3 or 2,4,6): pin queue i's IRQ to the i-th CPU (round robin).")
    var pin: String?

    func run() throws {
        try runReportingErrors { () throws(RssppError) in
            if let pin {
                let cores = try CPUList.parse(pin, source: "--pin")
                let changes = try QueueIrqs.pin(interface: interface, cores: cores)
                if changes.isEmpty { print("\(interface): queue IRQs already pinned, nothing changed") }
                for c in changes {
                    print("queue \(c.queue): irq \(c.irq) cpus \(CPUList.format(c.before)) -> \(CPUList.format(c.after))")
                }
            }
            for q in try QueueIrqs.discover(interface: interface) {
                let eff = q.effective.map { " effective \(CPUList.format($0))" } ?? ""
                print("queue \(q.queue): irq \(q.irq) \(q.name) cpus \(CPUList.format(q.affinity))\(eff)")
            }
        }
    }
}

/// Runs `body`; an RssppError becomes one line on stderr and the error's exit status.
fileprivate func runReportingErrors(_ body: () throws(RssppError) -> Void) throws {
    do {
        try body()
    } catch {
        writeStandardError("rssppd: \(error.message)\n")
        throw ExitCode(error.exitCode)
    }
}
