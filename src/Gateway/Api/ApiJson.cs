using Google.Protobuf;

namespace Forkline.Gateway.Api;

/// <summary>
/// The JSON form of the API's messages, for HTTP bodies and the CLI's --json: the protobuf JSON
/// mapping with the .proto's snake_case field names and default values written out.
/// </summary>
public static class ApiJson
{
    public static JsonFormatter Formatter { get; } = new(
        JsonFormatter.Settings.Default.WithFormatDefaultValues(true).WithPreserveProtoFieldNames(true));
}
