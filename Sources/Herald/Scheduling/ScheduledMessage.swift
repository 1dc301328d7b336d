import Foundation

/// An event to be appended to the log at a future time, unless cancelled first.
///
/// Stored in the same transaction as the change that schedules it; delivered once by the
/// ``MessageScheduler`` when due, never before ``dueAt`` and never after cancellation.
public struct ScheduledMessage: Sendable, Hashable {
    /// Identifies the message for cancellation; scheduling the same key again replaces it.
    public var key: String
    /// The event to append, into its stream, when due.
    public var event: NewEvent
    public var dueAt: Date

    public init(key: String, event: NewEvent, dueAt: Date) {
        self.key = key
        self.event = event
        self.dueAt = dueAt
    }
}
