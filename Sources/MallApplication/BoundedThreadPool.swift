import Foundation
import MallKernel
import NIOPosix
import Synchronization

/// Blocking work (bcrypt) on threads of its own, with a bounded queue.
///
/// Swift's cooperative pool has one thread per core; a 50 ms bcrypt on it stalls every task
/// queued behind it, so a burst of log-ins would stall the whole server. Here the work runs
/// on a `NIOThreadPool` of `threads` threads; at most `queueLimit` calls wait for one. A call
/// beyond that is refused at once with ``Overloaded`` (the HTTP layer answers 503 with
/// `Retry-After`) instead of joining a queue that only grows.
///
/// The threads can run at a lower scheduling priority (``Priority``, Linux): when the
/// machine is busy, a storm of log-ins then takes what request handling leaves, instead of
/// sharing the cores with it equally; when it is idle, hashing gets all of it.
public final class BoundedThreadPool: Sendable {
    /// How the pool's threads are scheduled against the rest of the process.
    public enum Priority: Sendable, Hashable {
        /// As every other thread.
        case normal
        /// A higher nice value (1 … 19): a smaller share of the cores under contention.
        case nice(Int32)
        /// `SCHED_IDLE`: only what no other thread wants; a request woken up preempts the
        /// hashing at once. Under sustained full load hashing waits, and its queue fills (503).
        case idle
    }

    public let threads: Int
    public let queueLimit: Int
    public let priority: Priority
    let name: String
    private let pool: NIOThreadPool
    /// Calls running or waiting.
    private let admitted = Mutex(0)

    public init(name: String, threads: Int, queueLimit: Int, priority: Priority = .normal) {
        self.name = name
        self.threads = threads
        self.queueLimit = queueLimit
        self.priority = priority
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
        let priority = priority
        return try await pool.runIfActive {
            Self.apply(priority)
            return try body()
        }
    }

    /// Applies `priority` to the calling thread (a syscall or two, ~1 µs next to a 50 ms
    /// bcrypt; it must run on the thread itself, and NIO starts its threads without a hook).
    /// On Linux both the nice value and the policy belong to each thread; `who`/`pid` 0 is
    /// the calling one.
    private static func apply(_ priority: Priority) {
        #if os(Linux)
        switch priority {
        case .normal:
            return
        case .nice(let niceness):
            let which = __priority_which_t(PRIO_PROCESS.rawValue)
            if getpriority(which, 0) < niceness { _ = setpriority(which, 0, niceness) }
        case .idle:
            let schedIdle: Int32 = 5  // SCHED_IDLE, which Glibc's Swift module does not export
            if sched_getscheduler(0) != schedIdle {
                var parameters = sched_param(sched_priority: 0)
                _ = sched_setscheduler(0, schedIdle, &parameters)
            }
        }
        #endif
    }

    /// Whether the calling thread runs under `SCHED_IDLE`.
    public static var currentThreadIsIdlePriority: Bool {
        #if os(Linux)
        sched_getscheduler(0) == 5
        #else
        false
        #endif
    }

    /// The calling thread's nice value.
    public static var currentNiceness: Int32 {
        #if os(Linux)
        getpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0)
        #else
        0
        #endif
    }
}
