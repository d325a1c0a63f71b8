using System.Text;

namespace Forkline.Collector.Decoding;

/// <summary>
/// Texts of exec records that recur (a binary's path, a working directory, common arguments) decoded to one
/// shared string: every process of a build runs the same compiler from the same directory, and each live
/// process's snapshot holds its strings for as long as it runs (four of them for `sleep infinity`, about
/// 160 bytes a process when each is its own copy). A hit allocates nothing. Direct-mapped: a slot holds the
/// text its bytes last hashed to, so a miss replaces it and the memory stays bounded (<see cref="Slots"/> short
/// strings). Only ASCII is kept, so a slot's string compares with the record's bytes as they are.
/// Safe to share between threads: a slot is one reference, written whole, and strings never change.
/// </summary>
public sealed class RecentTexts
{
    /// <summary>A power of two.</summary>
    private const int Slots = 256;

    /// <summary>Longer texts (arguments, mostly) rarely recur; they are decoded each time and not kept.</summary>
    private const int MaxLength = 128;

    private readonly string?[] _slots = new string?[Slots];

    public string Decode(ReadOnlySpan<byte> bytes)
    {
        if (bytes.IsEmpty) return "";
        if (bytes.Length > MaxLength || !Ascii.IsValid(bytes)) return ByteText.Decode(bytes);
        ref var slot = ref _slots[SlotOf(bytes)];
        var known = Volatile.Read(ref slot);
        if (known is not null && Ascii.Equals(bytes, known)) return known;
        var text = Encoding.ASCII.GetString(bytes);
        Volatile.Write(ref slot, text);
        return text;
    }

    /// <summary>
    /// FNV-1a, not <see cref="HashCode"/>: HashCode is seeded per process, so which texts shared a slot (and evicted
    /// each other) changed from run to run. A crafted name can only force misses, which cost what no cache costs.
    /// </summary>
    private static int SlotOf(ReadOnlySpan<byte> bytes)
    {
        var hash = 2166136261u;
        foreach (var b in bytes) hash = (hash ^ b) * 16777619u;
        return (int)((hash ^ (hash >> 16)) & (Slots - 1));
    }
}
