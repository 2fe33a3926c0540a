// SPDX-License-Identifier: Apache-2.0
// A minimal blocking HTTP/1.1 client for `rssppd status` and `rssppd top`: one request,
// `Connection: close`, read to EOF, with a deadline.
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import RssppCore

public struct HTTPReply: Sendable {
    public var status: Int
    public var headers: [(String, String)]
    public var body: [UInt8]

    public var text: String { String(decoding: body, as: UTF8.self) }
    public func header(_ name: String) -> String? {
        headers.first { $0.0.lowercased() == name.lowercased() }?.1
    }
}

public enum MetricsClient {
    /// GETs `path` from the daemon's endpoint.
    /// - Throws: `.notFound` when nothing listens there (daemon not running), `.badFile` for a
    ///   reply that is not HTTP, `.kernel` for other socket errors; each names the address.
    public static func get(_ address: ListenAddress, path: String = "/metrics", timeout: Double = 3) throws(RssppError) -> HTTPReply {
        let request = "GET \(path) HTTP/1.1\r\nHost: \(address)\r\nConnection: close\r\nUser-Agent: rssppd\r\n\r\n"
        let raw = try exchange(address, Array(request.utf8), timeout: timeout)
        return try parse(raw, from: address)
    }

    /// Sends `request` as is and reads until the server closes (or `timeout` seconds pass).
    public static func exchange(_ address: ListenAddress, _ request: [UInt8], timeout: Double = 3) throws(RssppError) -> [UInt8] {
        let fd = try connect(address, timeout: timeout)
        defer { close(fd) }
        var sent = 0
        while sent < request.count {
            let n = request[sent...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n < 0 {
                if errno == EINTR { continue }
                throw RssppError(.kernel, "\(address): send: \(String(cString: strerror(errno)))")
            }
            sent += n
        }
        return try readToEnd(fd, address: address)
    }

    /// A connected TCP socket with send/receive timeouts.
    public static func connect(_ address: ListenAddress, timeout: Double) throws(RssppError) -> Int32 {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_flags = AI_NUMERICSERV
        var list: UnsafeMutablePointer<addrinfo>?
        let rc = getaddrinfo(address.host, String(address.port), &hints, &list)
        guard rc == 0, let first = list else {
            throw RssppError(.invalidArgument, "\(address): cannot resolve host: \(String(cString: gai_strerror(rc)))")
        }
        defer { freeaddrinfo(list) }
        var lastError: Int32 = 0
        var ai: UnsafeMutablePointer<addrinfo>? = first
        while let a = ai {
            let fd = socket(a.pointee.ai_family, a.pointee.ai_socktype | Int32(SOCK_CLOEXEC.rawValue), a.pointee.ai_protocol)
            if fd >= 0 {
                var tv = timeval(tv_sec: Int(timeout), tv_usec: Int((timeout - timeout.rounded(.down)) * 1e6))
                setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
                setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
                if Glibc.connect(fd, a.pointee.ai_addr, a.pointee.ai_addrlen) == 0 { return fd }
                lastError = errno
                close(fd)
            } else {
                lastError = errno
            }
            ai = a.pointee.ai_next
        }
        if lastError == ECONNREFUSED {
            throw RssppError(.notFound, "\(address): connection refused (is rssppd running, with its metrics endpoint there?)")
        }
        throw RssppError(.kernel, "\(address): connect: \(String(cString: strerror(lastError)))")
    }

    /// Reads until EOF. A timeout with nothing read is an error; with data, it ends the read.
    public static func readToEnd(_ fd: Int32, address: ListenAddress, limit: Int = 64 << 20) throws(RssppError) -> [UInt8] {
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n == 0 { return out }
            if n < 0 {
                let e = errno
                if e == EINTR { continue }
                if e == EAGAIN || e == EWOULDBLOCK {
                    if out.isEmpty { throw RssppError(.kernel, "\(address): no reply before the timeout") }
                    return out
                }
                if e == ECONNRESET { return out }
                throw RssppError(.kernel, "\(address): recv: \(String(cString: strerror(e)))")
            }
            out.append(contentsOf: chunk[0..<n])
            guard out.count <= limit else { throw RssppError(.badFile, "\(address): reply larger than \(limit) bytes") }
        }
    }

    static func parse(_ raw: [UInt8], from address: ListenAddress) throws(RssppError) -> HTTPReply {
        let separator: [UInt8] = [13, 10, 13, 10]
        guard let split = raw.firstRange(of: separator) else {
            throw RssppError(.badFile, "\(address): reply is not HTTP (no header end)")
        }
        let headText = String(decoding: raw[..<split.lowerBound], as: UTF8.self)
        var lines = headText.split(separator: "\r\n", omittingEmptySubsequences: false).map(String.init)
        let statusLine = lines.removeFirst()
        let parts = statusLine.split(separator: " ", maxSplits: 2)
        guard parts.count >= 2, parts[0].hasPrefix("HTTP/1."), let status = Int(parts[1]) else {
            throw RssppError(.badFile, "\(address): reply is not HTTP ('\(statusLine.prefix(40))')")
        }
        let headers: [(String, String)] = lines.compactMap { line in
            guard let colon = line.firstIndex(of: ":") else { return nil }
            return (String(line[..<colon]), String(line[line.index(after: colon)...]).trimmingSpaces)
        }
        return HTTPReply(status: status, headers: headers, body: Array(raw[split.upperBound...]))
    }
}

extension String {
    var trimmingSpaces: String {
        var s = Substring(self)
        while s.first == " " || s.first == "\t" { s.removeFirst() }
        while s.last == " " || s.last == "\t" { s.removeLast() }
        return String(s)
    }
}
