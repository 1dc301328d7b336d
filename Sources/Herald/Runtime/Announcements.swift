import Foundation
import Synchronization

/// Named wake-ups: "look at `topic` again now", for state every process sharing a store
/// follows (settings changed at run time, say) and otherwise polls for.
///
/// A follower reads the topic's ``signal(_:)`` generation, reads the state, and waits on
/// the signal with its polling interval as the deadline
/// (``CommitSignal/wait(since:until:clock:interest:)``). ``HeraldEngine/announce(_:)`` delivers the
/// wake-up in this process and, on a store that can (``AnnouncingStore``: PostgreSQL's
/// NOTIFY), in every other process too. An announcement carries no data and may be lost
/// (a listener reconnecting wakes every topic once): polling stays the guarantee, the
/// announcement only makes it prompt.
public final class Announcements: Sendable {
    private let signals = Mutex<[String: CommitSignal]>([:])

    public init() {}

    /// The signal `topic`'s announcements notify.
    public func signal(_ topic: String) -> CommitSignal {
        signals.withLock { signals in
            if let signal = signals[topic] { return signal }
            let signal = CommitSignal()
            signals[topic] = signal
            return signal
        }
    }

    /// Wakes whoever waits on `topic` in this process.
    public func deliver(_ topic: String) {
        signals.withLock { $0[topic] }?.notify()
    }

    /// Wakes every topic's waiters: after a listener was away and may have missed some.
    public func deliverAll() {
        for signal in signals.withLock({ Array($0.values) }) { signal.notify() }
    }

    /// A topic: 1 to 64 ASCII letters, digits, `.`, `-` or `_`.
    ///
    /// - Throws: ``ConfigurationError`` naming the topic.
    public static func validate(_ topic: String) throws {
        let allowed = topic.utf8.allSatisfy { byte in
            (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
                || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "-")
                || byte == UInt8(ascii: "_")
        }
        guard allowed, (1...64).contains(topic.utf8.count) else {
            throw ConfigurationError(setting: "announcement topic", value: topic, allowed: "1 ... 64 ASCII letters, digits, '.', '-' or '_'")
        }
    }
}

/// A store through which the processes sharing it can wake each other by topic (on
/// PostgreSQL, `NOTIFY`). A store only one process opens at a time passes nothing on:
/// ``announce(_:)`` does nothing, and its ``announcements`` hear only this process.
public protocol AnnouncingStore: Sendable {
    /// Where this process's waiters are woken, by this process's announcements and by the
    /// other processes' as the store hears of them.
    var announcements: Announcements { get }

    /// Tells every other process listening to this store that `topic` changed.
    func announce(_ topic: String) async throws
}

extension HeraldEngine {
    /// Wakes whoever follows `topic`, in this process at once and, through the store
    /// (``AnnouncingStore``), in every process sharing it.
    ///
    /// - Throws: ``ConfigurationError`` for a topic that is not valid; the store's error
    ///   when it could not pass the announcement on (this process's followers were woken).
    public func announce(_ topic: String) async throws {
        try Announcements.validate(topic)
        announcements.deliver(topic)
        try await store.announce(topic)
    }

    /// ``announce(_:)`` for a change already committed: should the store not pass the
    /// announcement on, the change still stands and the followers' polling finds it, so the
    /// failure is logged as a warning rather than thrown.
    public func announceChange(_ topic: String) async {
        do {
            try await announce(topic)
        } catch {
            logger.warning("could not announce a change; other processes follow it at their next poll", metadata: ["topic": "\(topic)", "error": "\(error)"])
        }
    }
}
