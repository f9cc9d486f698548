using System;
using System.Buffers.Binary;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Kernel.PgWire;
using Kernel.Runtime;
using Kernel.Tests.Unit.Runtime;
using Kernel.Tests.Unit.Runtime.Simulation;
using Xunit;

namespace Kernel.Tests.Unit.PgWire;

/// <summary>
/// The pgwire server inside the simulator: a server node runs <see cref="PgServer"/> over the test backend, and a
/// client node speaks the protocol by hand over raw connections. Raw streams in the simulator split and merge
/// sends at seeded boundaries, so every test here also checks that the server's framing copes with arbitrary
/// chunking; each runs under several seeds.
/// </summary>
public sealed class PgServerSimTests
{
    public static TheoryData<ulong> Seeds => [1, 2, 3];

    private static Task RunAsync(ulong seed, Func<INodeContext, Endpoint, TestBackend, Task> client)
    {
        var published = Rendezvous.Create<Endpoint>();
        var done = Rendezvous.Create<bool>();
        var backend = new TestBackend();
        return new SimNodeHarness(seed).RunNodesAsync(
            async server =>
            {
                var pg = new PgServer(server.Network, backend, server.Random.Fork("pgwire"));
                pg.Start(0).Unwrap();
                published.SetResult(pg.LocalEndpoint!.Value);
                using var stop = new CancellationTokenSource();
                Task running = pg.RunAsync(stop.Token);
                await done.Task;
                stop.Cancel();
                await running;
                Assert.Equal(0, pg.ConnectionCount);
            },
            async context =>
            {
                try
                {
                    await client(context, await published.Task, backend);
                }
                finally
                {
                    done.TrySetResult(true);
                }
            });
    }

    private static async Task<PgTestClient> ConnectAsync(INodeContext context, Endpoint server)
    {
        IConnection connection = (await context.Network.ConnectAsync(server, StreamMode.Raw)).Unwrap();
        return new PgTestClient(connection);
    }

    [Theory]
    [MemberData(nameof(Seeds))]
    public Task Startup_Trust_SendsParametersKeyAndReady(ulong seed) => RunAsync(seed, async (context, server, backend) =>
    {
        PgTestClient client = await ConnectAsync(context, server);
        var messages = await client.StartupAsync();

        Assert.Equal('R', messages[0].Type);
        Assert.Equal(0, BinaryPrimitives.ReadInt32BigEndian(messages[0].Body));
        var parameters = messages.Where(m => m.Type == 'S').Select(m => m.Body).Select(b =>
        {
            int nul = Array.IndexOf(b, (byte)0);
            return (System.Text.Encoding.UTF8.GetString(b, 0, nul), System.Text.Encoding.UTF8.GetString(b, nul + 1, b.Length - nul - 2));
        }).ToDictionary(p => p.Item1, p => p.Item2);
        Assert.Equal("15.0", parameters["server_version"]);
        Assert.Equal("UTF8", parameters["client_encoding"]);
        Assert.Equal("Etc/UTC", parameters["TimeZone"]); // the session overrides the default
        Assert.Equal("yes", parameters["kernel_test"]);
        Assert.Equal("hand", parameters["application_name"]);
        Assert.Equal("tester", parameters["session_authorization"]);
        Assert.Equal("KZ", new string([.. messages.TakeLast(2).Select(m => m.Type)]));
        Assert.Equal((byte)'I', messages[^1].Body[0]);
        Assert.Equal("tester", backend.Startups.Single()["database"]);
        client.Send(Frontend.Terminate());
        Assert.Empty(await client.ReadUntilClosedAsync());
    });

