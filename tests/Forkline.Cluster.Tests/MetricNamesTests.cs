using System.Diagnostics;
using System.Text.RegularExpressions;
using Forkline.Gateway.Tests.Support;
using Forkline.Kernel.Tests;
using Xunit.Abstractions;

namespace Forkline.Cluster.Tests;

/// <summary>
/// What dashboards and alerts rely on: the Forkline metrics a `forkline run` node shows on /metrics, each with its
/// type and its label names, are the ones listed in MetricNames.txt, however the node's parts make them.
/// </summary>
[Collection(KernelCollection.Name)]
public sealed partial class MetricNamesTests(ITestOutputHelper output) : IDisposable
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(120);
    private readonly string _data = Directory.CreateTempSubdirectory("forkline-metric-names-").FullName;

    public void Dispose() => Directory.Delete(_data, recursive: true);

    [KernelFact]
    public async Task Run_shows_the_listed_metrics_with_their_types_and_label_names()
    {
        var listed = Listed(File.ReadAllLines(Path.Combine(AppContext.BaseDirectory, "MetricNames.txt")));
        await using var run = OutputProcess.Start(GatewayProcess.Executable,
            ["run", "--json", "--data", _data, "--node", $"names-{Guid.NewGuid():N}"[..20], "--cluster-port", "0",
             "--api-http", "127.0.0.1:0", "--api-grpc", "127.0.0.1:0"]);
        var started = await run.WaitForErrorLineAsync(EventStreamPurityTests.ApiAddresses(), Patience);
        using var http = new HttpClient { BaseAddress = new Uri(started.Groups["http"].Value), Timeout = Patience };

        // Events through the whole node (process actors, forwarder, host entity), so the labelled series are there too.
        var shown = await ShownWhenAsync(http, families => families.ContainsKey("forkline_gateway_events_total") && families["forkline_gateway_events_total"].Sampled);
        await run.InterruptAsync(Patience);
        output.WriteLine(string.Join('\n', shown.Select(family => $"{family.Key} {family.Value}")));

        foreach (var (name, family) in shown)
        {
            Assert.True(listed.TryGetValue(name, out var expected), $"{name} ({family}) is not listed in MetricNames.txt");
            Assert.Equal((name, expected.Type), (name, family.Type));
            if (family.Sampled) Assert.Equal((name, expected.Labels), (name, family.Labels));
        }
        foreach (var (name, expected) in listed.Where(family => family.Value.Sampled))
            Assert.True(shown.TryGetValue(name, out var family) && family.Sampled, $"{name} ({expected}) has no sample on /metrics");
    }

    private static async Task<SortedDictionary<string, Family>> ShownWhenAsync(HttpClient http, Func<SortedDictionary<string, Family>, bool> ready)
    {
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            var page = await http.GetStringAsync("/metrics");
            var shown = Shown(page);
            if (ready(shown)) return shown;
            if (deadline.Elapsed > Patience) throw new TimeoutException($"no events on /metrics within {Patience.TotalSeconds} s:\n{page}");
            for (var i = 0; i < 10; i++)
            {
                using var process = Process.Start("/bin/true") ?? throw new InvalidOperationException("could not start /bin/true");
                await process.WaitForExitAsync();
            }
            await Task.Delay(200);
        }
    }

    /// <summary>A metric family: its type, its label names (sorted, comma-separated) and whether it has a sample.</summary>
    private sealed record Family(string Type, string Labels, bool Sampled)
    {
        public override string ToString() => $"{Type} {Labels}{(Sampled ? "" : " (no sample)")}";
    }

    /// <summary>The forkline_* families of a Prometheus text page.</summary>
    private static SortedDictionary<string, Family> Shown(string page)
    {
        var types = new Dictionary<string, string>(StringComparer.Ordinal);
        var labels = new Dictionary<string, SortedSet<string>>(StringComparer.Ordinal);
        foreach (var line in page.Split('\n'))
        {
            if (TypeLine().Match(line) is { Success: true } type) types[type.Groups["name"].Value] = type.Groups["type"].Value;
            else if (SampleLine().Match(line) is { Success: true } sample)
            {
                var names = labels.TryGetValue(sample.Groups["name"].Value, out var known) ? known : labels[sample.Groups["name"].Value] = new(StringComparer.Ordinal);
                foreach (Match label in LabelName().Matches(sample.Groups["labels"].Value)) names.Add(label.Groups["label"].Value);
            }
        }
        var families = new SortedDictionary<string, Family>(StringComparer.Ordinal);
        foreach (var (name, type) in types)
            families[name] = labels.TryGetValue(name, out var names) ? new Family(type, string.Join(',', names), true) : new Family(type, "", false);
        return families;
    }

    /// <summary>
    /// MetricNames.txt: "name type label,label" a line; those above "# shown once measured" have a sample from the
    /// start (<see cref="Family.Sampled"/>), those below only once something was counted.
    /// </summary>
    private static SortedDictionary<string, Family> Listed(string[] lines)
    {
        var families = new SortedDictionary<string, Family>(StringComparer.Ordinal);
        var fromStart = true;
        foreach (var line in lines)
        {
            if (line.StartsWith("# shown once measured", StringComparison.Ordinal)) fromStart = false;
            if (line.Length == 0 || line.StartsWith('#')) continue;
            var parts = line.Split(' ');
            families[parts[0]] = new Family(parts[1], parts.Length > 2 ? parts[2] : "", fromStart);
        }
        return families;
    }

    [GeneratedRegex(@"^# TYPE (?<name>forkline_\w+) (?<type>\w+)$")]
    private static partial Regex TypeLine();

    [GeneratedRegex(@"^(?<name>forkline_\w+)(\{(?<labels>.*)\})? \S+$")]
    private static partial Regex SampleLine();

    [GeneratedRegex(@"(?<label>\w+)=""(?:[^""\\]|\\.)*""")]
    private static partial Regex LabelName();
}
