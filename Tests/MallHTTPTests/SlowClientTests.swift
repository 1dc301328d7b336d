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
        _ = start.withCString { send(socket, $0, strlen($0), Int32(MSG_NOSIGNAL)) }
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
        if send(socket, &byte, 1, Int32(MSG_NOSIGNAL)) < 0 { isOpen = false }
    }

    struct ConnectFailed: Error { var errno: Int32 }
}
