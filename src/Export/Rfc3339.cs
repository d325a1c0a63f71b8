using System.Globalization;

namespace Forkline.Export;

/// <summary>
/// UTC timestamps as protobuf's JSON mapping writes them (what Tetragon emits): RFC 3339 with "Z" and
/// 0, 3, 6 or 9 fractional digits, as many as the value needs.
/// </summary>
internal static class Rfc3339
{
    /// <summary>"yyyy-MM-ddTHH:mm:ss.fffffffffZ".</summary>
    public const int MaxLength = 30;

    private const long NanosecondsPerTick = 100;

    public static int Format(DateTime utc, Span<byte> destination)
    {
        utc.TryFormat(destination, out var length, "yyyy'-'MM'-'dd'T'HH':'mm':'ss", CultureInfo.InvariantCulture);
        var nanoseconds = utc.Ticks % TimeSpan.TicksPerSecond * NanosecondsPerTick;
        if (nanoseconds != 0)
        {
            destination[length++] = (byte)'.';
            var (value, format) = nanoseconds % 1_000_000 == 0 ? (nanoseconds / 1_000_000, "D3")
                : nanoseconds % 1_000 == 0 ? (nanoseconds / 1_000, "D6")
                : (nanoseconds, "D9");
            value.TryFormat(destination[length..], out var digits, format, CultureInfo.InvariantCulture);
            length += digits;
        }
        destination[length++] = (byte)'Z';
        return length;
    }
}
