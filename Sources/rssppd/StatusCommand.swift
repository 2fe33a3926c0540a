// SPDX-License-Identifier: Apache-2.0
import ArgumentParser
import Foundation
import RssppCore
import RssppDaemon

/// Where `status` and `top` find the daemon: --metrics-address, else the config file's, else the default.
struct EndpointOptions: ParsableArguments {
    @Option(help: "The daemon's metrics address HOST:PORT (default: from the config file, else 127.0.0.1:9715).")
    var metricsAddress: String?
    @Option(help: "Configuration file to read the metrics address from.")
    var config: String = ConfigDefaults.path

    func address() throws(RssppError) -> ListenAddress {
        if let text = metricsAddress {
            do { return try ListenAddress(parsing: text) } catch {
                throw RssppError(.invalidArgument, "--metrics-address: \(error.message)")
            }
        }
        // A missing or unreadable file is fine here: the daemon may run with the default.
        var address = (try? DaemonConfig.load(path: config))?.metricsAddress ?? .default
        // A wildcard listen address is reached through loopback.
        if address.host == "0.0.0.0" { address.host = "127.0.0.1" }
        if address.host == "::" { address.host = "::1" }
        return address
    }

    func fetch() throws(RssppError) -> DaemonStatus {
        let address = try address()
        let reply = try MetricsClient.get(address)
        guard reply.status == 200 else {
            throw RssppError(.kernel, "\(address): GET /metrics answered \(reply.status)")
        }
        return DaemonStatus(samples: try PrometheusText.parse(reply.text))
    }
}

/// `rssppd status`: what the running daemon does, from its metrics endpoint.
struct Status: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show what the running daemon does (from its metrics endpoint).")

    @OptionGroup var endpoint: EndpointOptions
    @Flag(help: "Print JSON.") var json = false

    func run() async throws {
        do {
            let status = try endpoint.fetch()
            if json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
                // Infinite imbalance (an idle core among busy ones) is reported as a string.
                encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
                let data = try encoder.encode(status)
                Console.out(String(decoding: data, as: UTF8.self) + "\n")
            } else {
                Console.out(status.render().joined(separator: "\n") + "\n")
            }
        } catch let error as RssppError {
            Console.err("rssppd status: \(error.message)\n")
            throw ExitCode(error.exitCode)
        }
    }
}
