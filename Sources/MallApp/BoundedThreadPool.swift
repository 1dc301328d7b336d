import MallEvents
import NIOPosix
import Synchronization

/// Blocking work (bcrypt) on threads of its own, with a bounded queue.
///
/// Swift's cooperative pool has one thread per core; a 50 ms bcrypt on it stalls every task
/// queued behind it, so a burst of log-ins would stall the whole server. Here the work runs
/// on a `NIOThreadPool` of `threads` threads; at most `queueLimit` calls wait for one. A call
/// beyond that is refused at once with ``Overloaded`` (the HTTP layer answers 503 with
/// `Retry-After`) instead of joining a queue that only grows.
public final class BoundedThreadPool: Sendable {
    public let threads: Int
    public let queueLimit: Int
    let name: String
    private let pool: NIOThreadPool
    /// Calls running or waiting.
    private let admitted = Mutex(0)

    public init(name: String, threads: Int, queueLimit: Int) {
        self.name = name
        self.threads = threads
        self.queueLimit = queueLimit
        pool = NIOThreadPool(numberOfThreads: threads)
        pool.start()
    }

    deinit {
        pool.shutdownGracefully { _ in }
    }

    /// Calls running or waiting now.
    public var load: Int { admitted.withLock { $0 } }

    /// Runs `body` on the pool.
    ///
    /// - Throws: ``Overloaded`` when `threads + queueLimit` calls are running or waiting.
    public func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        let capacity = threads + queueLimit
        let entered = admitted.withLock { count -> Bool in
            guard count < capacity else { return false }
            count += 1
            return true
        }
        guard entered else { throw Overloaded(resource: name) }
        defer { admitted.withLock { $0 -= 1 } }
        return try await pool.runIfActive(body)
    }
}
