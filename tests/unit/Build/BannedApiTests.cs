using System;
using System.Diagnostics;
using System.IO;
using Xunit;

namespace Kernel.Tests.Unit.Build;

/// <summary>
/// The banned-API analyzer is the first guard of determinism: simulated code that reaches for ambient time,
/// randomness, threads, sockets or files must not build. This builds a small project that does, and the same
/// project without the violation as a control.
/// </summary>
public class BannedApiTests
{
    [Fact]
    public void SimulatedProject_UsingDateTimeUtcNow_FailsBuildWithRS0030()
    {
        (int exitCode, string output) = Build();

        Assert.NotEqual(0, exitCode);
        Assert.Contains("RS0030", output, StringComparison.Ordinal);
        Assert.Contains("DateTime.UtcNow", output, StringComparison.Ordinal);
    }

    [Fact]
    public void SimulatedProject_WithoutViolation_Builds()
    {
        (int exitCode, string output) = Build("-p:DefineConstants=NO_VIOLATION");

        Assert.True(exitCode == 0, output);
    }

    private static (int ExitCode, string Output) Build(params string[] extra)
    {
        string root = RepositoryRoot();
        // Output and intermediate folders outside the source tree and apart per variant: inside it, one variant's
        // generated sources would be compiled into the other.
        string variant = Path.Combine(Path.GetTempPath(), "kernel-bancheck", extra.Length == 0 ? "violation" : "control");
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = root,
        };
        foreach (string arg in new[] { "build", Path.Combine(root, "tests", "bancheck", "BanCheck.csproj"), "--nologo", "-v", "q",
            $"-p:BaseIntermediateOutputPath={variant}/obj/", $"-p:BaseOutputPath={variant}/bin/" })
        {
            start.ArgumentList.Add(arg);
        }
        foreach (string arg in extra)
        {
            start.ArgumentList.Add(arg);
        }
        using Process process = Process.Start(start)!;
        string output = process.StandardOutput.ReadToEnd() + process.StandardError.ReadToEnd();
        Assert.True(process.WaitForExit(300_000), "the build did not finish");
        return (process.ExitCode, output);
    }

    private static string RepositoryRoot()
    {
        for (DirectoryInfo? directory = new(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "Directory.Packages.props")))
            {
                return directory.FullName;
            }
        }
        throw new InvalidOperationException("the repository root (with Directory.Packages.props) is not above " + AppContext.BaseDirectory);
    }
}
