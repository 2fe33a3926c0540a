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

    public init(reloader: Reloader) { self.reloader = reloader }

    public func run() async throws {
        let signals = await UnixSignalsSequence(trapping: .sighup)
        for await _ in signals.cancelOnGracefulShutdown() {
            reloader.reload()
        }
    }
}
