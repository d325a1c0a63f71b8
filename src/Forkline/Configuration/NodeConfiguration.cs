using System.ComponentModel;
using System.Net;
using Microsoft.Extensions.Configuration;

namespace Forkline.Configuration;

/// <summary>
/// Reads a fleet node's settings: the --config file, then environment variables
/// (FORKLINE__SECTION__KEY, e.g. FORKLINE__CLUSTER__PORT=4053, FORKLINE__CLUSTER__SEEDS__0=...),
/// then command-line options, each overriding the one before. A key that is not a setting is an
/// error, so a typo does not silently leave a default in place.
/// </summary>
public static class NodeConfiguration
{
    public const string EnvironmentPrefix = "FORKLINE__";

    /// <summary>Addresses are written address:port (Ingest:Listen, Metrics:Listen); the binder reads them through this converter.</summary>
    static NodeConfiguration() => TypeDescriptor.AddAttributes(typeof(IPEndPoint), new TypeConverterAttribute(typeof(EndpointConverter)));

    /// <summary>
    /// What a collector node starts with unless its file, a variable or an option says otherwise. It prints nothing, so its
    /// ring reader lets a batch gather as long as its forwarder let one linger before (200 ms), and the forwarder sends each
    /// batch at once: at a trickle one wakeup chain and one send per 200 ms instead of four ring drains per send, and no
    /// longer delay to the gateway (at most 200 ms in the ring instead of 50 ms there plus 200 ms of linger). Measured on
    /// the 2-core VM, collector-node + gateway pair at 100 processes/s: 370-400 -> 260-280 us of the node's CPU per process;
    /// the same in a storm. `run` and `collector` keep the 50 ms window: their stdout is the latency users watch.
    /// </summary>
    public static readonly IReadOnlyList<KeyValuePair<string, string?>> CollectorNodeDefaults =
    [
        new("Collector:BatchWindow", "00:00:00.200"),
        new("Forwarder:Linger", "00:00:00"),
    ];

    /// <param name="roleDefaults">Defaults of the node's role, under the file (<see cref="CollectorNodeDefaults"/>).</param>
    public static NodeOptions Load(FileInfo? file, IEnumerable<KeyValuePair<string, string?>> commandLine,
        IEnumerable<KeyValuePair<string, string?>>? roleDefaults = null)
    {
        var builder = new ConfigurationBuilder();
        if (roleDefaults is not null) builder.AddInMemoryCollection(roleDefaults);
        if (file is not null)
        {
            if (!file.Exists) throw new ConfigurationException($"settings file {file.FullName} does not exist");
            builder.AddJsonFile(file.FullName, optional: false, reloadOnChange: false);
        }
        builder.AddEnvironmentVariables(EnvironmentPrefix).AddInMemoryCollection(commandLine);
        var config = new NodeOptions();
        try
        {
            builder.Build().Bind(config, binder => binder.ErrorOnUnknownConfiguration = true);
        }
        catch (Exception e) when (e is InvalidOperationException or FormatException or InvalidDataException)
        {
            var origin = file is null ? "" : $" (file {file.FullName}, then {EnvironmentPrefix}* variables, then options)";
            var cause = e.InnerException is { } inner ? $" ({inner.Message})" : "";
            throw new ConfigurationException($"bad settings{origin}: {e.Message}{cause}", e);
        }
        return config;
    }
}

/// <summary>Settings that cannot be used as given; the message names the setting and the fix.</summary>
public sealed class ConfigurationException(string message, Exception? inner = null) : Exception(message, inner);