    [Theory]
    [MemberData(nameof(Seeds))]
    public Task SimpleQuery_SeveralStatementsWithError_StopsAtErrorAndStaysUsable(ulong seed) => RunAsync(seed, async (context, server, _) =>
    {
        PgTestClient client = await ConnectAsync(context, server);
        await client.StartupAsync();

        client.Send(Frontend.Query("select * from t; bogus; select 2"));
        var messages = await client.ReadUntilReadyAsync();

        Assert.Equal("TDDDCEZ", messages.Types());
        Assert.Equal(["1", "ada", "12.50", "t"], messages[1].TextValues());
        Assert.Equal([null, null], messages[3].TextValues().Skip(1).Where((_, i) => i % 2 == 0).ToList());
        Assert.Equal("SELECT 3", messages[4].Text());
        var error = messages[5].Fields();
        Assert.Equal("42601", error['C']);
        Assert.Equal("ERROR", error['S']);
        Assert.Equal("1", error['P']);

        client.Send(Frontend.Query(""));
        Assert.Equal("IZ", (await client.ReadUntilReadyAsync()).Types());
        client.Send(Frontend.Query("select 2"));
        var after = await client.ReadUntilReadyAsync();
        Assert.Equal("TDCZ", after.Types());
        Assert.Equal(["2"], after[1].TextValues());
    });

    [Theory]
    [MemberData(nameof(Seeds))]
    public Task ExtendedQuery_BinaryAndUnknownParameters_EchoedInRequestedFormats(ulong seed) => RunAsync(seed, async (context, server, _) =>
    {
        PgTestClient client = await ConnectAsync(context, server);
        await client.StartupAsync();

        client.Send([
            .. Frontend.Parse("echo", "select $1::int8, $2::bool, $3", 20, 0, 0),
            .. Frontend.Describe('S', "echo"),
            .. Frontend.Bind("", "echo", [1, 1, 0], [Frontend.Int32(0).Concat(Frontend.Int32(42)).ToArray(), [1], "héllo"u8.ToArray()], [1, 0, 0]),
            .. Frontend.Describe('P', ""),
            .. Frontend.Execute("", 0),
            .. Frontend.Sync(),
        ]);
        var messages = await client.ReadUntilReadyAsync();

        Assert.Equal("1tT2TDCZ", messages.Types());
        Assert.Equal(3, BinaryPrimitives.ReadInt16BigEndian(messages[1].Body));
        Assert.Equal(20, BinaryPrimitives.ReadInt32BigEndian(messages[1].Body.AsSpan(2)));
        Assert.Equal(705, BinaryPrimitives.ReadInt32BigEndian(messages[1].Body.AsSpan(10)));
        var values = messages[5].Values();
        Assert.Equal(42L, BinaryPrimitives.ReadInt64BigEndian(values[0]));
        Assert.Equal("t", System.Text.Encoding.UTF8.GetString(values[1]!));
        Assert.Equal("héllo", System.Text.Encoding.UTF8.GetString(values[2]!));
        Assert.Equal("SELECT 1", messages[6].Text());
    });

    [Theory]
    [MemberData(nameof(Seeds))]
    public Task ExtendedQuery_RowLimit_SuspendsPortalAndResumes(ulong seed) => RunAsync(seed, async (context, server, _) =>
    {
        PgTestClient client = await ConnectAsync(context, server);
        await client.StartupAsync();

        client.Send([
            .. Frontend.Parse("", "generate 5"),
            .. Frontend.Bind("cur", "", [], [], []),
            .. Frontend.Execute("cur", 2),
            .. Frontend.Execute("cur", 2),
            .. Frontend.Execute("cur", 2),
            .. Frontend.Sync(),
        ]);
        var messages = await client.ReadUntilReadyAsync();

        Assert.Equal("12DDsDDsDCZ", messages.Types());
        Assert.Equal(["5"], messages[8].TextValues());
        Assert.Equal("SELECT 1", messages[9].Text());
    });

