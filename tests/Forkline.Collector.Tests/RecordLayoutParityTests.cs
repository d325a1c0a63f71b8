using System.Diagnostics;
using System.Globalization;
using System.Reflection;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.RegularExpressions;
using Forkline.Collector.Decoding;
using Forkline.Contracts.Events;
using Xunit.Abstractions;

namespace Forkline.Collector.Tests;

/// <summary>
/// Compiles a program that prints sizeof/offsetof of everything bpf/forkline.h declares (the list is
/// read from the header itself, so a new field cannot be forgotten) and compares it with the C# mirrors.
/// </summary>
public sealed partial class RecordLayoutParityTests(ITestOutputHelper output)
{
    /// <summary>C enums and the C# enums that mirror them.</summary>
    private static readonly Dictionary<string, Type> EnumMirrors = new()
    {
        ["fl_kind"] = typeof(FlKind),
        ["fl_exec_flags"] = typeof(ExecFlags),
        ["fl_hook_phase"] = typeof(HookPhase),
        ["fl_leader_flags"] = typeof(FlLeaderFlags),
    };

    private static readonly Dictionary<string, Type> ScalarMirrors = new()
    {
        ["__u16"] = typeof(ushort),
        ["__u32"] = typeof(uint),
        ["__u64"] = typeof(ulong),
        ["__s32"] = typeof(int),
        ["__s64"] = typeof(long),
        ["char"] = typeof(byte),
    };

    [GccFact]
    public void Every_struct_field_constant_and_enum_of_the_header_matches_its_CSharp_mirror()
    {
        var header = ParsedHeader.Parse(File.ReadAllText(RepositoryFiles.HeaderPath));
        Assert.NotEmpty(header.Structs);
        var measured = MeasureWithGcc(header);

        var problems = new List<string>();
        foreach (var (name, fields) in header.Structs) CompareStruct(name, fields, measured, problems);
        foreach (var name in header.Defines) CompareConstant(name, measured[$"define {name}"], problems);
        CompareConstantsAreAllInTheHeader(header, problems);
        foreach (var (name, members) in header.Enums) CompareEnum(name, members, measured, problems);

        output.WriteLine($"checked {header.Structs.Count} structs, {header.Defines.Count} defines, {header.Enums.Count} enums");
        Assert.True(problems.Count == 0, "bpf/forkline.h and Decoding/RecordLayout.cs disagree:\n" + string.Join("\n", problems));
    }

    private static void CompareStruct(string name, List<CField> fields, Dictionary<string, long> measured, List<string> problems)
    {
        var mirror = typeof(FlHeader).Assembly.GetType($"{typeof(FlHeader).Namespace}.{PascalCase(name)}");
        if (mirror is null)
        {
            problems.Add($"struct {name}: no C# type {PascalCase(name)}");
            return;
        }
        Expect(problems, $"sizeof(struct {name})", measured[$"size {name}"], Marshal.SizeOf(mirror));
        Expect(problems, $"managed size of {mirror.Name}", measured[$"size {name}"], ManagedSize(mirror));

        var mirrorFields = mirror.GetFields(BindingFlags.Public | BindingFlags.Instance);
        Expect(problems, $"field count of {mirror.Name}", fields.Count, mirrorFields.Length);
        foreach (var field in fields)
        {
            var mirrorField = mirror.GetField(PascalCase(field.Name), BindingFlags.Public | BindingFlags.Instance);
            if (mirrorField is null)
            {
                problems.Add($"struct {name}.{field.Name}: no field {mirror.Name}.{PascalCase(field.Name)}");
                continue;
            }
            Expect(problems, $"offsetof({name}, {field.Name})", measured[$"offset {name} {field.Name}"], (long)Marshal.OffsetOf(mirror, mirrorField.Name));
            Expect(problems, $"sizeof({name}.{field.Name})", measured[$"fieldsize {name} {field.Name}"], Marshal.SizeOf(mirrorField.FieldType));
            CompareFieldType($"{name}.{field.Name}", field, mirrorField.FieldType, problems);
        }
    }

