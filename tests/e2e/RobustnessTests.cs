using System;
using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;
using System.Threading;
using System.Threading.Tasks;
using Npgsql;
using Xunit;

namespace Kernel.Tests.EndToEnd;

/// <summary>What the process prints, and bad input on the pgwire port: the server answers or hangs up, and keeps serving.</summary>
[Collection(KernelCollection.Name)]
public sealed partial class RobustnessTests(KernelFixture fixture)
{
    [PsqlFact]
    public async Task PrintedConnectionString_WorksWithPsql()
    {
        Match printed = ConnectLine().Match(fixture.Kernel.Output);
        Assert.True(printed.Success, $"kernel start should print how to connect:\n{fixture.Kernel.Output}");
        Assert.Equal(fixture.Kernel.Uri, printed.Groups["uri"].Value);
        Psql.Result result = await Psql.RunScriptAsync(fixture.Kernel, "SELECT 40 + 2 AS answer;\n");
        Assert.Equal(0, result.ExitCode);
        Assert.Equal(" answer \n--------\n     42\n(1 row)\n\n", result.Stdout);
    }

    [Theory]
    [InlineData(new byte[] { 0, 0, 0, 8, 0x12, 0x34, 0x56, 0x78 })]
    [InlineData(new byte[] { 0x7f, 0xff, 0xff, 0xff, 0, 3, 0, 0 })]
    [InlineData(new byte[] { 0, 0, 0, 3 })]
    [InlineData(new byte[] { 0x47, 0x45, 0x54, 0x20, 0x2f, 0x20, 0x48, 0x54, 0x54, 0x50, 0x2f, 0x31, 0x2e, 0x31, 0x0d, 0x0a, 0x0d, 0x0a })]
    public async Task GarbageStartupPacket_IsRefused_AndTheServerKeepsServing(byte[] garbage)
    {
        using (var client = new TcpClient())
        {
            await client.ConnectAsync(IPAddress.Loopback, fixture.Kernel.Port);
            NetworkStream stream = client.GetStream();
            await stream.WriteAsync(garbage);
            // The server either sends an error and closes, or closes; it must not leave the socket hanging forever.
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            var buffer = new byte[4096];
            try
            {
                while (await stream.ReadAsync(buffer, timeout.Token) > 0)
                {
                }
            }
            catch (OperationCanceledException)
            {
                Assert.Fail("the server neither answered nor closed a connection that sent a bad startup packet");
            }
            catch (System.IO.IOException)
            {
                // Reset by the server: also a refusal.
            }
        }
        Assert.False(fixture.Kernel.HasExited, fixture.Kernel.Output);
        await using NpgsqlConnection connection = await fixture.OpenAsync();
        Assert.Equal(NpgsqlTests.Rows([1]), await NpgsqlTests.ReadRowsAsync(connection, "SELECT 1"));
    }

    [GeneratedRegex(@"Connect with: psql (?<uri>\S+)")]
    private static partial Regex ConnectLine();
}