    [Theory]
    [MemberData(nameof(Seeds))]
    public Task ExtendedQuery_ErrorsDiscardUntilSync_ThenUsable(ulong seed) => RunAsync(seed, async (context, server, _) =>
    {
        PgTestClient client = await ConnectAsync(context, server);
        await client.StartupAsync();

        client.Send([.. Frontend.Parse("", "bogus"), .. Frontend.Bind("", "", [], [], []), .. Frontend.Execute("", 0), .. Frontend.Sync()]);
        var failed = await client.ReadUntilReadyAsync();
        client.Send([.. Frontend.Bind("", "missing", [], [], []), .. Frontend.Sync()]);
        var missingStatement = await client.ReadUntilReadyAsync();
        client.Send([.. Frontend.Execute("nope", 0), .. Frontend.Sync()]);
        var missingPortal = await client.ReadUntilReadyAsync();
        client.Send([.. Frontend.Parse("s", "select $1::int4"), .. Frontend.Bind("", "s", [1], [[1, 2]], []), .. Frontend.Sync()]);
        var badBinary = await client.ReadUntilReadyAsync();
        client.Send([.. Frontend.Bind("", "s", [], [], []), .. Frontend.Sync()]);
        var wrongCount = await client.ReadUntilReadyAsync();
        client.Send([.. Frontend.Parse("", "select 7"), .. Frontend.Bind("", "", [], [], []), .. Frontend.Execute("", 0), .. Frontend.Sync()]);
        var works = await client.ReadUntilReadyAsync();

        Assert.Equal("EZ", failed.Types());
        Assert.Equal("42601", failed[0].Fields()['C']);
        Assert.Equal("26000", missingStatement[0].Fields()['C']);
        Assert.Equal("34000", missingPortal[0].Fields()['C']);
        Assert.Equal("1EZ", badBinary.Types());
        Assert.Equal("22P03", badBinary[1].Fields()['C']);
        Assert.Equal("08P01", wrongCount[0].Fields()['C']);
        Assert.Equal("12DCZ", works.Types());
        Assert.Equal(["7"], works[2].TextValues());
    });

    [Theory]
    [MemberData(nameof(Seeds))]
    public Task Copy_ToStdout_StreamsTextRows(ulong seed) => RunAsync(seed, async (context, server, _) =>
    {
        PgTestClient client = await ConnectAsync(context, server);
        await client.StartupAsync();

        client.Send(Frontend.Query("copy t to stdout"));
        var messages = await client.ReadUntilReadyAsync();

        Assert.Equal("HdddcCZ", messages.Types());
        Assert.Equal(4, BinaryPrimitives.ReadInt16BigEndian(messages[0].Body.AsSpan(1)));
        Assert.Equal("1\tada\t12.50\tt\n", System.Text.Encoding.UTF8.GetString(messages[1].Body));
        Assert.Equal("COPY 3", messages[5].Text());
    });

    [Theory]
    [MemberData(nameof(Seeds))]
    public Task Transactions_ReadyForQueryCarriesSessionStatus(ulong seed) => RunAsync(seed, async (context, server, _) =>
    {
        PgTestClient client = await ConnectAsync(context, server);
        await client.StartupAsync();

        char Status(System.Collections.Generic.List<BackendMessage> messages) => (char)messages[^1].Body[0];
        client.Send(Frontend.Query("begin"));
        char begun = Status(await client.ReadUntilReadyAsync());
        client.Send(Frontend.Query("bogus"));
        char failed = Status(await client.ReadUntilReadyAsync());
        client.Send(Frontend.Query("rollback"));
        char idle = Status(await client.ReadUntilReadyAsync());

        Assert.Equal(('T', 'E', 'I'), (begun, failed, idle));
    });

