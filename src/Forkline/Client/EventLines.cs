using Forkline.Contracts.Api;
using Grpc.Core;

namespace Forkline.Client;

/// <summary>Prints a stream of events, one line each, flushing as they come so a pipe sees them live.</summary>
public static class EventLines
{
    /// <param name="clones">Print clone events; without, they are skipped (Tetragon has no process_clone).</param>
    public static async Task WriteAllAsync(IAsyncStreamReader<Event> events, bool json, CancellationToken ct, bool clones = true)
    {
        var output = Console.Out;
        await foreach (var received in events.ReadAllAsync(ct))
        {
            if (!clones && received.Kind == EventKind.Clone) continue;
            await output.WriteLineAsync(json ? received.Json : ProcessText.Event(received));
            await output.FlushAsync(ct);
        }
    }
}
