using System.ComponentModel;
using System.Net;
using Forkline.Gateway;
using Forkline.Gateway.Api;
using Forkline.Gateway.HostTree;
using Forkline.Gateway.Ingest;
using Forkline.Hosting;
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

    /// <summary>
    /// Where and how the gateway serves its query API. Without tokens it is open, which is only
    /// allowed on loopback: an API reachable from other machines must name its tokens.
    /// </summary>
    public static ApiSettings ToApiSettings(this NodeOptions config)
    {
        var defaults = new ApiSettings();
        var api = config.Api;
        var settings = defaults with
        {
            HttpEndpoint = EndpointOf("Api:Http", api.Http) ?? defaults.HttpEndpoint,
            GrpcEndpoint = EndpointOf("Api:Grpc", api.Grpc) ?? defaults.GrpcEndpoint,
            Certificate = string.IsNullOrEmpty(api.Tls.Certificate)
                ? null
                : CertificateFiles.LoadPkcs12("API certificate (Api:Tls:Certificate)", api.Tls.Certificate, api.Tls.Password),
        };
        var readOnly = api.ReadOnlyTokens ?? [];
        var admin = api.AdminTokens ?? [];
        var localOnly = IPAddress.IsLoopback(settings.HttpEndpoint.Address) && IPAddress.IsLoopback(settings.GrpcEndpoint.Address);
        if (!localOnly && readOnly.Length + admin.Length == 0)
            throw new ConfigurationException(
                $"the API listens beyond this machine (HTTP {settings.HttpEndpoint}, gRPC {settings.GrpcEndpoint}) without tokens: " +
                "set Api:ReadOnlyTokens and/or Api:AdminTokens, or bind Api:Http and Api:Grpc to 127.0.0.1");
        if (!localOnly && settings.Certificate is null)
            throw new ConfigurationException(
                $"the API listens beyond this machine (HTTP {settings.HttpEndpoint}, gRPC {settings.GrpcEndpoint}) without TLS, so its bearer tokens " +
                "would cross the network in clear: set Api:Tls:Certificate, or bind Api:Http and Api:Grpc to 127.0.0.1");
        return readOnly.Length + admin.Length == 0 ? settings : settings with { AccessPolicy = new BearerTokenPolicy(readOnly, admin) };
    }

    public static IPEndPoint? EndpointOf(string key, string? value)
    {
        if (string.IsNullOrWhiteSpace(value)) return null;
        return IPEndPoint.TryParse(value, out var endpoint)
            ? endpoint
            : throw new ConfigurationException($"{key} '{value}' is not an address:port, e.g. 127.0.0.1:7070 or 0.0.0.0:7070");
    }
}

/// <summary>Settings that cannot be used as given; the message names the setting and the fix.</summary>
public sealed class ConfigurationException(string message, Exception? inner = null) : Exception(message, inner);
