// SPDX-License-Identifier: Apache-2.0
import ArgumentParser
import RssppCore
import RssppDaemon

/// `rssppd top`: a live view of the running daemon, redrawn every --interval seconds.
struct Top: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "top",
        abstract: "Live view: per-core load bars, bucket -> core map, moves per epoch, drops.")

    @OptionGroup var endpoint: EndpointOptions
    @Option(help: "Seconds between frames.") var interval = 1.0
    @Option(help: "Stop after this many frames (default: until interrupted).") var frames: Int?
    @Option(help: "Screen width for the bars.") var width = 80
    @Flag(help: "Print frames one after another instead of redrawing the screen.") var plain = false

    func run() async throws {
        guard interval.isFinite, interval >= 0.1 else {
            Console.err("rssppd top: --interval \(interval) must be at least 0.1\n")
            throw ExitCode(2)
        }
        var previous: DaemonStatus?
        var shown = 0
        let clock = ContinuousClock()
        var last = clock.now
        while frames.map({ shown < $0 }) ?? true {
            let status: DaemonStatus
            do {
                status = try endpoint.fetch()
            } catch {
                Console.err("rssppd top: \(error.message)\n")
                throw ExitCode(error.exitCode)
            }
            let now = clock.now
            let elapsed = (now - last).components
            let seconds = Double(elapsed.seconds) + Double(elapsed.attoseconds) * 1e-18
            let lines = TopView.render(status, previous: previous, elapsed: previous == nil ? 0 : seconds, width: width)
            // Home + clear screen, unless plain output was asked for.
            Console.out((plain ? "" : "\u{1B}[H\u{1B}[2J") + lines.joined(separator: "\n") + "\n")
            previous = status
            last = now
            shown += 1
            if frames.map({ shown >= $0 }) ?? false { break }
            try await Task.sleep(for: .seconds(interval))
        }
    }
}
