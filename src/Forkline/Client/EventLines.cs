using Forkline.Contracts.Api;
using Grpc.Core;

namespace Forkline.Client;

/// <summary>
/// Prints a stream of events, one line each, flushing as they come so a pipe sees them live; where the
/// gateway dropped events because this client fell behind, a line says how many.
/// </summary>
public static class EventLines
{
    /// <param name="clones">Print clone events; without, they are skipped (Tetragon has no process_clone).</param>
    public static async Task WriteAllAsync(IAsyncStreamReader<Event> events, TextWriter output, bool json, CancellationToken ct, bool clones = true)
    {
        await foreach (var received in events.ReadAllAsync(ct))
        {
            if (!clones && received.Kind == EventKind.Clone) continue;
            var line = json ? received.Json
                : received.MissedEvents > 0 ? ProcessText.MissedEvents(received)
                : received.Gap is { } gap ? ProcessText.Gap(gap)
                : ProcessText.Event(received);
            await output.WriteLineAsync(line);
            await output.FlushAsync(ct);
        }
    }
}
