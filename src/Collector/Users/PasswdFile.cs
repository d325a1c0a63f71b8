using System.Collections.Frozen;
using System.Globalization;

namespace Forkline.Collector.Users;

/// <summary>
/// The uid → name table of a file in /etc/passwd's format (name:password:uid:gid:gecos:home:shell), the
/// traditional user database Tetragon's --username-metadata=unix reads (no name service is asked).
/// </summary>
/// <param name="Names">Each uid's name; a uid listed twice keeps its first name, as getpwuid's scan finds it.</param>
/// <param name="MalformedLines">Lines that are neither an entry, a comment, blank nor a NIS "+"/"-" marker: skipped.</param>
/// <param name="FirstMalformedLine">The 1-based number of the first of them; 0 when there is none.</param>
public sealed record PasswdFile(FrozenDictionary<uint, string> Names, int MalformedLines, int FirstMalformedLine)
{
    public static readonly PasswdFile Empty = new(FrozenDictionary<uint, string>.Empty, 0, 0);

    public static PasswdFile Parse(string text)
    {
        var names = new Dictionary<uint, string>();
        var malformed = 0;
        var firstMalformed = 0;
        var number = 0;
        foreach (var rawLine in text.AsSpan().EnumerateLines())
        {
            number++;
            var line = rawLine.TrimEnd('\r');
            // NIS compat markers ("+", "+name", "-@group") pull entries from a name service, which is not asked.
            if (line.IsWhiteSpace() || line.TrimStart()[0] is '#' or '+' or '-') continue;
            if (TryParseEntry(line, out var uid, out var name))
            {
                names.TryAdd(uid, name);
                continue;
            }
            malformed++;
            if (firstMalformed == 0) firstMalformed = number;
        }
        return new PasswdFile(names.ToFrozenDictionary(), malformed, firstMalformed);
    }

    // An entry has all seven fields, a name and a decimal uid; the fields after the uid are not read.
    private static bool TryParseEntry(ReadOnlySpan<char> line, out uint uid, out string name)
    {
        uid = 0;
        name = "";
        Span<Range> fields = stackalloc Range[8];
        if (line.Split(fields, ':') != 7) return false;
        var nameField = line[fields[0]];
        if (nameField.IsEmpty || !uint.TryParse(line[fields[2]], NumberStyles.None, CultureInfo.InvariantCulture, out uid)) return false;
        name = nameField.ToString();
        return true;
    }
}
