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

    public static NodeOptions Load(FileInfo? file, IEnumerable<KeyValuePair<string, string?>> commandLine)
    {
        var builder = new ConfigurationBuilder();
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
