using System.ComponentModel;
using System.Globalization;
using System.Net;

namespace Forkline.Configuration;

/// <summary>Reads an address:port setting (Ingest:Listen) into the <see cref="IPEndPoint"/> its settings record holds.</summary>
public sealed class EndpointConverter : TypeConverter
{
    public override bool CanConvertFrom(ITypeDescriptorContext? context, Type sourceType) => sourceType == typeof(string);

    /// <summary>An empty value is no endpoint (Metrics:Listen: not served).</summary>
    public override object? ConvertFrom(ITypeDescriptorContext? context, CultureInfo? culture, object value) => value switch
    {
        string { Length: 0 } => null,
        string text when IPEndPoint.TryParse(text, out var endpoint) => endpoint,
        _ => throw new FormatException($"'{value}' is not an address:port, e.g. 127.0.0.1:7070 or 0.0.0.0:7070"),
    };
}
