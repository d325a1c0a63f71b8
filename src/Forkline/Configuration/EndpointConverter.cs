using System.ComponentModel;
using System.Globalization;
using System.Net;

namespace Forkline.Configuration;

/// <summary>Reads an address:port setting (Ingest:Listen) into the <see cref="IPEndPoint"/> its settings record holds.</summary>
public sealed class EndpointConverter : TypeConverter
{
    public override bool CanConvertFrom(ITypeDescriptorContext? context, Type sourceType) => sourceType == typeof(string);

    public override object? ConvertFrom(ITypeDescriptorContext? context, CultureInfo? culture, object value) =>
        value is string text && IPEndPoint.TryParse(text, out var endpoint)
            ? endpoint
            : throw new FormatException($"'{value}' is not an address:port, e.g. 127.0.0.1:7070 or 0.0.0.0:7070");
}
