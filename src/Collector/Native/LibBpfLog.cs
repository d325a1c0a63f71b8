using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;
using Microsoft.Extensions.Logging;

namespace Forkline.Collector.Native;

public enum LibBpfLogLevel
{
    Warning = 0,
    Info = 1,
    Debug = 2,
}

/// <summary>
/// Routes libbpf's printf-style log into managed code. libbpf calls back with a format and a
/// va_list; libc vsnprintf formats it, so no varargs cross the boundary.
/// </summary>
public static unsafe class LibBpfLog
{
    private const int LineCapacity = 1024;
    private const int RecentCapacity = 200;
    private static readonly ConcurrentQueue<string> Recent = new();
    private static int _installed;
    private static long _sinkFailures;

    /// <summary>Where formatted lines go (no trailing newline). Null: nowhere, but still kept in Recent.</summary>
    public static ILogger? Logger { get; set; }

    /// <summary>Lines above this level are not formatted at all (Debug is the verifier's full log).</summary>
    public static LibBpfLogLevel MaximumLevel { get; set; } = LibBpfLogLevel.Warning;

    /// <summary>Exceptions thrown by Logger, counted because none may unwind into libbpf.</summary>
    public static long SinkFailures => Interlocked.Read(ref _sinkFailures);

    internal static void Install()
    {
        if (Interlocked.Exchange(ref _installed, 1) == 0)
            LibBpf.SetPrint(&Print);
    }

    /// <summary>The last lines libbpf logged (warnings and whatever MaximumLevel lets through).</summary>
    internal static string[] RecentLines() => Recent.ToArray();

    internal static void ForgetRecentLines() => Recent.Clear();

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static int Print(int level, byte* format, nint arguments)
    {
        if (level > (int)MaximumLevel) return 0;
        try
        {
            var buffer = stackalloc byte[LineCapacity];
            var written = LibC.Vsnprintf(buffer, LineCapacity, format, arguments);
            var length = Math.Clamp(written, 0, LineCapacity - 1);
            var line = Encoding.UTF8.GetString(buffer, length).TrimEnd('\n');
            Recent.Enqueue(line);
            while (Recent.Count > RecentCapacity) Recent.TryDequeue(out _);
            Logger?.Log(LevelOf((LibBpfLogLevel)level), "libbpf: {Line}", line);
        }
        catch (Exception)
        {
            // An exception unwinding into native code kills the process; the count makes the loss visible.
            Interlocked.Increment(ref _sinkFailures);
        }
        return 0;
    }

    private static LogLevel LevelOf(LibBpfLogLevel level) => level switch
    {
        LibBpfLogLevel.Warning => LogLevel.Warning,
        LibBpfLogLevel.Info => LogLevel.Information,
        _ => LogLevel.Debug,
    };
}
