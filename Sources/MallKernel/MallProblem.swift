import Foundation

/// An error a caller caused and can act on: what kind of problem, which field, what to do.
///
/// Every context's domain errors conform, so the HTTP layer turns them into
/// problem+json in one place, and the CLI prints ``detail``. Errors that do not conform are
/// the server's own failures (storage down, bugs) and are never shown in detail to clients.
public protocol MallProblem: Error, CustomStringConvertible {
    var kind: ProblemKind { get }
    /// The request field at fault (e.g. `"lines[2].quantity"`), when there is one.
    var field: String? { get }
    /// How many whole seconds the caller should wait before trying again (HTTP's
    /// `Retry-After`), when the problem knows.
    var retryAfterSeconds: Int64? { get }
}

extension MallProblem {
    public var field: String? { nil }
    public var retryAfterSeconds: Int64? { nil }
}

public enum ProblemKind: Sendable, Hashable {
    /// Malformed or out-of-range input (400).
    case invalidInput
    /// Not found, or not the caller's (404).
    case notFound
    /// The state changed meanwhile, or the request clashes with it (409).
    case conflict
    /// Well-formed but against a business rule (422).
    case ruleViolation
    /// Credentials missing or wrong (401).
    case unauthenticated
    /// Too many callers for a limited resource right now; retry after a pause (503 with
    /// `Retry-After`).
    case overloaded
    /// One caller asked for more than a configured limit allows (409): e.g. too many
    /// unpaid orders at once.
    case limitReached
    /// One caller (an address, a member) asked too often; retry after a pause (429 with
    /// `Retry-After`).
    case tooManyRequests
    /// A service the request needs is down or slow, and nothing was done; retry after a
    /// pause (503 with `Retry-After`).
    case dependencyUnavailable
}

/// A caller went past a rate limit: refused before any work.
public struct TooManyRequests: MallProblem, Hashable, Sendable {
    /// What was limited, e.g. `"failed log-ins from this address"`.
    public var what: String
    /// When a request may get through again.
    public var retryAfter: Duration
    /// How long the answer is held back (without holding a place in flight): a client that
    /// ignores `Retry-After` and asks again at once, in a loop, then gets one answer per this
    /// long per connection instead of as many as the server's cores can refuse. Refusing is
    /// cheap, but a storm of refusals as fast as the machine goes leaves nothing for the
    /// work that is not refused (password hashing runs at idle priority).
    public var holdBack: Duration

    public init(_ what: String, retryAfter: Duration, holdBack: Duration = .zero) {
        self.what = what
        self.retryAfter = retryAfter
        self.holdBack = holdBack
    }

    public var kind: ProblemKind { .tooManyRequests }
    public var retryAfterSeconds: Int64? { Self.seconds(retryAfter) }
    public var description: String { "too many \(what); retry after \(Self.seconds(retryAfter)) s" }

    /// `retryAfter` in whole seconds, rounded up (at least 1): the `Retry-After` header's value.
    public static func seconds(_ duration: Duration) -> Int64 {
        let (seconds, attoseconds) = duration.components
        return max(1, seconds + (attoseconds > 0 ? 1 : 0))
    }
}

/// A bounded resource (a worker pool, a queue) is full: the request was refused before any
/// work, and may be retried shortly.
public struct Overloaded: MallProblem, Hashable, Sendable {
    /// What is full, e.g. `"password hashing"`.
    public var resource: String

    public init(resource: String) { self.resource = resource }

    public var kind: ProblemKind { .overloaded }
    public var description: String { "\(resource) is busy; retry shortly" }
}

/// A validation failure naming its field.
public struct InvalidInput: MallProblem, Hashable, Sendable {
    public var field: String?
    public var reason: String

    public init(field: String, _ reason: String) {
        self.field = field
        self.reason = reason
    }

    public var kind: ProblemKind { .invalidInput }
    public var description: String { "\(field ?? "request"): \(reason)" }
}

/// Well-formed input that breaks a rule no single field's format can state: two fields that
/// must agree (a saving below its threshold, an end after a start), or what the shop holds
/// now (a reference to a member that does not exist). 422, naming the field.
public struct RuleViolation: MallProblem, Hashable, Sendable {
    public var field: String?
    public var reason: String

    public init(field: String, _ reason: String) {
        self.field = field
        self.reason = reason
    }

    public var kind: ProblemKind { .ruleViolation }
    public var description: String { "\(field ?? "request"): \(reason)" }
}

/// Something with this id exists already (409), naming the field.
public struct AlreadyExists: MallProblem, Hashable, Sendable {
    public var field: String?
    public var what: String

    public init(field: String, _ what: String) {
        self.field = field
        self.what = what
    }

    public var kind: ProblemKind { .conflict }
    public var description: String { "\(what) exists already" }
}

extension String {
    /// Checks a free-text field and returns it trimmed of surrounding whitespace.
    ///
    /// The rules are the ones the OpenAPI document states, in JSON Schema's terms, so the
    /// server and the document agree on every input: at most `maxLength` Unicode scalars
    /// (what `maxLength` counts), not blank unless `allowEmpty`, and no control characters
    /// anywhere (nothing a name or an address needs, and what would let input forge log
    /// lines or terminal output); `multiline` text (a description) may hold line breaks and tabs.
    public func validated(field: String, maxLength: Int, allowEmpty: Bool = false, multiline: Bool = false) throws -> String {
        guard unicodeScalars.count <= maxLength else { throw InvalidInput(field: field, "at most \(maxLength) characters") }
        let trimmed = trimmingCharacters(in: .whitespacesAndNewlines)
        // One line: nothing of control inside (around it is trimmed away). Several lines:
        // line breaks and tabs anywhere, nothing else of control anywhere.
        let allowed: Set<Unicode.Scalar> = multiline ? ["\n", "\r", "\t"] : []
        let checked = multiline ? self : trimmed
        guard !checked.unicodeScalars.contains(where: { Self.isControl($0) && !allowed.contains($0) }) else {
            throw InvalidInput(field: field, multiline ? "must not contain control characters" : "must not contain control characters or line breaks")
        }
        guard allowEmpty || !trimmed.isEmpty else { throw InvalidInput(field: field, "must not be empty") }
        return trimmed
    }

    /// C0, DEL, C1, and the Unicode line and paragraph separators.
    static func isControl(_ scalar: Unicode.Scalar) -> Bool {
        scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value) || scalar.value == 0x2028 || scalar.value == 0x2029
    }
}
