using System.Collections.Generic;
using System.Threading.Tasks;
using Kernel.Runtime;
using Xunit;

namespace Kernel.Tests.Unit.Runtime.Simulation;

/// <summary>
/// The simulator's raw streams really do cut and merge sends: across a run of sends of known sizes, some
/// received chunk is smaller than the send it came from and some spans several sends. Without that, parsers
/// above the seam would only ever see whole writes in simulation.
/// </summary>
public sealed class SimRawStreamTests
{
    [Fact]
    public Task RawStream_ManySends_ChunksAreSplitAndCoalesced() => new SimNodeHarness(seed: 21).RunNodeAsync(async context =>
    {
        const int SendCount = 200;
        const int SendBytes = 10;
        IListener listener = context.Network.Listen(0, StreamMode.Raw).Unwrap();
        ValueTask<NetResult<IConnection>> accept = listener.AcceptAsync();
        using IConnection client = (await context.Network.ConnectAsync(listener.LocalEndpoint, StreamMode.Raw)).Unwrap();
        using IConnection server = (await accept).Unwrap();
        using (listener)
        {
            for (int i = 0; i < SendCount; i++)
            {
                Assert.Equal(NetStatus.Ok, client.Send(new byte[SendBytes]));
            }
            // Let everything arrive first, so that receives have pending chunks to merge.
            await context.Clock.Delay(System.TimeSpan.FromSeconds(5));
            var sizes = new List<int>();
            int total = 0;
            while (total < SendCount * SendBytes)
            {
                Received chunk = await server.ReceiveAsync();
                Assert.True(chunk.IsFrame, chunk.Reason);
                sizes.Add(chunk.Payload.Length);
                total += chunk.Payload.Length;
            }

            Assert.Equal(SendCount * SendBytes, total);
            Assert.Contains(sizes, size => size < SendBytes);
            Assert.Contains(sizes, size => size > SendBytes);
        }
    });
}