    /// <summary>Same size is not enough: __s64 against ulong, or char[8] against one ulong, would pass.</summary>
    private static void CompareFieldType(string what, CField field, Type mirror, List<string> problems)
    {
        var expected = field.Type.StartsWith("struct ", StringComparison.Ordinal) ? null : ScalarMirrors.GetValueOrDefault(field.Type);
        if (field.IsArray)
        {
            var element = mirror.GetCustomAttribute<InlineArrayAttribute>() is null
                ? null
                : mirror.GetFields(BindingFlags.NonPublic | BindingFlags.Public | BindingFlags.Instance)[0].FieldType;
            if (element != expected) problems.Add($"{what}: {field.Type}[] is mirrored by {mirror.Name}, not an [InlineArray] of {expected?.Name}");
        }
        else if (expected is null)
        {
            if (mirror.Name != PascalCase(field.Type["struct ".Length..])) problems.Add($"{what}: {field.Type} is mirrored by {mirror.Name}");
        }
        else if (mirror != expected && !(mirror.IsEnum && Enum.GetUnderlyingType(mirror) == expected))
        {
            problems.Add($"{what}: {field.Type} is mirrored by {mirror.Name}, not {expected.Name}");
        }
    }

    private static void CompareConstant(string define, long value, List<string> problems)
    {
        var constant = typeof(FlConstants).GetField(PascalCase(define["FL_".Length..]), BindingFlags.Public | BindingFlags.Static);
        if (constant is null)
            problems.Add($"#define {define}: no FlConstants.{PascalCase(define["FL_".Length..])}");
        else
            Expect(problems, define, value, Convert.ToInt64(constant.GetRawConstantValue(), CultureInfo.InvariantCulture));
    }

    private static void CompareConstantsAreAllInTheHeader(ParsedHeader header, List<string> problems)
    {
        foreach (var constant in typeof(FlConstants).GetFields(BindingFlags.Public | BindingFlags.Static))
        {
            if (!header.Defines.Exists(d => PascalCase(d["FL_".Length..]) == constant.Name))
                problems.Add($"FlConstants.{constant.Name} has no #define in the header");
        }
    }

    private static void CompareEnum(string name, List<string> members, Dictionary<string, long> measured, List<string> problems)
    {
        if (!EnumMirrors.TryGetValue(name, out var mirror))
        {
            problems.Add($"enum {name}: no C# mirror registered in {nameof(RecordLayoutParityTests)}.{nameof(EnumMirrors)}");
            return;
        }
        var prefix = CommonPrefix(members);
        foreach (var member in members)
        {
            var mirrorName = PascalCase(member[prefix.Length..]);
            if (!Enum.TryParse(mirror, mirrorName, ignoreCase: false, out var value))
                problems.Add($"{name}.{member}: no {mirror.Name}.{mirrorName}");
            else
                Expect(problems, member, measured[$"enum {member}"], Convert.ToInt64(value, CultureInfo.InvariantCulture));
        }
    }

    private static void Expect(List<string> problems, string what, long c, long csharp)
    {
        if (c != csharp) problems.Add($"{what}: C says {c}, C# says {csharp}");
    }

    private static long ManagedSize(Type type) =>
        (int)typeof(Unsafe).GetMethod(nameof(Unsafe.SizeOf))!.MakeGenericMethod(type).Invoke(null, null)!;

    /// <summary>Compiles and runs a C program printing "key value" lines for everything in the header.</summary>
    private Dictionary<string, long> MeasureWithGcc(ParsedHeader header)
    {
        var program = new StringBuilder("""
            #include <linux/types.h>
            #include <stddef.h>
            #include <stdio.h>
            #include "forkline.h"
            int main(void) {

            """);
        foreach (var (name, fields) in header.Structs)
        {
            program.AppendLine(CultureInfo.InvariantCulture, $"  printf(\"size {name} %zu\\n\", sizeof(struct {name}));");
            foreach (var field in fields.Select(f => f.Name))
            {
                program.AppendLine(CultureInfo.InvariantCulture, $"  printf(\"offset {name} {field} %zu\\n\", offsetof(struct {name}, {field}));");
                program.AppendLine(CultureInfo.InvariantCulture, $"  printf(\"fieldsize {name} {field} %zu\\n\", sizeof(((struct {name} *)0)->{field}));");
            }
        }
        foreach (var define in header.Defines)
            program.AppendLine(CultureInfo.InvariantCulture, $"  printf(\"define {define} %lld\\n\", (long long)({define}));");
        foreach (var member in header.Enums.SelectMany(e => e.Value))
            program.AppendLine(CultureInfo.InvariantCulture, $"  printf(\"enum {member} %lld\\n\", (long long)({member}));");
        program.AppendLine("  return 0;\n}");

        var workDirectory = Directory.CreateTempSubdirectory("forkline-layout-");
        try
        {
            var source = Path.Combine(workDirectory.FullName, "layout.c");
            var binary = Path.Combine(workDirectory.FullName, "layout");
            File.WriteAllText(source, program.ToString());
            Run(GccFactAttribute.FindGcc()!, ["-std=gnu11", "-Wall", "-Werror", "-I", Path.GetDirectoryName(RepositoryFiles.HeaderPath)!, "-o", binary, source]);
            var measured = new Dictionary<string, long>();
            foreach (var line in Run(binary, []).Split('\n', StringSplitOptions.RemoveEmptyEntries))
            {
                var lastSpace = line.LastIndexOf(' ');
                measured[line[..lastSpace]] = long.Parse(line[(lastSpace + 1)..], CultureInfo.InvariantCulture);
            }
            return measured;
        }
        finally
        {
            workDirectory.Delete(recursive: true);
        }
    }

