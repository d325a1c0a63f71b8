using System.CommandLine;
using Forkline.Hosting;

namespace Forkline.Configuration;

/// <summary>
/// Command-line options that stand for settings keys (--port for Cluster:Port): what the user gives
/// goes on top of the file and the environment, as text, so one binder checks every source alike.
/// </summary>
/// <param name="roleDefaults">Defaults of the node's role, under its file (<see cref="NodeConfiguration.CollectorNodeDefaults"/>).</param>
public sealed class SettingOptions(IEnumerable<KeyValuePair<string, string?>>? roleDefaults = null)
{
    private readonly List<(Option<string?> Option, string Key)> _single = [];
    private readonly List<(Option<string[]> Option, string Key)> _lists = [];
    private readonly List<(Option<bool> Option, string Key)> _flags = [];

    public Option<FileInfo?> Config { get; } = new("--config")
    {
        Description = $"JSON settings file (see deploy/config/README.md); {NodeConfiguration.EnvironmentPrefix}SECTION__KEY variables and options override it",
    };

    public IEnumerable<Option> All => [Config, .. _single.Select(o => (Option)o.Option), .. _lists.Select(o => (Option)o.Option), .. _flags.Select(o => (Option)o.Option)];

    public SettingOptions Add(string name, string key, string description)
    {
        _single.Add((new Option<string?>(name) { Description = $"{description} [{key}]" }, key));
        return this;
    }

    public SettingOptions AddList(string name, string key, string description)
    {
        _lists.Add((new Option<string[]>(name) { Description = $"{description} (repeat) [{key}]", AllowMultipleArgumentsPerToken = true }, key));
        return this;
    }

    /// <summary>An option without a value that sets <paramref name="key"/> to true when given (run's --pod-annotations).</summary>
    public SettingOptions AddFlag(string name, string key, string description)
    {
        _flags.Add((new Option<bool>(name) { Description = $"{description} [{key}]" }, key));
        return this;
    }

    /// <summary>The cluster options both fleet roles take.</summary>
    public SettingOptions AddCluster() => this
        .Add("--hostname", "Cluster:Hostname", "Address other nodes reach this one at (default 127.0.0.1)")
        .Add("--port", "Cluster:Port", $"Cluster port (default {ClusterSettings.DefaultPort}; 0 = any free port)")
        .AddList("--seed", "Cluster:Seeds", "Seed node address akka.tcp://forkline@host:port (akka.ssl.tcp:// with TLS)")
        .Add("--down-unreachable-after", "Cluster:DownUnreachableAfter", "Unreachable time before a member is downed and its shards move, hh:mm:ss (default 00:00:20)")
        .Add("--down-removal-margin", "Cluster:DownRemovalMargin", "Wait after a downed gateway left before its shards start elsewhere, hh:mm:ss (default 00:00:04)");

    /// <summary>Reads the settings: file, environment, then the options given on this command line.</summary>
    public NodeOptions Load(ParseResult parse)
    {
        var given = new List<KeyValuePair<string, string?>>();
        foreach (var (option, key) in _single)
            if (parse.GetValue(option) is { } value) given.Add(new(key, value));
        foreach (var (option, key) in _flags)
            if (parse.GetValue(option)) given.Add(new(key, "true"));
        foreach (var (option, key) in _lists)
        {
            var values = parse.GetValue(option) ?? [];
            for (var i = 0; i < values.Length; i++) given.Add(new($"{key}:{i}", values[i]));
        }
        return NodeConfiguration.Load(parse.GetValue(Config), given, roleDefaults);
    }
}
