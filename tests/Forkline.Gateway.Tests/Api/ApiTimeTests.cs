using Forkline.Gateway.Api;

namespace Forkline.Gateway.Tests.Api;

public sealed class ApiTimeTests
{
    private static readonly DateTime Now = new(2025, 1, 31, 12, 0, 0, DateTimeKind.Utc);

    [Theory]
    [InlineData("2025-01-31T10:00:00Z", "2025-01-31T10:00:00")]
    [InlineData("2025-01-31T10:00:00.250Z", "2025-01-31T10:00:00.25")]
    [InlineData("2025-01-31T11:00:00+01:00", "2025-01-31T10:00:00")]
    [InlineData("2025-01-31T10:00:00", "2025-01-31T10:00:00")]
    [InlineData("now", "2025-01-31T12:00:00")]
    [InlineData("-10m", "2025-01-31T11:50:00")]
    [InlineData("10m", "2025-01-31T11:50:00")]
    [InlineData("90s ago", "2025-01-31T11:58:30")]
    [InlineData("1h ago", "2025-01-31T11:00:00")]
    [InlineData("1h30m ago", "2025-01-31T10:30:00")]
    [InlineData("- 2d", "2025-01-29T12:00:00")]
    [InlineData(" 2d ago ", "2025-01-29T12:00:00")]
    public void Parses_rfc3339_and_times_back_from_now_as_utc(string text, string expectedUtc)
    {
        Assert.True(ApiTime.TryParse(text, Now, out var utc));

        Assert.Equal(DateTime.SpecifyKind(DateTime.Parse(expectedUtc, System.Globalization.CultureInfo.InvariantCulture), DateTimeKind.Utc), utc);
        Assert.Equal(DateTimeKind.Utc, utc.Kind);
    }

    [Theory]
    [InlineData("")]
    [InlineData("yesterday")]
    [InlineData("-10x")]
    [InlineData("-10m ago")]
    [InlineData("10")]
    [InlineData("m ago")]
    [InlineData("-")]
    [InlineData("99999999999d ago")]
    [InlineData("36600d")]
    public void Rejects_what_is_not_a_time(string text)
    {
        Assert.False(ApiTime.TryParse(text, Now, out _));
    }
}