    private string Run(string program, string[] arguments)
    {
        var start = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in arguments) start.ArgumentList.Add(argument);
        using var process = Process.Start(start)!;
        var standardError = process.StandardError.ReadToEndAsync();
        var standardOutput = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0)
            throw new InvalidOperationException($"{program} {string.Join(' ', arguments)} exited {process.ExitCode}: {standardError.Result}");
        output.WriteLine($"ran {Path.GetFileName(program)}");
        return standardOutput;
    }

    private static string PascalCase(string cName)
    {
        var result = new StringBuilder();
        foreach (var part in cName.Split('_', StringSplitOptions.RemoveEmptyEntries))
            result.Append(char.ToUpperInvariant(part[0])).Append(part[1..].ToLowerInvariant());
        return result.ToString();
    }

    /// <summary>FL_KIND_CLONE, FL_KIND_EXEC -> "FL_KIND_".</summary>
    private static string CommonPrefix(List<string> names)
    {
        var prefix = names[0][..(names[0].LastIndexOf('_') + 1)];
        while (!names.TrueForAll(n => n.StartsWith(prefix, StringComparison.Ordinal)))
            prefix = prefix[..(prefix.LastIndexOf('_', prefix.Length - 2) + 1)];
        return prefix;
    }

    private sealed record CField(string Name, string Type, bool IsArray);

    /// <summary>The declarations of forkline.h, read with patterns that fit its plain C style.</summary>
    private sealed record ParsedHeader(
        List<(string Name, List<CField> Fields)> Structs,
        List<string> Defines,
        List<KeyValuePair<string, List<string>>> Enums)
    {
        public static ParsedHeader Parse(string text)
        {
            text = Comments().Replace(text, " ");
            var structs = new List<(string, List<CField>)>();
            foreach (Match match in StructDeclarations().Matches(text))
            {
                var fields = new List<CField>();
                foreach (var declaration in match.Groups["body"].Value.Split(';'))
                {
                    var field = FieldDeclaration().Match(declaration.Trim());
                    if (!field.Success) continue;
                    var type = Whitespace().Replace(field.Groups["type"].Value, " ");
                    foreach (var declarator in field.Groups["names"].Value.Split(','))
                        fields.Add(new CField(declarator.Split('[')[0].Trim(), type, declarator.Contains('[')));
                }
                structs.Add((match.Groups["name"].Value, fields));
            }
            var defines = new List<string>();
            foreach (Match match in ValueDefines().Matches(text)) defines.Add(match.Groups["name"].Value);
            var enums = new List<KeyValuePair<string, List<string>>>();
            foreach (Match match in EnumDeclarations().Matches(text))
            {
                var members = new List<string>();
                foreach (var member in match.Groups["body"].Value.Split(','))
                {
                    var name = member.Split('=')[0].Trim();
                    if (name.Length > 0) members.Add(name);
                }
                enums.Add(new(match.Groups["name"].Value, members));
            }
            return new ParsedHeader(structs, defines, enums);
        }
    }

    [GeneratedRegex(@"/\*.*?\*/|//[^\n]*", RegexOptions.Singleline)]
    private static partial Regex Comments();

    [GeneratedRegex(@"struct\s+(?<name>\w+)\s*\{(?<body>[^}]*)\}\s*;")]
    private static partial Regex StructDeclarations();

    [GeneratedRegex(@"^(?<type>struct\s+\w+|\w+)\s+(?<names>[\w\s,\[\]]+)$")]
    private static partial Regex FieldDeclaration();

    [GeneratedRegex(@"^#define\s+(?<name>FL_\w+)\s+\S", RegexOptions.Multiline)]
    private static partial Regex ValueDefines();

    [GeneratedRegex(@"\s+")]
    private static partial Regex Whitespace();

    [GeneratedRegex(@"enum\s+(?<name>\w+)\s*\{(?<body>[^}]*)\}\s*;")]
    private static partial Regex EnumDeclarations();
}
