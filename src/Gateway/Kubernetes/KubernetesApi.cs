using System.Net.Http.Headers;
using System.Security.Cryptography.X509Certificates;
using Forkline.Gateway.Cluster;

namespace Forkline.Gateway.Kubernetes;

/// <summary>
/// The Kubernetes API server as a pod reaches it: the address Kubernetes puts in the environment
/// (KUBERNETES_SERVICE_HOST / _PORT), the service account's token and CA certificate from their
/// mounted folder. The API is called over plain HTTP+JSON: the KubernetesClient package needs
/// dependency versions the package registry here lacks.
/// </summary>
public static class KubernetesApi
{
    public const string ServiceAccountFolder = "/var/run/secrets/kubernetes.io/serviceaccount";

    /// <summary>Kubernetes sets KUBERNETES_SERVICE_HOST in every pod; without it this node does not run in one.</summary>
    public static bool InCluster => !string.IsNullOrEmpty(Environment.GetEnvironmentVariable("KUBERNETES_SERVICE_HOST"));

    /// <summary>The namespace of this pod, from its service account.</summary>
    public static async Task<string> PodNamespaceAsync() =>
        (await File.ReadAllTextAsync(Path.Combine(ServiceAccountFolder, "namespace"))).Trim();

    /// <summary>A client of the API server trusting only the service account's CA and sending its token.</summary>
    /// <param name="requestTimeout">Until the response headers; a watch's body streams past it.</param>
    public static HttpClient CreateClient(TimeSpan requestTimeout)
    {
        var host = Environment.GetEnvironmentVariable("KUBERNETES_SERVICE_HOST");
        var port = Environment.GetEnvironmentVariable("KUBERNETES_SERVICE_PORT") ?? "443";
        if (string.IsNullOrEmpty(host))
            throw new InvalidOperationException("KUBERNETES_SERVICE_HOST is not set: the Kubernetes API is reachable only from inside a pod");
        var authority = X509CertificateLoader.LoadCertificateFromFile(Path.Combine(ServiceAccountFolder, "ca.crt"));
        var handler = new SocketsHttpHandler();
        handler.SslOptions.RemoteCertificateValidationCallback =
            (_, certificate, _, _) => PrivateCertificateAuthority.Issued(authority, certificate);
        // An IPv6 service address needs brackets in a URI.
        var authorityPart = host.Contains(':') ? $"[{host}]" : host;
        var client = new HttpClient(handler) { BaseAddress = new Uri($"https://{authorityPart}:{port}/"), Timeout = requestTimeout };
        // Projected service-account tokens rotate; read at start, a restart picks up a new one.
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", File.ReadAllText(Path.Combine(ServiceAccountFolder, "token")).Trim());
        return client;
    }
}
