import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Requests over raw sockets to 127.0.0.1, all on the wire before the first answer is read:
/// what "at once" means for a limit that must hold under concurrency. (URLSession queues
/// requests per host on the client side, so a wave through it arrives a few at a time.)
enum RawHTTP {
    /// A request: method, path, headers, JSON body.
    struct Request: Sendable {
        var method: String
        var path: String
        var headers: [String: String] = [:]
        var body: String = ""

        /// The request as bytes on the wire, asking the server to close after answering.
        var text: String {
            var head = "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
            if !body.isEmpty { head += "Content-Type: application/json\r\n" }
            head += "Content-Length: \(body.utf8.count)\r\n"
            for (name, value) in headers.sorted(by: { $0.key < $1.key }) { head += "\(name): \(value)\r\n" }
            return head + "\r\n" + body
        }
    }

    /// An answer: its status, lower-cased headers, and body.
    struct Response: Sendable {
        var status: Int
        var headers: [String: String]
        var body: String
    }

    /// Opens a connection per request, writes every request, then reads every answer (each
    /// up to `timeout`); an answer that never comes is status 0.
    static func atOnce(port: Int, _ requests: [Request], timeout: Double = 120) throws -> [Response] {
        let sockets = try requests.map { _ in try connect(port: port) }
        defer { for socket in sockets { close(socket) } }
        for (socket, request) in zip(sockets, requests) {
            let bytes = Array(request.text.utf8)
            var sent = 0
            while sent < bytes.count {
                let wrote = bytes[sent...].withUnsafeBufferPointer { send(socket, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                guard wrote > 0 else { break }
                sent += wrote
            }
        }
        return sockets.map { read($0, timeout: timeout) }
    }

    static func connect(port: Int) throws -> Int32 {
        let socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else {
            close(socket)
            throw TrickleConnection.ConnectFailed(errno: errno)
        }
        return socket
    }

    /// Reads until the server closes the connection (it was asked to) or `timeout` passes.
    static func read(_ socket: Int32, timeout: Double) -> Response {
        var received: [UInt8] = []
        let deadline = Date().addingTimeInterval(timeout)
        var buffer = [UInt8](repeating: 0, count: 4096)
        while Date() < deadline {
            var poller = pollfd(fd: socket, events: Int16(POLLIN), revents: 0)
            guard poll(&poller, 1, 200) >= 0 else { break }
            if poller.revents == 0 { continue }
            let count = recv(socket, &buffer, buffer.count, 0)
            if count <= 0 { break }
            received += buffer[..<count]
        }
        return parse(String(decoding: received, as: UTF8.self))
    }

    static func parse(_ text: String) -> Response {
        guard let split = text.range(of: "\r\n\r\n") else { return Response(status: 0, headers: [:], body: text) }
        let lines = text[..<split.lowerBound].split(separator: "\r\n")
        let status = lines.first.flatMap { Int($0.split(separator: " ").dropFirst().first ?? "") } ?? 0
        var headers: [String: String] = [:]
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        return Response(status: status, headers: headers, body: String(text[split.upperBound...]))
    }
}
