import Foundation
import MallApplication

extension GatewayCallback {
    /// The body as JSON, keys in the order the document lists them (what a gateway sends).
    public func json() throws -> String { String(decoding: try JSON.encoder.encode(self), as: UTF8.self) }
}
