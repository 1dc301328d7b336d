import Foundation

/// Splits a subscription's streams into partitions that several nodes share through leases.
///
/// Every stream belongs to one partition (a stable hash of its type and id, the same in
/// every process). Each partition has its own checkpoint and is handled by the one node
/// holding its lease, so per-stream order holds while partitions run in parallel on
/// different nodes.
///
/// Nodes announce themselves with a heartbeat; partition `p` belongs to one of the `k` live
/// nodes, `p % k` places on from one chosen by the subscription's name (see
/// ``partitions(of:among:group:)``). A node takes the leases of its partitions when they
/// are free or expired, renews them every ``renewInterval``, and gives up partitions that
/// now belong to another node after finishing the batch at hand. A node that dies stops
/// renewing: its partitions move once its leases expire.
///
/// Every commit of a partition's progress carries the lease's fencing token; the store
/// refuses it (``StoreError/leaseLost(subscription:partition:)``) when another node has
/// taken the lease since, so a paused or partitioned-off node cannot commit stale work.
///
/// The lease times come from each node's ``HeraldClock``: nodes' clocks must agree to well
/// within ``leaseDuration``. Fencing keeps effects exactly-once even when they do not; only
/// the hand-over gets slower or noisier.
public struct Partitioning: Sendable, Hashable {
    /// Number of partitions, 1 to 1024. Changing it is only allowed while every partition's
    /// checkpoint stands at the same position (see ``SubscriptionWorker``).
    public var count: Int
    /// How long a lease (and a node's heartbeat) lasts without renewal: the longest a dead
    /// node's partitions wait before another node takes them.
    public var leaseDuration: Duration
    /// How often a node renews its leases and looks at the membership.
    public var renewInterval: Duration

    public init(count: Int, leaseDuration: Duration = .seconds(10), renewInterval: Duration? = nil) {
        self.count = count
        self.leaseDuration = leaseDuration
        self.renewInterval = renewInterval ?? leaseDuration / 3
    }

    /// - Throws: ``ConfigurationError`` naming the setting.
    public func validate(subscription: String) throws {
        guard (1...1024).contains(count) else {
            throw ConfigurationError(setting: "Partitioning.count (\(subscription))", value: "\(count)", allowed: "1 ... 1024")
        }
        guard leaseDuration >= .milliseconds(100) else {
            throw ConfigurationError(
                setting: "Partitioning.leaseDuration (\(subscription))", value: "\(leaseDuration)", allowed: "at least 100 ms")
        }
        guard renewInterval > .zero, renewInterval * 2 <= leaseDuration else {
            throw ConfigurationError(
                setting: "Partitioning.renewInterval (\(subscription))", value: "\(renewInterval)",
                allowed: "more than zero and at most half of leaseDuration (\(leaseDuration))")
        }
    }

    /// The partition of a stream: its ``streamHash(_:)`` modulo ``count``.
    public func partition(of stream: StreamID) -> Int { Self.partition(of: stream, count: count) }

    /// The partition of a stream among `count`.
    public static func partition(of stream: StreamID, count: Int) -> Int { Int(streamHash(stream) % Int64(count)) }

    /// A stream's hash: FNV-1a (64 bit) of `type`, a zero byte and `id`, shifted right by one
    /// so it is a non-negative `Int64` (a store can keep it in a signed column and take the
    /// same modulo in SQL). Stable across processes and builds, unlike `Hasher`.
    public static func streamHash(_ stream: StreamID) -> Int64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in stream.type.utf8 + [0] + stream.id.utf8 {
            hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3
        }
        return Int64(hash >> 1)
    }

    /// The partitions of `group` (a subscription, a job) that belong to `node` among the
    /// live `nodes`: partition `p` to the `(p + r) % k`-th of the `k` nodes sorted by name,
    /// where `r` is a stable hash of the group's name. Without `r` the first node would hold
    /// partition 0 of every group, and so every subscription that has one partition.
    public func partitions(of node: String, among nodes: [String], group: String) -> [Int] {
        let sorted = Set(nodes + [node]).sorted()
        guard let index = sorted.firstIndex(of: node) else { return [] }
        let rotation = Int(Self.streamHash(StreamID(type: "group", id: group)) % Int64(sorted.count))
        return (0..<count).filter { ($0 + rotation) % sorted.count == index }
    }

    /// The name of one partition's checkpoint: `<subscription>#<partition>/<count>`.
    public static func checkpointName(subscription: String, partition: Int, count: Int) -> String {
        "\(subscription)#\(partition)/\(count)"
    }

    /// The subscription a checkpoint moves for: a partition checkpoint's subscription, or
    /// the checkpoint's own name.
    public static func subscription(ofCheckpoint name: String) -> String { partitionCheckpoint(name)?.subscription ?? name }

    /// The parts of a partition checkpoint's name; `nil` for any other checkpoint name.
    public static func partitionCheckpoint(_ name: String) -> (subscription: String, partition: Int, count: Int)? {
        guard let hash = name.lastIndex(of: "#") else { return nil }
        let parts = name[name.index(after: hash)...].split(separator: "/")
        guard parts.count == 2, let partition = Int(parts[0]), let count = Int(parts[1]), count >= 1 else { return nil }
        return (String(name[..<hash]), partition, count)
    }
}

/// The right to handle one partition of a subscription until ``expiresAt``.
public struct PartitionLease: Sendable, Hashable, Codable {
    public var subscription: String
    public var partition: Int
    public var owner: String
    /// Grows by one whenever the partition changes hands; commits carry it as their fence.
    public var token: Int64
    public var expiresAt: Date

    public init(subscription: String, partition: Int, owner: String, token: Int64, expiresAt: Date) {
        self.subscription = subscription
        self.partition = partition
        self.owner = owner
        self.token = token
        self.expiresAt = expiresAt
    }
}
