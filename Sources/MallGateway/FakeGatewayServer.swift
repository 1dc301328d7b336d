import Foundation
import Herald
import Hummingbird
import Logging
import MallKernel
import NIOCore

/// The HTTP face of a ``FakeGateway`` (the API is listed on ``GatewayWire``).
///
/// Every `/v1/…` call needs the merchant's API key (`Authorization: Bearer …`, compared in
/// constant time), as a real gateway's would: without it anyone who reaches the port could
/// create a payment for any id and have the fake sign a "succeeded" callback for it.
/// `/health` answers anyone.
public enum FakeGatewayServer {
    /// The gateway's application on `host:port`; `onListening` gets the bound port (port 0
    /// picks a free one). `apiKey`: what every API call must carry.
    public static func application(
        _ gateway: FakeGateway, host: String = "127.0.0.1", port: Int, apiKey: String, logger: Logger,
        onListening: @escaping @Sendable (Int) async -> Void = { _ in }
    ) -> some ApplicationProtocol {
        Application(
            router: router(gateway, apiKey: apiKey),
            configuration: .init(address: .hostname(host, port: port), serverName: "mall-gateway"),
            onServerRunning: { channel in await onListening(channel.localAddress?.port ?? 0) },
            logger: logger)
    }

    static func router(_ gateway: FakeGateway, apiKey: String) -> Router<BasicRequestContext> {
        let root = Router()
        root.get("/health") { _, _ in Response(status: .ok) }
        let router = root.group("/v1").add(middleware: APIKeyMiddleware(apiKey: apiKey))
        router.post("/intents") { request, context in
            let charge = try await request.decode(as: GatewayWire.Charge.self, context: context)
            return try await answer {
                let created = try await gateway.charge(paymentID: charge.paymentId, amount: charge.amount)
                return (created ? .created : .ok, try JSONEncoder().encode(await gateway.entry(charge.paymentId)))
            }
        }
        router.post("/refunds") { request, context in
            let refund = try await request.decode(as: GatewayWire.Charge.self, context: context)
            return try await answer {
                try await gateway.refundPayment(paymentID: refund.paymentId, amount: refund.amount)
                return (.ok, try JSONEncoder().encode(await gateway.entry(refund.paymentId)))
            }
        }
        router.get("/intents/{id}") { _, context in
            guard let entry = await gateway.entry(try context.parameters.require("id")) else { return json(.notFound, GatewayWire.Failure(error: "no such payment")) }
            return json(.ok, entry)
        }
        router.get("/knobs") { _, _ in json(.ok, await gateway.currentKnobs()) }
        router.put("/knobs") { request, context in
            let change = try await request.decode(as: GatewayKnobs.Change.self, context: context)
            do {
                return json(.ok, try await gateway.change(change))
            } catch let error as ConfigurationError {
                return json(.badRequest, GatewayWire.Failure(error: "\(error)"))
            }
        }
        return root
    }

    /// Refuses (401) a call without the API key.
    struct APIKeyMiddleware: RouterMiddleware {
        let apiKey: String

        func handle(
            _ request: Request, context: BasicRequestContext, next: (Request, BasicRequestContext) async throws -> Response
        ) async throws -> Response {
            let header = request.headers[.authorization] ?? ""
            guard header.hasPrefix("Bearer "), ConstantTime.equals(String(header.dropFirst("Bearer ".count)), apiKey) else {
                return FakeGatewayServer.json(.unauthorized, GatewayWire.Failure(error: "the merchant's API key is required (Authorization: Bearer …)"))
            }
            return try await next(request, context)
        }
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

    fileprivate static func json(_ status: HTTPResponse.Status, _ value: some Encodable) -> Response {
        let data = (try? JSONEncoder().encode(value)) ?? Data("{}".utf8)
        return Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(data: data)))
    }
}
