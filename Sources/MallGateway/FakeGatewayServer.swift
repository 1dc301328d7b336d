import Foundation
import Herald
import Hummingbird
import Logging
import NIOCore

/// The HTTP face of a ``FakeGateway`` (the API is listed on ``GatewayWire``).
public enum FakeGatewayServer {
    /// The gateway's application on `host:port`; `onListening` gets the bound port (port 0
    /// picks a free one).
    public static func application(
        _ gateway: FakeGateway, host: String = "127.0.0.1", port: Int, logger: Logger,
        onListening: @escaping @Sendable (Int) async -> Void = { _ in }
    ) -> some ApplicationProtocol {
        Application(
            router: router(gateway),
            configuration: .init(address: .hostname(host, port: port), serverName: "mall-gateway"),
            onServerRunning: { channel in await onListening(channel.localAddress?.port ?? 0) },
            logger: logger)
    }

    static func router(_ gateway: FakeGateway) -> Router<BasicRequestContext> {
        let router = Router()
        router.get("/health") { _, _ in Response(status: .ok) }
        router.post("/v1/intents") { request, context in
            let charge = try await request.decode(as: GatewayWire.Charge.self, context: context)
            return try await answer {
                let created = try await gateway.charge(paymentID: charge.paymentId, amount: charge.amount)
                return (created ? .created : .ok, try JSONEncoder().encode(await gateway.entry(charge.paymentId)))
            }
        }
        router.post("/v1/refunds") { request, context in
            let refund = try await request.decode(as: GatewayWire.Charge.self, context: context)
            return try await answer {
                try await gateway.refundPayment(paymentID: refund.paymentId, amount: refund.amount)
                return (.ok, try JSONEncoder().encode(await gateway.entry(refund.paymentId)))
            }
        }
        router.get("/v1/intents/{id}") { _, context in
            guard let entry = await gateway.entry(try context.parameters.require("id")) else { return json(.notFound, GatewayWire.Failure(error: "no such payment")) }
            return json(.ok, entry)
        }
        router.get("/v1/knobs") { _, _ in json(.ok, await gateway.currentKnobs()) }
        router.put("/v1/knobs") { request, context in
            let change = try await request.decode(as: GatewayKnobs.Change.self, context: context)
            do {
                return json(.ok, try await gateway.change(change))
            } catch let error as ConfigurationError {
                return json(.badRequest, GatewayWire.Failure(error: "\(error)"))
            }
        }
        return router
    }

    /// The call's answer, or the status its ``GatewayFault`` stands for.
    private static func answer(_ body: () async throws -> (HTTPResponse.Status, Data)) async throws -> Response {
        do {
            let (status, data) = try await body()
            return Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(data: data)))
        } catch let fault as GatewayFault {
            let status: HTTPResponse.Status = switch fault {
            case .outage: .serviceUnavailable
            case .failed: .internalServerError
            case .refused: .conflict
            }
            return json(status, GatewayWire.Failure(error: fault.description))
        }
    }

    private static func json(_ status: HTTPResponse.Status, _ value: some Encodable) -> Response {
        let data = (try? JSONEncoder().encode(value)) ?? Data("{}".utf8)
        return Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(data: data)))
    }
}
