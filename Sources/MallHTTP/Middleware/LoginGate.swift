import MallOperations
import Foundation
import MallKernel
import Synchronization

/// The limits a log-in meets before its password is hashed, reserved so that they hold
/// however many log-ins arrive at once.
///
/// A token of every limit that could refuse the attempt is taken *before* the hash and given
/// back afterwards when the outcome does not count against it: of 60 simultaneous wrong
/// passwords from one address, only the failed-log-in burst is ever hashed. (Checking a
/// bucket before and taking a token only after a failure let a whole wave through while the
/// bucket still showed a token.)
///
/// | limit (rule)                | key            | counts                 | given back when |
/// |-----------------------------|----------------|------------------------|-----------------|
/// | `logins.perAddress`         | client address | every attempt          | never           |
/// | `failedLogins`              | client address | failures               | it succeeded    |
/// | `logins.failedPerAccount`   | account        | failures               | it succeeded    |
/// | `logins.perAccount`         | account        | successes              | it failed       |
///
/// The failed-log-in limit per account is where a stranger could lock a member out: it
/// slows an attacker rotating addresses (ten failures, then one every 30 s), and does not
/// apply to an address the account logged in from before (``KnownAddresses``), so the
/// member is never held by it there and elsewhere waits at most its refill. The limit on
/// successful log-ins per account can only be spent by whoever has the password.
struct LoginGate {
    let limits: IngressLimits

    /// One admitted attempt: its reservations, settled by its outcome.
    struct Attempt {
        fileprivate let limits: IngressLimits
        fileprivate let account: String
        fileprivate let address: String
        fileprivate let reservedAccountFailure: Bool

        /// The password was right: the failure reservations go back, the address is known.
        func succeeded() {
            limits.limiter(.failedLogins).giveBack(address)
            if reservedAccountFailure { limits.limiter(.failedLoginsPerAccount).giveBack(account) }
            limits.knownAddresses.remember(address, for: account)
        }

        /// The password (or the account) was wrong: the success reservation goes back.
        func failed() {
            limits.limiter(.loginsPerAccount).giveBack(account)
        }

        /// Nothing was decided (the hashing pool was full, the store down): every
        /// reservation but the attempt itself goes back.
        func abandoned() {
            succeededWithoutRemembering()
            failed()
        }

        private func succeededWithoutRemembering() {
            limits.limiter(.failedLogins).giveBack(address)
            if reservedAccountFailure { limits.limiter(.failedLoginsPerAccount).giveBack(account) }
        }
    }

    /// Admits a log-in to `account` (the normalised e-mail address, or the text given) from
    /// `address` (a client key), or refuses it with ``TooManyRequests`` before anything is hashed.
    /// `nil` when the limits are switched off.
    func admit(account: String, address: String) throws -> Attempt? {
        guard limits.enabled else { return nil }
        try limits.acquire(.logins, address, "log-ins from this address")
        try limits.acquire(.failedLogins, address, "failed log-ins from this address")
        let known = limits.knownAddresses.contains(address, for: account)
        if !known {
            do {
                try limits.acquire(.failedLoginsPerAccount, account, "failed log-ins to this account; from an address it logged in from before there is no wait")
            } catch {
                limits.limiter(.failedLogins).giveBack(address)
                throw error
            }
        }
        do {
            try limits.acquire(.loginsPerAccount, account, "log-ins to this account")
        } catch {
            limits.limiter(.failedLogins).giveBack(address)
            if !known { limits.limiter(.failedLoginsPerAccount).giveBack(account) }
            throw error
        }
        return Attempt(limits: limits, account: account, address: address, reservedAccountFailure: !known)
    }

    /// Runs a log-in admitted for `account` from `address`, settling the attempt by its outcome.
    func logIn<T>(account: String, address: String, _ body: () async throws -> T) async throws -> T {
        let attempt = try admit(account: account, address: address)
        do {
            let result = try await body()
            attempt?.succeeded()
            return result
        } catch let problem as any MallProblem where problem.kind == .unauthenticated {
            attempt?.failed()
            throw problem
        } catch {
            attempt?.abandoned()
            throw error
        }
    }
}
