using System.Collections;
using System.Text.RegularExpressions;
using Forkline.Contracts.Api;
using Google.Api;
using Google.Protobuf;
using Google.Protobuf.Reflection;
using Timestamp = Google.Protobuf.WellKnownTypes.Timestamp;
using Microsoft.AspNetCore.Http;

namespace Forkline.Gateway.Api.Http;

/// <summary>
/// One API method's HTTP route, read from its google.api.http rule and the options of forkline_api_http.proto:
/// the verb and path, the operation the access policy decides on, and how the request message is read from
/// the path and the query string. Whatever the transport cannot serve as the .proto asks is refused when
/// the routes are mapped, so a new method cannot be half served.
/// </summary>
internal sealed partial class HttpApiRoute
{
    private delegate void FieldReader(IMessage request, HttpRequest http);

    private readonly MessageDescriptor _requestType;
    private readonly IReadOnlyList<FieldReader> _fields;

    private HttpApiRoute(
        string verb, string pattern, ApiOperation operation, MessageDescriptor requestType, IReadOnlyList<FieldReader> fields,
        FieldDescriptor? lineField, int flushBytes)
    {
        Verb = verb;
        Pattern = pattern;
        Operation = operation;
        _requestType = requestType;
        _fields = fields;
        LineField = lineField;
        FlushBytes = flushBytes;
    }

    public string Verb { get; }

    /// <summary>The path as an ASP.NET Core route pattern.</summary>
    public string Pattern { get; }

    public ApiOperation Operation { get; }

    /// <summary>Streamed replies: the string field of each message that is its NDJSON line (the rule's response_body).</summary>
    public FieldDescriptor? LineField { get; }

    /// <summary>Streamed replies: bytes gathered before they are sent (0: each line as it comes).</summary>
    public int FlushBytes { get; }

    /// <summary>The route of a method, or null when its .proto gives it no HTTP rule (gRPC only).</summary>
    public static HttpApiRoute? Of(MethodDescriptor method)
    {
        var options = method.GetOptions();
        if (options?.GetExtension(AnnotationsExtensions.Http) is not { } rule) return null;
        var (verb, template) = rule.PatternCase switch
        {
            HttpRule.PatternOneofCase.Get => ("GET", rule.Get),
            HttpRule.PatternOneofCase.Post => ("POST", rule.Post),
            HttpRule.PatternOneofCase.Put => ("PUT", rule.Put),
            HttpRule.PatternOneofCase.Delete => ("DELETE", rule.Delete),
            HttpRule.PatternOneofCase.Patch => ("PATCH", rule.Patch),
            _ => throw Unsupported(method, $"its HTTP rule has pattern {rule.PatternCase}; use get, post, put, delete or patch"),
        };
        if (rule.Body.Length > 0) throw Unsupported(method, "request bodies are not read: bind every field in the path or the query string");
        if (rule.AdditionalBindings.Count > 0) throw Unsupported(method, "additional_bindings are not served");
        if (!Enum.TryParse<ApiOperation>(method.Name, out var operation))
            throw Unsupported(method, $"there is no ApiOperation.{method.Name} for the access policy to decide on");

        var pathFields = new Dictionary<string, bool>(StringComparer.Ordinal);
        var pattern = PathVariable().Replace(template, variable =>
        {
            var field = variable.Groups["field"].Value;
            var multiSegment = variable.Groups["segments"].Success;
            pathFields.Add(field, multiSegment);
            return multiSegment ? $"{{**{field}}}" : $"{{{field}}}";
        });
        if (PathVariable().Replace(template, "").IndexOfAny(['{', '}', '*', '=', ':']) >= 0)
            throw Unsupported(method, $"path '{template}' has a form other than literal segments, {{field}} and a final {{field=**}}");

        var fields = new List<FieldReader>();
        foreach (var (name, multiSegment) in pathFields)
        {
            var field = method.InputType.FindFieldByName(name) ?? throw Unsupported(method, $"its path names '{name}', which is no field of {method.InputType.Name}");
            fields.Add(PathReader(field, ValueParser(method, field, name), multiSegment));
        }
        foreach (var field in method.InputType.Fields.InDeclarationOrder())
        {
            if (pathFields.ContainsKey(field.Name)) continue;
            var name = field.GetOptions()?.GetExtension(ForklineApiHttpExtensions.QueryParameter) is { Length: > 0 } alias ? alias : field.Name;
            fields.Add(QueryReader(field, name, ValueParser(method, field, name)));
        }

        var flushBytes = options.GetExtension(ForklineApiHttpExtensions.HttpFlushBytes);
        if (!method.IsServerStreaming)
        {
            if (rule.ResponseBody.Length > 0 || flushBytes != 0)
                throw Unsupported(method, "a unary reply is the whole message, sent at once: leave response_body and http_flush_bytes out");
            return new HttpApiRoute(verb, pattern, operation, method.InputType, fields, lineField: null, flushBytes: 0);
        }
        var lineField = method.OutputType.FindFieldByName(rule.ResponseBody);
        if (lineField is not { FieldType: FieldType.String, IsRepeated: false })
            throw Unsupported(method, "a streamed reply's rule names the string field of its NDJSON lines in response_body");
        return new HttpApiRoute(verb, pattern, operation, method.InputType, fields, lineField, flushBytes);
    }

