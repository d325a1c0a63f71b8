using System.Buffers;
using System.Globalization;
using System.Text;

namespace Forkline.Export;

/// <summary>
/// Appends the pieces of one text line to a byte buffer as UTF-8. Text from the traced processes goes
/// through <see cref="Text"/>, which escapes it by <see cref="TerminalText"/>'s rule.
/// </summary>
internal readonly ref struct Utf8Line(IBufferWriter<byte> output)
{
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

    /// <summary>Text already escaped (an <see cref="ArgumentLine"/>), written as it is.</summary>
    public void Escaped(ReadOnlySpan<char> text)
    {
        var length = Encoding.UTF8.GetBytes(text, output.GetSpan(Encoding.UTF8.GetMaxByteCount(text.Length)));
        output.Advance(length);
    }

    public void Text(ReadOnlySpan<char> text)
    {
        while (!text.IsEmpty)
        {
            var cut = TerminalText.IndexOfUnsafe(text);
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
        Span<char> escape = stackalloc char[TerminalText.MaxEscapeLength];
        var length = TerminalText.EscapeOne(unsafeCharacter, escape);
        var bytes = output.GetSpan(length);
        for (var i = 0; i < length; i++) bytes[i] = (byte)escape[i];
        output.Advance(length);
    }
}
