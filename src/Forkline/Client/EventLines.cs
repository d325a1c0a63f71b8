using Forkline.Contracts.Api;
using Grpc.Core;

namespace Forkline.Client;

/// <summary>Prints a stream of events, one line each, flushing as they come so a pipe sees them live.</summary>
public static class EventLines
{
    public static async Task WriteAllAsync(IAsyncStreamReader<Event> events, bool json, CancellationToken ct)
    {
        var output = Console.Out;
        await foreach (var received in events.ReadAllAsync(ct))
        {
            await output.WriteLineAsync(json ? received.Json : ProcessText.Event(received));
            await output.FlushAsync(ct);
        }
    }
}
