using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Text;
using System.Threading;
using System.Threading.Channels;
using System.Threading.Tasks;
using Xunit;

namespace Kernel.Tests.EndToEnd;

/// <summary>Runs the psql command line (simple query protocol) against a kernel.</summary>
public static class Psql
{
    /// <summary>Whether <c>psql</c> is on PATH.</summary>
    public static bool Available { get; } = OnPath("psql");

    /// <summary>Whether <c>stdbuf</c> is on PATH: psql block-buffers COPY output into a pipe, so live output needs it.</summary>
    public static bool LineBufferingAvailable { get; } = OnPath("stdbuf");

    private static bool OnPath(string program)
    {
        string? path = Environment.GetEnvironmentVariable("PATH");
        if (string.IsNullOrEmpty(path))
        {
            return false;
        }
        foreach (string directory in path.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            if (File.Exists(Path.Combine(directory, program)))
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>The result of one psql run.</summary>
    public sealed record Result(int ExitCode, string Stdout, string Stderr);

    /// <summary>Runs <paramref name="script"/> through <c>psql -f -</c>, stopping at the first error; at most 30 s.</summary>
    public static async Task<Result> RunScriptAsync(KernelProcess kernel, string script)
    {
        using Process process = Start(kernel, lineBuffered: false, "-v", "ON_ERROR_STOP=1", "-f", "-");
        Task<string> stdout = process.StandardOutput.ReadToEndAsync();
        Task<string> stderr = process.StandardError.ReadToEndAsync();
        await process.StandardInput.WriteAsync(script);
        process.StandardInput.Close();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill();
            throw new TimeoutException($"psql did not finish within 30 s; stdout so far:\n{await stdout}\nstderr:\n{await stderr}");
        }
        return new Result(process.ExitCode, await stdout, await stderr);
    }

    /// <summary>Starts psql with <paramref name="arguments"/> after the connection options (no psqlrc, no pager).</summary>
    public static Process Start(KernelProcess kernel, bool lineBuffered, params string[] arguments)
    {
        var info = new ProcessStartInfo(lineBuffered ? "stdbuf" : "psql")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            StandardOutputEncoding = Encoding.UTF8,
        };
        if (lineBuffered)
        {
            info.ArgumentList.Add("-oL");
            info.ArgumentList.Add("psql");
        }
        info.ArgumentList.Add("-X");
        info.ArgumentList.Add("--no-password");
        info.ArgumentList.Add(kernel.Uri);
        foreach (string argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }
        info.Environment["PGCONNECT_TIMEOUT"] = "10";
        info.Environment["PAGER"] = "cat";
        info.Environment["PSQL_PAGER"] = "cat";
        info.Environment["PGCLIENTENCODING"] = "UTF8";
        return Process.Start(info) ?? throw new InvalidOperationException("psql did not start");
    }

    /// <summary>A running psql whose stdout is read line by line as it arrives.</summary>
    public sealed class Streaming : IDisposable
    {
        private readonly Process _process;
        private readonly Channel<string> _lines = Channel.CreateUnbounded<string>();
        private readonly StringBuilder _stderr = new();
        private readonly Lock _stderrLock = new();

        public Streaming(KernelProcess kernel, params string[] arguments)
        {
            _process = Start(kernel, lineBuffered: true, arguments);
            _process.OutputDataReceived += (_, e) =>
            {
                if (e.Data is null)
                {
                    _lines.Writer.TryComplete();
                }
                else
                {
                    _lines.Writer.TryWrite(e.Data);
                }
            };
            _process.ErrorDataReceived += (_, e) =>
            {
                lock (_stderrLock)
                {
                    _stderr.AppendLine(e.Data);
                }
            };
            _process.BeginOutputReadLine();
            _process.BeginErrorReadLine();
        }

        public string Stderr
        {
            get
            {
                lock (_stderrLock)
                {
                    return _stderr.ToString();
                }
            }
        }

        /// <summary>The next line of output; fails the test when none comes within <paramref name="timeout"/>.</summary>
        public async Task<string> NextLineAsync(TimeSpan timeout)
        {
            using var wait = new CancellationTokenSource(timeout);
            try
            {
                if (await _lines.Reader.WaitToReadAsync(wait.Token) && _lines.Reader.TryRead(out string? line))
                {
                    return line;
                }
            }
            catch (OperationCanceledException)
            {
                Assert.Fail($"psql printed no line within {timeout.TotalSeconds} s; stderr: {Stderr}");
            }
            Assert.Fail($"psql ended its output; exited: {_process.HasExited}; stderr: {Stderr}");
            return "";
        }

        /// <summary>Lines already printed and not yet read.</summary>
        public List<string> Pending()
        {
            var lines = new List<string>();
            while (_lines.Reader.TryRead(out string? line))
            {
                lines.Add(line);
            }
            return lines;
        }

        public bool HasExited => _process.HasExited;

        public void Dispose()
        {
            try
            {
                if (!_process.HasExited)
                {
                    _process.Kill();
                    _process.WaitForExit(10_000);
                }
            }
            catch (InvalidOperationException)
            {
                // Already gone.
            }
            _process.Dispose();
        }
    }
}

/// <summary>A fact that is skipped, saying why, when psql is not on PATH.</summary>
public sealed class PsqlFactAttribute : FactAttribute
{
    public PsqlFactAttribute(bool needsLineBuffering = false)
    {
        NeedsLineBuffering = needsLineBuffering;
        if (!Psql.Available)
        {
            Skip = "psql is not on PATH; install the PostgreSQL client (e.g. postgresql-client) to run the psql end-to-end tests";
        }
        else if (needsLineBuffering && !Psql.LineBufferingAvailable)
        {
            Skip = "stdbuf (coreutils) is not on PATH; psql block-buffers COPY output into a pipe, so live SUBSCRIBE output cannot be read without it";
        }
    }

    public bool NeedsLineBuffering { get; }
}
