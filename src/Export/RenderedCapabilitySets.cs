using System.Buffers;
using System.Text.Json;

namespace Forkline.Export;

/// <summary>
/// The JSON arrays of capability names of the last few capability sets a writer met, each rendered once: Tetragon's
/// names in bit order, a bit without a name as its number (as protojson writes an enum value it does not know). One
/// per writer thread, as its <see cref="ProcessJsonWriter"/>.
/// </summary>
internal sealed class RenderedCapabilitySets
{
    // Root's full set, a service's few, and the sets a transition between them shows: more would be a host of odd sets,
    // which are rendered again as they come.
    private const int Slots = 4;
    private readonly ulong[] _masks = new ulong[Slots];
    private readonly byte[][] _rendered = new byte[Slots][];
    private int _next;

    /// <summary>The array for <paramref name="mask"/> (not 0), as UTF-8 JSON.</summary>
    public byte[] Rendered(ulong mask)
    {
        for (var slot = 0; slot < Slots; slot++)
            if (_masks[slot] == mask && _rendered[slot] is { } rendered) return rendered;
        var fresh = Render(mask);
        _masks[_next] = mask;
        _rendered[_next] = fresh;
        _next = (_next + 1) % Slots;
        return fresh;
    }

    private static byte[] Render(ulong mask)
    {
        var buffer = new ArrayBufferWriter<byte>(64 * 24);
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartArray();
            for (var remaining = mask; remaining != 0; remaining &= remaining - 1)
            {
                var bit = System.Numerics.BitOperations.TrailingZeroCount(remaining);
                if (LinuxNames.TryGetCapability(bit, out var name)) json.WriteStringValue(name);
                else json.WriteNumberValue(bit);
            }
            json.WriteEndArray();
        }
        return buffer.WrittenSpan.ToArray();
    }
}
