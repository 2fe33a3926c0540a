// SPDX-License-Identifier: Apache-2.0
import Logging
import RssppCore
import ServiceLifecycle
import UnixSignals

/// Replaces the configuration in force with a freshly loaded one, or keeps the old one and
/// says why. Shared by the SIGHUP service and tests.
public struct Reloader: Sendable {
    let loader: ConfigLoader
    let store: ConfigStore
    let metrics: DaemonMetrics
    let logger: Logger
    let onReload: (@Sendable (DaemonConfig) -> Void)?

    /// - Parameter onReload: applies what the loops do not read themselves (the log level).
    public init(loader: ConfigLoader, store: ConfigStore, metrics: DaemonMetrics, logger: Logger,
                onReload: (@Sendable (DaemonConfig) -> Void)? = nil) {
        self.loader = loader
        self.store = store
        self.metrics = metrics
        self.logger = logger
        self.onReload = onReload
    }

    /// - Returns: true when the new configuration is in force.
    @discardableResult
    public func reload() -> Bool {
        do {
            let new = try loader.loadReplacing(store.config)
            store.replace(new)
            onReload?(new)
            metrics.recordReload(ok: true)
            logger.info("configuration reloaded", metadata: ["config.path": "\(loader.path)"])
            return true
        } catch {
            metrics.recordReload(ok: false)
            logger.error("configuration rejected, previous one stays in force",
                         metadata: ["config.path": "\(loader.path)", "error": "\(error.message)"])
            return false
        }
    }
}

/// Reloads the configuration on SIGHUP until graceful shutdown.
public struct ReloadService: Service {
    let reloader: Reloader
    let notifier: SystemdNotifier?
    let signals: UnixSignalsSequence

    /// Traps SIGHUP now, so that a reload asked for as soon as the daemon reports ready (or
    /// at any point after this returns) is never the signal's default action, termination.
    /// - Parameter notifier: told RELOADING=1, then READY=1 (systemd's `Type=notify`).
    public static func trappingSIGHUP(reloader: Reloader, notifier: SystemdNotifier? = nil) async -> ReloadService {
        ReloadService(reloader: reloader, notifier: notifier, signals: await UnixSignalsSequence(trapping: .sighup))
    }

    private init(reloader: Reloader, notifier: SystemdNotifier?, signals: UnixSignalsSequence) {
        self.reloader = reloader
        self.notifier = notifier
        self.signals = signals
    }

    public func run() async throws {
        for await _ in signals.cancelOnGracefulShutdown() {
            if let notifier {
                _ = notifier.reloading({ reloader.reload() }, logger: reloader.logger)
            } else {
                reloader.reload()
            }
        }
    }
}
