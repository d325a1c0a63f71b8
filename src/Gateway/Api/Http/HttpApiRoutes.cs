using Forkline.Contracts.Api;
using Forkline.Gateway.Api.Grpc;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace Forkline.Gateway.Api.Http;

/// <summary>
/// The HTTP/JSON transport: the API's methods on the routes forkline_api.proto gives them (<see cref="HttpRouteBinder"/>),
/// run by the same implementation as gRPC; and /healthz, /readyz and /metrics (when the node gives the API its
/// <see cref="ApiSettings.WriteMetrics"/>), which are no API methods.
/// </summary>
public static class HttpApiRoutes
{
    public static void Map(IEndpointRouteBuilder routes)
    {
        routes.MapGet("/healthz", () => Results.Text("ok\n"));
        routes.MapGet("/readyz", (ApiSettings settings) =>
            settings.IsReady() ? Results.Text("ready\n") : Results.Text("not ready\n", statusCode: StatusCodes.Status503ServiceUnavailable));
        // Behind the policy like the queries: with tokens (a fleet gateway) the read-only token is needed.
        if (routes.ServiceProvider.GetRequiredService<ApiSettings>().WriteMetrics is { } writeMetrics)
            routes.MapGet("/metrics", async context =>
            {
                Demand(context, ApiOperation.ReadMetrics);
                context.Response.ContentType = "text/plain; version=0.0.4; charset=utf-8";
                await writeMetrics(context.Response.Body, context.RequestAborted);
            });

        ForklineApi.BindService(new HttpRouteBinder(routes, ForklineApi.Descriptor), routes.ServiceProvider.GetRequiredService<ForklineApiService>());
    }

    /// <summary>Asks the access policy before anything of the request is read; a refusal is thrown as the caller's answer.</summary>
    internal static void Demand(HttpContext http, ApiOperation operation) =>
        http.RequestServices.GetRequiredService<ApiAccessPolicy>().Demand(new ApiCaller(
            operation,
            ApiCaller.BearerTokenOf(http.Request.Headers.Authorization.ToString()),
            http.Connection.ClientCertificate));
}
