import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Slow clients cannot hold the server: connections that trickle a request head or body a
/// byte a second are closed by the request timeouts, and with the connection cap full of
/// them a normal request still gets its answer.
@Suite struct SlowClientTests {
    @Test func connectionsThatSendAByteASecondAreClosedAndANormalRequestStillAnswers() async throws {
        let server = MallServerProcess(arguments: [
            "--request-head-timeout", "1", "--request-body-timeout", "1", "--idle-timeout", "5", "--max-connections", "8",
        ])
        try await server.start()
        defer { server.terminate() }
        let port = try #require(server.baseURL.port)

        // Twelve clients trickle a head, twelve send a head and trickle the body: three times the cap.
        var slow: [TrickleConnection] = []
        for index in 0..<24 {
            let start = index < 12
                ? "GET /products HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: "
                : "POST /members HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 200\r\n\r\n{\"email\":"
            slow.append(try TrickleConnection(port: port, start: start))
        }
        let client = MallClient(baseURL: server.baseURL)
        async let normal = client.send("GET", "/health/live")

        // One byte a second from each, until the server has closed them all. The bound only
        // stops a hang: the timeouts are 1 s, the wait ends as soon as the last one closes.
        for _ in 0..<60 where slow.contains(where: \.isOpen) {
            for connection in slow where connection.isOpen { connection.trickle() }
            try await Task.sleep(for: .seconds(1))
        }
        #expect(slow.allSatisfy { !$0.isOpen }, "\(slow.count { $0.isOpen }) of \(slow.count) slow connections still open")
        #expect(try await normal.status == 200, "a normal request is answered meanwhile")
        #expect(try await client.send("GET", "/products").status == 200, "and afterwards")
    }
}

extension SlowClientTests {
    /// Slow bodies hold no place of the shared limit in flight: with two places and five
    /// requests whose bodies have not arrived, a normal request is answered, not shed.
    /// (Before, a request held a place from its head on: about 35 slow bodies a second to the
    /// token-free callback route kept all 1,024 places busy.)
    @Test func requestsWhoseBodiesHaveNotArrivedTakeNoPlaceInFlight() async throws {
        let server = MallServerProcess()
        server.environment["MALL_MAX_REQUESTS_IN_FLIGHT"] = "2"
        try await server.start()
        defer { server.terminate() }
        let port = try #require(server.baseURL.port)
        let slow = try (0..<5).map { index in
            try TrickleConnection(port: port, start: index % 2 == 0
                ? "POST /payment-gateway/callbacks HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"
                : "POST /members HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{")
        }
        try await Task.sleep(for: .milliseconds(300))  // their heads are in; their bodies never finish
        let client = MallClient(baseURL: server.baseURL)
        for _ in 0..<3 {
            let answered = try await client.send("GET", "/products")
            #expect(answered.status == 200, "a normal request is answered while five bodies trickle: \(answered.status)")
        }
        #expect(slow.allSatisfy { $0.isOpen }, "the slow requests are still waiting for their bodies")
    }

    /// The head timeout holds for every request of a kept-alive connection, not only the
    /// first: a second head trickled after a first request is closed at the head timeout
    /// (1 s here), not at the idle timeout (60 s here).
    @Test func aTrickledSecondHeadOnAKeptAliveConnectionIsClosedAtTheHeadTimeout() async throws {
        let server = MallServerProcess(arguments: ["--request-head-timeout", "1", "--idle-timeout", "60"])
        try await server.start()
        defer { server.terminate() }
        let connection = try TrickleConnection(port: try #require(server.baseURL.port), start: "GET /health/live HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        let first = connection.receive(timeout: 30)
        #expect(first.hasPrefix("HTTP/1.1 200"), "the first request is answered on the kept-alive connection: \(first.prefix(40))")
        // Idle between requests: the head timeout does not run (only the idle timeout does).
        try await Task.sleep(for: .seconds(2))
        #expect(connection.isStillOpen(), "an idle kept-alive connection stays open past the head timeout")
        connection.write("GET /products HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
        let started = ContinuousClock.now
        for _ in 0..<60 where connection.isOpen {
            connection.trickle()
            try await Task.sleep(for: .seconds(1))
        }
        #expect(!connection.isOpen, "closed")
        // The bound tells the two timeouts apart (1 s and 60 s); it is not a speed claim.
        #expect(ContinuousClock.now - started < .seconds(30), "closed by the head timeout, not the idle timeout")
    }
}

/// A raw TCP connection that sends a request a byte at a time and notices when the server
/// closes it.
final class TrickleConnection: @unchecked Sendable {
    // @unchecked: used by one test task at a time.
    private let socket: Int32
    private(set) var isOpen = true

    init(port: Int, start: String) throws {
        socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { throw ConnectFailed(errno: errno) }
        _ = start.withCString { Glibc.send(socket, $0, strlen($0), Int32(MSG_NOSIGNAL)) }
    }

    deinit { close(socket) }

    /// Sends one more byte, unless the server has closed the connection (read end of file,
    /// or the send fails).
    func trickle() {
        guard isOpen else { return }
        var buffer = [UInt8](repeating: 0, count: 512)
        let received = recv(socket, &buffer, buffer.count, Int32(MSG_DONTWAIT))
        if received == 0 || (received < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
            isOpen = false
            return
        }
        var byte = UInt8(ascii: "x")
        if Glibc.send(socket, &byte, 1, Int32(MSG_NOSIGNAL)) < 0 { isOpen = false }
    }

    /// Sends `text` as it is.
    func write(_ text: String) {
        _ = text.withCString { Glibc.send(socket, $0, strlen($0), Int32(MSG_NOSIGNAL)) }
    }

    /// What the server sent within `timeout` seconds (stops at the first pause after some bytes).
    func receive(timeout: Double) -> String {
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            var poller = pollfd(fd: socket, events: Int16(POLLIN), revents: 0)
            guard poll(&poller, 1, received.isEmpty ? 200 : 100) >= 0 else { break }
            if poller.revents == 0 {
                if received.isEmpty { continue } else { break }
            }
            let count = recv(socket, &buffer, buffer.count, 0)
            if count <= 0 {
                isOpen = false
                break
            }
            received += buffer[..<count]
        }
        return String(decoding: received, as: UTF8.self)
    }

    /// Whether the server has not closed the connection (nothing is sent).
    func isStillOpen() -> Bool {
        var byte: UInt8 = 0
        let received = recv(socket, &byte, 1, Int32(MSG_DONTWAIT | MSG_PEEK))
        if received == 0 || (received < 0 && errno != EAGAIN && errno != EWOULDBLOCK) { isOpen = false }
        return isOpen
    }

    struct ConnectFailed: Error { var errno: Int32 }
}
