using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Forkline.Collector.Users;

/// <summary>
/// This host's names of uids from /etc/passwd (Collector:UsernameMetadata unix), for the process actors: the file
/// is parsed once and kept as an immutable table, and read again when its modification time or size changed. That
/// is checked at most once per <see cref="CheckInterval"/>, by the one caller that wins the check; the others read
/// the table they have. A lookup takes no lock and allocates nothing: each name is one string, made at parse time.
/// </summary>
public sealed class HostUserNames
{
    public const string DefaultPath = "/etc/passwd";

    public static readonly TimeSpan CheckInterval = TimeSpan.FromSeconds(1);

    // Unlike any length a stat gives (-1 stands for a missing file), so the first check reads the file or reports it missing.
    private const long NeverRead = long.MinValue;

    private readonly string _path;
    private readonly ILogger _log;
    private readonly TimeProvider _time;
    private readonly long _checkTicks;
    private Loaded _loaded = new(PasswdFile.Empty, default, NeverRead);
    private long _nextCheck;

    private sealed record Loaded(PasswdFile File, DateTime ModifiedUtc, long Length);

    /// <summary>Reads <paramref name="path"/> now, so a file that cannot be read is reported at start.</summary>
    public HostUserNames(string path = DefaultPath, ILogger? log = null, TimeProvider? time = null)
    {
        _path = path;
        _log = log ?? NullLogger.Instance;
        _time = time ?? TimeProvider.System;
        _checkTicks = (long)(CheckInterval.TotalSeconds * _time.TimestampFrequency);
        _nextCheck = _time.GetTimestamp() + _checkTicks;
        Refresh();
    }

    /// <summary>What the last read of the file found (its malformed lines too).</summary>
    public PasswdFile Current => Volatile.Read(ref _loaded).File;

    /// <summary>The name of <paramref name="uid"/>; null when the file does not list it (the field is then left out).</summary>
    public string? NameOf(uint uid)
    {
        var now = _time.GetTimestamp();
        var next = Volatile.Read(ref _nextCheck);
        if (now >= next && Interlocked.CompareExchange(ref _nextCheck, now + _checkTicks, next) == next) Refresh();
        return Volatile.Read(ref _loaded).File.Names.GetValueOrDefault(uid);
    }

    private void Refresh()
    {
        var current = Volatile.Read(ref _loaded);
        var file = new FileInfo(_path);
        var length = file.Exists ? file.Length : -1;
        var modified = file.Exists ? file.LastWriteTimeUtc : default;
        if (modified == current.ModifiedUtc && length == current.Length) return;
        Volatile.Write(ref _loaded, new Loaded(Read(length), modified, length));
    }

    private PasswdFile Read(long length)
    {
        if (length < 0)
        {
            _log.LogWarning("{Path} does not exist: no user names are written (Collector:UsernameMetadata unix)", _path);
            return PasswdFile.Empty;
        }
        PasswdFile parsed;
        try
        {
            parsed = PasswdFile.Parse(File.ReadAllText(_path));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            _log.LogWarning("cannot read {Path}: {Problem} — no user names are written until it can be read", _path, e.Message);
            return PasswdFile.Empty;
        }
        if (parsed.MalformedLines > 0)
            _log.LogWarning("{Path}: {Malformed} malformed lines skipped (the first is line {Line}); the uids they meant to name get no name",
                _path, parsed.MalformedLines, parsed.FirstMalformedLine);
        return parsed;
    }
}
