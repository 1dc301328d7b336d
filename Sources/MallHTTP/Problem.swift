import Foundation
import Hummingbird
import Logging
import MallApplication
import MallKernel
import NIOCore

/// An RFC 9457 problem document: the body of every error response.
struct Problem: Codable, Sendable, Hashable {
    var type: String
    var title: String
    var status: Int
    var detail: String
    /// The request field at fault, when one is.
    var field: String?

    init(_ status: HTTPResponse.Status, slug: String, detail: String, field: String? = nil) {
        type = "https://mall.example/problems/\(slug)"
        title = status.reasonPhrase
        self.status = status.code
        self.detail = detail
        self.field = field
    }

    func response(headers extra: HTTPFields = [:]) -> Response {
        var headers: HTTPFields = [.contentType: "application/problem+json"]
        headers.append(contentsOf: extra)
        let data = (try? JSON.encoder.encode(self)) ?? Data()
        return Response(status: HTTPResponse.Status(code: status), headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    /// The one mapping from errors to problem responses.
    static func response(for error: any Error, logger: Logger) -> Response {
        if let failure = ServiceFailure(error) { return response(for: failure, error: error, logger: logger) }
        switch error {
        case let problem as any MallProblem:
            let (status, slug): (HTTPResponse.Status, String) = switch problem.kind {
            case .invalidInput: (.badRequest, "invalid-input")
            case .notFound: (.notFound, "not-found")
            case .conflict: (.conflict, "conflict")
            case .limitReached: (.conflict, "limit-reached")
            case .ruleViolation: (.unprocessableContent, "rule-violation")
            case .unauthenticated: (.unauthorized, "unauthenticated")
            case .overloaded: (.serviceUnavailable, "overloaded")
            case .tooManyRequests: (.tooManyRequests, "too-many-requests")
            case .dependencyUnavailable: (.serviceUnavailable, "dependency-unavailable")
            }
            var headers: HTTPFields = status == .unauthorized ? [.wwwAuthenticate: "Bearer"] : [:]
            // The problem's own wait when it knows one; any other 503, a second.
            if let seconds = problem.retryAfterSeconds ?? (status == .serviceUnavailable ? 1 : nil) { headers[.retryAfter] = "\(seconds)" }
            return Problem(status, slug: slug, detail: problem.description, field: problem.field).response(headers: headers)
        case is NIOTooManyBytesError:
            return Problem(.contentTooLarge, slug: "too-large", detail: "the request body is larger than allowed").response()
        case let http as HTTPError:
            return Problem(http.status, slug: http.status.reasonPhrase.lowercased().replacingOccurrences(of: " ", with: "-"),
                           detail: http.body ?? http.status.reasonPhrase).response(headers: http.headers)
        case let response as any HTTPResponseError:
            return Problem(response.status, slug: "error", detail: response.status.reasonPhrase).response()
        case let damaged as DataIntegrityError:
            logger.error("damaged record", metadata: ["error": "\(damaged)"])
            return Problem(.internalServerError, slug: "damaged-record",
                           detail: "stored data breaks a rule (\(damaged)); the operator has been told").response()
        default:
            logger.error("request failed", metadata: ["error": "\(error)"])
            return Problem(.internalServerError, slug: "internal", detail: "the server failed to handle the request").response()
        }
    }

    /// The answer to a failure under the use cases; `error` as it was thrown, for the log.
    private static func response(for failure: ServiceFailure, error: any Error, logger: Logger) -> Response {
        switch failure {
        case .changedMeanwhile:
            return Problem(.conflict, slug: "conflict", detail: "\(failure); retry the request").response()
        case .damagedRecord:
            // A damaged stored document: this request cannot be served, the server can.
            logger.error("damaged record", metadata: ["error": "\(error)"])
            return Problem(.internalServerError, slug: "damaged-record", detail: "\(failure); the operator has been told").response()
        case .readModelNotReady:
            logger.warning("read model not ready", metadata: ["error": "\(error)"])
            return Problem(.serviceUnavailable, slug: "unavailable", detail: "this listing is being rebuilt; retry shortly")
                .response(headers: [.retryAfter: "5"])
        case .storageUnavailable:
            logger.warning("store unavailable", metadata: ["error": "\(error)"])
            return Problem(.serviceUnavailable, slug: "unavailable", detail: "storage is unavailable; retry shortly")
                .response(headers: [.retryAfter: "1"])
        }
    }
}

/// Turns every error below it into a problem+json response.
struct ProblemMiddleware: RouterMiddleware {
    typealias Context = MallRequestContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch {
            // Outside the load shedding: a refusal held back holds no place in flight.
            if let limited = error as? TooManyRequests, limited.holdBack > .zero { try? await Task.sleep(for: limited.holdBack) }
            return Problem.response(for: error, logger: context.logger)
        }
    }
}