    [Theory]
    [MemberData(nameof(Seeds))]
    public Task CancelRequest_FromSecondConnection_CancelsRunningQuery(ulong seed) => RunAsync(seed, async (context, server, backend) =>
    {
        PgTestClient client = await ConnectAsync(context, server);
        var startup = await client.StartupAsync();
        BackendMessage key = startup.Single(m => m.Type == 'K');
        int processId = BinaryPrimitives.ReadInt32BigEndian(key.Body);
        int secretKey = BinaryPrimitives.ReadInt32BigEndian(key.Body.AsSpan(4));

        client.Send(Frontend.Query("sleep"));
        await context.Clock.Delay(TimeSpan.FromMilliseconds(500));
        PgTestClient canceler = await ConnectAsync(context, server);
        canceler.Send(Frontend.CancelRequest(processId, secretKey));
        var cancelAnswer = await canceler.ReadUntilClosedAsync();
        var messages = await client.ReadUntilReadyAsync();

        Assert.Empty(cancelAnswer);
        Assert.Equal("EZ", messages.Types());
        Assert.Equal("57014", messages[0].Fields()['C']);
        Assert.Contains((processId, secretKey), backend.Cancels);
        client.Send(Frontend.Query("select 1"));
        Assert.Equal("TDCZ", (await client.ReadUntilReadyAsync()).Types());
    });

    [Theory]
    [MemberData(nameof(Seeds))]
    public Task ClientGone_DuringQuery_CancelsCallAndDisposesSession(ulong seed) => RunAsync(seed, async (context, server, backend) =>
    {
        PgTestClient client = await ConnectAsync(context, server);
        await client.StartupAsync();
        client.Send(Frontend.Query("sleep"));
        await context.Clock.Delay(TimeSpan.FromMilliseconds(200));
        client.Connection.Dispose();
        await context.Clock.Delay(TimeSpan.FromSeconds(2));

        Assert.Equal(1, backend.SessionsDisposed);
    });

    [Theory]
    [MemberData(nameof(Seeds))]
    public Task Garbage_UnknownTypeOrBadLength_FatalAndOnlyThatConnectionCloses(ulong seed) => RunAsync(seed, async (context, server, backend) =>
    {
        PgTestClient unknownType = await ConnectAsync(context, server);
        await unknownType.StartupAsync();
        unknownType.Send(Frontend.Message('?', [1, 2, 3]));
        var first = await unknownType.ReadUntilClosedAsync();

        PgTestClient badLength = await ConnectAsync(context, server);
        await badLength.StartupAsync();
        badLength.Send([(byte)'Q', 0xFF, 0xFF, 0xFF, 0xF0]);
        var second = await badLength.ReadUntilClosedAsync();

        PgTestClient badStartup = await ConnectAsync(context, server);
        badStartup.Send([0, 0, 0, 2]);
        var third = await badStartup.ReadUntilClosedAsync();

        PgTestClient oldProtocol = await ConnectAsync(context, server);
        oldProtocol.Send(Frontend.StartupWithVersion(2 << 16, ("user", "x")));
        var fourth = await oldProtocol.ReadUntilClosedAsync();

        PgTestClient crash = await ConnectAsync(context, server);
        await crash.StartupAsync();
        crash.Send(Frontend.Query("crash"));
        var fifth = await crash.ReadUntilClosedAsync();

        PgTestClient fine = await ConnectAsync(context, server);
        fine.Send(Frontend.SslRequest());
        BackendMessage? ssl = await fine.ReadAsync(singleByte: true);
        await fine.StartupAsync();
        fine.Send(Frontend.Query("select 3"));
        var ok = await fine.ReadUntilReadyAsync();

        foreach ((var messages, string code) in new[] { (first, "08P01"), (second, "08P01"), (third, "08P01"), (fourth, "0A000"), (fifth, "XX000") })
        {
            BackendMessage fatal = Assert.Single(messages);
            Assert.Equal('E', fatal.Type);
            Assert.Equal(code, fatal.Fields()['C']);
            Assert.Equal("FATAL", fatal.Fields()['S']);
        }
        Assert.Equal('N', ssl!.Type);
        Assert.Equal("TDCZ", ok.Types());
        Assert.Equal(3, backend.SessionsDisposed); // the three that started a session and ended; "fine" is still open
    });
}