    /// <summary>The request message the HTTP request asks for; a value that does not parse is an InvalidArgument naming it.</summary>
    public TRequest Read<TRequest>(HttpRequest http) where TRequest : class
    {
        var request = _requestType.Parser.ParseFrom(ByteString.Empty);
        foreach (var field in _fields) field(request, http);
        return (TRequest)request;
    }

    private static FieldReader PathReader(FieldDescriptor field, Func<string, object> parse, bool multiSegment) => (request, http) =>
    {
        var text = http.RouteValues[field.Name] as string;
        // Routing decodes every escape of a path but %2F; a multi-segment value (an exec_id may hold '/') may come fully encoded.
        if (multiSegment && text is not null) text = Uri.UnescapeDataString(text);
        if (!string.IsNullOrEmpty(text)) field.Accessor.SetValue(request, parse(text));
    };

    private static FieldReader QueryReader(FieldDescriptor field, string name, Func<string, object> parse)
    {
        if (field.IsRepeated)
            return (request, http) =>
            {
                var values = (IList)field.Accessor.GetValue(request);
                foreach (var text in http.Query.List(name)) values.Add(parse(text));
            };
        return (request, http) =>
        {
            if (http.Query.Text(name) is { } text) field.Accessor.SetValue(request, parse(text));
        };
    }

    /// <summary>The text form of a field's values: the field types the API's requests use, each checked as both transports check it.</summary>
    private static Func<string, object> ValueParser(MethodDescriptor method, FieldDescriptor field, string name) => field.FieldType switch
    {
        FieldType.String => text => text,
        FieldType.Int32 => text => HttpQuery.Int(name, text),
        FieldType.Bool => text => HttpQuery.Bool(name, text),
        FieldType.Enum when field.EnumType.ClrType == typeof(EventKind) => text => ApiMessages.ToKind(ApiInput.EventType(text, name)),
        FieldType.Message when field.MessageType.ClrType == typeof(Timestamp) =>
            text => Timestamp.FromDateTime(ApiInput.Time(text, name, DateTime.UtcNow)!.Value),
        _ => throw Unsupported(method, $"field {field.Name} ({TypeName(field)}) has no text form here; add one"),
    };

    private static string TypeName(FieldDescriptor field) => field.FieldType switch
    {
        FieldType.Message or FieldType.Group => field.MessageType.FullName,
        FieldType.Enum => field.EnumType.FullName,
        _ => field.FieldType.ToString(),
    };

    private static NotSupportedException Unsupported(MethodDescriptor method, string why) =>
        new($"HTTP/JSON cannot serve {method.FullName}: {why}");

    [GeneratedRegex(@"\{(?<field>[a-z_][a-z0-9_]*)(?<segments>=\*\*)?\}")]
    private static partial Regex PathVariable();
}
