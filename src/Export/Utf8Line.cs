using System.Buffers;
using System.Globalization;
using System.Text;

namespace Forkline.Export;

/// <summary>
/// Appends the pieces of one text line to a byte buffer as UTF-8. Text from the traced processes goes
/// through <see cref="Text"/>, which escapes characters that would break the line or take over the
/// terminal (C0/C1 controls, DEL, bidirectional overrides).
/// </summary>
internal readonly ref struct Utf8Line(IBufferWriter<byte> output)
{
    private static readonly SearchValues<char> Unsafe = SearchValues.Create(
        "\u0000\u0001\u0002\u0003\u0004\u0005\u0006\u0007\u0008\u0009\u000a\u000b\u000c\u000d\u000e\u000f" +
        "\u0010\u0011\u0012\u0013\u0014\u0015\u0016\u0017\u0018\u0019\u001a\u001b\u001c\u001d\u001e\u001f\u007f" +
        "\u0080\u0081\u0082\u0083\u0084\u0085\u0086\u0087\u0088\u0089\u008a\u008b\u008c\u008d\u008e\u008f" +
        "\u0090\u0091\u0092\u0093\u0094\u0095\u0096\u0097\u0098\u0099\u009a\u009b\u009c\u009d\u009e\u009f" +
        "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069");

    public void Literal(ReadOnlySpan<byte> utf8)
    {
        utf8.CopyTo(output.GetSpan(utf8.Length));
        output.Advance(utf8.Length);
    }

    public void Number(long value)
    {
        value.TryFormat(output.GetSpan(20), out var length, default, CultureInfo.InvariantCulture);
        output.Advance(length);
    }

    public void TimeOfDay(DateTime utc)
    {
        utc.TryFormat(output.GetSpan(12), out var length, "HH':'mm':'ss'.'fff", CultureInfo.InvariantCulture);
        output.Advance(length);
    }

    /// <summary>Writes <paramref name="text"/> and pads with spaces to <paramref name="width"/> characters.</summary>
    public void Padded(ReadOnlySpan<char> text, int width)
    {
        Text(text);
        var padding = width - text.Length;
        if (padding <= 0) return;
        output.GetSpan(padding)[..padding].Fill((byte)' ');
        output.Advance(padding);
    }

    public void Text(ReadOnlySpan<char> text)
    {
        while (!text.IsEmpty)
        {
            var cut = text.IndexOfAny(Unsafe);
            var run = cut < 0 ? text : text[..cut];
            if (!run.IsEmpty)
            {
                var length = Encoding.UTF8.GetBytes(run, output.GetSpan(Encoding.UTF8.GetMaxByteCount(run.Length)));
                output.Advance(length);
            }
            if (cut < 0) return;
            Escape(text[cut]);
            text = text[(cut + 1)..];
        }
    }

    private void Escape(char unsafeCharacter)
    {
        switch (unsafeCharacter)
        {
            case '\n': Literal("\\n"u8); return;
            case '\r': Literal("\\r"u8); return;
            case '\t': Literal("\\t"u8); return;
        }
        var span = output.GetSpan(8);
        span[0] = (byte)'\\';
        int length;
        if (unsafeCharacter <= '\u00ff')
        {
            span[1] = (byte)'x';
            ((int)unsafeCharacter).TryFormat(span[2..], out length, "x2", CultureInfo.InvariantCulture);
        }
        else
        {
            span[1] = (byte)'u';
            ((int)unsafeCharacter).TryFormat(span[2..], out length, "x4", CultureInfo.InvariantCulture);
        }
        output.Advance(2 + length);
    }
}
