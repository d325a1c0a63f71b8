using System.Text.Encodings.Web;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Forkline.Gateway.Api.Http;

/// <summary>
/// Answers every failed HTTP request with {"error":{"code":..,"message":..}} and its status: request
/// errors keep their message, anything unexpected is a 500 with a generic message and a log entry.
/// Every error is counted. A failure after a stream started aborts the connection, so the client
/// sees a broken stream instead of a clean end.
/// </summary>
public sealed class HttpErrorMiddleware(RequestDelegate next, ILogger<HttpErrorMiddleware> log)
{
    private static readonly JsonSerializerOptions BodyJson = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        // Messages quote values ('…'); the body is never embedded in HTML, so quotes stay readable.
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    public async Task InvokeAsync(HttpContext context)
    {
        try
        {
            await next(context);
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            // The caller hung up: nobody is left to read a status, and it is not the gateway's failure.
        }
        catch (Exception error)
        {
            var (code, message) = error switch
            {
                ApiRequestException request => (request.Code, request.Message),
                BadHttpRequestException bad => (ApiErrorCode.InvalidArgument, $"malformed request: {bad.Message}"),
                _ => (ApiErrorCode.Internal, ApiErrorCodes.InternalErrorMessage($"{context.Request.Method} {context.Request.Path}")),
            };
            if (code == ApiErrorCode.Internal)
                log.LogError(error, "HTTP {Method} {Path} failed unexpectedly", context.Request.Method, context.Request.Path);
            var settings = context.RequestServices.GetRequiredService<ApiSettings>();
            settings.Metrics?.ApiError(code, ApiTransport.Http);
            if (context.Response.HasStarted)
            {
                context.Abort();
                return;
            }
            context.Response.Clear();
            context.Response.StatusCode = code.HttpStatus();
            if (code.IsRetryable())
                context.Response.Headers.RetryAfter = ((int)Math.Ceiling(settings.Limits.RetryAfter.TotalSeconds)).ToString(System.Globalization.CultureInfo.InvariantCulture);
            await context.Response.WriteAsJsonAsync(new ErrorBody(new ErrorDetail(code.Label(), message)), BodyJson, context.RequestAborted);
        }
    }

    private sealed record ErrorBody(ErrorDetail Error);

    private sealed record ErrorDetail(string Code, string Message);
}
