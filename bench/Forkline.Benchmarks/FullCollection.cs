using System.Diagnostics.Tracing;
using Microsoft.Diagnostics.NETCore.Client;
using Microsoft.Diagnostics.Tracing;
using Microsoft.Diagnostics.Tracing.Parsers;
using Microsoft.Diagnostics.Tracing.Parsers.Clr;

namespace Forkline.Benchmarks;

/// <summary>
/// What a .NET process's managed heap holds alive: a full, blocking collection induced in it from outside
/// (an EventPipe session with the runtime's GCHeapCollect keyword, as dotnet-gcdump does) and the bytes that
/// survived it, read from the GCHeapStats event that ends it. Garbage not yet collected does not count, and
/// the process needs no code for it.
/// </summary>
public static class FullCollection
{
    private const string RuntimeProvider = "Microsoft-Windows-DotNETRuntime";

    /// <summary>The survivors of one induced full collection, in bytes (all generations, large and pinned object heaps included).</summary>
    public static async Task<long> SurvivingBytesAsync(int pid, TimeSpan patience)
    {
        var keywords = (long)(ClrTraceEventParser.Keywords.GC | ClrTraceEventParser.Keywords.GCHeapCollect);
        var client = new DiagnosticsClient(pid);
        using var session = client.StartEventPipeSession([new EventPipeProvider(RuntimeProvider, EventLevel.Informational, keywords)], requestRundown: false);
        using var source = new EventPipeEventSource(session.EventStream);
        var survived = new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously);
        var fullStarted = false;
        source.Clr.GCStart += start => fullStarted |= start.Depth == 2 && start.Type != GCType.BackgroundGC;
        source.Clr.GCHeapStats += stats =>
        {
            if (fullStarted) survived.TrySetResult(stats.TotalPromoted);
        };
        var processing = Task.Run(source.Process);
        try
        {
            return await survived.Task.WaitAsync(patience);
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"process {pid} reported no full collection within {patience.TotalSeconds} s of being asked for one (EventPipe, GCHeapCollect)");
        }
        finally
        {
            session.Stop();
            await processing.WaitAsync(patience);
        }
    }
}
