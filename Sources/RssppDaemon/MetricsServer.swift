// SPDX-License-Identifier: Apache-2.0
// The Prometheus endpoint: GET /metrics over HTTP/1.1, one child task per connection, so a
// slow or hostile client holds only its own connection.
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import RssppCore
import ServiceLifecycle

/// Serves `GET /metrics`; anything else gets 404 (other paths) or 405 (other methods).
public struct MetricsServer: Service {
    public struct Limits: Sendable {
        /// Request line plus headers, bytes; larger requests get 431 and the connection closes.
        public var maxHeaderBytes = 8192
        /// A request body beyond this gets 413 (a GET has none).
        public var maxBodyBytes = 1024
        /// A connection idle this long (a client that stopped sending) is closed.
        public var idleTimeout: TimeAmount = .seconds(5)
        /// A connection still open this long after it was accepted (a client trickling its
        /// request byte by byte) is closed.
        public var connectionDeadline: TimeAmount = .seconds(10)
        public init() {}
    }

    let address: ListenAddress
    let metrics: DaemonMetrics
    let limits: Limits
    let logger: Logger
    let beforeScrape: (@Sendable () -> Void)?
    let server: NIOAsyncChannel<Connection, Never>

    typealias Connection = NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>

    /// The port actually bound (differs from the requested one for port 0).
    public var port: Int { server.channel.localAddress?.port ?? address.port }

    /// Binds `address` now, so a bad or busy address fails at start-up, before anything else
    /// happens; serving starts with `run()`.
    /// - Parameter beforeScrape: refreshes metrics read at scrape time (softnet counters).
    /// - Throws: `.invalidArgument` naming the address when it cannot be bound.
    public static func bind(address: ListenAddress, metrics: DaemonMetrics, limits: Limits = Limits(), logger: Logger,
                            beforeScrape: (@Sendable () -> Void)? = nil) async throws(RssppError) -> MetricsServer {
        let idle = limits.idleTimeout
        let server: NIOAsyncChannel<Connection, Never>
        do {
            server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .serverChannelOption(.backlog, value: 64)
                .bind(host: address.host, port: address.port) { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(IdleStateHandler(readTimeout: idle))
                        try channel.pipeline.syncOperations.addHandler(IdleCloser())
                        try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                        return try Connection(wrappingChannelSynchronously: channel)
                    }
                }
        } catch {
            throw RssppError(.invalidArgument, "metrics address \(address): cannot listen: \(error)")
        }
        return MetricsServer(address: address, metrics: metrics, limits: limits, logger: logger,
                             beforeScrape: beforeScrape, server: server)
    }

    private init(address: ListenAddress, metrics: DaemonMetrics, limits: Limits, logger: Logger,
                 beforeScrape: (@Sendable () -> Void)?, server: NIOAsyncChannel<Connection, Never>) {
        self.address = address
        self.metrics = metrics
        self.limits = limits
        self.logger = logger
        self.beforeScrape = beforeScrape
        self.server = server
    }

    public func run() async throws {
        let server = self.server
        logger.info("metrics endpoint listening", metadata: ["http.address": "\(address.host)", "http.port": "\(port)"])
        try await withGracefulShutdownHandler {
            try await withThrowingDiscardingTaskGroup { group in
                try await server.executeThenClose { inbound in
                    for try await connection in inbound {
                        group.addTask { await self.serve(connection) }
                    }
                }
                // Listening stopped (shutdown): do not wait for slow clients.
                group.cancelAll()
            }
        } onGracefulShutdown: {
            server.channel.close(promise: nil)
        }
    }

    /// One connection: one request, one response, close. Errors stay here.
    func serve(_ connection: Connection) async {
        let channel = connection.channel
        let deadline = channel.eventLoop.scheduleTask(in: limits.connectionDeadline) { channel.close(promise: nil) }
        defer { deadline.cancel() }
        do {
            try await connection.executeThenClose { inbound, outbound in
                var head: HTTPRequestHead?
                var headerBytes = 0
                var bodyBytes = 0
                for try await part in inbound {
                    switch part {
                    case let .head(h):
                        head = h
                        headerBytes = h.uri.utf8.count + 16 + h.headers.reduce(0) { $0 + $1.name.utf8.count + $1.value.utf8.count + 4 }
                        if headerBytes > limits.maxHeaderBytes {
                            try await respond(outbound, .requestHeaderFieldsTooLarge, "request header too large\n")
                            return
                        }
                    case let .body(buffer):
                        bodyBytes += buffer.readableBytes
                        if bodyBytes > limits.maxBodyBytes {
                            try await respond(outbound, .payloadTooLarge, "request body too large\n")
                            return
                        }
                    case .end:
                        guard let h = head else { return }
                        try await answer(h, outbound)
                        return
                    }
                }
            }
        } catch {
            logger.debug("metrics connection failed", metadata: ["error": "\(error)"])
        }
    }

    private func answer(_ head: HTTPRequestHead, _ out: NIOAsyncChannelOutboundWriter<HTTPServerResponsePart>) async throws {
        let path = head.uri.split(separator: "?", maxSplits: 1).first.map(String.init) ?? head.uri
        guard path == "/metrics" else {
            try await respond(out, .notFound, "not found: only /metrics is served\n")
            return
        }
        guard head.method == .GET else {
            try await respond(out, .methodNotAllowed, "method not allowed: use GET\n", extra: [("Allow", "GET")])
            return
        }
        beforeScrape?()
        try await respond(out, .ok, metrics.render(), contentType: "text/plain; version=0.0.4; charset=utf-8")
    }

    private func respond(_ out: NIOAsyncChannelOutboundWriter<HTTPServerResponsePart>, _ status: HTTPResponseStatus,
                         _ body: String, extra: [(String, String)] = []) async throws {
        try await respond(out, status, Array(body.utf8), contentType: "text/plain; charset=utf-8", extra: extra)
    }

    private func respond(_ out: NIOAsyncChannelOutboundWriter<HTTPServerResponsePart>, _ status: HTTPResponseStatus,
                         _ body: [UInt8], contentType: String, extra: [(String, String)] = []) async throws {
        var headers = HTTPHeaders([("Content-Type", contentType), ("Content-Length", "\(body.count)"), ("Connection", "close")])
        headers.add(contentsOf: extra)
        try await out.write(.head(HTTPResponseHead(version: .http1_1, status: status, headers: headers)))
        try await out.write(.body(.byteBuffer(ByteBuffer(bytes: body))))
        try await out.write(.end(nil))
    }
}

/// Closes a connection on which nothing arrived for the idle timeout.
private final class IdleCloser: ChannelInboundHandler, Sendable {
    typealias InboundIn = NIOAny

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is IdleStateHandler.IdleStateEvent {
            context.close(promise: nil)
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }
}
