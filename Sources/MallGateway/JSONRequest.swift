import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

extension HTTPClient {
    /// Sends `body` as JSON and reads the answer (up to 64 KiB): what every call between
    /// Mall and the gateway is, either way.
    /// `bearer`: sent as `Authorization: Bearer …` (the gateway's API key), when given.
    static func json(
        _ method: HTTPMethod, _ url: String, _ body: some Encodable, bearer: String? = nil, timeout: TimeAmount
    ) async throws -> (status: UInt, body: ByteBuffer) {
        var request = HTTPClientRequest(url: url)
        request.method = method
        request.headers.add(name: "Content-Type", value: "application/json")
        if let bearer { request.headers.add(name: "Authorization", value: "Bearer \(bearer)") }
        request.body = .bytes(ByteBuffer(data: try JSONEncoder().encode(body)))
        let response = try await shared.execute(request, timeout: timeout)
        return (response.status.code, try await response.body.collect(upTo: 64 * 1024))
    }
}
