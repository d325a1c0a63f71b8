using System.Text;
using Forkline.Export;

namespace Forkline.Export.Tests;

public sealed class RotatingFileOutputTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("forkline-export-").FullName;

    private string ExportPath => Path.Combine(_directory, "events.log");

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    // Ten bytes each: "line    1\n".
    private static byte[] TenByteLine(int number) => Encoding.ASCII.GetBytes($"line {number,4}\n");

    private string Read(string suffix = "") => File.ReadAllText(ExportPath + suffix);

    [Fact]
    public void File_rotates_before_a_line_that_would_pass_the_limit_and_keeps_the_newest_rotated_files()
    {
        using (var output = new RotatingFileOutput(ExportPath, maxBytes: 25, keepFiles: 2))
        {
            for (var number = 1; number <= 7; number++) output.WriteLine(TenByteLine(number));
        }

        Assert.Equal("line    7\n", Read());
        Assert.Equal("line    5\nline    6\n", Read(".1"));
        Assert.Equal("line    3\nline    4\n", Read(".2"));
        Assert.False(File.Exists(ExportPath + ".3"));
        Assert.Equal(["events.log", "events.log.1", "events.log.2"],
            Directory.GetFiles(_directory).Select(file => Path.GetFileName(file)!).Order(StringComparer.Ordinal).ToArray());
    }

    [Fact]
    public void Every_file_stays_within_the_limit_when_lines_fit()
    {
        using (var output = new RotatingFileOutput(ExportPath, maxBytes: 30, keepFiles: 10))
        {
            for (var number = 1; number <= 20; number++) output.WriteLine(TenByteLine(number));
        }

        var files = Directory.GetFiles(_directory);
        Assert.Equal(7, files.Length);
        Assert.All(files, file => Assert.InRange(new FileInfo(file).Length, 1, 30));
        Assert.Equal(200, files.Sum(file => new FileInfo(file).Length));
    }

    [Fact]
    public void Keeping_no_rotated_files_starts_the_file_over()
    {
        using (var output = new RotatingFileOutput(ExportPath, maxBytes: 15, keepFiles: 0))
        {
            for (var number = 1; number <= 3; number++) output.WriteLine(TenByteLine(number));
        }

        Assert.Equal("line    3\n", Read());
        Assert.Single(Directory.GetFiles(_directory));
    }

    [Fact]
    public void An_existing_file_is_appended_to_and_counts_toward_the_limit()
    {
        File.WriteAllText(ExportPath, "earlier!!\n");

        using (var output = new RotatingFileOutput(ExportPath, maxBytes: 25, keepFiles: 1))
        {
            output.WriteLine(TenByteLine(1));
            output.WriteLine(TenByteLine(2));
        }

        Assert.Equal("earlier!!\nline    1\n", Read(".1"));
        Assert.Equal("line    2\n", Read());
    }

    [Fact]
    public void A_line_longer_than_the_limit_gets_a_file_of_its_own_and_is_not_split()
    {
        var longLine = Encoding.ASCII.GetBytes(new string('x', 49) + "\n");

        using (var output = new RotatingFileOutput(ExportPath, maxBytes: 20, keepFiles: 3))
        {
            output.WriteLine(TenByteLine(1));
            output.WriteLine(longLine);
            output.WriteLine(TenByteLine(2));
        }

        Assert.Equal("line    1\n", Read(".2"));
        Assert.Equal(50, new FileInfo(ExportPath + ".1").Length);
        Assert.Equal("line    2\n", Read());
    }

    [Fact]
    public void The_directory_is_created_and_an_unusable_path_fails_naming_it()
    {
        var nested = Path.Combine(_directory, "a", "b", "events.log");
        using (new RotatingFileOutput(nested, 100, 1)) { }
        Assert.True(File.Exists(nested));

        var blocker = Path.Combine(_directory, "file");
        File.WriteAllText(blocker, "");
        var error = Assert.Throws<IOException>(() => new RotatingFileOutput(Path.Combine(blocker, "events.log"), 100, 1));
        Assert.Contains(Path.Combine(blocker, "events.log"), error.Message);
    }

    [Fact]
    public void A_rotation_that_cannot_rename_fails_naming_the_file_and_writing_resumes_once_it_can()
    {
        var obstacle = Directory.CreateDirectory(ExportPath + ".1").FullName;
        using var output = new RotatingFileOutput(ExportPath, maxBytes: 15, keepFiles: 1);
        output.WriteLine(TenByteLine(1));

        var error = Assert.ThrowsAny<IOException>(() => output.WriteLine(TenByteLine(2)));
        Directory.Delete(obstacle);
        output.WriteLine(TenByteLine(3));
        output.Flush();

        Assert.Contains($"cannot rotate export file {ExportPath}", error.Message);
        Assert.Equal("line    1\n", Read(".1"));
        Assert.Equal("line    3\n", Read());
    }

    [Theory]
    [InlineData(0, 1)]
    [InlineData(10, -1)]
    public void Limits_out_of_range_are_rejected(long maxBytes, int keepFiles)
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new RotatingFileOutput(ExportPath, maxBytes, keepFiles));
    }
}
