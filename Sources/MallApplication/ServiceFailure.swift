import Herald

/// A failure of what runs under the use cases (the store, the engine, a read model), in the
/// terms a caller is told of it. The HTTP layer answers each with its own status; an error
/// that is none of these (and no ``MallProblem``) is the server's own fault.
public enum ServiceFailure: Error, Sendable, Hashable, CustomStringConvertible {
    /// What the request changes was changed meanwhile, each time the engine tried again:
    /// the same request may succeed later (409).
    case changedMeanwhile(stream: String)
    /// A stored record cannot be read: this request cannot be served, the server can; the
    /// operator must be told (500).
    case damagedRecord(stream: String)
    /// A read model the request needs is being rebuilt from the log (this code declares a
    /// new version of it): an upgrade in progress, not a fault (503).
    case readModelNotReady(projection: String)
    /// The store is unreachable or refuses work for now (503).
    case storageUnavailable(reason: String)

    /// The failure `error` is, or `nil` when it is none.
    public init?(_ error: any Error) {
        switch error {
        case let failure as ServiceFailure: self = failure
        case let conflict as ConcurrencyConflict: self = .changedMeanwhile(stream: conflict.stream.description)
        case let damaged as AggregateDecodingError: self = .damagedRecord(stream: damaged.stream.description)
        case ProjectionError.notReady(let projection, _, _): self = .readModelNotReady(projection: projection)
        case let store as StoreError where store.isOutage: self = .storageUnavailable(reason: "\(store)")
        default: return nil
        }
    }

    public var description: String {
        switch self {
        case .changedMeanwhile(let stream): "\(stream) changed meanwhile"
        case .damagedRecord(let stream): "the stored record \(stream) cannot be read"
        case .readModelNotReady(let projection): "the read model \(projection) is being rebuilt"
        case .storageUnavailable(let reason): "storage is unavailable (\(reason))"
        }
    }
}
