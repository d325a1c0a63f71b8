using System.Data.Common;
using Akka.Pattern;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace Forkline.Gateway.Storage;

/// <summary>
/// Why a database operation failed, as an operator acts on it: a label for metrics, the database's
/// own words in one line, and the fix. <see cref="IsStorage"/> is false for what no change of the
/// database would mend (a bug, a malformed entry): those keep their stack trace.
/// </summary>
/// <param name="Cause">full, read_only, locked, timeout, io_error, unreachable, unavailable or other.</param>
public sealed record StoreFault(string Cause, string Problem, string Remedy)
{
    public const string Other = "other";

    public bool IsStorage => Cause != Other;

    public static StoreFault Of(Exception failure)
    {
        foreach (var e in Chain(failure))
        {
            switch (e)
            {
                case SqliteException sqlite:
                    return sqlite.SqliteErrorCode switch
                    {
                        13 => Full(sqlite), // SQLITE_FULL
                        8 => ReadOnly(sqlite), // SQLITE_READONLY
                        5 or 6 => Locked(sqlite), // SQLITE_BUSY, SQLITE_LOCKED
                        10 => new StoreFault("io_error", OneLine(sqlite),
                            "the file system refused the write (read-only, or a failing disk); make the data directory writable"), // SQLITE_IOERR
                        14 => new StoreFault("unreachable", OneLine(sqlite), "the database file cannot be opened; check that the data directory exists and is writable"),
                        _ => new StoreFault(Other, OneLine(sqlite), "see the database error"),
                    };
                case PostgresException postgres:
                    return postgres.SqlState switch
                    {
                        "53100" => Full(postgres), // disk_full
                        "25006" => ReadOnly(postgres), // read_only_sql_transaction
                        "55P03" or "40P01" => Locked(postgres), // lock_not_available, deadlock_detected
                        "57014" => Timeout(postgres), // query_canceled (statement timeout)
                        "57P01" or "57P02" or "57P03" or "08006" or "08001" => Unreachable(postgres),
                        _ => new StoreFault(Other, OneLine(postgres), "see the database error"),
                    };
                case NpgsqlException npgsql:
                    return Unreachable(npgsql);
                case TimeoutException timeout:
                    return Timeout(timeout);
                case IOException io when io.Message.Contains("No space left", StringComparison.Ordinal):
                    return Full(io);
                case IOException io when io.Message.Contains("Read-only file system", StringComparison.Ordinal):
                    return ReadOnly(io);
                case UnauthorizedAccessException denied:
                    return ReadOnly(denied);
                case OpenCircuitException open:
                    // The journal's circuit breaker: after repeated failures it fails fast for a while.
                    return new StoreFault("unavailable", OneLine(open), "the journal stopped trying for a moment after repeated failures; see the first fault logged");
            }
        }
        var innermost = failure.GetBaseException();
        return innermost.Message.Contains("timed out", StringComparison.OrdinalIgnoreCase)
            ? Timeout(innermost)
            : new StoreFault(Other, OneLine(innermost), "see the error");
    }

    private static StoreFault Full(Exception e) => new("full", OneLine(e), "its disk is full; free space there");

    private static StoreFault ReadOnly(Exception e) => new("read_only", OneLine(e), "its folder, file or server is read-only; make it writable, or give another data directory");

    private static StoreFault Locked(Exception e) => new("locked", OneLine(e), "another process holds a lock on it; end that process's transaction or stop it, or give this node its own database");

    private static StoreFault Timeout(Exception e) => new("timeout", OneLine(e),
        "the database did not answer in time: another process may hold a lock on it, or it is overloaded");

    private static StoreFault Unreachable(Exception e) => new("unreachable", OneLine(e), "the database server cannot be reached; check that it runs and the connection string");

    private static string OneLine(Exception e) => e.Message.ReplaceLineEndings(" ").Trim();

    /// <summary>The exception and everything it wraps: database exceptions first, then outermost first.</summary>
    private static IEnumerable<Exception> Chain(Exception failure)
    {
        var pending = new Stack<Exception>();
        var found = new List<Exception>();
        pending.Push(failure);
        while (pending.Count > 0)
        {
            var e = pending.Pop();
            found.Add(e);
            if (e is AggregateException aggregate)
                foreach (var inner in aggregate.InnerExceptions) pending.Push(inner);
            else if (e.InnerException is { } inner) pending.Push(inner);
        }
        // A DbException names the cause better than a wrapper's timeout or breaker.
        return found.OrderByDescending(e => e is DbException);
    }
}
