import Foundation
import Herald

/// What the work a task does is part of: the request that started it, or the event being
/// handled. The events the work records carry it (their correlation and causation ids, the
/// W3C trace), and so do the lines it logs.
public enum WorkCause {
    /// Runs `body` as the work of the request `correlationID`, continuing the W3C trace
    /// `traceparent` when the request came with one and no span of this process carries it.
    public static func withRequest<Result>(
        correlationID: UUID, traceparent: String? = nil, _ body: () async throws -> Result
    ) async rethrows -> Result {
        try await UnitOfWork.Cause.$current.withValue(UnitOfWork.Cause(correlationID: correlationID, traceparent: traceparent), operation: body)
    }

    /// The request (or the request behind the event) the task's work is part of.
    public static var correlationID: UUID? { UnitOfWork.Cause.current.correlationID }
    /// The event the task is handling.
    public static var causationID: UUID? { UnitOfWork.Cause.current.causationID }
    /// The W3C trace the work continues, when no span carries it.
    public static var traceparent: String? { UnitOfWork.Cause.current.traceparent }
}
