using System.Reflection;
using System.Text.RegularExpressions;

namespace Forkline.Configuration.Tests;

/// <summary>deploy/config/README.md and the settings a node reads (<see cref="NodeOptions"/>) name the same keys, so neither can drift.</summary>
public sealed partial class SettingsDocumentationTests
{
    private static readonly string Readme = File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "deploy-config", "README.md"));

    [Fact]
    public void Every_setting_has_a_row_in_the_settings_readme()
    {
        var documented = DocumentedKeys();

        var undocumented = SettingKeys().Where(key => !documented.Contains(key)).ToList();

        Assert.True(undocumented.Count == 0, "deploy/config/README.md has no row for " + string.Join(", ", undocumented));
    }

    [Fact]
    public void Every_key_in_the_settings_readme_is_a_setting()
    {
        var settings = SettingKeys().ToHashSet(StringComparer.Ordinal);

        var unknown = DocumentedKeys().Where(key => !settings.Contains(key)).ToList();

        Assert.True(unknown.Count == 0, "deploy/config/README.md documents keys no node reads: " + string.Join(", ", unknown));
    }

    [Fact]
    public void The_settings_are_found_in_the_tree_and_in_the_readme()
    {
        // A guard for the two tests above: neither side may come out empty (a renamed file or a changed table layout).
        Assert.Contains("Cluster:Tls:Authority", SettingKeys());
        Assert.Contains("Forwarder:FlushInterval", DocumentedKeys());
    }

    /// <summary>
    /// The key of each setting the binder can set, by its path of section names: a property with a public
    /// setter whose type is a value, a list or a map; a section is one of our own records.
    /// </summary>
    private static List<string> SettingKeys() => KeysOf(typeof(NodeOptions), prefix: "").ToList();

    private static IEnumerable<string> KeysOf(Type section, string prefix)
    {
        foreach (var property in section.GetProperties(BindingFlags.Public | BindingFlags.Instance))
        {
            if (property.SetMethod is not { IsPublic: true }) continue;
            var type = property.PropertyType;
            var isSection = type.IsClass && type.Namespace?.StartsWith("Forkline.", StringComparison.Ordinal) == true;
            if (isSection) foreach (var key in KeysOf(type, prefix + property.Name + ":")) yield return key;
            else yield return prefix + property.Name;
        }
    }

    /// <summary>The key in the first cell of each settings table row: <c>| `Cluster:Port` | ...</c>.</summary>
    private static HashSet<string> DocumentedKeys() =>
        KeyRow().Matches(Readme).Select(match => match.Groups["key"].Value).ToHashSet(StringComparer.Ordinal);

    [GeneratedRegex(@"^\| `(?<key>[A-Za-z]+(?::[A-Za-z]+)*)` \|", RegexOptions.Multiline)]
    private static partial Regex KeyRow();
}
