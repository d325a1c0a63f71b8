using System.Globalization;
using System.Text;

namespace Forkline.Export.Tests;

/// <summary>
/// A reader of what TerminalText and ArgumentLine write, built from the documented rule alone, so the
/// tests can show the text views and the `arguments` line give back exactly what the process had.
/// </summary>
internal static class CEscapes
{
    public static string Unescape(string escaped)
    {
        var position = 0;
        return Read(escaped, ref position, stopAtQuote: false);
    }

    /// <summary>Splits an ArgumentLine: bare words up to a space; quoted words with escapes inside.</summary>
    public static List<string> SplitArguments(string line)
    {
        var words = new List<string>();
        var position = 0;
        while (position < line.Length)
        {
            if (words.Count > 0)
            {
                Assert.Equal(' ', line[position]);
                position++;
            }
            if (line[position] == '"')
            {
                position++;
                words.Add(Read(line, ref position, stopAtQuote: true));
                Assert.Equal('"', line[position]);
                position++;
            }
            else
            {
                var end = line.IndexOf(' ', position);
                if (end < 0) end = line.Length;
                var word = line[position..end];
                Assert.DoesNotContain('"', word);
                Assert.DoesNotContain('\\', word);
                words.Add(word);
                position = end;
            }
        }
        return words;
    }

    private static string Read(string text, ref int position, bool stopAtQuote)
    {
        var result = new StringBuilder();
        while (position < text.Length)
        {
            var character = text[position];
            if (stopAtQuote && character == '"') break;
            position++;
            if (character != '\\')
            {
                result.Append(character);
                continue;
            }
            var kind = text[position++];
            switch (kind)
            {
                case '\\': result.Append('\\'); break;
                case '"': result.Append('"'); break;
                case 'n': result.Append('\n'); break;
                case 'r': result.Append('\r'); break;
                case 't': result.Append('\t'); break;
                case 'x':
                    result.Append((char)int.Parse(text.AsSpan(position, 2), NumberStyles.HexNumber, CultureInfo.InvariantCulture));
                    position += 2;
                    break;
                case 'u':
                    result.Append((char)int.Parse(text.AsSpan(position, 4), NumberStyles.HexNumber, CultureInfo.InvariantCulture));
                    position += 4;
                    break;
                default:
                    Assert.Fail($"unknown escape \\{kind} in {text}");
                    break;
            }
        }
        return result.ToString();
    }
}
